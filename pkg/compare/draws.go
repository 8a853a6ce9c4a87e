package compare

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/sgdescape/sgdescape/pkg/barrier"
	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// PredDiscrete is the fifth prediction of notebook 06: the exact rate of
// the discrete chain, SGD with i.i.d. batches (pkg/exitchain). It is not an
// approximation: it is the exact answer for i.i.d. batches, and a
// prediction for the paper's epoch batches.
const PredDiscrete = "exact discrete (i.i.d.)"

// DrawPredictions are the predictions compared over draws: the four
// approximations and the exact discrete rate.
var DrawPredictions = []string{PredPowerLaw, PredArrhenius, PredExact, PredLD, PredDiscrete}

// The measured slopes a prediction is compared with.
const (
	AgainstEpoch = "SGD epoch"
	AgainstIID   = "SGD i.i.d."
)

// predictionAt returns the prediction called name at p (the five of DrawPredictions).
func predictionAt(p barrier.Point, name string) run.Float {
	if name == PredDiscrete {
		return p.KappaDiscrete
	}
	return prediction(p, name)
}

// predictedSlope returns the slope d ln κ/dβ of the prediction called name.
func predictedSlope(r barrier.Result, name string) run.Float {
	switch name {
	case PredPowerLaw:
		return r.SlopePowerLaw
	case PredArrhenius:
		return r.SlopeArrh
	case PredExact:
		return r.SlopeExact
	case PredLD:
		return r.SlopeLD
	}
	return r.SlopeDiscrete
}

// Spread is a statistic over draws: its mean, sample standard deviation
// and the standard error of the mean (SD/√draws), over the draws where it
// is a number.
type Spread struct {
	Mean  run.Float `json:"mean"`
	SD    run.Float `json:"sd"`
	SE    run.Float `json:"se_of_mean"`
	Draws int       `json:"draws"`
}

// spreadOf returns the Spread of the finite values of v.
func spreadOf(v []float64) Spread {
	var f []float64
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			f = append(f, x)
		}
	}
	s := Spread{Mean: run.Float(math.NaN()), SD: run.Float(math.NaN()), SE: run.Float(math.NaN()), Draws: len(f)}
	if len(f) > 0 {
		s.Mean = run.Float(mean(f))
	}
	if len(f) > 1 {
		s.SD = run.Float(estimate.StdDev(f))
		s.SE = s.SD / run.Float(math.Sqrt(float64(len(f))))
	}
	return s
}

// Text is "mean ± SD".
func (s Spread) Text() string {
	if !finiteF(s.Mean) {
		return "—"
	}
	if !finiteF(s.SD) {
		return fmt.Sprintf("%.3g", float64(s.Mean))
	}
	return fmt.Sprintf("%.3g ± %.2g", float64(s.Mean), float64(s.SD))
}

// DrawSlopeRow is one prediction's slope against SGD's over draws: in how
// many draws it lies inside SGD's 95 % interval, and the deviation
// slope_prediction − slope_SGD over draws.
type DrawSlopeRow struct {
	Prediction string `json:"prediction"`
	Against    string `json:"against"`
	Inside     int    `json:"inside"`
	Draws      int    `json:"draws"` // draws where both slopes are numbers
	Deviation  Spread `json:"deviation"`
	// Closer counts the draws where this prediction is nearer SGD's slope
	// than Eq. 15 (the paper's) is.
	CloserThanEq15 int `json:"closer_than_eq15"`
}

// Fraction is Inside/Draws (NaN without draws).
func (r DrawSlopeRow) Fraction() float64 { return float64(r.Inside) / float64(r.Draws) }

// RatioRow is ln(κ_SGD/κ_prediction) at one β over draws.
type RatioRow struct {
	Prediction string    `json:"prediction"`
	Against    string    `json:"against"`
	Beta       float64   `json:"beta"`
	LogRatio   Spread    `json:"log_ratio"`
	PerDraw    []float64 `json:"per_draw"` // in seed order; NaN where undefined
}

// NRow is κ(n)/κ(n₀) at BetaFix over draws against Eq. 15's
// (Lˢ/L*)^((n−n₀)/2): the measured ratio, Eq. 15's, ln(measured/Eq. 15),
// and the draws where Eq. 15 lies inside the measured ratio's 95 % interval
// (exp(∓1.96·√(1/k_n + 1/k_n₀)), k escapes).
type NRow struct {
	N        int    `json:"n"`
	Measured Spread `json:"measured_ratio"`
	Eq15     Spread `json:"eq15_ratio"`
	LogDev   Spread `json:"log_measured_over_eq15"`
	Inside   int    `json:"inside"`
	Draws    int    `json:"draws"`
}

