package train

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/model"
)

func synthetic(n, d int, seed uint64) ([]float32, []float32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*d)
	y := make([]float32, n)
	for i := 0; i < n; i++ {
		s := 0.0
		for j := 0; j < d; j++ {
			v := rng.NormFloat64()
			x[i*d+j] = float32(v)
			s += v * float64(j%3-1)
		}
		y[i] = 1
		if s < 0 {
			y[i] = -1
		}
	}
	return x, y
}

func TestTrainingLowersTheLossAndResumesExactly(t *testing.T) {
	be, _ := backend.New()
	a, _ := model.MLP(6, []int{8}, 1)
	x, y := synthetic(64, 6, 1)
	cfg := Config{Loss: model.MSE, Eta: 0.05, B: 8, Seed: 3, StepsPerExec: 3}
	tr, err := New(be, a, cfg, x, y, 64)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := tr.RunEpoch()
	var last float64
	for e := 0; e < 30; e++ {
		if last, err = tr.RunEpoch(); err != nil {
			t.Fatal(err)
		}
	}
	if !(last < 0.7*first) {
		t.Errorf("mini-batch loss %v after 31 epochs, %v after the first", last, first)
	}
	// Resume: 2 epochs + save + load + 1 epoch equals 3 straight epochs.
	straight, _ := New(be, a, cfg, x, y, 64)
	for e := 0; e < 3; e++ {
		straight.RunEpoch()
	}
	part, _ := New(be, a, cfg, x, y, 64)
	part.RunEpoch()
	part.RunEpoch()
	path := filepath.Join(t.TempDir(), "ckpt", "epoch-000002.params")
	if err := Save(path, part.Params(), part.Epoch()); err != nil {
		t.Fatal(err)
	}
	ps, ep, err := Load(path)
	if err != nil || ep != 2 {
		t.Fatalf("load: %v, epoch %d", err, ep)
	}
	resumed, _ := New(be, a, cfg, x, y, 64)
	if err := resumed.SetState(ps, ep); err != nil {
		t.Fatal(err)
	}
	resumed.RunEpoch()
	for i, p := range straight.Params() {
		a, b := tensors.MustCopyFlatData[float32](p), tensors.MustCopyFlatData[float32](resumed.Params()[i])
		for j := range a {
			if a[j] != b[j] {
				t.Fatalf("resumed run differs at parameter %d[%d]: %v vs %v", i, j, a[j], b[j])
			}
		}
	}
	if p, e, err := Latest(filepath.Dir(path), 10); err != nil || e != 2 || p != path {
		t.Errorf("Latest: %v %d %v", p, e, err)
	}
	if _, _, err := Latest(filepath.Dir(path), 1); err != ErrNoCheckpoint {
		t.Errorf("Latest beyond max epoch: %v", err)
	}
}

func TestBadInputs(t *testing.T) {
	be, _ := backend.New()
	a, _ := model.MLP(6, []int{8}, 1)
	x, y := synthetic(16, 6, 1)
	for _, c := range []Config{
		{Loss: "hinge", Eta: 0.1, B: 4},
		{Loss: model.MSE, Eta: 0, B: 4},
		{Loss: model.MSE, Eta: 0.1, B: 0},
		{Loss: model.MSE, Eta: 0.1, B: 17},
	} {
		if _, err := New(be, a, c, x, y, 16); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := New(be, a, Config{Loss: model.MSE, Eta: 0.1, B: 4}, x[:10], y, 16); err == nil {
		t.Error("mismatched data accepted")
	}
	// A huge learning rate diverges and says so.
	tr, _ := New(be, a, Config{Loss: model.MSE, Eta: 1e6, B: 4, Seed: 1}, x, y, 16)
	var err error
	for e := 0; e < 20 && err == nil; e++ {
		_, err = tr.RunEpoch()
	}
	if err == nil {
		t.Error("η = 10⁶ did not report divergence")
	}
	bad := filepath.Join(t.TempDir(), "bad.params")
	os.WriteFile(bad, []byte("SGDP1\x00garbage"), 0o644)
	if _, _, err := Load(bad); err == nil {
		t.Error("corrupt parameter file accepted")
	}
}

// One epoch of 784-100-100-1 on the first 10⁴ MNIST images, B = 100.
func BenchmarkEpochMNISTMLP(b *testing.B) {
	ds, err := data.Load("", data.MNIST, "train")
	if err != nil {
		b.Skipf("MNIST not available: %v", err)
	}
	ds, _ = ds.Subset(10000)
	ds = ds.EvenOddTargets()
	be, _ := backend.New()
	a, _ := model.MLP(784, []int{100, 100}, 1)
	tr, err := New(be, a, Config{Loss: model.MSE, Eta: 0.01, B: 100, Seed: 1}, ds.X, ds.Y, ds.N())
	if err != nil {
		b.Fatal(err)
	}
	tr.RunEpoch() // compile
	for b.Loop() {
		if _, err := tr.RunEpoch(); err != nil {
			b.Fatal(err)
		}
	}
}

// accelerated reports whether the backend is XLA (a GPU): the paper-scale
// benchmarks below take hours on SimpleGo and are skipped there.
func accelerated(b *testing.B) {
	if !strings.HasPrefix(backend.Config(), "xla") {
		b.Skip("paper-scale benchmark: set GOMLX_BACKEND=xla:<PJRT plugin> (a GPU); on SimpleGo it takes hours")
	}
}

func randomData(n, d, k int) ([]float32, []float32) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]float32, n*k)
	for i := 0; i < n; i++ {
		y[i*k+rng.IntN(k)] = 1
	}
	return x, y
}

// One epoch of the paper's Fashion-MNIST MLP (784-2000-2000-2000-10), B = 100,
// timed on 6 000 random images (the speed does not depend on the pixel values).
func BenchmarkEpochFashionMLP2000(b *testing.B) {
	accelerated(b)
	be, _ := backend.New()
	a, _ := model.MLP(784, []int{2000, 2000, 2000}, 10)
	x, y := randomData(6000, 784, 10)
	// η = 0.01: random inputs are not centred, and the speed does not depend on η.
	tr, err := New(be, a, Config{Loss: model.MSE, Eta: 0.01, B: 100, Seed: 1, StepsPerExec: 10}, x, y, 6000)
	if err != nil {
		b.Fatal(err)
	}
	tr.RunEpoch()
	for b.Loop() {
		if _, err := tr.RunEpoch(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(6000*b.N)/b.Elapsed().Seconds(), "images/s")
}

// One epoch of the paper's CIFAR-10 CNN (3×conv64, 3×conv128, 3×conv256, dense 10),
// B = 100, on 2 000 random images.
func BenchmarkEpochPaperCNN(b *testing.B) {
	accelerated(b)
	be, _ := backend.New()
	a, _ := model.CNN(32, 32, 3, []int{64, 128, 256}, 3, 10)
	x, y := randomData(2000, 3072, 10)
	tr, err := New(be, a, Config{Loss: model.MSE, Eta: 0.01, B: 100, Seed: 1, StepsPerExec: 5}, x, y, 2000)
	if err != nil {
		b.Fatal(err)
	}
	tr.RunEpoch()
	for b.Loop() {
		if _, err := tr.RunEpoch(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "images/s")
}
