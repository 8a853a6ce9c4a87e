package compare

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/sgdescape/sgdescape/pkg/barrier"
	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/passage"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// drawPoint is a measured β with κ = k from 400 escapes (95 % interval
// κ·exp(∓1.96/20)), CV cv, and the exact discrete rate kd.
func drawPoint(beta, k, kd, cv float64) barrier.Point {
	z := 1.96 / 20
	return barrier.Point{Beta: beta, Kappa: run.Float(k), KappaCI: run.NewInterval(k*math.Exp(-z), k*math.Exp(z)), Escaped: 400, Status: barrier.StatusEscaped,
		CV: run.Float(cv), KappaPowerLaw: run.Float(2 * k), KappaArrhenius: run.Float(k / 10), KappaExact: run.Float(3 * k), KappaLD: run.Float(k / 1.2), KappaDiscrete: run.Float(kd)}
}

// toyDraw is one draw: SGD's slope s with interval s ± 0.05 and the given
// prediction slopes, two β, the i.i.d. sweep with κ_iid/κ_exact = ratio,
// and κ(n)/κ(1) = meas at n = 2 against Lˢ/L* = 4 (Eq. 15: 2).
func toyDraw(seed uint64, s, pl, ar, ex, ld, disc, iidSlope, ratio, meas float64) barrier.Draw {
	sgd := barrier.Result{Points: []barrier.Point{drawPoint(5, 1e-3, 1e-3, 1), drawPoint(6, 4e-4, 4e-4, 1)},
		SlopeFit: run.Float(s), SlopeCI: run.NewInterval(s-0.05, s+0.05), SlopePowerLaw: run.Float(pl), SlopeArrh: run.Float(ar),
		SlopeExact: run.Float(ex), SlopeLD: run.Float(ld), SlopeDiscrete: run.Float(disc)}
	iid := barrier.Result{Points: []barrier.Point{drawPoint(5, 1e-3*ratio, 1e-3, 1), drawPoint(6, 4e-4*ratio, 4e-4, 1)},
		SlopeFit: run.Float(iidSlope), SlopeCI: run.NewInterval(iidSlope-0.05, iidSlope+0.05)}
	ls := barrier.Landscape{LStar: 1, LSaddle: 4}
	return barrier.Draw{Seed: seed, SGD: sgd, IID: iid, AtN: map[int]barrier.Result{
		1: {Points: []barrier.Point{drawPoint(6, 1e-4, math.NaN(), 1)}, Landscape: ls},
		2: {Points: []barrier.Point{drawPoint(6, 1e-4*meas, math.NaN(), 1)}, Landscape: ls}}}
}

func toyDraws() barrier.DrawsResult {
	nan := math.NaN()
	return barrier.DrawsResult{BetaFix: 6, Runs: 400, Draws: []barrier.Draw{
		toyDraw(1, -1.0, -0.8, -1.4, -0.7, -0.98, -1.02, -1.0, 1.0, 2.0),
		toyDraw(2, -1.1, -0.9, -1.4, -0.7, -1.00, -1.08, -1.06, 1.3, 2.5),
		toyDraw(3, -0.9, -0.87, -1.3, -0.6, -0.96, -0.91, -0.92, 0.98, 1.9),
		// A draw whose LD slope is undefined: left out of LD's row only.
		toyDraw(4, -1.0, -0.8, -1.5, -0.7, nan, -1.0, -1.0, 1.02, 2.1),
	}}
}

