package data

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

// FuzzReadIDX: any input either parses into a consistent tensor or gives a
// *FormatError; never a panic, and never a result whose size disagrees with
// its dimensions.
func FuzzReadIDX(f *testing.F) {
	good := idxBytes([]int{2, 3, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add(good)
	f.Add(gz(good))
	f.Add(good[:10])
	f.Add(gz(good)[:20])
	f.Add(idxBytes([]int{1 << 16, 1 << 16}, []byte{0}))
	f.Add([]byte{0, 0, 8, 0})
	f.Add([]byte{0x1f, 0x8b, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ReadIDX(bytes.NewReader(in), "fuzz")
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a FormatError: %v", err)
			}
			return
		}
		n := 1
		for _, d := range got.Dims {
			n *= d
		}
		if n != len(got.Data) {
			t.Fatalf("dims %v but %d bytes", got.Dims, len(got.Data))
		}
	})
}

// FuzzReadCIFAR: any input parses into whole records with labels 0..9 or
// gives a *FormatError.
func FuzzReadCIFAR(f *testing.F) {
	good := cifarBytes([]byte{1, 2})
	f.Add(good)
	f.Add(gz(good))
	f.Add(good[:CIFARRecordSize+7])
	f.Add(append([]byte{10}, good[1:]...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ReadCIFAR(bytes.NewReader(in), "fuzz", 0)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a FormatError: %v", err)
			}
			return
		}
		if len(got.Pixels) != len(got.Labels)*CIFARPixels {
			t.Fatalf("%d labels but %d pixels", len(got.Labels), len(got.Pixels))
		}
		for _, l := range got.Labels {
			if l >= CIFARClasses {
				t.Fatalf("label %d accepted", l)
			}
		}
	})
}
