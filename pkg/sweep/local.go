package sweep

import (
	"os"
	"path/filepath"
	"strconv"
)

// WriteSpec checks and writes a specification file, creating its
// directory. Records are kept by task, not by index, so rewriting a spec with
// a changed grid keeps every finished task that is still in it.
func WriteSpec(path string, spec []byte) error {
	if _, err := Parse(spec); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, spec, 0o644)
}

// Floats formats numbers as axis values.
func Floats(v ...float64) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return out
}

// Ints formats integers as axis values.
func Ints(v ...int) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.Itoa(x)
	}
	return out
}
