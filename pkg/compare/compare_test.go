package compare

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/diagnose"
	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/linreg"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/passage"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/spectrum"
	"github.com/sgdescape/sgdescape/pkg/sweep/validity"
)

func TestTheoryChecksAgree(t *testing.T) {
	rows, all, err := TheoryChecks()
	if err != nil || !all || len(rows) != 8 {
		t.Fatalf("%d rows, all agree %v, %v", len(rows), all, err)
	}
	if tab := TheoryTable(rows); len(tab.Rows) != 8 || !strings.Contains(TheoryVerdict(true), "All rows agree") {
		t.Error("table or verdict")
	}
}

func TestDecouplingReferenceRanges(t *testing.T) {
	stage := func(ep int, med float64) network.Stage {
		return network.Stage{Epoch: ep, Exact: []float64{2}, Decoupled: []float64{1}, Agreement: spectrum.Agreement{MedianRelDiffTopK: med}}
	}
	rows, tab, verdict := Decoupling(network.DecouplingResult{Stages: []network.Stage{stage(0, 0.05), stage(20, 0.2)}})
	if !rows[0].InRange || rows[1].InRange || rows[1].Reference != "0.09–0.17 (after training)" || len(tab.Rows) != 2 {
		t.Errorf("rows %+v", rows)
	}
	if !strings.Contains(verdict, "1 of 2 stages") {
		t.Errorf("verdict: %s", verdict)
	}
}

// A sweep of two learning rates: the summary counts agreements by the
// theory inside the interval, and the verdict's per-η means follow.
func TestStationaryRowsAndSummary(t *testing.T) {
	pt := func(eta float64, b int, fit, lo, hi float64, div bool) linreg.StationaryPoint {
		r := linreg.StationaryResult{PhiMean: 11, Diverged: div}
		r.NOutliers, r.HMean = 1, 1
		r.Fit = estimate.PhiFit{MLE: fit, MLECI: run.NewInterval(lo, hi), LogLikPerSample: 0.1}
		return linreg.StationaryPoint{Eta: eta, B: b, Result: r}
	}
	sw := linreg.StationarySweepResult{Points: []linreg.StationaryPoint{pt(0.1, 1, 10.9, 10.5, 11.5, false), pt(0.1, 2, 9, 8.5, 9.5, false), pt(1, 1, 0, 0, 0, true)}}
	figs, tab, verdict := Stationary(sw)
	if figs.Agree != 1 || figs.Configurations != 2 || figs.PowerLawWins != 2 || math.Abs(figs.WorstRelDev-2.0/11) > 1e-12 {
		t.Errorf("summary %+v", figs.StationarySummary)
	}
	if len(figs.Rows) != 3 || !figs.Rows[2].Diverged || len(tab.Rows) != 3 || !strings.Contains(verdict, "η = 0.1: 0.90;") {
		t.Errorf("rows %+v, verdict %s", figs.Rows, verdict)
	}
	p := PhiRatiosAt(sw, 0.1)
	if len(p.X) != 2 || p.X[1] != 0.05 || math.Abs(p.Y[0]-10.9/11) > 1e-12 || len(PhiRatiosAt(sw, 1).X) != 0 {
		t.Errorf("ratios %+v", p)
	}
}

// fpt builds a first-passage result of dynamics k whose estimates have the
// given means and standard errors at thresholds 1.5 and 2.
func fpt(k dynamics.Kind, P int, slope float64, means, ses []float64) linreg.FPTResult {
	r := linreg.FPTResult{Dynamics: k, Eta: 0.1, B: 1, SlopeMean: 10 + 1 - float64(P)/2, ArrSlope: 10}
	r.NOutliers = P
	for i, c := range []float64{1.5, 2} {
		r.Fit.Estimates = append(r.Fit.Estimates, passage.Estimate{C: c, Mean: means[i], SE: run.Float(ses[i]), Reliable: true, Events: 10})
	}
	r.Fit.LogLog = passage.Line{Slope: slope, CI: run.NewInterval(slope-1, slope+1)}
	r.Fit.LogLin = passage.Line{Slope: 3}
	r.Fit.LocalSlopes = []passage.LocalSlope{{CLo: 1.5, CHi: 2, Slope: slope}}
	return r
}

