package compare

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/barrier"
	"github.com/sgdescape/sgdescape/pkg/ncrit"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// point is a measured β with κ = k (escaped runs, CI ±10 %) and the four
// predictions pl, ar, ex, ld.
func point(beta, k, pl, ar, ex, ld float64) barrier.Point {
	p := barrier.Point{Beta: beta, Eta: 1 / beta, Kappa: run.Float(k), KappaCI: run.NewInterval(0.9*k, 1.1*k), Escaped: 100, Status: barrier.StatusEscaped,
		KappaPowerLaw: run.Float(pl), KappaArrhenius: run.Float(ar), KappaExact: run.Float(ex), KappaLD: run.Float(ld), CV: 1}
	if math.IsNaN(k) {
		p.Escaped, p.Censored, p.Status, p.KappaUpper, p.KappaCI = 0, 100, barrier.StatusSlower, 1e-6, run.NewInterval(0, 1e-6)
		p.MeanExit, p.CV = run.Float(k), run.Float(k)
	}
	return p
}

func lab() barrier.LabResult {
	nan := math.NaN()
	s := barrier.Result{B: 1, MaxSteps: 1000, Landscape: barrier.Landscape{N: 1, LStar: 1, LSaddle: 2, SaddleIsHigh: true},
		Points:   []barrier.Point{point(6, 1e-3, 2e-3, 1e-4, 2e-3, 1e-3), point(7, 4e-4, 8e-4, 1e-5, 8e-4, 5e-4), point(8, nan, 1e-4, 1e-6, 2e-4, 1e-4)},
		SlopeFit: -0.9, SlopeCI: run.NewInterval(-1, -0.8), SlopeChi2: 0.5, SlopePowerLaw: -0.7, SlopeArrh: -1.3, SlopeExact: -0.8, SlopeLD: -0.95}
	// The i.i.d. control lists its β in another order and lacks β = 8.
	iid := barrier.Result{Points: []barrier.Point{point(7, 5e-4, 0, 0, 0, 0), point(6, 2e-3, 0, 0, 0, 0)}, SlopeFit: run.Float(nan), SlopeCI: run.NewInterval(nan, nan)}
	return barrier.LabResult{SGD: s, IID: iid, BetaFix: 7,
		AtB: map[int]barrier.Result{2: {Points: []barrier.Point{point(7, 3e-4, 1, 1, 1, 1)}}, 1: {Points: []barrier.Point{point(7, 4e-4, 1, 1, 1, 1)}}},
		AtN: map[int]barrier.Result{1: {Points: []barrier.Point{point(7, 4e-4, 1, 1, 1, 1)}, Landscape: barrier.Landscape{LStar: 1, LSaddle: 4}},
			2: {Points: []barrier.Point{point(7, 8e-4, 1, 1, 1, 1)}, Landscape: barrier.Landscape{LStar: 1, LSaddle: 4}}}}
}

func ncritResult() ncrit.Result {
	pt := func(p, div int, tail float64) ncrit.PointResult {
		return ncrit.PointResult{P: p, NC: 22, Diverged: div, Tail: run.Float(tail), TailCI: run.NewInterval(tail-1, tail+1), TailTheory: 11 - float64(p)/2,
			TailKesten: run.Float(tail), Exceed100: 0, Exceed1e4: 0, MaxEll: 10}
	}
	nan := math.NaN()
	return ncrit.Result{B: 1, Eta: 0.1, Chains: 4, SecondMomentP: 18, Points: []ncrit.PointResult{pt(8, 0, 8), pt(16, 0, 3), pt(18, 1, 1.4), pt(19, 4, nan), pt(24, 4, nan)}}
}

