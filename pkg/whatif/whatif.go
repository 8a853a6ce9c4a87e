// Package whatif builds the live what-if panels of the notebooks: HTML
// (figures as inline PNG and a small table) redrawn by notebook.WhatIf each
// time a slider moves. The panels hold the logic so that the notebook cells
// only declare the sliders; they are plain functions of their inputs, tested
// without a kernel.
package whatif

import (
	"fmt"
	"html"
	"math"

	"github.com/sgdescape/sgdescape/pkg/compare"
	"github.com/sgdescape/sgdescape/pkg/linreg"
	"github.com/sgdescape/sgdescape/pkg/notebook"
	"github.com/sgdescape/sgdescape/pkg/plot"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

// row lays out panel pieces side by side.
func row(parts ...string) string {
	s := `<div style="display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start">`
	for _, p := range parts {
		s += p
	}
	return s + `</div>`
}

// TheoryPanel draws, for one configuration (B/η, h*, n, L(θˢ)/L(θ*), L*),
// Eq. 15's power-law escape rate against the Arrhenius rate of GLD (Eq. 5)
// over loss ratios 1.001…100 with the chosen ratio marked, the stability
// map of Eq. 16 with the configuration marked, and the numbers of Eqs. 14–17.
// Only B/η enters (time t = η·steps). Rates are drawn as log₁₀ κ, finite
// where κ itself underflows.
func TheoryPanel(bOverEta, hStar, n, ratio, lStar float64) (string, error) {
	s := theory.SGD{Eta: 1, B: bOverEta, HStar: hStar}
	sum, err := theory.Summarize(s, theory.Barrier{LStar: lStar, LSaddle: ratio * lStar, N: n})
	if err != nil {
		return "", err
	}
	var xs, pl, ar []float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range theory.LogSpace(1.001, 100, 81) {
		b := theory.Barrier{LStar: lStar, LSaddle: r * lStar, N: n}
		lp, err := theory.LogKappaPowerLaw(s, b)
		if err != nil {
			return "", err
		}
		la, err := theory.LogKappaArrhenius(s, b)
		if err != nil {
			return "", err
		}
		xs, pl, ar = append(xs, r), append(pl, lp/math.Ln10), append(ar, la/math.Ln10)
		lo, hi = math.Min(lo, lp/math.Ln10), math.Max(hi, lp/math.Ln10)
	}
	span := math.Max(hi-lo, 1)
	f1, err := notebook.FigureHTML(plot.Figure{Title: fmt.Sprintf("κ: B/η = %.3g, h* = %.3g, n = %g", bOverEta, hStar, n),
		XLabel: "L(θˢ)/L(θ*)", YLabel: "log₁₀ κ (escape rate)", LogX: true, Width: 4.2, Height: 3.2,
		YMin: lo - 0.6*span, YMax: hi + 0.1*span, Series: []plot.Series{
			{Name: "SGD power law (Eq. 15)", X: xs, Y: pl, Color: 0},
			{Name: "GLD Arrhenius, D = ηL*h*/B", X: xs, Y: ar, Color: 1, Style: plot.Dashed},
			{Name: fmt.Sprintf("L(θˢ)/L(θ*) = %.3g", ratio), X: []float64{ratio}, Y: []float64{sum.LogKappaPowerLaw / math.Ln10}, Color: -1, Style: plot.Points},
		}})
	if err != nil {
		return "", err
	}
	bx := theory.LogSpace(0.1, 1000, 41) // B/(ηh*)
	ncs, err := theory.CriticalDimCurve(bx)
	if err != nil {
		return "", err
	}
	mark, color := "stable (n < n_c)", 2
	if !sum.Stable {
		mark, color = "unstable (n ≥ n_c)", 1
	}
	f2, err := notebook.FigureHTML(plot.Figure{Title: "Eq. 16: n_c = 2(1 + B/(ηh*))", XLabel: "B/(ηh*)", YLabel: "effective dimension n",
		LogX: true, LogY: true, Width: 3.6, Height: 3.2, YMin: 1, Series: []plot.Series{
			{Name: "n_c", X: bx, Y: ncs, Color: 0},
			{Name: mark, X: []float64{bOverEta / hStar}, Y: []float64{n}, Color: color, Style: plot.Points},
		}})
	if err != nil {
		return "", err
	}
	t := compare.WhatIf(sum)
	return row(f1, f2, notebook.TableHTML(t.Caption, t.Header, t.Rows)), nil
}

// StationaryFigure is the histogram of θ − θ* of one stationary run with
// its power-law fit (Eq. 17), the best Gibbs law and the exact Eq.-4
// density; note says which law fits better (log-likelihood per sample).
// A diverged run (or one without samples) is an error.
func StationaryFigure(c linreg.StationaryConfig, res linreg.StationaryResult) (fig plot.Figure, note string, err error) {
	if !res.Estimated() || len(res.Z) == 0 {
		return plot.Figure{}, "", fmt.Errorf("whatif: η = %g, B = %d has no fit (%s): no histogram", c.Eta, c.B, res.Reason)
	}
	edges, dens, err := plot.Histogram(res.Z, 60, 0, 0, false)
	if err != nil {
		return plot.Figure{}, "", err
	}
	var zs, he, hd []float64
	for i := 0; i <= 200; i++ {
		zs = append(zs, edges[0]+(edges[len(edges)-1]-edges[0])*float64(i)/200)
	}
	pl, gb, eq, err := linreg.Densities(c, res, zs)
	if err != nil {
		return plot.Figure{}, "", err
	}
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for i, v := range dens { // empty bins are left out of the log-density histogram
		if v > 0 {
			he, hd = append(he, 0.5*(edges[i]+edges[i+1])), append(hd, v)
			ymin, ymax = math.Min(ymin, v), math.Max(ymax, v)
		}
	}
	fig = plot.Figure{Title: fmt.Sprintf("P(θ − θ*), η = %g, B = %d", c.Eta, c.B), XLabel: "θ − θ*", YLabel: "density",
		LogY: true, YMin: ymin / 3, YMax: 3 * ymax, Series: []plot.Series{
			{Name: "SGD samples", X: he, Y: hd, Style: plot.Points, Color: 0},
			{Name: fmt.Sprintf("power law, φ = %.2f (fit)", res.Fit.MLE), X: zs, Y: pl, Color: 1},
			{Name: fmt.Sprintf("Gibbs, T = %.3g", res.Fit.GibbsT*res.LStar), X: zs, Y: gb, Style: plot.Dashed, Color: 2},
			{Name: "Eq. 4, exact noise", X: zs, Y: eq, Style: plot.Dashed, Color: 4},
		}}
	note = fmt.Sprintf("log-likelihood per sample, power law − Gibbs: %+.4f (positive: the power law fits better)", res.Fit.LogLikPerSample)
	return fig, note, nil
}

// StationaryPanel is the what-if panel of one point of a cached stationary
// sweep: StationaryFigure and the fit against Eq. 17. A diverged point is
// said in words, not an error, so the slider can pass over it.
func StationaryPanel(c linreg.StationarySweepConfig, p linreg.StationaryPoint) (string, error) {
	cfg, res := c.Config(p), p.Result
	fig, _, err := StationaryFigure(cfg, res)
	if err != nil {
		switch {
		case res.Diverged:
			return fmt.Sprintf("<p>η = %g, B = %d diverged: no histogram.</p>", cfg.Eta, cfg.B), nil
		case !res.Estimated() || len(res.Z) == 0:
			return fmt.Sprintf("<p>η = %g, B = %d: no histogram (%s).</p>", cfg.Eta, cfg.B, html.EscapeString(res.Reason)), nil
		}
		return "", err
	}
	img, err := notebook.FigureHTML(fig)
	if err != nil {
		return "", err
	}
	table := notebook.TableHTML("fit of this run", []string{"quantity", "value"}, [][]string{
		{"φ fit (maximum likelihood), 95 % CI", fmt.Sprintf("%.4g [%.4g, %.4g]", res.Fit.MLE, float64(res.Fit.MLECI[0]), float64(res.Fit.MLECI[1]))},
		{"φ theory 1 + B/(ηh*) (Eq. 17)", fmt.Sprintf("%.4g", res.PhiMean)},
		{"theory inside the interval", fmt.Sprint(res.Fit.MLECI.Contains(res.PhiMean))},
		{"log-likelihood per sample, power law − Gibbs", fmt.Sprintf("%+.4f", res.Fit.LogLikPerSample)},
		{"samples", fmt.Sprint(len(res.Z))},
	})
	return row(img, table), nil
}

// Options returns slider options for the values vs (their %g spelling) and
// the index of the value nearest to want in log distance.
func Options(vs []float64, want float64) (names []string, nearest int) {
	for i, v := range vs {
		names = append(names, fmt.Sprint(v))
		if math.Abs(math.Log(v/want)) < math.Abs(math.Log(vs[nearest]/want)) {
			nearest = i
		}
	}
	return names, nearest
}
