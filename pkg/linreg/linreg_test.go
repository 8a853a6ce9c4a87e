package linreg

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/minibatch"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// independentFPT simulates the same protocol from scratch in θ-space — SGD
// from θ*, the loss recomputed from the data every step, the first step at
// which L ≥ c·L* — with the same per-run mini-batch streams.
func independentFPT(t *testing.T, c FPTConfig) [][]float64 {
	lr, err := data.NewLinReg(data.LinRegConfig{N: c.N, P: c.P, Seed: c.Seed, XStd: c.XStd, Labels: c.Labels})
	if err != nil {
		t.Fatal(err)
	}
	P := c.P
	times := make([][]float64, c.Runs)
	for r := 0; r < c.Runs; r++ {
		bt, _ := minibatch.New(c.N, c.B, dynamics.RunRNG(c.Seed+1, r))
		th := append([]float64(nil), lr.ThetaStar...)
		times[r] = make([]float64, len(c.C))
		for k := range times[r] {
			times[r][k] = math.NaN()
		}
		next := 0
		for step := int64(1); step <= c.MaxSteps && next < len(c.C); step++ {
			g := make([]float64, P)
			for _, mu := range bt.Next() {
				x := lr.X[int(mu)*P : int(mu)*P+P]
				res := -lr.Y[mu]
				for j := range x {
					res += x[j] * th[j]
				}
				for j := range g {
					g[j] += res * x[j] / float64(c.B)
				}
			}
			for j := range th {
				th[j] -= c.Eta * g[j]
			}
			l := lr.Loss(th)
			for next < len(c.C) && l >= c.C[next]*lr.LStar {
				times[r][next] = float64(step) * c.Eta
				next++
			}
		}
	}
	return times
}

func TestFPTMatchesIndependentSimulation(t *testing.T) {
	for _, c := range []FPTConfig{
		{Problem: Problem{P: 3, N: 200, XStd: 1, Labels: data.LabelsGaussian, Seed: 5}, Config: dynamics.Config{Eta: 0.1, B: 2}, Runs: 12, C: []float64{1.2, 1.4, 1.6}, MaxSteps: 200000, Boot: 50},
		{Problem: Problem{P: 1, N: 300, XStd: 0.7, Labels: data.LabelsGaussian, Seed: 9}, Config: dynamics.Config{Eta: 0.3, B: 1}, Runs: 10, C: []float64{1.2, 1.4}, MaxSteps: 200000, Boot: 50},
	} {
		r, err := FPT(context.Background(), run.Env{}, c)
		if err != nil {
			t.Fatal(err)
		}
		ref := independentFPT(t, c)
		for k := range c.C {
			sum, n := 0.0, 0
			for _, row := range ref {
				if !math.IsNaN(row[k]) {
					sum += row[k]
					n++
				}
			}
			e := r.Result.Fit.Estimates[k]
			if n != c.Runs || e.Censored != 0 {
				t.Fatalf("P=%d c=%v: censored runs (%d of %d crossed) — lengthen MaxSteps", c.P, c.C[k], n, c.Runs)
			}
			if math.Abs(e.Mean-sum/float64(n)) > 1e-9*e.Mean {
				t.Errorf("P=%d c=%v: mean FPT %v, independent simulation %v", c.P, c.C[k], e.Mean, sum/float64(n))
			}
		}
	}
}

func TestFPTCachesAndRejects(t *testing.T) {
	cache := run.Cache{Dir: t.TempDir()}
	c := FPTConfig{Problem: Problem{P: 2, N: 100, XStd: 1, Labels: data.LabelsGaussian, Seed: 1}, Config: dynamics.Config{Eta: 0.1, B: 1}, Runs: 8,
		C: []float64{1.5, 2, 3}, MaxSteps: 100000, Boot: 20}
	a, err := FPT(context.Background(), run.Env{Cache: cache}, c)
	if err != nil {
		t.Fatal(err)
	}
	b, err := FPT(context.Background(), run.Env{Cache: cache}, c)
	if err != nil || !b.FromCache || b.Result.Fit.LogLog.Slope != a.Result.Fit.LogLog.Slope {
		t.Errorf("second call not served from cache: %v %v", b.FromCache, err)
	}
	bad := []func(*FPTConfig){
		func(c *FPTConfig) { c.C = []float64{1, 2} },
		func(c *FPTConfig) { c.C = []float64{0.5} },
		func(c *FPTConfig) { c.Eta = 0 },
		func(c *FPTConfig) { c.B = 0 },
		func(c *FPTConfig) { c.B = 101 },
		func(c *FPTConfig) { c.P = 0 },
		func(c *FPTConfig) { c.Runs = 0 },
		func(c *FPTConfig) { c.MaxSteps = 0 },
		func(c *FPTConfig) { c.Kind = "heun" },
	}
	for i, f := range bad {
		cc := c
		cc.C = append([]float64(nil), c.C...)
		f(&cc)
		if _, err := FPT(context.Background(), run.Env{}, cc); err == nil {
			t.Errorf("bad config %d accepted", i)
		}
	}
}

