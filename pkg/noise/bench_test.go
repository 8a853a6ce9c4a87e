package noise

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/model"
)

// cifarShaped returns n random 32×32×3 images in [0, 1) with one-hot
// targets over 10 classes.
func cifarShaped(n int) (x, y []float32) {
	rng := rand.New(rand.NewPCG(1, 1))
	x = make([]float32, n*3072)
	y = make([]float32, n*10)
	for i := range x {
		x[i] = rng.Float32()
	}
	for i := 0; i < n; i++ {
		y[i*10+i%10] = 1
	}
	return x, y
}

// benchStats times Stats (per-sample |∇ℓ_μ|², |∇L|², 𝒩) of a CNN with the
// given channels on 500 CIFAR-10-shaped images, compiled outside the timed
// loop.
func benchStats(b *testing.B, channels []int) {
	be, err := backend.New()
	if err != nil {
		b.Fatal(err)
	}
	a, _ := model.CNN(32, 32, 3, channels, 3, 10)
	const n = 500
	x, y := cifarShaped(n)
	ev, err := NewEvaluator(be, a, model.MSE, false)
	if err != nil {
		b.Fatal(err)
	}
	ps := a.Init(1)
	if _, err := ev.Stats(ps, x, y, n); err != nil { // compile outside the timed loop
		b.Fatal(err)
	}
	b.Logf("%s on %s: methods %s, chunk %d", a.Name, backend.Name(), MethodsString(ev.Methods()), ev.Chunk())
	for b.Loop() {
		if _, err := ev.Stats(ps, x, y, n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
}

// Per-sample statistics of the paper's CIFAR-10 CNN (64/128/256 channels)
// on 500 images; XLA only (hours on SimpleGo).
func BenchmarkStatsPaperCNN(b *testing.B) {
	if !backend.IsXLA() {
		b.Skip("paper-scale benchmark: needs the XLA backend (a PJRT plugin)")
	}
	benchStats(b, []int{64, 128, 256})
}

// Per-sample statistics of the quick-scale CNN (8/16/32 channels) on 500 images.
func BenchmarkStatsQuickCNN(b *testing.B) {
	benchStats(b, []int{8, 16, 32})
}

// The paper CNN's per-sample statistics against the path this package used
// before the ghost norm (legacy_test.go, chunks of 22 images as its fixed
// 1 GiB gave), timed in interleaved pairs (A B, B A, …) so that machine load
// hits both alike; reports both medians, their ratio, and the largest
// relative difference of a per-sample norm between the two. XLA only.
func BenchmarkStatsPaperCNNVersusLegacy(b *testing.B) {
	if !backend.IsXLA() {
		b.Skip("paper-scale benchmark: needs the XLA backend (a PJRT plugin)")
	}
	be, err := backend.New()
	if err != nil {
		b.Fatal(err)
	}
	a, _ := model.CNN(32, 32, 3, []int{64, 128, 256}, 3, 10)
	const n = 500
	x, y := cifarShaped(n)
	ps := a.Init(1)
	lg, err := newLegacy(be, a, model.MSE, 22)
	if err != nil {
		b.Fatal(err)
	}
	ev, err := NewEvaluator(be, a, model.MSE, false)
	if err != nil {
		b.Fatal(err)
	}
	_, g2, _, err := lg.run(ps, x, y, n)
	if err != nil {
		b.Fatal(err)
	}
	st, err := ev.Stats(ps, x, y, n)
	if err != nil {
		b.Fatal(err)
	}
	worst := 0.0
	for mu := range g2 {
		worst = math.Max(worst, relDiff(st.PerSampleG2[mu], g2[mu]))
	}
	if worst > normTol {
		b.Fatalf("per-sample norms differ from the previous path by %.2g (relative), more than %g", worst, normTol)
	}
	var tl, tn []float64
	for i := 0; b.Loop(); i++ {
		timeIt := func(dst *[]float64, f func() error) {
			t0 := time.Now()
			if err := f(); err != nil {
				b.Fatal(err)
			}
			*dst = append(*dst, time.Since(t0).Seconds())
		}
		runL := func() { timeIt(&tl, func() error { _, _, _, err := lg.run(ps, x, y, n); return err }) }
		runN := func() { timeIt(&tn, func() error { _, err := ev.Stats(ps, x, y, n); return err }) }
		if i%2 == 0 {
			runL()
			runN()
		} else {
			runN()
			runL()
		}
	}
	ml, mn := median(tl), median(tn)
	b.ReportMetric(n/ml, "legacy-images/s")
	b.ReportMetric(n/mn, "images/s")
	b.ReportMetric(ml/mn, "speedup")
	b.ReportMetric(worst, "max-rel-diff")
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