// DiscreteAgreement is the exact discrete rate against SGD with i.i.d.
// batches, the chain it is exact for: pointwise (κ_exact inside SGD's 95 %
// interval), per draw (every β inside) and jointly (χ² of
// ln κ_iid − ln κ_exact with variance 1/escaped, over every draw and β).
type DiscreteAgreement struct {
	Points     int       `json:"points"`
	Inside     int       `json:"inside"`
	Draws      int       `json:"draws"`
	DrawsAll   int       `json:"draws_every_beta_inside"`
	Chi2       run.Float `json:"chi2"`
	Dof        int       `json:"dof"`
	PValue     run.Float `json:"p_value"`
	MinDrawP   run.Float `json:"smallest_draw_p_value"`
	MinDrawArg uint64    `json:"smallest_p_seed"`
	// LogRatio is ln(κ_iid/κ_exact) over every draw and β.
	LogRatio Spread `json:"log_ratio"`
}

// Resolution says what the runs per β can resolve: the exit times'
// measured coefficient of variation, the 95 % half-width of ln κ at one β
// (estimate.RateHalfWidth) and of the slope over the β of the sweep
// (divided by S_β = √Σ(β − β̄)²), and for each prediction the runs per β
// that would put the slope's half-width at half the prediction's mean
// distance from SGD's (so that one draw tells them apart).
type Resolution struct {
	Runs           int            `json:"runs"`
	CV             run.Float      `json:"cv"`
	RateHalfWidth  run.Float      `json:"rate_half_width"`
	SlopeHalfWidth run.Float      `json:"slope_half_width"`
	SBeta          float64        `json:"s_beta"`
	RunsToSeparate map[string]int `json:"runs_to_separate"` // 0 when the gap is not a number
}

// BarrierDrawsFigures are the over-draws key figures of notebook 06.
type BarrierDrawsFigures struct {
	Seeds      []uint64          `json:"seeds"`
	Slopes     []DrawSlopeRow    `json:"slopes"`
	Ratios     []RatioRow        `json:"ratios"`
	ByN        []NRow            `json:"by_n"`
	Discrete   DiscreteAgreement `json:"exact_discrete_vs_iid"`
	EpochIID   Spread            `json:"slope_epoch_minus_iid"`
	Resolution Resolution        `json:"resolution"`
	// Closest is the approximation (of the four) whose slope is nearest
	// SGD's on average over draws.
	Closest string `json:"closest_prediction"`
	// Pointwise is, per approximation, how far its κ is from SGD's (epoch
	// batches) at each β — notebook 06's one-draw criterion, mean
	// |ln(κ_SGD/κ_prediction)| over β — over draws, and on how many draws
	// it is the nearest of the four.
	Pointwise []PointwiseRow `json:"pointwise"`
}

// PointwiseRow is one approximation's mean |ln(κ_SGD/κ_prediction)| over
// β, spread over draws, and the draws on which it is the nearest of the four.
type PointwiseRow struct {
	Prediction    string `json:"prediction"`
	MeanAbsLog    Spread `json:"mean_abs_log_ratio"`
	NearestOn     int    `json:"nearest_on"`
	DrawsCompared int    `json:"draws"`
}

// BarrierDrawsComparison is notebook 06's comparison over data draws.
type BarrierDrawsComparison struct {
	Figures BarrierDrawsFigures
	// PerDraw: each draw's slopes; Slopes: each prediction over draws;
	// Pointwise: the approximations' mean |ln ratio| over draws; Ratios:
	// κ_SGD/κ_prediction per β over draws; ByN: κ(n)/κ(n₀).
	PerDraw, Slopes, Pointwise, Ratios, ByN Table
	Verdict                                 string
}

// sgdOf returns the measured sweep a prediction is compared against.
func sgdOf(d barrier.Draw, against string) barrier.Result {
	if against == AgainstIID {
		return d.IID
	}
	return d.SGD
}