func TestDivergingRunIsReportedNotFitted(t *testing.T) {
	c := FPTConfig{Problem: Problem{P: 2, N: 100, XStd: 1, Labels: data.LabelsGaussian, Seed: 1}, Config: dynamics.Config{Eta: 3, B: 1}, Runs: 5,
		C: []float64{1.5, 2}, MaxSteps: 100000, Boot: 10}
	r, err := FPT(context.Background(), run.Env{}, c)
	if err != nil {
		t.Fatal(err)
	}
	if r.Result.Diverged == 0 || len(r.Result.Fit.Estimates) != 0 {
		t.Errorf("η h* = 3: diverged %d, estimates %d", r.Result.Diverged, len(r.Result.Fit.Estimates))
	}
	s := StationaryConfig{Problem: c.Problem, Config: dynamics.Config{Eta: 3, B: 1}, Samples: 100, Every: 10, Chains: 1, Bins: 10}
	sr, err := Stationary(context.Background(), run.Env{}, s)
	if err != nil || !sr.Result.Diverged {
		t.Errorf("stationary at η = 3: diverged=%v err=%v", sr.Result.Diverged, err)
	}
}

func TestStationarySmall(t *testing.T) {
	c := StationaryConfig{Problem: Problem{P: 1, N: 2000, XStd: 1, Labels: data.LabelsGaussian, Seed: 3}, Config: dynamics.Config{Eta: 0.05, B: 1},
		Samples: 3000, Every: 50, Chains: 2, Bins: 30, Boot: 50}
	r, err := Stationary(context.Background(), run.Env{}, c)
	if err != nil {
		t.Fatal(err)
	}
	res := r.Result
	if res.Fit.Samples != 3000 || len(res.Z) != 3000 || res.Eq4 == nil || res.KestenPhi == 0 {
		t.Fatalf("incomplete result: %d samples, eq4 %v, kesten %v", res.Fit.Samples, res.Eq4, res.KestenPhi)
	}
	// η = 0.05 is close to the SDE regime: the fit is within 10 % of Eq. 17 and of the Eq.-4 density.
	if math.Abs(res.Fit.MLE/res.PhiMean-1) > 0.1 || math.Abs(res.Eq4.RelDiff) > 0.1 {
		t.Errorf("φ fit %v, theory %v, Eq.4 φ-equivalent %v", res.Fit.MLE, res.PhiMean, res.Eq4.PhiEquivalent)
	}
}

func TestPresetsAreValid(t *testing.T) {
	for _, s := range []run.Scale{run.Quick, run.Paper} {
		if err := PaperStationarySweep(s).Validate(); err != nil {
			t.Errorf("%s: %v", s, err)
		}
		for _, P := range []int{1, 2, 5, 10, 3} {
			if err := DynamicsComparison(PaperFPT(P, s)).Validate(); err != nil {
				t.Errorf("%s P=%d: %v", s, P, err)
			}
		}
	}
	if c := PaperFPT(10, run.Quick).WithKind(dynamics.GLD); c.C[len(c.C)-1] > 2 || c.MaxSteps != 1000000 {
		t.Errorf("GLD at P = 10 keeps thresholds %v, %d steps", c.C, c.MaxSteps)
	}
	if c := PaperFPT(2, run.Quick).WithKind(dynamics.GLD); len(c.C) != len(PaperThresholds(2)) {
		t.Errorf("GLD at P = 2 changed: %v", c.C)
	}
}

