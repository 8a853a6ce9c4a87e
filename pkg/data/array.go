package data

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sbinet/npyio"

	"github.com/sgdescape/sgdescape/pkg/memcheck"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// Array is an n-dimensional array of values read from a user's file —
// NumPy .npy, one array of a .npz archive, or CSV — as float32, row-major,
// the first axis indexing samples. It is how the inputs and targets of a
// network imported from ONNX reach the measurements (pkg/diagnose).
type Array struct {
	Name    string    `json:"name"`    // the file (and the .npz member)
	Shape   []int     `json:"shape"`   // [N, …]
	DType   string    `json:"dtype"`   // as stored: a NumPy dtype such as "<f4" or "|u1", or "csv"
	Integer bool      `json:"integer"` // stored as integers (class labels, pixel bytes)
	Data    []float32 `json:"-"`
}

// N is the number of samples (the first axis).
func (a *Array) N() int {
	if len(a.Shape) == 0 {
		return 0
	}
	return a.Shape[0]
}

// SampleShape is the shape of one sample (the axes after the first).
func (a *Array) SampleShape() []int {
	if len(a.Shape) == 0 {
		return nil
	}
	return a.Shape[1:]
}

// SampleSize is the number of values per sample.
func (a *Array) SampleSize() int {
	s := 1
	for _, d := range a.SampleShape() {
		s *= d
	}
	return s
}

// CheckFinite returns an error naming the first NaN or ±Inf value by its
// sample and position within the sample, or nil.
func (a *Array) CheckFinite() error {
	per := max(a.SampleSize(), 1)
	for i, v := range a.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%s holds %v at sample %d, value %d; remove or repair the non-finite values", a.Name, v, i/per, i%per)
		}
	}
	return nil
}

// ReadArray reads the array in path by its extension: .npy, .npz (the one
// array it holds, or the member named after a colon: "data.npz:x"), or
// .csv/.txt (see ReadCSV). Sizes are checked against the available memory
// before anything is allocated.
func ReadArray(path string) (*Array, error) {
	key := ""
	if i := strings.LastIndex(path, ".npz:"); i >= 0 {
		path, key = path[:i+4], path[i+5:]
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".npy":
		return readFileWith(path, func(b []byte) (*Array, error) { return ParseNPY(b, path) })
	case ".npz":
		return ReadNPZ(path, key)
	case ".csv", ".txt":
		return readFileWith(path, func(b []byte) (*Array, error) { return ParseCSV(b, path) })
	}
	return nil, fmt.Errorf("data: %s: unknown file type %q; give a NumPy .npy or .npz file or a .csv file", path, filepath.Ext(path))
}

// readFileWith reads a whole file (after checking that it and its parsed
// form fit in memory) and parses it.
func readFileWith(path string, parse func([]byte) (*Array, error)) (*Array, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data: cannot read %s: %v", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("data: %s is a directory, not a data file", path)
	}
	// The bytes, a typed copy and the float32 values: at most 3× the file.
	if err := memcheck.Check(3*float64(st.Size()), "data: reading "+path, "the file's size"); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data: cannot read %s: %v", path, err)
	}
	return parse(b)
}

// npyDTypes maps the NumPy dtypes accepted (either byte order) to a Go
// element type and whether they are integers.
var npyDTypes = map[string]struct {
	size    int
	integer bool
}{
	"f4": {4, false}, "f8": {8, false},
	"u1": {1, true}, "i1": {1, true}, "u2": {2, true}, "i2": {2, true},
	"u4": {4, true}, "i4": {4, true}, "u8": {8, true}, "i8": {8, true},
	"b1": {1, true},
}

// maxNPYHeader bounds the header of a .npy file (NumPy writes a few hundred bytes).
const maxNPYHeader = 1 << 20