// BarrierDraws compares SGD over data draws with the five predictions and
// Eq. 15's n-dependence.
func BarrierDraws(r barrier.DrawsResult) BarrierDrawsComparison {
	var c BarrierDrawsComparison
	f := &c.Figures
	f.Seeds = r.Seeds()
	rows := func(name, against string) DrawSlopeRow {
		row := DrawSlopeRow{Prediction: name, Against: against}
		var dev []float64
		for _, d := range r.Draws {
			s := sgdOf(d, against)
			pred, eq := predictedSlope(d.SGD, name), d.SGD.SlopePowerLaw
			if !finiteF(pred) || !finiteF(s.SlopeFit) {
				continue
			}
			row.Draws++
			if s.SlopeCI.Contains(float64(pred)) {
				row.Inside++
			}
			dev = append(dev, float64(pred-s.SlopeFit))
			if math.Abs(float64(pred-s.SlopeFit)) < math.Abs(float64(eq-s.SlopeFit)) {
				row.CloserThanEq15++
			}
		}
		row.Deviation = spreadOf(dev)
		return row
	}
	for _, name := range DrawPredictions {
		f.Slopes = append(f.Slopes, rows(name, AgainstEpoch))
	}
	f.Slopes = append(f.Slopes, rows(PredDiscrete, AgainstIID))
	best := math.Inf(1)
	for _, s := range f.Slopes[:len(Predictions)] { // the four approximations (the exact discrete rate is not one)
		if m := math.Abs(float64(s.Deviation.Mean)); m < best {
			best, f.Closest = m, s.Prediction
		}
	}
	f.Pointwise = pointwise(r)
	f.Ratios = drawRatios(r)
	f.ByN = drawsByN(r)
	f.Discrete = discreteAgreement(r)
	var diff []float64
	for _, d := range r.Draws {
		diff = append(diff, float64(d.SGD.SlopeFit-d.IID.SlopeFit))
	}
	f.EpochIID = spreadOf(diff)
	f.Resolution = resolution(r, f.Slopes)
	c.tables(r)
	c.Verdict = drawsVerdict(*f)
	return c
}

// pointwise ranks the four approximations on each draw by the mean over β
// of |ln(κ_SGD/κ_prediction)| (epoch batches).
func pointwise(r barrier.DrawsResult) []PointwiseRow {
	rows := make([]PointwiseRow, len(Predictions))
	per := make([][]float64, len(Predictions))
	for _, d := range r.Draws {
		best, bestV := -1, math.Inf(1)
		for i, name := range Predictions {
			var dev []float64
			for _, p := range d.SGD.Points {
				if v := math.Log(float64(p.Kappa / predictionAt(p, name))); !math.IsNaN(v) && !math.IsInf(v, 0) {
					dev = append(dev, math.Abs(v))
				}
			}
			if len(dev) == 0 {
				continue
			}
			m := mean(dev)
			per[i] = append(per[i], m)
			if m < bestV {
				best, bestV = i, m
			}
		}
		if best >= 0 {
			rows[best].NearestOn++
			for i := range rows {
				rows[i].DrawsCompared++
			}
		}
	}
	for i, name := range Predictions {
		rows[i].Prediction, rows[i].MeanAbsLog = name, spreadOf(per[i])
	}
	return rows
}

// betas returns the β of the draws' sweeps (the first draw's).
func betas(r barrier.DrawsResult) []float64 {
	var out []float64
	if len(r.Draws) > 0 {
		for _, p := range r.Draws[0].SGD.Points {
			out = append(out, p.Beta)
		}
	}
	return out
}

func drawRatios(r barrier.DrawsResult) []RatioRow {
	var out []RatioRow
	add := func(name, against string) {
		for _, b := range betas(r) {
			row := RatioRow{Prediction: name, Against: against, Beta: b}
			for _, d := range r.Draws {
				v := math.NaN()
				if p, ok := sgdOf(d, against).At(b); ok {
					v = math.Log(float64(p.Kappa / predictionAt(p, name)))
				}
				row.PerDraw = append(row.PerDraw, v)
			}
			row.LogRatio = spreadOf(row.PerDraw)
			out = append(out, row)
		}
	}
	for _, name := range DrawPredictions {
		add(name, AgainstEpoch)
	}
	add(PredDiscrete, AgainstIID)
	return out
}

