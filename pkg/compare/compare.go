// Package compare holds the "ours vs theory vs paper" comparisons of the
// notebooks as typed, tested code: each function takes an experiment's
// result (keyed by dynamics kind, estimator name or stage — never by
// position), returns the rows that go into the key-figure JSON, the table
// that the notebook shows and the verdict it tells in words. Notebooks set
// parameters, call an experiment, plot, and hand its result to this package.
package compare

import (
	"fmt"
	"math"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// Table is a captioned table for notebook.Table.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
}

// yesNo renders an agreement flag.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// dash renders 0 (not applicable) as "—".
func dash(v float64) string {
	if v == 0 {
		return "—"
	}
	return fmt.Sprintf("%.4g", v)
}

// mean is the arithmetic mean of v (NaN when empty).
func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// finiteF reports whether v is a number (not NaN or ±Inf).
func finiteF(v run.Float) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
