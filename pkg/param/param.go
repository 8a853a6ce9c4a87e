// Package param declares an experiment's parameters once, on its
// configuration, and derives everything else from that one declaration: the
// command-line flags and their help, every per-value input check, the
// notebooks' overrides, the sweep axes (checked at plan time by the same
// code), and the generated parameter reference.
//
// A configuration declares its parameters in a Declare method that binds
// each one to a field:
//
//	func (c *Config) Declare(s *param.Set) {
//		s.Float(&c.Eta, "eta", "learning rate η (Eq. 2)", param.Positive)
//		s.Int(&c.B, "B", "mini-batch size B", param.Min(1))
//		s.Floats(&c.Betas, "beta", "β = B/(ηh*) values", param.Positive, param.Progression)
//	}
//
// Declaring the same configuration at quick and at paper scale gives both
// defaults (Reference). Each parameter has one name everywhere: the flag
// -eta, the notebook override "fpt.eta=0.05" and the sweep axis "eta" are
// the same declaration, parsed and checked by the same code (Param.Set).
// Checks that involve several parameters (B ≤ N) stay in the
// configuration's Validate, which every front end calls.
//
// This is the idea of GoMLX's context hyperparameters and its -set flag
// ("key=value;key=value", typed by the default value), kept typed: our
// configurations are plain structs hashed into cache keys, so a parameter is
// a pointer to a struct field with its meaning, range and list syntax, not a
// key in an untyped map.
package param

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Kind is the type of a parameter's value.
type Kind uint8

// The kinds.
const (
	Float  Kind = iota // float64, finite
	Int                // int
	Int64              // int64
	Uint64             // uint64 (seeds)
	Bool               // bool
	String             // string; with choices, one of them
	Floats             // []float64, comma-separated, finite items
	Ints               // []int, comma-separated whole numbers
)

var kindNames = [...]string{"number", "integer", "integer", "integer", "true|false", "text", "list of numbers", "list of integers"}

// Name is the kind as shown in help ("number", "list of integers").
func (k Kind) Name() string { return kindNames[k] }

// Param is one declared parameter, bound to a field of a configuration.
type Param struct {
	// Name is the parameter's one spelling: the flag (-Name), the key in
	// notebook overrides and sweep specifications.
	Name string
	// Help is one line: the meaning, with the paper's symbol or equation.
	Help string
	// Kind is the value's type.
	Kind Kind
	// Lo, Hi bound numbers and every item of a list (inclusive unless
	// LoOpen, HiOpen); NaN means unbounded on that side.
	Lo, Hi         float64
	LoOpen, HiOpen bool
	// Choices lists the allowed values of a String parameter (nil: any text).
	Choices []string
	// Auto, when not empty, says what the zero value means ("automatic:
	// 20/(η·λ_min)"): zero is then always allowed, whatever the bounds.
	Auto string
	// Progression lets a Floats parameter take "a,b,...,c" (the arithmetic
	// progression a, b, … up to c).
	Progression bool
	// MaxItems caps the number of items of a list (0: 10000).
	MaxItems int
	// Default is the canonical text of the value when the parameter was
	// declared (the preset's value).
	Default string

	ptr any
}

// Option refines a declaration.
type Option func(*Param)

// Bounds.
var (
	// Positive: > 0.
	Positive Option = func(p *Param) { p.Lo, p.LoOpen = 0, true }
	// NonNegative: ≥ 0.
	NonNegative Option = func(p *Param) { p.Lo, p.LoOpen = 0, false }
	// Progression allows "a,b,...,c" in a list of numbers.
	Progression Option = func(p *Param) { p.Progression = true }
)

// Min bounds values below: ≥ lo.
func Min(lo float64) Option { return func(p *Param) { p.Lo, p.LoOpen = lo, false } }

// Above bounds values below: > lo.
func Above(lo float64) Option { return func(p *Param) { p.Lo, p.LoOpen = lo, true } }

// Max bounds values above: ≤ hi.
func Max(hi float64) Option { return func(p *Param) { p.Hi, p.HiOpen = hi, false } }

