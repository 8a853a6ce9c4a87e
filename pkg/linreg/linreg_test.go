package linreg

import (
	"context"
	"math"
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
		{Problem: Problem{P: 3, N: 200, XStd: 1, Labels: data.LabelsGaussian, Seed: 5}, Eta: 0.1, B: 2, Runs: 12, C: []float64{1.2, 1.4, 1.6}, MaxSteps: 200000, Boot: 50},
		{Problem: Problem{P: 1, N: 300, XStd: 0.7, Labels: data.LabelsGaussian, Seed: 9}, Eta: 0.3, B: 1, Runs: 10, C: []float64{1.2, 1.4}, MaxSteps: 200000, Boot: 50},
	} {
		r, err := FPT(context.Background(), run.Cache{}, "test", c, nil)
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
	c := FPTConfig{Problem: Problem{P: 2, N: 100, XStd: 1, Labels: data.LabelsGaussian, Seed: 1}, Eta: 0.1, B: 1, Runs: 8,
		C: []float64{1.5, 2, 3}, MaxSteps: 100000, Boot: 20}
	a, err := FPT(context.Background(), cache, "test", c, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := FPT(context.Background(), cache, "test", c, nil)
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
		func(c *FPTConfig) { c.Dynamics = "heun" },
	}
	for i, f := range bad {
		cc := c
		cc.C = append([]float64(nil), c.C...)
		f(&cc)
		if _, err := FPT(context.Background(), run.Cache{}, "test", cc, nil); err == nil {
			t.Errorf("bad config %d accepted", i)
		}
	}
}

func TestDivergingRunIsReportedNotFitted(t *testing.T) {
	c := FPTConfig{Problem: Problem{P: 2, N: 100, XStd: 1, Labels: data.LabelsGaussian, Seed: 1}, Eta: 3, B: 1, Runs: 5,
		C: []float64{1.5, 2}, MaxSteps: 100000, Boot: 10}
	r, err := FPT(context.Background(), run.Cache{}, "test", c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Result.Diverged == 0 || len(r.Result.Fit.Estimates) != 0 {
		t.Errorf("η h* = 3: diverged %d, estimates %d", r.Result.Diverged, len(r.Result.Fit.Estimates))
	}
	s := StationaryConfig{Problem: c.Problem, Eta: 3, B: 1, Samples: 100, Every: 10, Chains: 1, Bins: 10}
	sr, err := Stationary(context.Background(), run.Cache{}, "test", s, nil)
	if err != nil || !sr.Result.Diverged {
		t.Errorf("stationary at η = 3: diverged=%v err=%v", sr.Result.Diverged, err)
	}
}

func TestStationarySmall(t *testing.T) {
	c := StationaryConfig{Problem: Problem{P: 1, N: 2000, XStd: 1, Labels: data.LabelsGaussian, Seed: 3}, Eta: 0.05, B: 1,
		Samples: 3000, Every: 50, Chains: 2, Bins: 30, Boot: 50}
	r, err := Stationary(context.Background(), run.Cache{}, "test", c, nil)
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
