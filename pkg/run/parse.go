package run

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseFloats parses a comma-separated list such as "1.2,1.5,2" — the form
// of list-valued parameters in the CLI and in notebook environment variables.
// Empty items are skipped; an empty list or a non-number is an error.
func ParseFloats(s string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f, err := strconv.ParseFloat(part, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", part)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty list %q", s)
	}
	return out, nil
}