// The over-draws statistics against numbers worked out by hand: inside
// counts, mean and SD of the deviations, who is nearer than Eq. 15, the
// closest prediction, the pointwise and χ² agreement of the exact discrete
// rate with the i.i.d. sweep, κ(n)/κ(n₀) against Eq. 15, the runs that
// would separate each prediction, and the verdict's quantifiers.
func TestBarrierDraws(t *testing.T) {
	c := BarrierDraws(toyDraws())
	f := c.Figures
	row := map[string]DrawSlopeRow{}
	for _, s := range f.Slopes {
		row[s.Prediction+"|"+s.Against] = s
	}
	pl := row[PredPowerLaw+"|"+AgainstEpoch]
	// Deviations 0.2, 0.2, 0.03, 0.2: inside (±0.05) on draw 3 only.
	if pl.Inside != 1 || pl.Draws != 4 || math.Abs(float64(pl.Deviation.Mean)-0.1575) > 1e-12 || math.Abs(float64(pl.Deviation.SD)-0.085) > 1e-12 {
		t.Errorf("power law row %+v", pl)
	}
	ld := row[PredLD+"|"+AgainstEpoch]
	// Deviations 0.02, 0.10, −0.06 over three draws; nearer than Eq. 15 on draws 1, 2 (0.10 < 0.2).
	if ld.Draws != 3 || ld.Inside != 1 || math.Abs(float64(ld.Deviation.Mean)-0.02) > 1e-12 || ld.CloserThanEq15 != 2 {
		t.Errorf("large-deviation row %+v", ld)
	}
	if sd := math.Sqrt((0 + 0.08*0.08 + 0.08*0.08) / 2); math.Abs(float64(ld.Deviation.SD)-sd) > 1e-12 || math.Abs(float64(ld.Deviation.SE)-sd/math.Sqrt(3)) > 1e-12 {
		t.Errorf("LD spread %+v, want SD %v", ld.Deviation, sd)
	}
	di := row[PredDiscrete+"|"+AgainstIID]
	if di.Inside != 4 || di.Draws != 4 {
		t.Errorf("exact discrete against i.i.d.: %+v", di)
	}
	if f.Closest != PredLD {
		t.Errorf("closest %q, want %q: the nearest of the four approximations (the exact discrete rate, nearer still, is not one)", f.Closest, PredLD)
	}
	// Exact discrete: two points per draw, ln ratio 0, ln 1.3, ln 0.98, ln 1.02 with 400 escapes.
	d := f.Discrete
	chi := 2 * 400 * (math.Pow(math.Log(1.3), 2) + math.Pow(math.Log(0.98), 2) + math.Pow(math.Log(1.02), 2))
	if d.Points != 8 || d.Inside != 6 || d.Draws != 4 || d.DrawsAll != 3 || d.Dof != 8 || math.Abs(float64(d.Chi2)-chi) > 1e-9 {
		t.Errorf("discrete agreement %+v, want χ² %v", d, chi)
	}
	if p := (distuv.ChiSquared{K: 8}).Survival(chi); math.Abs(float64(d.PValue)-p) > 1e-12 || d.MinDrawArg != 2 {
		t.Errorf("p = %v (want %v), smallest-p seed %d", d.PValue, p, d.MinDrawArg)
	}
	// n = 2: measured 2, 2.5, 1.9, 2.1 against Eq. 15's 2; the 95 % interval of ln ratio is ±1.96·√(2/400) = ±0.139.
	if len(f.ByN) != 2 || f.ByN[1].N != 2 || f.ByN[1].Draws != 4 || f.ByN[1].Inside != 3 || math.Abs(float64(f.ByN[1].Measured.Mean)-2.125) > 1e-12 || float64(f.ByN[1].Eq15.Mean) != 2 {
		t.Errorf("by n: %+v", f.ByN)
	}
	// Resolution: CV 1, 400 runs, S_β = √0.5; Eq. 15 at mean gap 0.1575 needs ⌈(1.96/(0.07875·√0.5))²⌉.
	rs := f.Resolution
	if want := math.Ceil(math.Pow(1.96/(0.1575/2*math.Sqrt(0.5)), 2)); float64(rs.RunsToSeparate[PredPowerLaw]) != want || math.Abs(float64(rs.RateHalfWidth)-0.098) > 1e-12 {
		t.Errorf("resolution %+v, want %v runs for Eq. 15", rs, want)
	}
	if txt := rs.Text(); !strings.Contains(txt, "400 runs per β") || !strings.Contains(txt, "about ±9.8 %") || !strings.Contains(txt, "large deviations 76832") {
		t.Errorf("resolution text: %s", txt)
	}
	if e := f.EpochIID; math.Abs(float64(e.Mean)-(-0.005)) > 1e-12 {
		t.Errorf("epoch − i.i.d. slope %+v", e)
	}
	for _, want := range []string{"on one draw of 4", "on most draws (3 of 4)", "**large deviations** has the slope nearest", "nearest approximation is **large deviations** on every draw (4 of 4)", "exact discrete slope lies inside SGD's interval on every draw (4 of 4)", "at 6 of 8 (draw, β) points", "χ² =", "at every β on most draws (3 of 4)"} {
		if !strings.Contains(c.Verdict, want) {
			t.Errorf("verdict lacks %q: %s", want, c.Verdict)
		}
	}
	// Pointwise: constant ratios 2, 10, 1/3 and 1.2 to the four approximations.
	if pw := f.Pointwise; len(pw) != 4 || pw[3].Prediction != PredLD || pw[3].NearestOn != 4 || math.Abs(float64(pw[3].MeanAbsLog.Mean)-math.Log(1.2)) > 1e-12 ||
		pw[0].NearestOn != 0 || math.Abs(float64(pw[1].MeanAbsLog.Mean)-math.Log(10)) > 1e-12 || len(c.Pointwise.Rows) != 4 {
		t.Errorf("pointwise %+v", pw)
	}
	if len(c.PerDraw.Rows) != 4 || c.PerDraw.Rows[3][0] != "4" || c.PerDraw.Rows[3][6] != "—" {
		t.Errorf("per-draw table %v", c.PerDraw.Rows)
	}
	if len(c.Ratios.Rows) != 6 || len(c.Ratios.Rows[0]) != 4 || !strings.HasPrefix(c.Ratios.Rows[0][2], "0.5 ") {
		t.Errorf("ratio table %v", c.Ratios.Rows)
	}
	if _, err := json.Marshal(f); err != nil {
		t.Errorf("key figures: %v", err)
	}
	for _, fig := range []interface{ SVG() ([]byte, error) }{DrawsSlopePlot(toyDraws()), DrawsRatioPlot(toyDraws()), DrawsNPlot(toyDraws())} {
		if _, err := fig.SVG(); err != nil {
			t.Error(err)
		}
	}
	if n := len(DrawsSlopePlot(toyDraws()).Series); n != 7 {
		t.Errorf("slope plot: %d series, want five predictions, the i.i.d. control and the identity", n)
	}
}

