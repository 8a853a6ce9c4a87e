package passage

import (
	"fmt"
	"math"
)

// Degeneracies lists the thresholds whose first-passage estimates look
// complete but measure nothing: every run that crossed did so at its first
// observation (t ≤ resolution, the time between loss checks — the passage is
// faster than the experiment can see, so the mean is only an upper bound),
// or at least two runs crossed and all their times are identical (zero
// spread: no interval can be estimated). A slope fitted through such
// thresholds is not an escape-rate exponent. resolution ≤ 0 skips the first
// check. Diverged runs are left out, as in every estimate.
func (tr *Tracker) Degeneracies(resolution float64) []string {
	var notes []string
	for k, c := range tr.C {
		var ts []float64
		for r := range tr.Times {
			if !tr.Diverged[r] && !math.IsNaN(tr.Times[r][k]) {
				ts = append(ts, tr.Times[r][k])
			}
		}
		if len(ts) == 0 {
			continue
		}
		lo, hi := ts[0], ts[0]
		for _, t := range ts {
			lo, hi = math.Min(lo, t), math.Max(hi, t)
		}
		switch {
		case resolution > 0 && hi <= resolution*(1+1e-9):
			notes = append(notes, fmt.Sprintf("c = %g: all %d passages happened at the first loss check (t = %.3g, the time resolution): the escape is faster than the resolution and the mean is only an upper bound", c, len(ts), hi))
		case len(ts) >= 2 && hi-lo <= 1e-9*math.Abs(hi):
			notes = append(notes, fmt.Sprintf("c = %g: all %d passage times are identical (t = %.3g): zero spread, no uncertainty can be estimated", c, len(ts), hi))
		}
	}
	return notes
}
