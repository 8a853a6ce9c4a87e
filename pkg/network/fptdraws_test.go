package network

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/train"
)

// Each pre-training seed is FirstPassage itself (the same cached result),
// with the implied n over the slope's interval; a θ* that is not stationary
// is excluded with the reason instead of failing the other seeds; bad seed
// lists are refused in one line.
func TestFirstPassageDraws(t *testing.T) {
	fakeMNIST(t, 60)
	be, _ := backend.New()
	env := run.Env{Backend: be, BackendName: "test", Cache: run.Cache{Dir: t.TempDir()}}
	pre := PretrainConfig{
		Run: RunSpec{Data: DataSpec{Set: "mnist", N: 60, Targets: EvenOdd}, Arch: ArchSpec{Kind: "mlp", Widths: []int{4}},
			Train: train.Config{Loss: model.MSE, Eta: 0.1, B: 10, Seed: 1}},
		Epochs: 5000, UntilStationary: true, CheckEvery: 20, Window: 5, Tol: 0.05,
	}
	cfg := FirstPassageDrawsConfig{FirstPassageConfig: FirstPassageConfig{Pretrain: pre, Eta: 0.05, B: 1, Runs: 12, C: []float64{1.3, 1.6, 2}, MaxSteps: 50000,
		Every: 1, Seed: 3, Boot: 50}, PretrainSeeds: []int{1, 2}}
	r, err := FirstPassageDraws(context.Background(), env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range []uint64{1, 2} {
		d, ok := r.Result.Draw(seed)
		if !ok || d.Excluded != "" {
			t.Fatalf("seed %d: %v %q", seed, ok, d.Excluded)
		}
		one := cfg.FirstPassageConfig
		one.Pretrain.Run.Train.Seed = seed
		direct, err := FirstPassage(context.Background(), env, one)
		if err != nil || !direct.FromCache || direct.Result.ImpliedN != d.Result.ImpliedN || direct.Result.LStar != d.Result.LStar {
			t.Errorf("seed %d is not fpt -pretrain-seed %d (cached %v, %v): implied n %v vs %v", seed, seed, direct.FromCache, err, d.Result.ImpliedN, direct.Result.ImpliedN)
		}
		phi := 1 + float64(cfg.B)/(cfg.Eta*d.Result.HStar)
		ci := d.Result.Fit.LogLog.CI
		if lo, hi := 2*(phi-float64(ci[1])), 2*(phi-float64(ci[0])); math.Abs(float64(d.ImpliedNCI[0])-lo) > 1e-9 || math.Abs(float64(d.ImpliedNCI[1])-hi) > 1e-9 {
			t.Errorf("seed %d: implied n interval %v, want [%v, %v]", seed, d.ImpliedNCI, lo, hi)
		}
		if d.Result.Spectrum == nil || d.Result.Spectrum.All != nil || len(d.Result.Spectrum.Top) == 0 {
			t.Errorf("seed %d: the spectrum's full list should be left out, its top kept", seed)
		}
	}
	if r1, _ := r.Result.Draw(1); r1.Result.LStar == r.Result.Draws[1].Result.LStar {
		t.Error("two pre-training seeds gave the same minimum")
	}
	if again, err := FirstPassageDraws(context.Background(), env, cfg); err != nil || !again.FromCache {
		t.Errorf("second call not from the cache: %v", err)
	}
	short := cfg
	short.Pretrain.Epochs, short.Pretrain.UntilStationary, short.Pretrain.Tol = 20, false, 1e-9
	sr, err := FirstPassageDraws(context.Background(), env, short)
	if err != nil || len(sr.Result.Draws) != 2 || !strings.Contains(sr.Result.Draws[0].Excluded, "not converged") || !math.IsNaN(float64(sr.Result.Draws[1].ImpliedNCI[0])) {
		t.Errorf("non-stationary seeds: %v %+v", err, sr.Result.Draws)
	}
	for _, bad := range []struct {
		seeds []int
		want  string
	}{{nil, "at least one"}, {[]int{1, 1}, "twice"}, {[]int{-2}, "negative"}} {
		c := cfg
		c.PretrainSeeds = bad.seeds
		if _, err := FirstPassageDraws(context.Background(), env, c); err == nil || !run.IsBadInput(err) || !strings.Contains(err.Error(), bad.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("seeds %v: %v", bad.seeds, err)
		}
	}
}
