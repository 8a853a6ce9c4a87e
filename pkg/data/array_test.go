package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbinet/npyio"
	"github.com/sbinet/npyio/npz"
)

// npyBytes writes v with npyio; a non-nil shape replaces the header by
// one with that shape (npyio writes 1-D slices as 1-D arrays).
func npyBytes(t testing.TB, v any, shape []int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := npyio.Write(&buf, v); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if shape == nil {
		return b
	}
	start, hlen := 10, int(binary.LittleEndian.Uint16(b[8:10]))
	if b[6] >= 2 {
		start, hlen = 12, int(binary.LittleEndian.Uint32(b[8:12]))
	}
	h := string(b[start : start+hlen])
	i := strings.Index(h, "'descr': '")
	return npyRaw(h[i+10:i+13], false, shape, b[start+hlen:])
}

// npyRaw builds a version-1 .npy file.
func npyRaw(descr string, fortran bool, shape []int, data []byte) []byte {
	parts := make([]string, len(shape))
	for k, d := range shape {
		parts[k] = fmt.Sprint(d)
	}
	s := strings.Join(parts, ", ")
	if len(shape) == 1 {
		s += ","
	}
	order := "False"
	if fortran {
		order = "True"
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }", descr, order, s)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	b = append(b, h...)
	return append(b, data...)
}

func TestParseNPYDTypesAndShapes(t *testing.T) {
	want := []float32{0, 1, 2, 3, 4, 5}
	for _, c := range []struct {
		name    string
		v       any
		integer bool
	}{
		{"f4", []float32{0, 1, 2, 3, 4, 5}, false},
		{"f8", []float64{0, 1, 2, 3, 4, 5}, false},
		{"u1", []uint8{0, 1, 2, 3, 4, 5}, true},
		{"i8", []int64{0, 1, 2, 3, 4, 5}, true},
		{"i4", []int32{0, 1, 2, 3, 4, 5}, true},
		{"i2", []int16{0, 1, 2, 3, 4, 5}, true},
	} {
		b := npyBytes(t, c.v, []int{2, 3})
		a, err := ParseNPY(b, c.name)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if fmt.Sprint(a.Shape) != "[2 3]" || a.Integer != c.integer || a.N() != 2 || a.SampleSize() != 3 {
			t.Errorf("%s: shape %v integer %v", c.name, a.Shape, a.Integer)
		}
		for i := range want {
			if a.Data[i] != want[i] {
				t.Errorf("%s: value %d = %v, want %v", c.name, i, a.Data[i], want[i])
			}
		}
	}
	// Fortran order: the same 2×3 matrix stored column by column.
	col := npyBytes(t, []float32{0, 3, 1, 4, 2, 5}, nil)
	b := npyRaw("<f4", true, []int{2, 3}, col[len(col)-24:])
	a, err := ParseNPY(b, "fortran")
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if a.Data[i] != want[i] {
			t.Errorf("fortran: value %d = %v, want %v", i, a.Data[i], want[i])
		}
	}
}