// ParseNPY parses the bytes of a NumPy .npy file (format versions 1–3;
// float, integer and bool dtypes of either byte order; C or Fortran order)
// into an Array, with npyio reading the header and the values. A malformed
// file gives a *FormatError.
func ParseNPY(b []byte, name string) (*Array, error) {
	bad := func(off int64, format string, args ...any) error {
		return &FormatError{File: name, Offset: off, Msg: fmt.Sprintf(format, args...)}
	}
	if len(b) < 10 || !bytes.Equal(b[:6], npyio.Magic[:]) {
		return nil, bad(0, "not a NumPy .npy file (no \\x93NUMPY magic)")
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, bad(8, "truncated header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return nil, bad(6, "unsupported .npy format version %d", b[6])
	}
	if hlen > maxNPYHeader || start+hlen > len(b) {
		return nil, bad(int64(start), "header of %d bytes in a file of %d", hlen, len(b))
	}
	if b[6] == 3 {
		b = append(b[:6:6], append([]byte{2}, b[7:]...)...) // version 3 is version 2 with a UTF-8 header; npyio reads 1 and 2
	}
	var r *npyio.Reader
	if err := guard(func() error {
		var e error
		r, e = npyio.NewReader(bytes.NewReader(b))
		return e
	}); err != nil {
		return nil, bad(int64(start), "header: %v", err)
	}
	descr := r.Header.Descr.Type
	if len(descr) != 3 || (descr[0] != '<' && descr[0] != '>' && descr[0] != '|' && descr[0] != '=') {
		return nil, bad(int64(start), "dtype %q is not supported; save float32, float64 or integer arrays", descr)
	}
	dt, ok := npyDTypes[descr[1:]]
	if !ok {
		return nil, bad(int64(start), "dtype %q is not supported; save float32, float64 or integer arrays", descr)
	}
	shape := r.Header.Descr.Shape
	if len(shape) == 0 {
		return nil, bad(int64(start), "a scalar, not an array of samples")
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, bad(int64(start), "negative dimension in shape %v", shape)
		}
		if d > 0 && n > math.MaxInt32/d {
			return nil, bad(int64(start), "shape %v has more values than the file holds", shape)
		}
		n *= d
	}
	if n*dt.size > len(b)-start-hlen {
		return nil, bad(int64(start+hlen), "shape %v of %s needs %d bytes of data, the file has %d", shape, descr, n*dt.size, len(b)-start-hlen)
	}
	a := &Array{Name: name, Shape: slices.Clone(shape), DType: descr, Integer: dt.integer, Data: make([]float32, n)}
	var err error
	switch descr[1:] {
	case "f4":
		err = readInto[float32](r, a.Data)
	case "f8":
		err = readInto[float64](r, a.Data)
	case "u1":
		err = readInto[uint8](r, a.Data)
	case "i1":
		err = readInto[int8](r, a.Data)
	case "u2":
		err = readInto[uint16](r, a.Data)
	case "i2":
		err = readInto[int16](r, a.Data)
	case "u4":
		err = readInto[uint32](r, a.Data)
	case "i4":
		err = readInto[int32](r, a.Data)
	case "u8":
		err = readInto[uint64](r, a.Data)
	case "i8":
		err = readInto[int64](r, a.Data)
	case "b1":
		var v []bool
		if err = guard(func() error { return r.Read(&v) }); err == nil {
			for i, x := range v {
				if x {
					a.Data[i] = 1
				}
			}
		}
	}
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.File = name
			return nil, fe
		}
		return nil, bad(int64(start+hlen), "%v", err)
	}
	if r.Header.Descr.Fortran {
		a.Data = fromFortran(a.Data, shape)
	}
	return a, nil
}

// readInto reads the values of an npy file of element type T into dst as float32.
func readInto[T float32 | float64 | uint8 | int8 | uint16 | int16 | uint32 | int32 | uint64 | int64](r *npyio.Reader, dst []float32) error {
	var v []T
	if err := guard(func() error { return r.Read(&v) }); err != nil {
		return err
	}
	if len(v) != len(dst) {
		return fmt.Errorf("read %d values, the shape has %d", len(v), len(dst))
	}
	for i, x := range v {
		f := float64(x)
		if math.Abs(f) > math.MaxFloat32 && !math.IsInf(f, 0) {
			return &FormatError{Offset: -1, Msg: fmt.Sprintf("value %g at index %d is beyond the float32 range", f, i)}
		}
		dst[i] = float32(f)
	}
	return nil
}

