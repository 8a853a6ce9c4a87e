package barrier

import (
	"context"
	"math"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// benchSim builds the simulator of the paper helix at β = 8 with an interval
// so wide that no run escapes during the benchmark.
func benchSim(b *testing.B, n int, sampling string) *simulator {
	h := PaperHelix()
	h.Dim = n
	d, err := h.Draw()
	if err != nil {
		b.Fatal(err)
	}
	ls, err := FindLandscape(d)
	if err != nil {
		b.Fatal(err)
	}
	return &simulator{d: d, eta: 1 / (8 * ls.HStar), b: 1, lo: -1e9, hi: 1e9, start: d.Theta(ls.ThetaStar),
		sampling: sampling, dynamics: SGD}
}

// BenchmarkSGDSteps reports SGD steps per second of the barrier simulation
// (n = 1, B = 1, paper mini-batches), one run per core in parallel.
func BenchmarkSGDSteps(b *testing.B) {
	for _, tc := range []struct {
		name     string
		n        int
		sampling string
	}{{"n1/epoch", 1, Epoch}, {"n1/iid", 1, IID}, {"n4/epoch", 4, Epoch}} {
		b.Run(tc.name, func(b *testing.B) {
			s := benchSim(b, tc.n, tc.sampling)
			const chunk = 1 << 20
			b.ResetTimer()
			runs := (b.N + chunk - 1) / chunk
			_ = run.Parallel(context.Background(), runs, 0, nil, nil, func(_ context.Context, i int) error {
				ss := *s
				ss.maxSteps = chunk
				ss.run(1, uint64(i))
				return nil
			})
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
