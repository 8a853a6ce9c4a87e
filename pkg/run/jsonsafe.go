package run

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
)

// JSON has no NaN or ±Inf, and encoding/json refuses a whole value that
// holds one. A result may legitimately hold one (an interval that could
// not be computed, a prediction that overflowed, a loss in a diverged run),
// so MarshalJSON falls back to safeTree, which writes every non-finite
// number as null and reports where they were: the output is always valid
// JSON, the cache can always store a result, and front ends name the
// quantities that are not numbers.

// MarshalJSON encodes v as indented JSON like encoding/json, except that
// NaN and ±Inf are written as null; nonFinite lists their paths with the
// value ("result.kappa_ld[2] (+Inf)").
//
// Numbers that write themselves as null (Float, Interval: an undefined
// estimate or prediction) are listed too, so that no undefined number is a
// silent null.
func MarshalJSON(v any) (b []byte, nonFinite []string, err error) {
	b, err = json.MarshalIndent(v, "", "  ")
	var uv *json.UnsupportedValueError
	if errors.As(err, &uv) {
		b, err = json.MarshalIndent(safeTree(reflect.ValueOf(v), "", &nonFinite), "", "  ")
	} else if err == nil && bytes.Contains(b, []byte("null")) {
		safeTree(reflect.ValueOf(v), "", &nonFinite) // only to name the nulls that are numbers
	}
	return b, nonFinite, err
}

// safeTree converts v into maps, slices and scalars as encoding/json would
// encode it (json tags, omitempty, embedded structs, Marshaler types),
// with non-finite floats replaced by nil; bad collects their paths.
func safeTree(v reflect.Value, path string, bad *[]string) any {
	if !v.IsValid() {
		return nil
	}
	if k := v.Kind(); k == reflect.Float32 || k == reflect.Float64 {
		// Before any MarshalJSON method: a named float (Float) that writes a
		// non-finite value as null is still not a number.
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			*bad = append(*bad, fmt.Sprintf("%s (%v)", strings.TrimPrefix(path, "."), f))
			return nil
		}
	}
	if m, ok := marshaler(v); ok {
		b, err := m.MarshalJSON()
		if err == nil {
			return json.RawMessage(b)
		}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return safeTree(v.Elem(), path, bad)
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			*bad = append(*bad, fmt.Sprintf("%s (%v)", strings.TrimPrefix(path, "."), f))
			return nil
		}
		return f
	case reflect.Struct:
		out := map[string]any{}
		structFields(v, path, out, bad)
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := map[string]any{}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			ks := fmt.Sprint(k.Interface())
			out[ks] = safeTree(v.MapIndex(k), path+"."+ks, bad)
		}
		return out
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 && v.CanInterface() {
			return v.Interface() // []byte: base64, as encoding/json
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = safeTree(v.Index(i), fmt.Sprintf("%s[%d]", path, i), bad)
		}
		return out
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint()
	}
	if v.CanInterface() {
		return v.Interface()
	}
	return nil
}

// marshaler returns v's json.Marshaler (value or addressable pointer receiver).
func marshaler(v reflect.Value) (json.Marshaler, bool) {
	if !v.CanInterface() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return nil, false // fields reached through an unexported embedded struct cannot be called
	}
	if m, ok := v.Interface().(json.Marshaler); ok && v.Kind() != reflect.Interface {
		return m, true
	}
	if v.CanAddr() {
		if m, ok := v.Addr().Interface().(json.Marshaler); ok {
			return m, true
		}
	}
	return nil, false
}

// structFields adds the JSON members of struct v to out (embedded structs
// without a name are flattened, as encoding/json does).
func structFields(v reflect.Value, path string, out map[string]any, bad *[]string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv, ft = fv.Elem(), ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if _, ok := marshaler(fv); !ok {
					structFields(fv, path, out, bad)
					continue
				}
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.Contains(opts, "omitempty") && fv.IsZero() {
			continue
		}
		out[name] = safeTree(fv, path+"."+name, bad)
	}
}

// UnmarshalJSON decodes b into v like encoding/json, and then reads a null
// where v has a float as NaN, which encoding/json leaves at zero: a number
// that MarshalJSON wrote as null (undefined, overflowed) comes back as NaN,
// never as a silent 0.
func UnmarshalJSON(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return err
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return err
	}
	nullsToNaN(reflect.ValueOf(v), tree)
	return nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// nullsToNaN sets the floats of v whose JSON value in tree is null to NaN.
func nullsToNaN(v reflect.Value, tree any) {
	if !v.IsValid() {
		return
	}
	if v.Kind() != reflect.Pointer && v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		return // decodes null itself (run.Float, time.Time)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() && tree != nil {
			nullsToNaN(v.Elem(), tree)
		}
	case reflect.Float32, reflect.Float64:
		if tree == nil && v.CanSet() {
			v.SetFloat(math.NaN())
		}
	case reflect.Struct:
		if m, ok := tree.(map[string]any); ok {
			structNulls(v, m)
		}
	case reflect.Slice, reflect.Array:
		if items, ok := tree.([]any); ok {
			for i := 0; i < v.Len() && i < len(items); i++ {
				nullsToNaN(v.Index(i), items[i])
			}
		}
	case reflect.Map:
		m, ok := tree.(map[string]any)
		if !ok || v.IsNil() || v.Type().Key().Kind() != reflect.String {
			return
		}
		for _, k := range v.MapKeys() {
			sub, ok := m[k.String()]
			if !ok {
				continue
			}
			cp := reflect.New(v.Type().Elem()).Elem()
			cp.Set(v.MapIndex(k))
			nullsToNaN(cp, sub)
			v.SetMapIndex(k, cp)
		}
	}
}

// structNulls applies nullsToNaN to the fields of struct v, named as
// encoding/json names them (embedded structs flattened).
func structNulls(v reflect.Value, m map[string]any) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if f.Anonymous && name == "" {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.Struct {
				structNulls(fv, m)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if sub, ok := m[name]; ok {
			nullsToNaN(fv, sub)
		}
	}
}