// Below bounds values above: < hi.
func Below(hi float64) Option { return func(p *Param) { p.Hi, p.HiOpen = hi, true } }

// Auto says what the zero value means; zero is then allowed whatever the bounds.
func Auto(what string) Option { return func(p *Param) { p.Auto = what } }

// MaxItems caps the length of a list.
func MaxItems(n int) Option { return func(p *Param) { p.MaxItems = n } }

// Declarer is a configuration that declares its parameters.
type Declarer interface {
	Declare(s *Set)
}

// Set is the ordered list of a configuration's parameters.
type Set struct {
	params []*Param
	prefix string
}

// Declare returns the parameters of c (bound to c's fields).
func Declare(c Declarer) *Set {
	s := &Set{}
	c.Declare(s)
	return s
}

// Params returns the parameters in declaration order.
func (s *Set) Params() []*Param { return s.params }

// Lookup returns the parameter called name.
func (s *Set) Lookup(name string) (*Param, bool) {
	for _, p := range s.params {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// Names returns the parameter names, sorted.
func (s *Set) Names() []string {
	out := make([]string, len(s.params))
	for i, p := range s.params {
		out[i] = p.Name
	}
	sort.Strings(out)
	return out
}

// Prefixed declares the parameters of a nested configuration with their
// names prefixed ("pretrain-" + "eta"), for a configuration that holds
// another one whose parameters would otherwise clash with its own.
func (s *Set) Prefixed(prefix string, c Declarer) {
	old := s.prefix
	s.prefix = old + prefix
	c.Declare(s)
	s.prefix = old
}

func (s *Set) add(ptr any, name, help string, kind Kind, opts []Option) *Param {
	p := &Param{Name: s.prefix + name, Help: help, Kind: kind, Lo: math.NaN(), Hi: math.NaN(), ptr: ptr}
	for _, o := range opts {
		o(p)
	}
	if _, dup := s.Lookup(p.Name); dup {
		panic(fmt.Sprintf("param: %q declared twice", p.Name)) // a programming error, caught by the registry test
	}
	if kind == Int || kind == Int64 || kind == Uint64 || kind == Ints {
		if math.IsNaN(p.Lo) { // counts and sizes: never negative
			p.Lo = 0
		}
	}
	p.Default = p.String()
	s.params = append(s.params, p)
	return p
}

// Float declares a float64 parameter (always finite).
func (s *Set) Float(v *float64, name, help string, opts ...Option) {
	s.add(v, name, help, Float, opts)
}

// Int declares an int parameter (≥ 0 unless Min says otherwise).
func (s *Set) Int(v *int, name, help string, opts ...Option) { s.add(v, name, help, Int, opts) }

// Int64 declares an int64 parameter (≥ 0 unless Min says otherwise).
func (s *Set) Int64(v *int64, name, help string, opts ...Option) { s.add(v, name, help, Int64, opts) }

// Uint64 declares a uint64 parameter (a seed).
func (s *Set) Uint64(v *uint64, name, help string, opts ...Option) {
	s.add(v, name, help, Uint64, opts)
}

// Bool declares a boolean parameter.
func (s *Set) Bool(v *bool, name, help string, opts ...Option) { s.add(v, name, help, Bool, opts) }

// Text declares a free-text parameter (a path, a name).
func (s *Set) Text(v *string, name, help string, opts ...Option) { s.add(v, name, help, String, opts) }

// Floats declares a list of finite numbers.
func (s *Set) Floats(v *[]float64, name, help string, opts ...Option) {
	s.add(v, name, help, Floats, opts)
}

// Ints declares a list of whole numbers.
func (s *Set) Ints(v *[]int, name, help string, opts ...Option) { s.add(v, name, help, Ints, opts) }

// Choice declares a parameter of a string type whose value is one of choices.
func Choice[T ~string](s *Set, v *T, name, help string, choices []T, opts ...Option) {
	names := make([]string, len(choices))
	for i, c := range choices {
		names[i] = string(c)
	}
	s.add(&choice[T]{v: v}, name, help, String, append(opts, func(p *Param) { p.Choices = names }))
}

// choice adapts a *T (T ~string) to the *string the parameter reads and writes.
type choice[T ~string] struct{ v *T }

func (c *choice[T]) get() string  { return string(*c.v) }
func (c *choice[T]) set(s string) { *c.v = T(s) }

type stringer interface {
	get() string
	set(string)
}

// String returns the canonical text of the current value: numbers in Go's
// shortest form (0.10 → 0.1, 5.0 → 5), lists comma-separated without spaces.
// Equal values have equal text, so sweep tasks and cache keys built from it
// do not depend on how a value was written.
func (p *Param) String() string {
	switch v := p.ptr.(type) {
	case *float64:
		return formatFloat(*v)
	case *int:
		return strconv.Itoa(*v)
	case *int64:
		return strconv.FormatInt(*v, 10)
	case *uint64:
		return strconv.FormatUint(*v, 10)
	case *bool:
		return strconv.FormatBool(*v)
	case *string:
		return *v
	case stringer:
		return v.get()
	case *[]float64:
		if len(*v) == 0 && p.Auto != "" {
			return AutoText
		}
		parts := make([]string, len(*v))
		for i, x := range *v {
			parts[i] = formatFloat(x)
		}
		return strings.Join(parts, ",")
	case *[]int:
		if len(*v) == 0 && p.Auto != "" {
			return AutoText
		}
		parts := make([]string, len(*v))
		for i, x := range *v {
			parts[i] = strconv.Itoa(x)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(p.ptr)
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Value returns the current value (float64, int, …, []float64).
func (p *Param) Value() any {
	switch v := p.ptr.(type) {
	case *float64:
		return *v
	case *int:
		return *v
	case *int64:
		return *v
	case *uint64:
		return *v
	case *bool:
		return *v
	case *string:
		return *v
	case stringer:
		return v.get()
	case *[]float64:
		return append([]float64(nil), *v...)
	case *[]int:
		return append([]int(nil), *v...)
	}
	return nil
}

// Set parses text, checks it against the declaration and stores it. The
// error says what is wrong with the value and what is expected, without the
// parameter's name (each front end names it its own way: -eta, axes.eta[2]).
func (p *Param) Set(text string) error {
	text = strings.TrimSpace(text)
	if p.Auto != "" && text == AutoText {
		return p.setZero()
	}
	switch v := p.ptr.(type) {
	case *float64:
		f, err := parseFloat(text)
		if err != nil {
			return err
		}
		if err := p.check(f); err != nil {
			return err
		}
		*v = f
	case *int, *int64, *uint64:
		return p.setInteger(text)
	case *bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("%q is not true or false", text)
		}
		*v = b
	case *string:
		if err := p.checkChoice(text); err != nil {
			return err
		}
		*v = text
	case stringer:
		if err := p.checkChoice(text); err != nil {
			return err
		}
		v.set(text)
	case *[]float64:
		fs, err := p.parseList(text)
		if err != nil {
			return err
		}
		*v = fs
	case *[]int:
		fs, err := p.parseList(text)
		if err != nil {
			return err
		}
		out := make([]int, len(fs))
		for i, f := range fs {
			if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return fmt.Errorf("item %d (%v) is not a whole number", i+1, f)
			}
			out[i] = int(f)
		}
		*v = out
	default:
		return fmt.Errorf("parameter of unsupported type %T", p.ptr)
	}
	return nil
}

// AutoText is the value that selects a parameter's automatic setting (its
// zero value) where the declaration has Auto.
const AutoText = "auto"

func (p *Param) setZero() error {
	switch v := p.ptr.(type) {
	case *float64:
		*v = 0
	case *int:
		*v = 0
	case *int64:
		*v = 0
	case *uint64:
		*v = 0
	case *[]float64:
		*v = nil
	case *[]int:
		*v = nil
	default:
		return fmt.Errorf("%q is not accepted here", AutoText)
	}
	return nil
}

func (p *Param) setInteger(text string) error {
	clean := strings.ReplaceAll(text, "_", "")
	var f float64
	var u uint64
	var isU bool
	if x, err := strconv.ParseInt(clean, 10, 64); err == nil {
		f = float64(x)
		if x >= 0 {
			u, isU = uint64(x), true
		}
	} else if x, err := strconv.ParseUint(clean, 10, 64); err == nil {
		u, isU, f = x, true, float64(x)
	} else {
		// 1e6 is a whole number written as a float.
		g, ferr := strconv.ParseFloat(clean, 64)
		if ferr != nil || math.IsNaN(g) || math.IsInf(g, 0) {
			return fmt.Errorf("%q is not a whole number", text)
		}
		if g != math.Trunc(g) {
			return fmt.Errorf("%q is not a whole number", text)
		}
		if math.Abs(g) > 1<<62 {
			return fmt.Errorf("%q is out of range", text)
		}
		f = g
		if g >= 0 {
			u, isU = uint64(g), true
		}
	}
	if err := p.check(f); err != nil {
		return err
	}
	switch v := p.ptr.(type) {
	case *int:
		if f > math.MaxInt64/2 || f < math.MinInt64/2 {
			return fmt.Errorf("%q is out of range", text)
		}
		*v = int(f)
	case *int64:
		if f > 1<<62 || f < -(1<<62) {
			return fmt.Errorf("%q is out of range", text)
		}
		*v = int64(f)
	case *uint64:
		if !isU {
			return fmt.Errorf("%q is negative; give a whole number ≥ 0", text)
		}
		*v = u
	}
	return nil
}

func parseFloat(text string) (float64, error) {
	if text == "" {
		return 0, fmt.Errorf("empty value; give a number")
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			if math.IsInf(f, 0) {
				return 0, fmt.Errorf("%q is too large (not a finite float64)", text)
			}
			return f, nil // an underflow: 0 or a denormal, checked by the bounds
		}
		return 0, fmt.Errorf("%q is not a number", text)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a finite number", text)
	}
	return f, nil
}

func (p *Param) checkChoice(text string) error {
	if len(p.Choices) == 0 {
		if strings.ContainsAny(text, "\n\r\x00") {
			return fmt.Errorf("%q contains a line break or NUL", text)
		}
		return nil
	}
	for _, c := range p.Choices {
		if c == text {
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", text, strings.Join(p.Choices, ", "))
}

// check applies the bounds to one number.
func (p *Param) check(f float64) error {
	if f == 0 && p.Auto != "" {
		return nil
	}
	bad := (!math.IsNaN(p.Lo) && (f < p.Lo || (p.LoOpen && f == p.Lo))) ||
		(!math.IsNaN(p.Hi) && (f > p.Hi || (p.HiOpen && f == p.Hi)))
	if bad {
		msg := fmt.Sprintf("%s is out of range: must be %s", formatFloat(f), p.RangeText())
		if p.Auto != "" {
			msg += " (or 0: " + p.Auto + ")"
		}
		return fmt.Errorf("%s", msg)
	}
	return nil
}

// RangeText describes the allowed values ("> 0", "≥ 1 and ≤ 10⁶", "").
func (p *Param) RangeText() string {
	var parts []string
	if !math.IsNaN(p.Lo) {
		op := "≥"
		if p.LoOpen {
			op = ">"
		}
		parts = append(parts, op+" "+formatFloat(p.Lo))
	}
	if !math.IsNaN(p.Hi) {
		op := "≤"
		if p.HiOpen {
			op = "<"
		}
		parts = append(parts, op+" "+formatFloat(p.Hi))
	}
	return strings.Join(parts, " and ")
}

// maxItems is the default cap on list lengths.
const maxItems = 10000

// parseList reads a comma-separated list of finite numbers, each within the
// bounds: no empty items ("1,,2" is a typo, never silently "1,2"), and with
// Progression the form "a,b,...,c".
func (p *Param) parseList(text string) ([]float64, error) {
	if text == "" {
		return nil, fmt.Errorf("empty list; give at least one value")
	}
	limit := p.MaxItems
	if limit <= 0 {
		limit = maxItems
	}
	parts := strings.Split(text, ",")
	dots := -1
	for i, part := range parts {
		if s := strings.TrimSpace(part); s == "..." || s == "…" {
			dots = i
		}
	}
	if dots >= 0 && !p.Progression {
		return nil, fmt.Errorf("%q: \"...\" ranges are not accepted here; list every value", text)
	}
	if dots >= 0 && (dots < 2 || dots != len(parts)-2) {
		return nil, fmt.Errorf("%q: \"...\" needs two numbers before it and one after it (a,b,...,c)", text)
	}
	var out []float64
	for i, part := range parts {
		if i == dots {
			continue
		}
		s := strings.TrimSpace(part)
		if s == "" {
			return nil, fmt.Errorf("item %d of %q is empty", i+1, text)
		}
		f, err := parseFloat(s)
		if err != nil {
			return nil, fmt.Errorf("item %d: %v", i+1, err)
		}
		out = append(out, f)
	}
	if dots >= 0 {
		head, end := out[:len(out)-1], out[len(out)-1]
		a, b := head[len(head)-2], head[len(head)-1]
		step := b - a
		if !(step > 0) || !(end >= b) || (end-b)/step > float64(limit) {
			return nil, fmt.Errorf("%q: a,b,...,c needs a < b ≤ c and at most %d items", text, limit)
		}
		out = head
		for k := 1; b+float64(k)*step <= end+1e-9*step; k++ {
			out = append(out, b+float64(k)*step)
		}
	}
	if len(out) > limit {
		return nil, fmt.Errorf("%d items is more than %d", len(out), limit)
	}
	for i, f := range out {
		if err := p.check(f); err != nil {
			return nil, fmt.Errorf("item %d: %v", i+1, err)
		}
	}
	return out, nil
}

// SetJSON stores a value written in JSON: a number, a string (parsed as the
// flag would parse it), a boolean, or a list of numbers for a list
// parameter. Lists for scalar parameters, objects and null are refused.
func (p *Param) SetJSON(raw json.RawMessage) error {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not valid JSON: %v", err)
	}
	switch x := v.(type) {
	case string:
		return p.Set(x)
	case json.Number:
		return p.Set(string(x))
	case bool:
		return p.Set(strconv.FormatBool(x))
	case []any:
		if p.Kind != Floats && p.Kind != Ints {
			return fmt.Errorf("a list is not a value of this %s parameter", p.Kind.Name())
		}
		parts := make([]string, len(x))
		for i, item := range x {
			n, ok := item.(json.Number)
			if !ok {
				return fmt.Errorf("item %d of the list is not a number", i+1)
			}
			parts[i] = string(n)
		}
		if len(parts) == 0 {
			return fmt.Errorf("empty list; give at least one value")
		}
		return p.Set(strings.Join(parts, ","))
	case nil:
		return fmt.Errorf("null is not a value; give a number, string or boolean")
	}
	return fmt.Errorf("an object is not a value; give a number, string or boolean")
}

// Describe is the parameter's help line with its kind, range, choices and
// automatic value: what -h and the reference print.
func (p *Param) Describe() string {
	var b strings.Builder
	b.WriteString(p.Help)
	var notes []string
	if len(p.Choices) > 0 {
		notes = append(notes, "one of "+strings.Join(p.Choices, ", "))
	} else if r := p.RangeText(); r != "" {
		if p.Kind == Floats || p.Kind == Ints {
			notes = append(notes, "items "+r)
		} else {
			notes = append(notes, r)
		}
	}
	if p.Progression {
		notes = append(notes, "a,b,...,c for a range")
	}
	if p.Auto != "" {
		zero := "0"
		if p.Kind == Floats || p.Kind == Ints {
			zero = AutoText
		}
		notes = append(notes, zero+": "+p.Auto)
	}
	if len(notes) > 0 {
		b.WriteString(" (" + strings.Join(notes, "; ") + ")")
	}
	return b.String()
}
