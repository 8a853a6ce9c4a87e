package run

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseFloats parses a comma-separated list such as "1.2,1.5,2" — the form
// of list-valued parameters in the CLI and in notebook environment variables.
// Spaces around items are ignored. An empty list, an empty item ("1,,2",
// "1,2,": a typo, never silently dropped), a non-number or a non-finite
// number (NaN, ±Inf) is an error that names the item.
func ParseFloats(s string) ([]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty list")
	}
	parts := strings.Split(s, ",")
	out := make([]float64, 0, len(parts))
	for i, part := range parts {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("item %d of %q is empty", i+1, s)
		}
		f, err := strconv.ParseFloat(part, 64)
		if err != nil && !errorsIsRange(err) {
			return nil, fmt.Errorf("%q is not a number", part)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%q is not a finite number", part)
		}
		out = append(out, f)
	}
	return out, nil
}

// errorsIsRange reports a strconv range error (an overflow gives ±Inf, which
// is then refused as non-finite; an underflow gives 0 or a denormal).
func errorsIsRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