// fromFortran reorders column-major values into row-major order.
func fromFortran(v []float32, shape []int) []float32 {
	out := make([]float32, len(v))
	idx := make([]int, len(shape))
	for i := range v {
		// i is the column-major position of multi-index idx.
		off, stride := 0, 1
		for k := len(shape) - 1; k >= 0; k-- {
			off += idx[k] * stride
			stride *= shape[k]
		}
		out[off] = v[i]
		for k := 0; k < len(shape); k++ { // advance idx in column-major order
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}

// guard turns a panic of a third-party parser into an error.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return fn()
}

// ReadNPZ reads one array of a NumPy .npz archive: the member key (with or
// without ".npy"), or the only array when key is "".
func ReadNPZ(path, key string) (*Array, error) {
	z, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("data: %s is not a readable .npz archive: %v", path, err)
	}
	defer z.Close()
	var keys []string
	var pick *zip.File
	for _, f := range z.File {
		k := strings.TrimSuffix(f.Name, ".npy")
		keys = append(keys, k)
		if k == strings.TrimSuffix(key, ".npy") || (key == "" && len(z.File) == 1) {
			pick = f
		}
	}
	if pick == nil {
		if key == "" {
			return nil, fmt.Errorf("data: %s holds %d arrays %q; name one as %s:<name>", path, len(keys), keys, path)
		}
		return nil, fmt.Errorf("data: %s has no array %q; it holds %q", path, key, keys)
	}
	name := path + ":" + strings.TrimSuffix(pick.Name, ".npy")
	size := pick.UncompressedSize64
	if err := memcheck.Check(3*float64(size), "data: reading "+name, "the array's size"); err != nil {
		return nil, err
	}
	rc, err := pick.Open()
	if err != nil {
		return nil, fmt.Errorf("data: cannot read %s: %v", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(size)+1))
	if err != nil {
		return nil, fmt.Errorf("data: cannot read %s: %v", name, err)
	}
	return ParseNPY(b, name)
}

// ParseCSV parses comma-separated numbers, one sample per row (a first row
// that is not numeric is taken as a header and skipped), into an Array of
// shape [rows, columns]. Every row must have the same number of fields.
func ParseCSV(b []byte, name string) (*Array, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	a := &Array{Name: name, DType: "csv", Integer: true}
	cols := -1
	for row := 0; ; row++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &FormatError{File: name, Offset: r.InputOffset(), Msg: err.Error()}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		vals := make([]float32, len(rec))
		numeric := true
		var perr error
		for i, f := range rec {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || (math.Abs(v) > math.MaxFloat32 && !math.IsInf(v, 0)) {
				numeric = false
				if err == nil {
					err = fmt.Errorf("%s is beyond the float32 range", f)
				}
				perr = fmt.Errorf("row %d, column %d: %q is not a number (%v)", row+1, i+1, f, err)
				break
			}
			vals[i] = float32(v)
			if v != math.Trunc(v) {
				a.Integer = false
			}
		}
		if !numeric {
			if row == 0 && cols < 0 {
				continue // header
			}
			return nil, &FormatError{File: name, Offset: r.InputOffset(), Msg: perr.Error()}
		}
		if cols < 0 {
			cols = len(vals)
		} else if len(vals) != cols {
			return nil, &FormatError{File: name, Offset: r.InputOffset(), Msg: fmt.Sprintf("row %d has %d values, the first row %d", row+1, len(vals), cols)}
		}
		a.Data = append(a.Data, vals...)
	}
	if cols < 0 {
		return nil, &FormatError{File: name, Msg: "no rows of numbers"}
	}
	a.Shape = []int{len(a.Data) / cols, cols}
	return a, nil
}

// WriteNPY writes float32 values of the given shape as a NumPy .npy file
// (format 1.0, little endian, C order), atomically: the inputs and targets
// of a diagnosis written from Go, and test data.
func WriteNPY(path string, shape []int, v []float32) error {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("data: negative dimension in shape %v", shape)
		}
		n *= d
	}
	if n != len(v) {
		return fmt.Errorf("data: shape %v needs %d values, got %d", shape, n, len(v))
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	s := strings.Join(parts, ", ")
	if len(shape) == 1 {
		s += ","
	}
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", s)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := make([]byte, 0, 10+len(h)+4*len(v))
	b = append(b, npyio.Magic[:]...)
	b = append(b, 1, 0, byte(len(h)), byte(len(h)>>8))
	b = append(b, h...)
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return run.WriteFileAtomic(path, b)
}