// The rates are paired by β (never by position), undefined κ is a bound or
// a dash, the mean |ln ratio| is taken over the β where both are numbers,
// and the closest prediction is the one with the smallest deviation.
func TestBarrierComparison(t *testing.T) {
	c := Barrier(lab())
	figs, verdict := c.With(Ncrit(ncritResult()))
	if len(c.Rates.Rows) != 3 || c.Rates.Rows[0][3] != "0.002 [0.0018, 0.0022]" || c.Rates.Rows[1][3] != "0.0005 [0.00045, 0.00055]" {
		t.Errorf("i.i.d. column not paired by β: %v", c.Rates.Rows)
	}
	if r := c.Rates.Rows[2]; !strings.HasPrefix(r[2], "< 1e-06") || r[5] != "—" {
		t.Errorf("censored β: %v", r)
	}
	// ln 2 and ln 2 for the power law (κ is half of it at β = 6, 7).
	if d := float64(c.Figures.MeanAbsLogRatio[PredPowerLaw]); math.Abs(d-math.Ln2) > 1e-12 {
		t.Errorf("power-law deviation %v, want ln 2", d)
	}
	if want := (0 + math.Log(5.0/4)) / 2; math.Abs(float64(c.Figures.MeanAbsLogRatio[PredLD])-want) > 1e-12 || c.Figures.Closest != PredLD {
		t.Errorf("large deviations %v (want %v), closest %q", c.Figures.MeanAbsLogRatio[PredLD], want, c.Figures.Closest)
	}
	inside := map[string]bool{}
	for _, r := range c.Figures.Slopes {
		inside[r.Name] = r.Inside
	}
	if !inside["large deviations"] || !inside["exact-variance diffusion"] || inside["power law, Eq. 15 (paper)"] || inside["Arrhenius, Eq. 5"] || inside["SGD i.i.d. (measured)"] {
		t.Errorf("inside SGD's CI: %v", inside)
	}
	for _, want := range []string{"−0.9", "**large deviations**", "outside it", "At every β where runs escaped SGD escapes faster than Arrhenius", "overestimates κ at every β where runs escaped", "At 1 of 3 β some runs did not escape", "every chain diverges from P = 19", "up to P = 16"} {
		if !strings.Contains(strings.ReplaceAll(verdict, "-0.9", "−0.9"), want) {
			t.Errorf("verdict lacks %q: %s", want, verdict)
		}
	}
	b, err := json.Marshal(figs) // notebook.WriteKeyFigures uses encoding/json
	if err != nil || !strings.Contains(string(b), `"closest_prediction":"large deviations"`) || !strings.Contains(string(b), `"iid_points"`) || !strings.Contains(string(b), `"first_diverged_P":19`) {
		t.Errorf("key figures: %v %s", err, b)
	}
	byB, byN := AtBAndN(lab())
	if len(byB.Rows) != 2 || byB.Rows[0][0] != "1" || byB.Rows[1][0] != "2" || len(byN.Rows) != 2 || byN.Rows[1][4] != "2.00" || byN.Rows[1][5] != "2.00" {
		t.Errorf("B and n tables: %v %v", byB.Rows, byN.Rows)
	}
	if tab := ExitTimes(lab().SGD); len(tab.Rows) != 3 || tab.Rows[2][2] != "—" {
		t.Errorf("exit times: %v", tab.Rows)
	}
}

func TestNcritComparison(t *testing.T) {
	c := Ncrit(ncritResult())
	f := c.Figures
	if f.NC != 22 || f.LastStableP != 16 || f.FirstDivergedP != 19 || len(c.Table.Rows) != 5 || c.Table.Rows[3][2] != "— [—, —]" {
		t.Errorf("figures %+v, rows %v", f, c.Table.Rows)
	}
	if !strings.Contains(c.Verdict, "*before* n_c") || !strings.Contains(c.Verdict, "P ≥ 18") {
		t.Errorf("verdict: %s", c.Verdict)
	}
	stable := ncritResult()
	stable.Points = stable.Points[:2]
	if v := Ncrit(stable).Verdict; !strings.Contains(v, "no swept P made every SGD chain diverge") {
		t.Errorf("verdict without divergence: %s", v)
	}
}

// The figures draw only numbers (a censored β as its bound, a missing
// prediction left out) and render.
func TestBarrierPlotsRender(t *testing.T) {
	l := lab()
	l.Curves = barrier.Curves{Theta: []float64{0, 1, 2}, Loss: []float64{1, 2, 1}, X: []float64{0, 1, 2}, C: []float64{1, 2, 3}, Decoupled: []float64{1, 1.5, 2}, W: []run.Float{0, 1, run.Float(math.NaN())}}
	l.SGD.Points[1].KappaLD = run.Float(math.NaN())
	figs := append(BarrierLandscapePlots(l, 1, 1000), BarrierRatePlot(l), ExitTimePlot(l.SGD), NcritPlot(ncritResult()))
	for _, f := range figs {
		if len(f.Series) == 0 {
			continue // the exit-time plot of this toy sweep has no β with 5 escapes
		}
		if _, err := f.SVG(); err != nil {
			t.Errorf("%s: %v", f.Title, err)
		}
	}
	rp := BarrierRatePlot(l)
	names := map[string]int{}
	for _, s := range rp.Series {
		names[s.Name] = len(s.X)
	}
	if names["no run escaped: κ below this bound (95 %)"] != 1 || names["SGD, epoch mini-batches"] != 2 || names["large deviations"] != 2 {
		t.Errorf("rate plot series %v", names)
	}
}
