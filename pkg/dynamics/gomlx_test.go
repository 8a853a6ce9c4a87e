package dynamics

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/backend"
)

// The GoMLX lockstep engine (θ-space, one graph per k steps) and the native
// eigenbasis loop must follow the same trajectories for the same seed.
func TestGoMLXEngineMatchesNative(t *testing.T) {
	lr, q := problem(t, 60, 3, 21)
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Kind: SGD, Eta: 0.07, B: 2}
	const runs, steps = 5, 40
	native, engine := newCollector(steps), newCollector(steps)
	init := func(r int, z []float64) { z[0] = 0.1 * float64(r) }
	if _, err := Run(context.Background(), q, cfg, Options{Runs: runs, Seed: 4, MaxSteps: steps, Init: init}, native); err != nil {
		t.Fatal(err)
	}
	if _, err := RunGoMLX(context.Background(), be, lr, q, cfg, Options{Runs: runs, Seed: 4, MaxSteps: steps, Init: init}, 8, engine); err != nil {
		t.Fatal(err)
	}
	for r := 0; r < runs; r++ {
		if len(engine.loss[r]) != steps+1 {
			t.Fatalf("run %d: %d observations, want %d", r, len(engine.loss[r]), steps+1)
		}
		for i := range native.loss[r] {
			a, b := native.loss[r][i], engine.loss[r][i]
			if math.Abs(a-b) > 1e-9*a {
				t.Fatalf("run %d step %d: native %v, GoMLX %v", r, i, a, b)
			}
		}
		for i := range native.z[r] {
			if math.Abs(native.z[r][i]-engine.z[r][i]) > 1e-9 {
				t.Fatalf("run %d: final z native %v, GoMLX %v", r, native.z[r], engine.z[r])
			}
		}
	}
	if _, err := RunGoMLX(context.Background(), be, lr, q, Config{Kind: GLD, Eta: 0.1, B: 1}, Options{Runs: 1, MaxSteps: 1}, 1, native); err == nil {
		t.Error("the GoMLX engine accepted a non-SGD dynamics")
	}
}

func BenchmarkGoMLXChainSteps(b *testing.B) {
	lr, q := problem(b, 10000, 10, 1)
	be, err := backend.New()
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Kind: SGD, Eta: 0.1, B: 1}
	runs, steps := 100, int64(1000)
	if strings.HasPrefix(backend.Config(), "xla") {
		steps = 50000 // amortise the XLA compilation of the unrolled graph
	}
	obs := observerFunc(func(*State) bool { return false })
	for b.Loop() {
		if _, err := RunGoMLX(context.Background(), be, lr, q, cfg, Options{Runs: runs, Seed: 1, MaxSteps: steps}, 50, obs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(int64(runs)*steps)*float64(b.N)/b.Elapsed().Seconds(), "chain-steps/s")
}
