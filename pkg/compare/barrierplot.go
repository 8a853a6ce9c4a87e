package compare

import (
	"fmt"
	"math"

	"github.com/sgdescape/sgdescape/pkg/barrier"
	"github.com/sgdescape/sgdescape/pkg/ncrit"
	"github.com/sgdescape/sgdescape/pkg/plot"
)

// Notebook 06's figures. Numbers that are not defined (a κ where no run
// escaped, a W where the large-deviation root is missing) are left out of
// the curves, never drawn as zero; a point where no run escaped is drawn at
// its 95 % upper bound as its own series ("slower than").

// BarrierLandscapePlots are the figures of the drawn data set: its loss
// with the stationary points and the escape interval, the per-sample
// gradient variance C(θ) against Eq. 6's decoupled noise, and the
// large-deviation quasi-potential W(θ).
func BarrierLandscapePlots(lab barrier.LabResult, seed uint64, n int) []plot.Figure {
	ls, cv := lab.SGD.Landscape, lab.Curves
	var mx, my, sx, sy []float64
	for _, p := range ls.Points {
		if p.Min {
			mx, my = append(mx, p.Theta), append(my, p.L)
		} else {
			sx, sy = append(sx, p.Theta), append(sy, p.L)
		}
	}
	var wx, wy []float64
	for i, w := range cv.W {
		if finiteF(w) {
			wx, wy = append(wx, cv.X[i]), append(wy, float64(w))
		}
	}
	figs := []plot.Figure{
		{Title: fmt.Sprintf("helix regression: empirical loss (N = %d, seed %d)", n, seed), XLabel: "θ", YLabel: "L(θ)",
			Series: keep([]plot.Series{
				{Name: "L(θ)", X: cv.Theta, Y: cv.Loss, Color: 0},
				{Name: "minima", X: mx, Y: my, Style: plot.Points, Color: 2},
				{Name: "saddles", X: sx, Y: sy, Style: plot.Points, Color: 1},
				{Name: "escape interval", X: []float64{ls.A, ls.A, ls.B, ls.B}, Y: []float64{0, ls.LStar, ls.LStar, 0}, Style: plot.Dashed, Color: -1},
			}), Width: 7, Height: 3.5},
		{Title: "per-sample gradient variance C(θ) along the escape interval", XLabel: "θ", YLabel: "C(θ)",
			Series: []plot.Series{{Name: "exact C(θ) of the data set", X: cv.X, Y: cv.C, Color: 0}, {Name: "Eq. 6: 2L(θ)·h*(GN)", X: cv.X, Y: cv.Decoupled, Style: plot.Dashed, Color: 1}},
			Width:  7, Height: 3},
	}
	if len(wx) > 1 { // none where the large-deviation root is missing everywhere
		figs = append(figs, plot.Figure{Title: "large-deviation quasi-potential W(θ), W′ = s(θ), K_θ(s) = 0", XLabel: "θ", YLabel: "W(θ) − W(θ*)",
			Series: []plot.Series{{Name: "W", X: wx, Y: wy, Color: 3}}, Width: 7, Height: 3})
	}
	return figs
}

