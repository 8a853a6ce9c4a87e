package linreg

import (
	"context"
	"reflect"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// The composites run exactly the experiments the notebook used to build by
// hand: PaperFPT(P) for every P of Fig. 3b, DynamicsComparison(PaperFPT(P))
// for the comparison of dynamics.
func TestGridsAreThePapersExperiments(t *testing.T) {
	for _, s := range []run.Scale{run.Quick, run.Paper} {
		over := PaperFPTGrid(s)
		for i, f := range over.Sweep().Configs {
			if P := over.Ps[i]; !reflect.DeepEqual(f, PaperFPT(P, s)) {
				t.Errorf("%s, P = %d: %+v, want PaperFPT", s, P, f)
			}
		}
		dyn := PaperFPTDynamics(s)
		for _, P := range dyn.Ps {
			if got, want := dyn.Sweep(P), DynamicsComparison(PaperFPT(P, s)); !reflect.DeepEqual(got, want) {
				t.Errorf("%s, P = %d: %+v, want %+v", s, P, got, want)
			}
		}
	}
	// A grid set by hand applies to every P.
	c := PaperFPTGrid(run.Quick)
	c.Base.C = []float64{1.5, 2}
	for _, f := range c.Sweep().Configs {
		if !reflect.DeepEqual(f.C, []float64{1.5, 2}) {
			t.Errorf("P = %d: thresholds %v", f.P, f.C)
		}
	}
}

// Ps replaces P (and fpt-dynamics runs every dynamics, so -dynamics is gone).
func TestGridParameters(t *testing.T) {
	for _, c := range []struct {
		d      param.Declarer
		hidden []string
	}{{&FPTGridConfig{}, []string{"P"}}, {&FPTDynamicsConfig{}, []string{"P", "dynamics"}}} {
		s := param.Declare(c.d)
		if _, ok := s.Lookup("Ps"); !ok {
			t.Errorf("%T: no Ps", c.d)
		}
		for _, h := range c.hidden {
			if _, ok := s.Lookup(h); ok {
				t.Errorf("%T: %s is declared", c.d, h)
			}
		}
	}
	for name, cfg := range map[string]interface{ Validate() error }{
		"no P":       FPTGridConfig{Base: AutoFPT(run.Quick)},
		"P twice":    FPTGridConfig{Base: AutoFPT(run.Quick), Ps: []int{2, 2}},
		"N ≤ P":      FPTGridConfig{Base: AutoFPT(run.Quick), Ps: []int{1, 10000}},
		"dyn, no P":  FPTDynamicsConfig{Base: AutoFPT(run.Quick)},
		"dyn, N ≤ P": FPTDynamicsConfig{Base: AutoFPT(run.Quick), Ps: []int{10000}},
	} {
		if cfg.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A small grid gives the same numbers as the experiments run one by one,
// found by P (and by dynamics).
func TestGridRunsMatchSingleRuns(t *testing.T) {
	base := FPTConfig{Problem: Problem{N: 150, XStd: 1, Labels: data.LabelsGaussian, Seed: 4}, Config: dynamics.Config{Kind: dynamics.SGD, Eta: 0.1, B: 1},
		Runs: 6, C: []float64{1.2, 1.5}, MaxSteps: 50000, Boot: 0}
	ctx := context.Background()
	r, err := FPTGrid(ctx, run.Env{}, FPTGridConfig{Base: base, Ps: []int{2, 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, P := range []int{1, 2} {
		one := base
		one.P = P
		want, err := FPT(ctx, run.Env{}, one)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := r.Result.ByP(P)
		if got.Diverged > 0 || len(got.Fit.Estimates) != 2 {
			t.Fatalf("P = %d: no estimates to compare: %+v", P, got)
		}
		if !ok || !reflect.DeepEqual(got, want.Result) {
			t.Errorf("P = %d: grid %+v\nsingle %+v", P, got, want.Result)
		}
	}
	if _, ok := r.Result.ByP(3); ok {
		t.Error("ByP found a P that was not run")
	}
	d, err := FPTDynamics(ctx, run.Env{}, FPTDynamicsConfig{Base: base, Ps: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	sw, ok := d.Result.At(1)
	sgd, okk := sw.ByKind(dynamics.SGD)
	one := base
	one.P = 1
	if !ok || !okk || len(sw.Results) != len(dynamics.Kinds) || sgd.Fit.LogLog.Slope != mustFPT(t, one).Fit.LogLog.Slope {
		t.Errorf("dynamics at P = 1: %v %v %d results", ok, okk, len(sw.Results))
	}
	if _, ok := d.Result.At(2); ok {
		t.Error("At found a P that was not run")
	}
}

func mustFPT(t *testing.T, c FPTConfig) FPTResult {
	t.Helper()
	r, err := FPT(context.Background(), run.Env{}, c)
	if err != nil {
		t.Fatal(err)
	}
	return r.Result
}