func drawsByN(r barrier.DrawsResult) []NRow {
	if len(r.Draws) == 0 {
		return nil
	}
	ns := r.Draws[0].SortedNs()
	var out []NRow
	for _, n := range ns {
		row := NRow{N: n}
		var meas, eq, dev []float64
		for _, d := range r.Draws {
			p0, ok0 := d.AtN[ns[0]].At(r.BetaFix)
			p, ok := d.AtN[n].At(r.BetaFix)
			if !ok0 || !ok || !(p.Escaped > 0 && p0.Escaped > 0) {
				continue
			}
			ls := d.AtN[n].Landscape
			m, e := float64(p.Kappa/p0.Kappa), math.Pow(ls.LSaddle/ls.LStar, float64(n-ns[0])/2)
			row.Draws++
			meas, eq, dev = append(meas, m), append(eq, e), append(dev, math.Log(m/e))
			if n == ns[0] || math.Abs(math.Log(m/e)) < estimate.Z95*math.Sqrt(1/float64(p.Escaped)+1/float64(p0.Escaped)) {
				row.Inside++
			}
		}
		row.Measured, row.Eq15, row.LogDev = spreadOf(meas), spreadOf(eq), spreadOf(dev)
		out = append(out, row)
	}
	return out
}

func discreteAgreement(r barrier.DrawsResult) DiscreteAgreement {
	a := DiscreteAgreement{Chi2: 0, MinDrawP: run.Float(math.NaN())}
	var logs []float64
	for _, d := range r.Draws {
		chi, dof, all := 0.0, 0, true
		for _, p := range d.IID.Points {
			k := float64(p.KappaDiscrete)
			if !(p.Escaped > 0) || !(k > 0) || math.IsInf(k, 0) {
				continue
			}
			a.Points++
			dof++
			z := math.Log(float64(p.Kappa)/k) * math.Sqrt(float64(p.Escaped))
			chi += z * z
			logs = append(logs, math.Log(float64(p.Kappa)/k))
			if p.KappaCI.Contains(k) {
				a.Inside++
			} else {
				all = false
			}
		}
		if dof == 0 {
			continue
		}
		a.Draws++
		if all {
			a.DrawsAll++
		}
		a.Chi2 += run.Float(chi)
		a.Dof += dof
		pv := distuv.ChiSquared{K: float64(dof)}.Survival(chi)
		if !(pv >= float64(a.MinDrawP)) {
			a.MinDrawP, a.MinDrawArg = run.Float(pv), d.Seed
		}
	}
	a.PValue = run.Float(math.NaN())
	if a.Dof > 0 {
		a.PValue = run.Float(distuv.ChiSquared{K: float64(a.Dof)}.Survival(float64(a.Chi2)))
	}
	a.LogRatio = spreadOf(logs)
	return a
}

func resolution(r barrier.DrawsResult, slopes []DrawSlopeRow) Resolution {
	bs := betas(r)
	mb := mean(bs)
	s2 := 0.0
	for _, b := range bs {
		s2 += (b - mb) * (b - mb)
	}
	var cvs []float64
	for _, d := range r.Draws {
		for _, p := range append(append([]barrier.Point(nil), d.SGD.Points...), d.IID.Points...) {
			cvs = append(cvs, float64(p.CV))
		}
	}
	res := Resolution{Runs: r.Runs, SBeta: math.Sqrt(s2), CV: spreadOf(cvs).Mean, RunsToSeparate: map[string]int{}}
	w := estimate.RateHalfWidth(float64(res.CV), r.Runs)
	res.RateHalfWidth, res.SlopeHalfWidth = run.Float(w), run.Float(w/res.SBeta)
	for _, s := range slopes {
		if s.Against != AgainstEpoch {
			continue
		}
		n, err := estimate.RunsFor(float64(res.CV), math.Abs(float64(s.Deviation.Mean))/2*res.SBeta)
		if err == nil {
			res.RunsToSeparate[s.Prediction] = n
		}
	}
	return res
}

// Text says what the runs per β resolve and what separating each
// prediction from SGD's slope on a single draw would need.
func (r Resolution) Text() string {
	var need []string
	for _, name := range DrawPredictions {
		if n, ok := r.RunsToSeparate[name]; ok {
			need = append(need, fmt.Sprintf("%s %d", name, n))
		}
	}
	return fmt.Sprintf("%d runs per β with exit times of measured CV %.2f: ln κ is known to ±%.3g (κ to about ±%.1f %%, 95 %%) at each β, and the slope d ln κ/dβ to ±%.3f over β with S_β = √Σ(β−β̄)² = %.2f. "+
		"Runs per β that would resolve half of each prediction's mean distance from SGD's slope on one draw, (1.96·CV/(½|gap|·S_β))²: %s.",
		r.Runs, float64(r.CV), float64(r.RateHalfWidth), 100*float64(r.RateHalfWidth), float64(r.SlopeHalfWidth), r.SBeta, strings.Join(need, ", "))
}