func TestHowMany(t *testing.T) {
	for _, tc := range []struct {
		k, n int
		want string
	}{{3, 3, "on every draw (3 of 3)"}, {1, 1, "on the one draw"}, {2, 3, "on most draws (2 of 3)"}, {1, 4, "on one draw of 4"}, {2, 4, "on 2 of 4 draws"}, {0, 4, "on no draw (0 of 4)"}, {0, 0, "on no draw (none compared)"}} {
		if got := HowMany(tc.k, tc.n); got != tc.want {
			t.Errorf("HowMany(%d, %d) = %q, want %q", tc.k, tc.n, got, tc.want)
		}
	}
}

// A seed excluded (θ* not stationary) is named and left out; the others
// are compared with every estimator by name.
func TestNetworkDraws(t *testing.T) {
	seed := func(s uint64, implied, lo, hi float64, ns ...float64) network.SeedDraw {
		names := []string{"trace ratio Σλ/λ1", "participation (Σλ)²/Σλ²"}
		r := network.FirstPassageResult{LStar: 0.02, HStar: 16, ImpliedN: implied, Fit: passage.Result{LogLog: passage.Line{Slope: 1.3, CI: run.NewInterval(1.1, 1.5)}}}
		for i, n := range ns {
			r.Estimators = append(r.Estimators, network.Estimator{Name: names[i], N: n})
		}
		return network.SeedDraw{PretrainSeed: s, Result: r, ImpliedNCI: run.NewInterval(lo, hi)}
	}
	res := network.FirstPassageDrawsResult{Eta: 0.016, B: 1, Draws: []network.SeedDraw{
		seed(1, 7, 6, 8, 7.5, 28), seed(2, 9, 8.5, 9.5, 7.2, 30),
		{PretrainSeed: 3, Excluded: "pre-training has not converged"}}}
	c := NetworkDraws(res)
	f := c.Figures
	if f.ImpliedN.Draws != 2 || float64(f.ImpliedN.Mean) != 8 || len(f.Estimators) != 2 {
		t.Fatalf("figures %+v", f)
	}
	tr := f.Estimators[0]
	if tr.Inside != 1 || tr.Closest != 2 || tr.Draws != 2 || math.Abs(float64(tr.Deviation.Mean)-(-0.65)) > 1e-12 {
		t.Errorf("trace ratio %+v", tr)
	}
	for _, want := range []string{"Seed 3 is left out", "on one seed of 2", "**trace ratio Σλ/λ1** on every seed (2 of 2)"} {
		if !strings.Contains(c.Verdict, want) {
			t.Errorf("verdict lacks %q: %s", want, c.Verdict)
		}
	}
	if len(c.PerSeed.Rows) != 3 || !strings.HasPrefix(c.PerSeed.Rows[2][1], "excluded") || len(c.PerSeed.Rows[2]) != len(c.PerSeed.Header) {
		t.Errorf("per-seed table %v", c.PerSeed.Rows)
	}
	if _, err := NetworkDrawsPlot(c).SVG(); err != nil {
		t.Error(err)
	}
}
