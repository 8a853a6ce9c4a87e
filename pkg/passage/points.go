package passage

import (
	"math"

	"github.com/sgdescape/sgdescape/pkg/estimate"
)

// Points returns the reliable estimates for a figure: thresholds, means and
// the ends of ±1 bootstrap-SE error bars (the lower end floored at mean/10
// for log axes; an unknown SE draws no bar).
func (r Result) Points() (c, mean, lo, hi []float64) {
	for _, e := range r.Estimates {
		if !e.Reliable {
			continue
		}
		se := float64(e.SE)
		if math.IsNaN(se) {
			se = 0
		}
		c, mean = append(c, e.C), append(mean, e.Mean)
		lo, hi = append(lo, math.Max(e.Mean-se, e.Mean/10)), append(hi, e.Mean+se)
	}
	return
}

// TheoryLine returns the ends of the line of log–log slope s through the
// centroid of the fitted points (log c, log mean over FitC), spanning the
// reliable thresholds: the theory slope drawn "through the data". ok is
// false with fewer than two fitted points.
func (r Result) TheoryLine(s float64) (x, y []float64, ok bool) {
	var fc, fm []float64
	for _, e := range r.Estimates {
		for _, f := range r.FitC {
			if e.C == f {
				fc, fm = append(fc, e.C), append(fm, e.Mean)
			}
		}
	}
	c, _, _, _ := r.Points()
	if len(fc) < 2 || len(c) == 0 {
		return nil, nil, false
	}
	x = []float64{c[0], c[len(c)-1]}
	y0, y1, ok := estimate.LineThrough(fc, fm, s, x[0], x[1])
	return x, []float64{y0, y1}, ok
}

// LocalPoints returns the local slopes between neighbouring reliable
// thresholds that have a bootstrap interval, at the geometric mean of each
// pair: x, slope and the interval's ends.
func (r Result) LocalPoints() (x, slope, lo, hi []float64) {
	for k, ls := range r.LocalSlopes {
		e0, e1 := r.Estimates[k], r.Estimates[k+1]
		if !e0.Reliable || !e1.Reliable || math.IsNaN(float64(ls.CI[0])) {
			continue
		}
		x = append(x, math.Sqrt(ls.CLo*ls.CHi))
		slope, lo, hi = append(slope, ls.Slope), append(lo, float64(ls.CI[0])), append(hi, float64(ls.CI[1]))
	}
	return
}

// LastLocalSlope is the local slope between the two largest reliable
// thresholds (NaN when no two neighbours are reliable).
func (r Result) LastLocalSlope() float64 {
	v := math.NaN()
	for k, ls := range r.LocalSlopes {
		if r.Estimates[k].Reliable && r.Estimates[k+1].Reliable {
			v = ls.Slope
		}
	}
	return v
}

// Estimate returns the estimate at threshold c.
func (r Result) Estimate(c float64) (Estimate, bool) {
	for _, e := range r.Estimates {
		if e.C == c {
			return e, true
		}
	}
	return Estimate{}, false
}