func TestEscapeComparisonsAreKeyedByKind(t *testing.T) {
	// The sweep lists the kinds out of the usual order: lookups must not depend on it.
	sw := linreg.FPTSweepResult{Results: []linreg.FPTResult{
		fpt(dynamics.SDE14, 1, 9, []float64{1, 2}, []float64{0.1, 0.1}),
		fpt(dynamics.SDE4, 1, 9, []float64{1.05, 4}, []float64{0.1, 0.1}),
		fpt(dynamics.SGD, 1, 10.6, []float64{1, 2}, []float64{0.1, 0.1}),
		fpt(dynamics.SDE12, 1, 20, []float64{1, 2}, []float64{0.1, 0.1}),
	}}
	rows, ag := CompareKinds(sw, dynamics.SGD, dynamics.SDE4)
	if ag.Thresholds != 2 || ag.Agree != 1 || rows[1][5] != "no" {
		t.Errorf("SGD vs Eq. 4: %+v %v", ag, rows)
	}
	sgd := FPTRows(linreg.FPTSweepResult{Results: []linreg.FPTResult{sw.Results[2]}})
	if !sgd[0].Within15 || sgd[0].Dynamics != "sgd" || sgd[0].LastLocal != 10.6 {
		t.Errorf("SGD row %+v", sgd[0])
	}
	v := EscapeVerdict(sgd, []linreg.FPTSweepResult{sw})
	for _, want := range []string{"P = 1: power law", "P = 1: 1 of 2 thresholds", "Eq. 12 20 [19, 21], Eq. 14 9 [8, 10] — intervals do NOT overlap"} {
		if !strings.Contains(v, want) {
			t.Errorf("verdict lacks %q: %s", want, v)
		}
	}
}

func TestNetworkVerdictNamesTheClosestEstimator(t *testing.T) {
	res := network.FirstPassageResult{ImpliedN: 6.9, Estimators: []network.Estimator{{Name: "trace ratio Σλ/λ1", N: 6.3}, {Name: "participation (Σλ)²/Σλ²", N: 22.8}},
		Pretrained: &network.Pretrained{Stationary: true, Note: "flat"}}
	res.Fit.Estimates = []passage.Estimate{{C: 2.5}}
	res.FPTCV = []run.Float{0.6}
	res.Fit.LogLog.CI = run.NewInterval(1, 2)
	if v := NetworkVerdict(res, 10000); !strings.Contains(v, "closest to the trace ratio Σλ/λ1 estimate") || !strings.Contains(v, "c = 2.5: 0.60") {
		t.Errorf("verdict %s", v)
	}
	res.Estimators[0].Slope, res.Estimators[1].Slope = 1.5, 3
	if tab := NetworkTable(res); tab.Rows[0][3] != "yes" || tab.Rows[1][3] != "no" {
		t.Errorf("table %v", tab.Rows)
	}
}

func TestNoiseRowsAreKeyedByArchitectureAndLoss(t *testing.T) {
	curve := func(slope float64) network.NoiseCurve {
		return network.NoiseCurve{Points: []network.Point{{Loss: 1, Noise: 1, Decoupled: 2}, {Loss: 0.5, Noise: 0.5, Decoupled: 1}}, LateSlope: slope, LateSlopeCI: run.NewInterval(slope-0.1, slope+0.1)}
	}
	ps := network.PaperNoisePanels(run.Quick).Panels()
	if ps[1].EarlyOnly || ps[3].EarlyOnly {
		t.Error("the quick CNN panels reach late training; none is marked early-only")
	}
	pr := func(p network.NoisePanel, c network.NoiseCurve) network.NoisePanelResult {
		return network.NoisePanelResult{NoisePanel: p, Curve: c}
	}
	panels := func(ps ...network.NoisePanelResult) network.NoisePanelsResult {
		return network.NoisePanelsResult{Panels: ps}
	}
	if v := NoiseVerdict(func() []NoiseRow {
		r, _ := NoiseRows(panels(pr(ps[1], curve(0.9)), pr(ps[3], curve(1.5))))
		return r
	}(), nil); !strings.Contains(v, "CNN: late slope 0.90 (mean-square) and 1.50") {
		t.Errorf("verdict of late-training CNN panels: %s", v)
	}
	ps[1].EarlyOnly, ps[3].EarlyOnly = true, true // the early-only branch
	// Out of the usual order: CE MLP first.
	rows, tab := NoiseRows(panels(pr(ps[2], curve(0.5)), pr(ps[0], curve(1.0)), pr(ps[1], curve(3)), pr(ps[3], curve(3))))
	if len(tab.Rows) != 4 || rows[1].DecRatio != 2 || rows[0].DecRatio != 0 || !rows[1].InBand || rows[0].InBand {
		t.Errorf("rows %+v", rows)
	}
	v := NoiseVerdict(rows, nil)
	if !strings.Contains(v, "Mean-square MLP: late slope 1.00") || !strings.Contains(v, "Cross-entropy MLP: late slope 0.50") || !strings.Contains(v, "quick-scale CNN") {
		t.Errorf("verdict %s", v)
	}
	if rows[0].Loss != model.CE {
		t.Error("loss of the first row")
	}
}