// keep drops the series without points (a figure refuses them).
func keep(series []plot.Series) []plot.Series {
	var out []plot.Series
	for _, s := range series {
		if len(s.X) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// rates are the measured κ of a sweep with their intervals, and the bounds
// of the points where no run escaped.
type rates struct{ x, k, lo, hi, bx, by []float64 }

func measured(r barrier.Result, shift float64) rates {
	var m rates
	for _, p := range r.Points {
		switch {
		case finiteF(p.Kappa) && p.Kappa > 0:
			m.x, m.k = append(m.x, p.Beta+shift), append(m.k, float64(p.Kappa))
			m.lo, m.hi = append(m.lo, float64(p.KappaCI[0])), append(m.hi, float64(p.KappaCI[1]))
		case p.Status == barrier.StatusSlower && finiteF(p.KappaUpper):
			m.bx, m.by = append(m.bx, p.Beta+shift), append(m.by, float64(p.KappaUpper))
		}
	}
	return m
}

// predicted returns the β and the values of a prediction where it is a
// positive number.
func predicted(r barrier.Result, name string) (x, y []float64) {
	for _, p := range r.Points {
		if v := prediction(p, name); finiteF(v) && v > 0 {
			x, y = append(x, p.Beta), append(y, float64(v))
		}
	}
	return x, y
}

// BarrierRatePlot is κ against β on a logarithmic axis: SGD with the
// paper's mini-batches, the i.i.d. control (drawn slightly to the right so
// both sets of bars stay visible) and the four predictions.
func BarrierRatePlot(lab barrier.LabResult) plot.Figure {
	s, iid := measured(lab.SGD, 0), measured(lab.IID, 0.06)
	series := []plot.Series{
		{Name: "SGD, epoch mini-batches", X: s.x, Y: s.k, YLo: s.lo, YHi: s.hi, Style: plot.Points, Color: 0},
		{Name: "SGD, i.i.d. mini-batches (shifted right)", X: iid.x, Y: iid.k, YLo: iid.lo, YHi: iid.hi, Style: plot.Points, Color: -1},
	}
	series = append(series, plot.Series{Name: "no run escaped: κ below this bound (95 %)", X: append(s.bx, iid.bx...), Y: append(s.by, iid.by...), Style: plot.Points, Color: 5})
	for i, name := range Predictions {
		x, y := predicted(lab.SGD, name)
		style := plot.Line
		if i < 2 {
			style = plot.Dashed
		}
		label := map[string]string{PredPowerLaw: "power law (Eq. 15)", PredArrhenius: "Arrhenius (Eq. 5)", PredExact: "exact-variance diffusion", PredLD: "large deviations"}[name]
		series = append(series, plot.Series{Name: label, X: x, Y: y, Style: style, Color: i + 1})
	}
	return plot.Figure{Title: fmt.Sprintf("escape rate over the helix barrier (n = %d, B = %d)", lab.SGD.Landscape.N, lab.SGD.B), XLabel: "β = B/(ηh*)",
		YLabel: "κ (per unit t = η·steps)", LogY: true, Series: keep(series), LegendLeft: true, LegendBottom: true, Width: 7, Height: 4.5}
}

// ExitTimePlot is the survival function P(T > t) of the sweep's exit times
// on a logarithmic axis with e^(−κt) dashed: a straight line means a
// memoryless (Kramers-type) escape. β with fewer than 5 escapes are left out.
func ExitTimePlot(r barrier.Result) plot.Figure {
	var series []plot.Series
	for i, p := range r.Points {
		if len(p.Times) < 5 || !finiteF(p.Kappa) {
			continue
		}
		var tx, sy, ex []float64
		n := float64(len(p.Times) + p.Censored)
		for j, t := range p.Times {
			tx = append(tx, t)
			sy = append(sy, 1-float64(j+1)/n+0.5/n)
			ex = append(ex, math.Exp(-float64(p.Kappa)*t))
		}
		series = append(series, plot.Series{Name: fmt.Sprintf("β = %g", p.Beta), X: tx, Y: sy, Style: plot.Points, Color: i},
			plot.Series{Name: "", X: tx, Y: ex, Style: plot.Dashed, Color: i})
	}
	return plot.Figure{Title: "SGD exit times: survival function (dashed: e^(−κt))", XLabel: "t = η·steps", YLabel: "P(T > t)", LogY: true, Series: series, Width: 7, Height: 4}
}

// NcritPlot is the tail index of ℓ = L/L* against P: the Hill estimates
// with their intervals (missing where every chain diverged), the theory
// φ − n/2, discrete SGD's Kesten α/2, n_c and the P where SGD's second
// moment diverges.
func NcritPlot(r ncrit.Result) plot.Figure {
	var px, tx, tlo, thi, thx, thy, kx, ky []float64
	nc := 0.0
	for _, p := range r.Points {
		nc = p.NC
		thx, thy = append(thx, float64(p.P)), append(thy, p.TailTheory)
		if finiteF(p.Tail) {
			lo, hi := p.TailCI[0], p.TailCI[1]
			if !finiteF(lo) || !finiteF(hi) {
				lo, hi = p.Tail, p.Tail
			}
			px, tx, tlo, thi = append(px, float64(p.P)), append(tx, float64(p.Tail)), append(tlo, float64(lo)), append(thi, float64(hi))
		}
		if finiteF(p.TailKesten) {
			kx, ky = append(kx, float64(p.P)), append(ky, float64(p.TailKesten))
		}
	}
	const bottom, top = -10.0, 12.0
	var series []plot.Series
	if len(thx) > 0 {
		series = []plot.Series{
			{Name: "theory φ − n/2", X: thx, Y: thy, Style: plot.Dashed, Color: 1},
			{Name: "n_c = 2φ", X: []float64{nc, nc}, Y: []float64{bottom, top}, Style: plot.Line, Color: -1},
			{Name: "SGD 2nd moment unstable", X: []float64{r.SecondMomentP, r.SecondMomentP}, Y: []float64{bottom, top}, Style: plot.Dashed, Color: -1},
			{Name: "zero", X: []float64{thx[0], thx[len(thx)-1]}, Y: []float64{0, 0}, Style: plot.Dashed, Color: 6},
		}
	}
	if len(px) > 0 {
		series = append(series, plot.Series{Name: "SGD, Hill estimate", X: px, Y: tx, YLo: tlo, YHi: thi, Style: plot.Points, Color: 0})
	}
	if len(kx) > 0 {
		series = append(series, plot.Series{Name: "Kesten α/2 (discrete SGD)", X: kx, Y: ky, Style: plot.LinePoints, Color: 3})
	}
	return plot.Figure{Title: fmt.Sprintf("tail index of ℓ = L/L* against P (B = %d, η = %g)", r.B, r.Eta), XLabel: "P = n", YLabel: "tail index of P(ℓ > x)",
		Series: series, YMin: bottom, YMax: top, Width: 7.5, Height: 5.5}
}