// tables builds the notebook's tables.
func (c *BarrierDrawsComparison) tables(r barrier.DrawsResult) {
	f := c.Figures
	c.PerDraw = Table{Caption: fmt.Sprintf("d ln κ/dβ on each data draw (B = 1, n = 1, %d runs per β; 95 %% intervals)", r.Runs),
		Header: append([]string{"seed", "SGD epoch", "SGD i.i.d."}, DrawPredictions...)}
	for _, d := range r.Draws {
		row := []string{fmt.Sprint(d.Seed), slopeText(d.SGD), slopeText(d.IID)}
		for _, name := range DrawPredictions {
			row = append(row, f3(predictedSlope(d.SGD, name)))
		}
		c.PerDraw.Rows = append(c.PerDraw.Rows, row)
	}
	c.Slopes = Table{Caption: fmt.Sprintf("Each prediction's slope against SGD's over %d draws", len(r.Draws)),
		Header: []string{"prediction", "against", "inside SGD's 95% CI", "slope − SGD's (mean ± SD)", "SE of the mean", "nearer SGD than Eq. 15", "runs per β to separate on one draw"}}
	for _, s := range f.Slopes {
		sep := "—"
		if n, ok := f.Resolution.RunsToSeparate[s.Prediction]; ok && s.Against == AgainstEpoch {
			sep = fmt.Sprint(n)
		}
		c.Slopes.Rows = append(c.Slopes.Rows, []string{s.Prediction, s.Against, fmt.Sprintf("%d of %d", s.Inside, s.Draws), s.Deviation.Text(),
			f3(s.Deviation.SE), fmt.Sprintf("%d of %d", s.CloserThanEq15, s.Draws), sep})
	}
	c.Pointwise = Table{Caption: "Pointwise: mean over β of |ln(κ_SGD/κ_prediction)| (epoch batches) over draws", Header: []string{"approximation", "mean |ln ratio| (mean ± SD over draws)", "typical factor", "nearest of the four"}}
	for _, p := range f.Pointwise {
		c.Pointwise.Rows = append(c.Pointwise.Rows, []string{p.Prediction, p.MeanAbsLog.Text(), "×" + f2(run.Float(math.Exp(float64(p.MeanAbsLog.Mean)))), fmt.Sprintf("%d of %d", p.NearestOn, p.DrawsCompared)})
	}
	c.Ratios = Table{Caption: "κ_SGD/κ_prediction over draws: exp(mean ln ratio) and the SD of ln ratio", Header: []string{"prediction", "against"}}
	for _, b := range betas(r) {
		c.Ratios.Header = append(c.Ratios.Header, fmt.Sprintf("β = %g", b))
	}
	for i := 0; i < len(f.Ratios); {
		row := []string{f.Ratios[i].Prediction, f.Ratios[i].Against}
		for _, b := range betas(r) {
			x := f.Ratios[i]
			if x.Beta == b {
				row = append(row, fmt.Sprintf("%.3g (SD %.2g)", math.Exp(float64(x.LogRatio.Mean)), float64(x.LogRatio.SD)))
				i++
			}
		}
		c.Ratios.Rows = append(c.Ratios.Rows, row)
	}
	c.ByN = Table{Caption: fmt.Sprintf("κ(n)/κ(%d) at β = %g over draws (epoch batches) against Eq. 15's (Lˢ/L*)^((n−n₀)/2)", nsOf(r)[0], r.BetaFix),
		Header: []string{"n", "measured (mean ± SD)", "Eq. 15 (mean ± SD)", "ln(measured/Eq. 15)", "Eq. 15 inside the 95% CI"}}
	for _, n := range f.ByN {
		c.ByN.Rows = append(c.ByN.Rows, []string{fmt.Sprint(n.N), n.Measured.Text(), n.Eq15.Text(), n.LogDev.Text(), fmt.Sprintf("%d of %d", n.Inside, n.Draws)})
	}
}

func nsOf(r barrier.DrawsResult) []int {
	if len(r.Draws) == 0 {
		return []int{0}
	}
	return r.Draws[0].SortedNs()
}

// slopeText is a measured slope with its interval.
func slopeText(r barrier.Result) string {
	if !finiteF(r.SlopeFit) {
		return "—"
	}
	return fmt.Sprintf("%.3f [%.3f, %.3f]", float64(r.SlopeFit), float64(r.SlopeCI[0]), float64(r.SlopeCI[1]))
}

// HowMany says on how many of n draws something holds: "on every draw",
// "on most draws (k of n)", "on one draw of n", "on k of n draws" or "on
// no draw".
func HowMany(k, n int) string { return howMany(k, n, "draw", "draws") }