// Diverged and degenerate runs are flagged in tables and verdicts, never
// reported as measurements (issue 11).
func TestDivergedAndDegenerateAreFlagged(t *testing.T) {
	good := network.Stage{Epoch: 0, Loss: 0.5, Exact: []float64{2}, Decoupled: []float64{1}, Agreement: spectrum.Agreement{MedianRelDiffTopK: 0.05}}
	bad := network.Stage{Epoch: 2, Loss: math.Inf(1), Diverged: true}
	rows, tab, verdict := Decoupling(network.DecouplingResult{Stages: []network.Stage{good, bad}, Diverged: true})
	if !rows[1].Diverged || tab.Rows[1][len(tab.Rows[1])-1] != "DIVERGED" || !strings.Contains(verdict, "DIVERGED at epochs 2") {
		t.Errorf("partly diverged: %+v %v %s", rows, tab.Rows, verdict)
	}
	_, _, verdict = Decoupling(network.DecouplingResult{Stages: []network.Stage{bad}, Diverged: true})
	if !strings.HasPrefix(verdict, "**DIVERGED.**") {
		t.Errorf("all diverged: %s", verdict)
	}

	ps := network.PaperNoisePanels(run.Quick).Panels()
	ok := network.NoiseCurve{Points: []network.Point{{Loss: 1, Noise: 1}, {Loss: 0.5, Noise: 0.5}}, LateSlope: 1, LateSlopeCI: run.NewInterval(0.9, 1.1)}
	div := network.NoiseCurve{Points: []network.Point{{Loss: 2.5, Noise: 1}, {Loss: 60, Noise: 9}}, Diverged: true, DivergedAt: 1}
	nrows, ntab := NoiseRows(network.NoisePanelsResult{Panels: []network.NoisePanelResult{{NoisePanel: ps[0], Curve: ok}, {NoisePanel: ps[2], Curve: div}}})
	if !nrows[1].Diverged || nrows[1].InBand || !strings.Contains(ntab.Rows[1][9], "DIVERGED at epoch 1") {
		t.Errorf("noise rows %+v %v", nrows, ntab.Rows)
	}
	if v := NoiseVerdict(nrows, nil); !strings.Contains(v, "DIVERGED** at epoch 1") || strings.Contains(v, "Cross-entropy MLP: late slope") {
		t.Errorf("noise verdict %s", v)
	}

	res := network.FirstPassageResult{Diverged: 4, Warnings: []string{"c = 1.5: every passage at the first check"}, Pretrained: &network.Pretrained{Stationary: true}}
	res.Fit.Estimates = []passage.Estimate{{C: 1.5}}
	res.FPTCV = []run.Float{0}
	if v := NetworkVerdict(res, 200); !strings.Contains(v, "4 continuation runs DIVERGED") || !strings.Contains(v, "Degenerate:** c = 1.5") {
		t.Errorf("network verdict %s", v)
	}
	slow := network.FirstPassageResult{SlowerThanBudget: true, Undetermined: "slower than the step budget: …", Pretrained: &network.Pretrained{Stationary: true}}
	if v := NetworkVerdict(slow, 200); !strings.Contains(v, "Slower than the step budget:** slower than the step budget") {
		t.Errorf("censored network verdict %s", v)
	}
	if v := NetworkVerdict(network.FirstPassageResult{PretrainDiverged: true, Note: "at epoch 3"}, 200); !strings.Contains(v, "Pre-training DIVERGED** (at epoch 3") {
		t.Errorf("pre-training diverged verdict %s", v)
	}

	fr := linreg.FPTResult{Warnings: []string{"c = 1.0000001: zero spread"}}
	fr.NOutliers = 2
	if v := EscapeVerdict([]FPTRow{NewFPTRow(fr)}, nil); !strings.Contains(v, "P = 2 DEGENERATE:** c = 1.0000001") {
		t.Errorf("escape verdict %s", v)
	}
}

