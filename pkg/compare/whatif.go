package compare

import (
	"fmt"
	"math"
	"strings"

	"github.com/sgdescape/sgdescape/pkg/sweep/validity"
)

// WhatifRow is one what-if grid against its theory: how many grid points
// have an estimate, how many lie within the tolerance, the three furthest.
type WhatifRow struct {
	Grid     string  `json:"grid"`
	Equation string  `json:"equation"`
	Points   int     `json:"points_measured"`
	Within   int     `json:"points_within_tol"`
	Tol      float64 `json:"tol"`
	Worst    string  `json:"worst"`
	Source   string  `json:"source"`
}

// Whatif compares the what-if grids (notebook 07) with Eq. 17 and Eq. 15:
// the key-figure rows (by grid name), the table and the verdict. scale names
// the depth of grids run here ("quick", "paper").
func Whatif(res validity.GridsResult, scale string) (rows []WhatifRow, t Table, verdict string) {
	t = Table{Caption: fmt.Sprintf("Grid points within %.0f %% of the theory, and the three furthest (ratio [95 %% CI])", 100*res.Tol),
		Header: []string{"grid", "formula", "within / measured", "furthest from theory"}}
	by := map[string]WhatifRow{}
	for _, g := range res.Grids {
		meas, in := g.Map.Counts()
		src := g.Source
		if g.Source == "grid run here" {
			src = "quick grid run here (" + scale + ")"
		}
		r := WhatifRow{g.Name, g.Equation, meas, in, res.Tol, strings.Join(g.Map.Furthest(3), "; "), src}
		rows, by[g.Name] = append(rows, r), r
		t.Rows = append(t.Rows, []string{r.Grid, r.Equation, fmt.Sprintf("%d / %d", r.Within, r.Points), r.Worst})
	}
	frac := func(k WhatifRow) float64 { return float64(k.Within) / math.Max(1, float64(k.Points)) }
	st, fe, fp := by["stationary"], by["fpt-etaB"], by["fpt-P"]
	tol := 100 * res.Tol
	verdict = fmt.Sprintf(`**Verdict.** Eq. 17 holds within %.0f %% at %d of %d $(\eta, B)$ points (%.0f %%); the furthest are %s.
Eq. 15's slope is within %.0f %% at %d of %d $(\eta, B)$ points (%.0f %%) and at %d of %d values of $P$; the furthest are %s, and over $P$: %s.
A ratio above 1 means the mean escape time grows faster with $c$ than the theory says (a steeper power law); below 1, slower.
These are measured numbers with 95 %% intervals, not tuned: where the outline does not reach, the continuous-time theory (small $\eta$, Hessian-aligned noise, asymptotic thresholds) does not describe the discrete SGD of this grid to 10 %%. The quick grids use few runs and coarse thresholds; the paper-depth grids above narrow the intervals.`,
		tol, st.Within, st.Points, 100*frac(st), st.Worst, tol, fe.Within, fe.Points, 100*frac(fe), fp.Within, fp.Points, fe.Worst, fp.Worst)
	return rows, t, verdict
}