// howMany is HowMany with the noun of the things counted (draw, seed).
func howMany(k, n int, one, many string) string {
	switch {
	case n == 0:
		return fmt.Sprintf("on no %s (none compared)", one)
	case k == n && n == 1:
		return "on the one " + one
	case k == n:
		return fmt.Sprintf("on every %s (%d of %d)", one, k, n)
	case k == 0:
		return fmt.Sprintf("on no %s (0 of %d)", one, n)
	case 2*k > n:
		return fmt.Sprintf("on most %s (%d of %d)", many, k, n)
	case k == 1:
		return fmt.Sprintf("on one %s of %d", one, n)
	}
	return fmt.Sprintf("on %d of %d %s", k, n, many)
}

func drawsVerdict(f BarrierDrawsFigures) string {
	var v strings.Builder
	n := len(f.Seeds)
	fmt.Fprintf(&v, "**Verdict over %d data draws (measured, not tuned).** ", n)
	slope := map[string]DrawSlopeRow{}
	for _, s := range f.Slopes {
		slope[s.Prediction+"|"+s.Against] = s
	}
	v.WriteString("Against SGD with the paper's epoch batches: ")
	for _, name := range DrawPredictions {
		s := slope[name+"|"+AgainstEpoch]
		fmt.Fprintf(&v, "the %s slope lies inside SGD's 95 %% interval %s (slope − SGD's: %s); ", name, HowMany(s.Inside, s.Draws), s.Deviation.Text())
	}
	if f.Closest != "" {
		s := slope[f.Closest+"|"+AgainstEpoch]
		fmt.Fprintf(&v, "of the four approximations, **%s** has the slope nearest SGD's on average, nearer than Eq. 15's %s. ", f.Closest, HowMany(s.CloserThanEq15, s.Draws))
	}
	best := PointwiseRow{NearestOn: -1}
	for _, p := range f.Pointwise {
		if p.NearestOn > best.NearestOn {
			best = p
		}
	}
	if best.DrawsCompared > 0 {
		fmt.Fprintf(&v, "Pointwise (mean |ln(κ_SGD/κ_prediction)| over β, the one-draw criterion above) the nearest approximation is **%s** %s (typical factor ×%.2f, SD of its ln over draws %.2f). ",
			best.Prediction, HowMany(best.NearestOn, best.DrawsCompared), math.Exp(float64(best.MeanAbsLog.Mean)), float64(best.MeanAbsLog.SD))
	}
	if di := slope[PredDiscrete+"|"+AgainstIID]; di.Draws > 0 {
		fmt.Fprintf(&v, "Against SGD with i.i.d. batches, the chain it is exact for, the exact discrete slope lies inside SGD's interval %s (difference %s). ", HowMany(di.Inside, di.Draws), di.Deviation.Text())
	}
	d := f.Discrete
	if d.Points > 0 {
		fmt.Fprintf(&v, "The exact discrete rate (SGD with i.i.d. batches, computed exactly) lies inside SGD-i.i.d.'s 95 %% interval at %d of %d (draw, β) points (95 %% expected by chance alone), at every β %s; jointly χ² = %.1f on %d degrees of freedom (p = %.2g), ln(κ_iid/κ_exact) = %s. ",
			d.Inside, d.Points, HowMany(d.DrawsAll, d.Draws), float64(d.Chi2), d.Dof, float64(d.PValue), d.LogRatio.Text())
	}
	if e := f.EpochIID; finiteF(e.Mean) && finiteF(e.SE) {
		fmt.Fprintf(&v, "Sampling without replacement (epoch batches) changes the slope by %.3f ± %.3f (mean ± SE over draws) against i.i.d. batches. ", float64(e.Mean), float64(e.SE))
	}
	if len(f.ByN) > 1 {
		last := f.ByN[len(f.ByN)-1]
		in, tot := 0, 0
		for _, r := range f.ByN[1:] {
			in, tot = in+r.Inside, tot+r.Draws
		}
		fmt.Fprintf(&v, "Over n, Eq. 15's (Lˢ/L*)^((n−n₀)/2) lies inside the measured κ(n)/κ(n₀)'s 95 %% interval at %d of %d (draw, n) points; at n = %d the measured ratio is %s against Eq. 15's %s (ln ratio %s). ",
			in, tot, last.N, last.Measured.Text(), last.Eq15.Text(), last.LogDev.Text())
	}
	return strings.TrimSpace(v.String())
}