// Whatif counts the points within the tolerance per grid (by name, in any
// order of the grids) and names the furthest in the verdict.
func TestWhatif(t *testing.T) {
	nan := math.NaN()
	m := func(r ...float64) *validity.Map {
		x := make([]float64, len(r))
		for i := range x {
			x[i] = float64(i + 1)
		}
		return &validity.Map{XName: "eta", X: x, Y: []float64{nan}, Ratio: [][]float64{r}, Lo: [][]float64{r}, Hi: [][]float64{r},
			Why: [][]string{make([]string, len(r))}, Tol: 0.1}
	}
	res := validity.GridsResult{Tol: 0.1, Grids: []validity.Grid{
		{Name: "fpt-P", Equation: "Eq. 15 (slope)", Map: m(1.05, 0.5, nan), Source: "t.csv"},
		{Name: "stationary", Equation: "Eq. 17 (φ)", Map: m(1, 1.2, 0.95, 1.09), Source: "grid run here"},
		{Name: "fpt-etaB", Equation: "Eq. 15 (slope)", Map: m(2), Source: "grid run here"},
	}}
	rows, tab, verdict := Whatif(res, "quick")
	want := map[string][2]int{"stationary": {4, 3}, "fpt-etaB": {1, 0}, "fpt-P": {2, 1}}
	for _, r := range rows {
		if w := want[r.Grid]; r.Points != w[0] || r.Within != w[1] {
			t.Errorf("%s: %d within of %d, want %v", r.Grid, r.Within, r.Points, w)
		}
	}
	if rows[1].Source != "quick grid run here (quick)" || rows[0].Source != "t.csv" || len(tab.Rows) != 3 {
		t.Errorf("rows %+v", rows)
	}
	if !strings.Contains(verdict, "at 3 of 4") || !strings.Contains(verdict, "at 1 of 2 values of $P$") || !strings.Contains(verdict, "eta=2: 0.50") {
		t.Errorf("verdict: %s", verdict)
	}
}

// Diagnose says agree where Eq. 9 and Eq. 6 hold and counts the estimators
// of n below n_c; a cross-entropy diagnosis (no decoupled prediction) has
// no Eq. 9 row and no NaN in its figures' JSON.
func TestDiagnose(t *testing.T) {
	r := diagnose.Result{L: 0.1, HStar: 3, Noise: diagnose.Noise{Strength: 2, Ratio: 0.98},
		Continuation: &diagnose.Continuation{Steps: 100, Slope: 0.95, SlopeCI: run.NewInterval(0.9, 1.02)},
		Stability: diagnose.Stability{Eta: 0.1, B: 20, NC: 30, Verdict: "ambiguous", Estimators: []diagnose.Verdict{
			{Estimator: "trace ratio", N: 20, Stable: true}, {Estimator: "participation", N: 40}}}}
	f, tab, verdict := Diagnose(r)
	if len(tab.Rows) != 4 || tab.Rows[0][3] != "yes" || tab.Rows[1][3] != "yes" || tab.Rows[2][3] != "yes" || tab.Rows[3][3] != "no" {
		t.Errorf("rows %v", tab.Rows)
	}
	if !strings.Contains(verdict, "not stable by 1 of 2") || !strings.Contains(verdict, "proportional") || float64(f.ContinuationSlope) != 0.95 {
		t.Errorf("verdict %q", verdict)
	}
	r.Noise.Ratio, r.Continuation = run.Float(math.NaN()), nil
	f, tab, _ = Diagnose(r)
	if len(tab.Rows) != 2 {
		t.Errorf("cross-entropy rows %v", tab.Rows)
	}
	if _, err := json.Marshal(f); err != nil {
		t.Errorf("figures with undefined numbers: %v", err)
	}
}