// A sweep returns its points η-major, each equal to the single run, and
// At picks the nearest grid point.
func TestStationarySweep(t *testing.T) {
	base := PaperStationary(run.Quick)
	base.N, base.Samples, base.Boot, base.Bins = 500, 200, 0, 10
	sw := StationarySweepConfig{Base: base, Etas: []float64{0.05, 0.1}, Bs: []int{1, 2}}
	r, err := StationarySweep(context.Background(), run.Env{}, sw)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Result.Points) != 4 || r.Result.Points[1].Eta != 0.05 || r.Result.Points[1].B != 2 {
		t.Fatalf("order: %+v", r.Result.Points)
	}
	one, err := Stationary(context.Background(), run.Env{}, sw.Config(r.Result.Points[3]))
	if err != nil || one.Result.Fit.MLE != r.Result.Points[3].Result.Fit.MLE {
		t.Errorf("sweep point differs from the single run: %v", err)
	}
	if p := r.Result.At(0.11, 2); p.Eta != 0.1 || p.B != 2 {
		t.Errorf("At picked %+v", p)
	}
	if r.Experiment != "linreg/stationary-sweep" || r.Backend != Engine || r.CacheKey == "" {
		t.Errorf("envelope: %+v", r.Envelope)
	}
}

// A diverged stationary run has no estimate: φ and its intervals are NaN
// (null in JSON, NaN again from the cache) with a reason — never 0 [0, 0].
func TestDivergedStationaryHasNoEstimate(t *testing.T) {
	c := PaperStationary(run.Quick)
	c.Eta, c.N, c.Samples = 3, 2000, 400
	env := run.Env{Cache: run.Cache{Dir: t.TempDir()}}
	for pass := 0; pass < 2; pass++ { // computed, then from the cache
		r, err := Stationary(context.Background(), env, c)
		if err != nil {
			t.Fatal(err)
		}
		res := r.Result
		if !res.Diverged || res.Reason == "" || !math.IsNaN(res.Fit.MLE) || !math.IsNaN(float64(res.Fit.MLECI[0])) || !math.IsNaN(res.Fit.Hist) {
			t.Errorf("pass %d (from cache %v): diverged %v, reason %q, φ %v %v", pass, r.FromCache, res.Diverged, res.Reason, res.Fit.MLE, res.Fit.MLECI)
		}
	}
}

// Censored is data: runs that pass too few thresholds within the step
// budget give a result flagged "slower than" with the slope undefined, not
// an error.
func TestCensoredFPTIsAResult(t *testing.T) {
	c := PaperFPT(1, run.Quick)
	c.Runs, c.MaxSteps, c.Boot = 5, 1, 10
	r, err := FPT(context.Background(), run.Env{}, c)
	if err != nil {
		t.Fatalf("a censored point is a result, got %v", err)
	}
	res := r.Result
	if res.Undetermined == "" || !math.IsNaN(res.Fit.LogLog.Slope) || len(res.Fit.Estimates) != len(c.C) {
		t.Errorf("undetermined %q, slope %v, %d estimates", res.Undetermined, res.Fit.LogLog.Slope, len(res.Fit.Estimates))
	}
	for i, n := range res.Censored {
		if n != c.Runs {
			t.Errorf("threshold %d: %d censored of %d", i, n, c.Runs)
		}
	}
}

// TestStationaryTimeScale: the automatic burn-in and the sampled window are
// counted in time (η for SGD, dt for an SDE), not steps: an SDE step of 1e-8
// with 100 steps between samples spans 4·10⁻⁴ time units, far less than a
// relaxation time, and is refused before work; dt = η is accepted.
func TestStationaryTimeScale(t *testing.T) {
	c := PaperStationary(run.Quick)
	c.Kind, c.DT, c.Samples, c.Boot = dynamics.SDE4, 1e-8, 400, 10
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "relaxation times") {
		t.Errorf("dt = 1e-8: %v, want a refusal naming the relaxation times", err)
	}
	c.DT = c.Eta
	if err := c.Validate(); err != nil {
		t.Errorf("dt = η: %v", err)
	}
	if got, want := c.TimeStep(), c.Eta; got != want {
		t.Errorf("TimeStep = %v, want η = %v", got, want)
	}
	c.DT = 0.01
	if got := c.TimeStep(); got != 0.01 {
		t.Errorf("SDE TimeStep = %v, want dt = 0.01", got)
	}
	c.Kind = dynamics.SGD
	if got := c.TimeStep(); got != c.Eta {
		t.Errorf("SGD TimeStep = %v, want η", got)
	}
}
