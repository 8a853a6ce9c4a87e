package run

import "fmt"

// Scale selects one of the two configurations of every paper experiment:
// Quick (minutes on 2 cores, what make test runs) or Paper (the paper's
// sizes). They are two configurations of the same code path; the presets
// (linreg.PaperFPT, network.PaperPretrain, …) take a Scale.
type Scale string

// The scales.
const (
	Quick Scale = "quick"
	Paper Scale = "paper"
)

// ParseScale reads "quick" (or "") and "paper".
func ParseScale(s string) (Scale, error) {
	switch Scale(s) {
	case "", Quick:
		return Quick, nil
	case Paper:
		return Paper, nil
	}
	return "", fmt.Errorf("scale %q: use %q or %q", s, Quick, Paper)
}

// Pick returns quick at Quick scale and paper at Paper scale.
func Pick[T any](s Scale, quick, paper T) T {
	if s == Paper {
		return paper
	}
	return quick
}
