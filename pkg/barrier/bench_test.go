package barrier

import (
	"context"
	"math"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/minibatch"
)

// benchEnsemble is the paper helix at β = 8 with an interval so wide that
// no run escapes during the benchmark.
func benchEnsemble(b *testing.B, n int, sampling string) *ensemble {
	d, ls := draw(b, n)
	return &ensemble{d: d, eta: 1 / (8 * ls.HStar), b: 1, lo: -1e9, hi: 1e9, start: d.Theta(ls.ThetaStar),
		sampling: minibatch.Sampling(sampling), dynamics: SGD}
}

// BenchmarkSGDSteps reports SGD steps per second of the barrier simulation
// (B = 1) through dynamics.Simulate, runs of 2²⁰ steps on every core.
func BenchmarkSGDSteps(b *testing.B) {
	for _, tc := range []struct {
		name     string
		n        int
		sampling string
	}{{"n1/epoch", 1, Epoch}, {"n1/iid", 1, IID}, {"n4/epoch", 4, Epoch}} {
		b.Run(tc.name, func(b *testing.B) {
			e := benchEnsemble(b, tc.n, tc.sampling)
			const chunk = 1 << 20
			b.ResetTimer()
			runs := (b.N + chunk - 1) / chunk
			_, err := dynamics.Simulate(context.Background(), e, dynamics.Schedule{Runs: runs, Seed: 1, MaxSteps: chunk, Every: chunk},
				func(int, int64, dynamics.Walker, float64, float64, bool) bool { return false })
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(runs*chunk)/b.Elapsed().Seconds(), "steps/s")
		})
	}
}

func TestSincosSmall(t *testing.T) {
	for x := -0.5; x <= 0.5; x += 0.001 {
		s, c := sincosSmall(x)
		ws, wc := math.Sincos(x)
		if math.Abs(s-ws) > 2e-16 || math.Abs(c-wc) > 2e-16 {
			t.Fatalf("x=%v: %v %v, want %v %v", x, s, c, ws, wc)
		}
	}
}