// The numpy-written fixture images equal the MNIST training images they came from.
func TestParseNPYMatchesMNIST(t *testing.T) {
	a, err := ReadArray(filepath.Join("..", "onnxmodel", "testdata", "mlp_mnist_x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a.Shape) != "[256 1 28 28]" || a.DType != "|u1" || !a.Integer {
		t.Fatalf("shape %v dtype %s", a.Shape, a.DType)
	}
	ds, err := Load("", MNIST, "train")
	if err != nil {
		var me *MissingError
		if errors.As(err, &me) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	for i := range a.Data {
		if got, want := a.Data[i], float32(math.Round(float64(ds.X[i]*255))); got != want {
			t.Fatalf("value %d = %v, MNIST has %v", i, got, want)
		}
	}
}

func TestReadArrayFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "d.npz")
	if err := npz.Write(p, map[string]any{"x": []float32{1, 2, 3, 4}, "y": []int64{7, 8}}); err != nil {
		t.Fatal(err)
	}
	x, err := ReadArray(p + ":x")
	if err != nil || fmt.Sprint(x.Data) != "[1 2 3 4]" {
		t.Fatalf("npz member x: %v %v", x, err)
	}
	if _, err := ReadArray(p); err == nil || !strings.Contains(err.Error(), "holds 2 arrays") {
		t.Errorf("npz without a member name: %v", err)
	}
	if _, err := ReadArray(p + ":z"); err == nil || !strings.Contains(err.Error(), `no array "z"`) {
		t.Errorf("npz missing member: %v", err)
	}
	csvPath := filepath.Join(dir, "d.csv")
	os.WriteFile(csvPath, []byte("a,b,c\n1,2,3\n4, 5.5,6\n\n"), 0o644)
	c, err := ReadArray(csvPath)
	if err != nil || fmt.Sprint(c.Shape) != "[2 3]" || fmt.Sprint(c.Data) != "[1 2 3 4 5.5 6]" || c.Integer {
		t.Fatalf("csv: %+v %v", c, err)
	}
	nan := filepath.Join(dir, "nan.csv")
	os.WriteFile(nan, []byte("1,2\n3,NaN\n"), 0o644)
	a, err := ReadArray(nan)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CheckFinite(); err == nil || !strings.Contains(err.Error(), "sample 1, value 1") {
		t.Errorf("NaN: %v", err)
	}
	for _, c := range []struct {
		name, content, want string
	}{
		{"ragged.csv", "1,2\n3\n", "row 2 has 1 values"},
		{"words.csv", "1,2\n3,x\n", `"x" is not a number`},
		{"empty.csv", "", "no rows of numbers"},
		{"huge.csv", "1\n1e39\n", "beyond the float32 range"},
		{"bad.npy", "not numpy", "no \\x93NUMPY magic"},
		{"d.bin", "1", "unknown file type"},
	} {
		p := filepath.Join(dir, c.name)
		os.WriteFile(p, []byte(c.content), 0o644)
		_, err := ReadArray(p)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line with %q", c.name, err, c.want)
		}
	}
	// A header claiming more data than the file holds.
	b := npyBytes(t, []float32{1, 2}, []int{1000, 1000})
	if _, err := ParseNPY(b, "short"); err == nil || !strings.Contains(err.Error(), "needs 4000000 bytes") {
		t.Errorf("short data: %v", err)
	}
	b = npyBytes(t, []float32{1, 2}, []int{-2})
	if _, err := ParseNPY(b, "negative"); err == nil {
		t.Errorf("negative dimension accepted")
	}
}

// FuzzParseNPY: any input parses into an array whose size matches its
// shape, or gives a *FormatError; never a panic.
func FuzzParseNPY(f *testing.F) {
	f.Add(npyBytes(f, []float32{1, 2, 3, 4, 5, 6}, []int{2, 3}))
	f.Add(npyBytes(f, []uint8{1, 2}, nil))
	f.Add(npyBytes(f, []int64{1, 2}, []int{1 << 20, 1 << 20}))
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := ParseNPY(in, "fuzz")
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a FormatError: %v", err)
			}
			return
		}
		n := 1
		for _, d := range a.Shape {
			n *= d
		}
		if n != len(a.Data) {
			t.Fatalf("shape %v but %d values", a.Shape, len(a.Data))
		}
	})
}

// FuzzParseCSV: any input parses into rows of equal width or gives a *FormatError.
func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n3,4\n"))
	f.Add([]byte("1\n2\n"))
	f.Add([]byte("1,\"2\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := ParseCSV(in, "fuzz")
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a FormatError: %v", err)
			}
			return
		}
		if len(a.Shape) != 2 || a.Shape[0]*a.Shape[1] != len(a.Data) {
			t.Fatalf("shape %v but %d values", a.Shape, len(a.Data))
		}
	})
}

// WriteNPY's files read back (through npyio) with the same shape and values.
func TestWriteNPYRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "w.npy")
	v := []float32{1.5, -2, float32(math.Pi), 0, 1e-30, 7}
	if err := WriteNPY(p, []int{3, 1, 2}, v); err != nil {
		t.Fatal(err)
	}
	a, err := ReadArray(p)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a.Shape) != "[3 1 2]" || a.DType != "<f4" {
		t.Fatalf("shape %v dtype %s", a.Shape, a.DType)
	}
	for i := range v {
		if a.Data[i] != v[i] {
			t.Errorf("value %d = %v, want %v", i, a.Data[i], v[i])
		}
	}
	if err := WriteNPY(p, []int{4}, v); err == nil {
		t.Error("a shape that does not match the values was accepted")
	}
}
