package compare

import (
	"fmt"
	"math"

	"github.com/sgdescape/sgdescape/pkg/barrier"
	"github.com/sgdescape/sgdescape/pkg/plot"
)

// Notebook 06's figures over data draws. Draws where a number is undefined
// are left out of the series, never drawn as zero.

// DrawsSlopePlot is SGD's slope d ln κ/dβ (95 % interval) against each
// prediction's, one point per draw and prediction, with the identity line:
// a prediction that follows SGD lies on it. The i.i.d. control is drawn
// against the exact discrete rate, the chain it is exact for.
func DrawsSlopePlot(r barrier.DrawsResult) plot.Figure {
	var series []plot.Series
	lo, hi := math.Inf(1), math.Inf(-1)
	add := func(label, name, against string, color int) {
		var x, y, ylo, yhi []float64
		for _, d := range r.Draws {
			s, p := sgdOf(d, against), predictedSlope(d.SGD, name)
			if !finiteF(p) || !finiteF(s.SlopeFit) {
				continue
			}
			x, y = append(x, float64(p)), append(y, float64(s.SlopeFit))
			ylo, yhi = append(ylo, float64(s.SlopeCI[0])), append(yhi, float64(s.SlopeCI[1]))
			lo, hi = math.Min(lo, math.Min(float64(p), float64(s.SlopeCI[0]))), math.Max(hi, math.Max(float64(p), float64(s.SlopeCI[1])))
		}
		series = append(series, plot.Series{Name: label, X: x, Y: y, YLo: ylo, YHi: yhi, Style: plot.Points, Color: color})
	}
	for i, name := range DrawPredictions {
		add(name+" (SGD epoch)", name, AgainstEpoch, i+1)
	}
	add(PredDiscrete+" (SGD i.i.d.)", PredDiscrete, AgainstIID, 0)
	if lo < hi {
		series = append(series, plot.Series{Name: "identity: prediction = SGD", X: []float64{lo, hi}, Y: []float64{lo, hi}, Style: plot.Dashed, Color: -1})
	}
	return plot.Figure{Title: fmt.Sprintf("SGD's slope against each prediction's over %d data draws", len(r.Draws)), XLabel: "predicted d ln κ/dβ",
		YLabel: "SGD's d ln κ/dβ (95 % CI)", Series: keep(series), Width: 7, Height: 5}
}

// DrawsRatioPlot is κ_SGD/κ_prediction against β on a logarithmic axis:
// exp(mean over draws of the ln ratio) with bars exp(mean ± SD), each
// prediction slightly shifted so that the bars stay visible, and 1 dashed.
func DrawsRatioPlot(r barrier.DrawsResult) plot.Figure {
	rows := drawRatios(r)
	var series []plot.Series
	names := append(append([]string(nil), DrawPredictions...), PredDiscrete)
	for i, name := range names {
		against := AgainstEpoch
		if i == len(DrawPredictions) {
			against = AgainstIID
		}
		var x, y, lo, hi []float64
		for _, row := range rows {
			if row.Prediction != name || row.Against != against || !finiteF(row.LogRatio.Mean) {
				continue
			}
			m, sd := float64(row.LogRatio.Mean), float64(row.LogRatio.SD)
			if math.IsNaN(sd) {
				sd = 0
			}
			x, y = append(x, row.Beta+0.05*float64(i-2)), append(y, math.Exp(m))
			lo, hi = append(lo, math.Exp(m-sd)), append(hi, math.Exp(m+sd))
		}
		color := (i + 1) % (len(DrawPredictions) + 1)
		series = append(series, plot.Series{Name: fmt.Sprintf("%s ÷ %s", against, name), X: x, Y: y, YLo: lo, YHi: hi, Style: plot.LinePoints, Color: color})
	}
	if bs := betas(r); len(bs) > 0 {
		series = append(series, plot.Series{Name: "ratio 1", X: []float64{bs[0] - 0.2, bs[len(bs)-1] + 0.2}, Y: []float64{1, 1}, Style: plot.Dashed, Color: -1})
	}
	return plot.Figure{Title: fmt.Sprintf("κ_SGD/κ_prediction over %d draws (mean of ln ratio ± SD)", len(r.Draws)), XLabel: "β = B/(ηh*)",
		YLabel: "κ_SGD / κ_prediction", LogY: true, Series: keep(series), Width: 7, Height: 4.5}
}

// DrawsNPlot is κ(n)/κ(n₀) at beta-fix against n: the measured ratio
// (mean ± SD over draws) and Eq. 15's (Lˢ/L*)^((n−n₀)/2) (mean ± SD).
func DrawsNPlot(r barrier.DrawsResult) plot.Figure {
	var mx, my, mlo, mhi, ex, ey, elo, ehi []float64
	for _, row := range drawsByN(r) {
		if m := row.Measured; finiteF(m.Mean) {
			sd := float64(m.SD)
			if math.IsNaN(sd) {
				sd = 0
			}
			mx, my = append(mx, float64(row.N)), append(my, float64(m.Mean))
			mlo, mhi = append(mlo, float64(m.Mean)-sd), append(mhi, float64(m.Mean)+sd)
		}
		if e := row.Eq15; finiteF(e.Mean) {
			sd := float64(e.SD)
			if math.IsNaN(sd) {
				sd = 0
			}
			ex, ey = append(ex, float64(row.N)+0.08), append(ey, float64(e.Mean))
			elo, ehi = append(elo, float64(e.Mean)-sd), append(ehi, float64(e.Mean)+sd)
		}
	}
	return plot.Figure{Title: fmt.Sprintf("κ(n)/κ(n₀) at β = %g over %d draws (mean ± SD)", r.BetaFix, len(r.Draws)), XLabel: "n (outliers)", YLabel: "κ(n)/κ(n₀)", LogY: true,
		Series: keep([]plot.Series{{Name: "SGD, epoch batches", X: mx, Y: my, YLo: mlo, YHi: mhi, Style: plot.LinePoints, Color: 0},
			{Name: "Eq. 15: (Lˢ/L*)^((n−n₀)/2) (shifted right)", X: ex, Y: ey, YLo: elo, YHi: ehi, Style: plot.LinePoints, Color: 1}}),
		Width: 6, Height: 4}
}
