package compare

import (
	"fmt"
	"math"
	"strings"

	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/linreg"
	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// FPTRow compares the fitted log–log slope of the mean first-passage time
// against c with B/(ηh*) + 1 − n/2 (Eq. 15, h* the mean eigenvalue, and
// λ_max for contrast), and the log–lin slope with Arrhenius's L*/D.
type FPTRow struct {
	P          int          `json:"P"`
	B          int          `json:"B"`
	Eta        float64      `json:"eta"`
	Dynamics   string       `json:"dynamics"`
	HMean      float64      `json:"h_mean"`
	HMax       float64      `json:"h_max"`
	TheoryMean float64      `json:"slope_theory"`
	TheoryMax  float64      `json:"slope_theory_max"`
	Fit        float64      `json:"slope_fit"`
	CI         run.Interval `json:"slope_ci"`
	LastLocal  float64      `json:"last_local_slope"`
	LogLin     float64      `json:"loglin_slope"`
	Arrhenius  float64      `json:"arrhenius_loglin_slope"`
	Within15   bool         `json:"within_15pct"`
	Diverged   int          `json:"diverged"`
	Note       string       `json:"note,omitempty"`
	// Warnings name degenerate first-passage estimates (passages at the
	// time resolution or with zero spread); the verdict repeats them.
	Warnings []string `json:"warnings,omitempty"`
}

// NewFPTRow summarises one first-passage result.
func NewFPTRow(res linreg.FPTResult) FPTRow {
	w := FPTRow{P: res.NOutliers, B: res.B, Eta: res.Eta, Dynamics: string(res.Dynamics), HMean: res.HMean, HMax: res.HMax, TheoryMean: res.SlopeMean,
		TheoryMax: res.SlopeMax, Diverged: res.Diverged, Note: res.FitNote, Arrhenius: res.ArrSlope, Warnings: res.Warnings}
	if res.Diverged == 0 && len(res.Fit.Estimates) > 0 {
		w.Fit, w.CI, w.LogLin = res.Fit.LogLog.Slope, res.Fit.LogLog.CI, res.Fit.LogLin.Slope
		w.LastLocal = res.Fit.LastLocalSlope()
		w.Within15 = math.Abs(w.Fit/w.TheoryMean-1) <= 0.15
	}
	return w
}

// FPTRows summarises every result of a sweep, in its order.
func FPTRows(sw linreg.FPTSweepResult) []FPTRow {
	var out []FPTRow
	for _, r := range sw.Results {
		out = append(out, NewFPTRow(r))
	}
	return out
}

// FPTRowsAll summarises several sweeps, one after the other.
func FPTRowsAll(sws []linreg.FPTSweepResult) []FPTRow {
	var out []FPTRow
	for _, sw := range sws {
		out = append(out, FPTRows(sw)...)
	}
	return out
}

// FPTTable shows rows under caption.
func FPTTable(caption string, rows []FPTRow) Table {
	t := Table{Caption: caption, Header: []string{"P", "dynamics", "h* mean / λmax", "theory slope (mean / λmax)", "fit", "95% CI", "last local slope", "log–lin slope", "within 15 %"}}
	for _, w := range rows {
		t.Rows = append(t.Rows, []string{fmt.Sprint(w.P), w.Dynamics, fmt.Sprintf("%.4f / %.4f", w.HMean, w.HMax),
			fmt.Sprintf("%.3g / %.3g", w.TheoryMean, w.TheoryMax), fmt.Sprintf("%.3g", w.Fit),
			fmt.Sprintf("[%.3g, %.3g]", float64(w.CI[0]), float64(w.CI[1])), fmt.Sprintf("%.3g", w.LastLocal),
			fmt.Sprintf("%.3g (Arrh. %.3g)", w.LogLin, w.Arrhenius), yesNo(w.Within15)})
	}
	return t
}

// Agreement counts the thresholds at which two dynamics agree.
type Agreement struct {
	Agree      int `json:"agree"`
	Thresholds int `json:"thresholds"`
}

// CompareKinds compares the mean first-passage times of dynamics a and b
// threshold by threshold (the same c in both; reliable estimates only):
// they agree at c when |Δmean| ≤ 1.96·√(SE_a² + SE_b²). It returns the
// table rows (P, c, a, b, ratio, agree) and the counts.
func CompareKinds(sw linreg.FPTSweepResult, a, b dynamics.Kind) ([][]string, Agreement) {
	var rows [][]string
	var ag Agreement
	ra, oka := sw.ByKind(a)
	rb, okb := sw.ByKind(b)
	if !oka || !okb {
		return nil, ag
	}
	for _, x := range ra.Fit.Estimates {
		y, ok := rb.Fit.Estimate(x.C)
		if !ok || !x.Reliable || !y.Reliable {
			continue
		}
		ag.Thresholds++
		z := math.Abs(x.Mean-y.Mean) / math.Hypot(float64(x.SE), float64(y.SE))
		if z <= 1.96 {
			ag.Agree++
		}
		rows = append(rows, []string{fmt.Sprint(ra.NOutliers), fmt.Sprint(x.C), fmt.Sprintf("%.4g ± %.2g", x.Mean, float64(x.SE)),
			fmt.Sprintf("%.4g ± %.2g", y.Mean, float64(y.SE)), fmt.Sprintf("%.2f", x.Mean/y.Mean), yesNo(z <= 1.96)})
	}
	return rows, ag
}

// SGDvsEq4 compares discrete SGD with Eq. 4 (SGD's exact noise covariance)
// threshold by threshold at every compared P.
func SGDvsEq4(cmp []linreg.FPTSweepResult) (Table, map[int]Agreement) {
	t := Table{Caption: "discrete SGD against Eq. 4 (exact noise), threshold by threshold", Header: []string{"P", "c", "SGD mean FPT", "Eq. 4 mean FPT", "ratio", "agree (95 %)"}}
	out := map[int]Agreement{}
	for _, sw := range cmp {
		rows, ag := CompareKinds(sw, dynamics.SGD, dynamics.SDE4)
		t.Rows = append(t.Rows, rows...)
		if r, ok := sw.ByKind(dynamics.SGD); ok {
			out[r.NOutliers] = ag
		}
	}
	return t, out
}

// overlap reports whether two intervals overlap.
func overlap(a, b run.Interval) bool {
	return float64(a[0]) <= float64(b[1]) && float64(b[0]) <= float64(a[1])
}

// EscapeVerdict tells the linear-regression outcome: per P, whether SGD's
// slope follows the power law (within 15 %), Arrhenius (log–lin slope
// within 15 % of L*/D) or neither; where SGD and Eq. 4 agree; whether the
// slopes of Eq. 12 and Eq. 14 (the random time change) overlap.
func EscapeVerdict(sgd []FPTRow, cmp []linreg.FPTSweepResult) string {
	within := 0
	var kinds string
	for _, w := range sgd {
		if w.Within15 {
			within++
		}
		switch {
		case w.Diverged > 0:
			kinds += fmt.Sprintf(" P = %d diverged;", w.P)
		case w.Within15:
			kinds += fmt.Sprintf(" P = %d: power law (slope %.3g vs %.3g);", w.P, w.Fit, w.TheoryMean)
		case math.Abs(w.LogLin/w.Arrhenius-1) <= 0.15:
			kinds += fmt.Sprintf(" P = %d: **Arrhenius-like** (log–lin slope %.3g vs L*/D = %.3g; log–log slope %.3g vs %.3g);", w.P, w.LogLin, w.Arrhenius, w.Fit, w.TheoryMean)
		default:
			kinds += fmt.Sprintf(" P = %d: neither (log–log %.3g vs %.3g, log–lin %.3g vs %.3g);", w.P, w.Fit, w.TheoryMean, w.LogLin, w.Arrhenius)
		}
		for _, d := range w.Warnings {
			kinds += fmt.Sprintf(" **P = %d DEGENERATE:** %s;", w.P, d)
		}
	}
	var t14, eq4 string
	_, ags := SGDvsEq4(cmp)
	for _, sw := range cmp {
		r12, ok12 := sw.ByKind(dynamics.SDE12)
		r14, ok14 := sw.ByKind(dynamics.SDE14)
		if ok12 && ok14 {
			a, b := NewFPTRow(r12), NewFPTRow(r14)
			t14 += fmt.Sprintf(" P = %d: Eq. 12 %.3g [%.3g, %.3g], Eq. 14 %.3g [%.3g, %.3g] — %s;", a.P, a.Fit, float64(a.CI[0]), float64(a.CI[1]),
				b.Fit, float64(b.CI[0]), float64(b.CI[1]), map[bool]string{true: "intervals overlap", false: "intervals do NOT overlap"}[overlap(a.CI, b.CI)])
		}
		if r, ok := sw.ByKind(dynamics.SGD); ok {
			eq4 += fmt.Sprintf(" P = %d: %d of %d thresholds;", r.NOutliers, ags[r.NOutliers].Agree, ags[r.NOutliers].Thresholds)
		}
	}
	return fmt.Sprintf(`**Verdict (linear regression).** The fitted SGD slope is within 15 %% of $B/(\eta h^*)+1-P/2$ for %d of %d values of $P$. Per $P$:%s
Discrete SGD and Eq. 4 agree within their 95 %% intervals at:%s — they agree near the bulk and part in the tail, where Eq. 4 escapes much faster although its noise covariance is exactly SGD's. The reason is discrete time: one SGD step multiplies $\theta-\theta^*$ by $I-\eta xx^\top$, which never expands it while $\eta|x|^2<2$, whereas Gaussian noise of the same covariance pushes outwards half of the time; large deviations depend on more than the covariance.
Random time change:%s`, within, len(sgd), kinds, eq4, t14)
}

// NetworkTable compares the network's fitted slope with the theory slope
// for every estimator of the effective dimension n.
func NetworkTable(res network.FirstPassageResult) Table {
	t := Table{Caption: fmt.Sprintf("theory slope B/(ηh*)+1−n/2 with h* = λ1 = %.4g, against the fit %.3g [%.3g, %.3g]", res.HStar, res.Fit.LogLog.Slope,
		float64(res.Fit.LogLog.CI[0]), float64(res.Fit.LogLog.CI[1])), Header: []string{"estimator of n", "n", "theory slope", "inside the fit's 95 % CI"}}
	for _, e := range res.Estimators {
		t.Rows = append(t.Rows, []string{e.Name, fmt.Sprintf("%.3g", e.N), fmt.Sprintf("%.3g", e.Slope), yesNo(res.Fit.LogLog.CI.Contains(e.Slope))})
	}
	return t
}

// NetworkVerdict tells the network outcome: the fitted slope, the implied
// n and the estimator closest to it (by name), the coefficients of
// variation of the passage times, and whether θ* was stationary.
func NetworkVerdict(res network.FirstPassageResult, n int) string {
	if res.PretrainDiverged || res.Pretrained == nil {
		return fmt.Sprintf("**Verdict (network). Pre-training DIVERGED** (%s; rule: %s): there is no minimum θ* to restart from, so no first passages. N = %d.", res.Note, res.DivergenceRule, n)
	}
	var cvs []string
	for i, e := range res.Fit.Estimates {
		cvs = append(cvs, fmt.Sprintf("c = %g: %.2f", e.C, float64(res.FPTCV[i])))
	}
	best := res.ClosestEstimator()
	stationary := "θ* passed the stationarity check (" + res.Pretrained.Note + ")."
	if !res.Pretrained.Stationary {
		stationary = "**θ* is not stationary** (" + res.Pretrained.Note + "): SGD had not settled when it was restarted, so these numbers check the pipeline, not the theory."
	}
	flags := ""
	if res.SlowerThanBudget {
		flags += " **Slower than the step budget:** " + res.Undetermined + "."
	}
	if res.Diverged > 0 {
		flags += fmt.Sprintf(" **%d continuation runs DIVERGED** (loss non-finite or above %g × the loss of predicting zero); they are counted, not averaged in.", res.Diverged, float64(network.DivergenceFactor))
	}
	for _, w := range res.Warnings {
		flags += " **Degenerate:** " + w + "."
	}
	return fmt.Sprintf("**Verdict (network).** Fitted slope %.3g [%.3g, %.3g]; the implied effective dimension is n = %.3g, closest to the %s estimate. Coefficients of variation of the first-passage times: %s (≈ 1: escapes from a quasi-stationary state; well below 1: the transient after the restart). %s N = %d.",
		res.Fit.LogLog.Slope, float64(res.Fit.LogLog.CI[0]), float64(res.Fit.LogLog.CI[1]), res.ImpliedN, best.Name, strings.Join(cvs, ", "), stationary, n) + flags
}

// NetworkFigures are the key figures of the network experiment of notebook 04.
func NetworkFigures(c network.FirstPassageConfig, net network.FirstPassageResult) map[string]any {
	return map[string]any{"L_star": net.LStar, "h_star": net.HStar, "slope_fit": net.Fit.LogLog.Slope, "slope_ci": net.Fit.LogLog.CI, "implied_n": net.ImpliedN,
		"estimators": net.Estimators, "fpt_cv": net.FPTCV, "diverged": net.Diverged, "pretrain": net.Pretrained, "eta": c.Eta, "B": c.B, "runs": c.Runs, "N": c.Pretrain.Run.Data.N}
}
