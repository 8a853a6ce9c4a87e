package network

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/train"
)

// fakeMNIST writes a small MNIST-format training set (n images of 6×6)
// whose label depends on the image, into dir/mnist, and points SGDESCAPE_DATA at dir.
func fakeMNIST(t *testing.T, n int) {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 1))
	var img, lab bytes.Buffer
	img.Write([]byte{0, 0, 8, 3})
	binary.Write(&img, binary.BigEndian, [3]uint32{uint32(n), 6, 6})
	lab.Write([]byte{0, 0, 8, 1})
	binary.Write(&lab, binary.BigEndian, uint32(n))
	for i := 0; i < n; i++ {
		l := rng.IntN(10)
		for p := 0; p < 36; p++ {
			v := rng.IntN(60)
			if p%10 == l {
				v += 180
			}
			img.WriteByte(byte(v))
		}
		lab.WriteByte(byte(l))
	}
	os.MkdirAll(filepath.Join(dir, "mnist"), 0o755)
	os.WriteFile(filepath.Join(dir, "mnist", "train-images-idx3-ubyte"), img.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "mnist", "train-labels-idx1-ubyte"), lab.Bytes(), 0o644)
	t.Setenv("SGDESCAPE_DATA", dir)
}

func TestDecouplingStagesAndCache(t *testing.T) {
	fakeMNIST(t, 40)
	be, _ := backend.New()
	cache := run.Cache{Dir: t.TempDir()}
	cfg := DecouplingConfig{
		Run: RunSpec{Data: DataSpec{Set: "mnist", N: 40, Targets: EvenOdd}, Arch: ArchSpec{Kind: "mlp", Widths: []int{6}},
			Train: train.Config{Loss: model.MSE, Eta: 0.05, B: 8, Seed: 2}},
		Epochs: []int{0, 3}, TopK: 5, Cutoff: 1e-6,
	}
	rs, err := Decoupling(context.Background(), run.Env{Backend: be, BackendName: "test", Cache: cache}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Result.Stages) != 2 || rs.Result.Stages[1].Epoch != 3 || len(rs.Result.Stages[0].Exact) != 40 {
		t.Fatalf("stages: %d, epoch %d, %d eigenvalues", len(rs.Result.Stages), rs.Result.Stages[1].Epoch, len(rs.Result.Stages[0].Exact))
	}
	for _, s := range rs.Result.Stages {
		// Traces: Tr[(1/N)Σℓ_μC_μ] = (1/N)Σℓ_μ|∇f_μ|², Tr[L(1/N)ΣC_μ] = L·(1/N)Σ|∇f_μ|²; both positive,
		// and the decoupled matrix's spectrum is the exact one's when every ℓ_μ equals L.
		var te, td float64
		for i := range s.Exact {
			te += s.Exact[i]
			td += s.Decoupled[i]
			if s.Exact[i] < 0 || math.IsNaN(s.Exact[i]) {
				t.Fatalf("bad eigenvalue %v", s.Exact[i])
			}
		}
		if !(te > 0 && td > 0) || s.Agreement.K != 5 {
			t.Errorf("epoch %d: traces %v %v, agreement %+v", s.Epoch, te, td, s.Agreement)
		}
	}
	if rs.Result.Stages[1].Loss >= rs.Result.Stages[0].Loss {
		t.Errorf("loss did not fall: %v → %v", rs.Result.Stages[0].Loss, rs.Result.Stages[1].Loss)
	}
	// Asking again with one more stage reuses the cached stages and the checkpoint at epoch 3.
	cfg2 := cfg
	cfg2.Epochs = []int{0, 3, 5}
	rs2, err := Decoupling(context.Background(), run.Env{Backend: be, BackendName: "test", Cache: cache}, cfg2)
	if err != nil {
		t.Fatal(err)
	}
	if rs2.Result.Stages[2].Epoch != 5 {
		t.Fatalf("third stage at epoch %d", rs2.Result.Stages[2].Epoch)
	}
	// A fresh run straight to epoch 5 (no cache) gives the same spectrum: resuming is exact.
	fresh := cfg
	fresh.Epochs = []int{5}
	rf, err := Decoupling(context.Background(), run.Env{Backend: be, BackendName: "test", Cache: run.Cache{}}, fresh)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(rf.Result.Stages[0].Exact[0]-rs2.Result.Stages[2].Exact[0]) > 1e-9*rf.Result.Stages[0].Exact[0] {
		t.Errorf("resumed λ1 %v, straight run %v", rs2.Result.Stages[2].Exact[0], rf.Result.Stages[0].Exact[0])
	}
	bad := cfg
	bad.Epochs = []int{3, 1}
	if _, err := Decoupling(context.Background(), run.Env{Backend: be, BackendName: "test", Cache: cache}, bad); err == nil {
		t.Error("decreasing epochs accepted")
	}
	bad = cfg
	bad.Run.Data.Targets = OneHot
	if _, err := Decoupling(context.Background(), run.Env{Backend: be, BackendName: "test", Cache: cache}, bad); err == nil {
		t.Error("one-hot targets accepted for the spectra")
	}
}

func TestNoiseCurveResumes(t *testing.T) {
	fakeMNIST(t, 40)
	be, _ := backend.New()
	cache := run.Cache{Dir: t.TempDir()}
	cfg := NoiseCurveConfig{
		Run: RunSpec{Data: DataSpec{Set: "mnist", N: 40, Targets: OneHot}, Arch: ArchSpec{Kind: "mlp", Widths: []int{8}},
			Train: train.Config{Loss: model.MSE, Eta: 0.1, B: 10, Seed: 3}},
		Epochs: 4, Every: 1, Decoupled: true, Boot: 50,
	}
	a, err := Noise(context.Background(), run.Env{Backend: be, BackendName: "test", Cache: cache}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Result.Points) != 5 || a.Result.Points[4].Epoch != 4 || !(a.Result.Points[0].Noise > 0) || !(a.Result.Points[0].Decoupled > 0) {
		t.Fatalf("points: %+v", a.Result.Points)
	}
	for _, p := range a.Result.Points {
		want := float64(40-10) / (10 * 39) * p.Noise
		if math.Abs(p.TraceSigma-want) > 1e-12*want {
			t.Errorf("Tr Σ %v, want (N−B)/(B(N−1))·𝒩 = %v", p.TraceSigma, want)
		}
	}
	cfg.Epochs = 8
	b, err := Noise(context.Background(), run.Env{Backend: be, BackendName: "test", Cache: cache}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	straight, err := Noise(context.Background(), run.Env{Backend: be, BackendName: "test", Cache: run.Cache{}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b.Result.Points {
		if math.Abs(b.Result.Points[i].Loss-straight.Result.Points[i].Loss) > 1e-6*straight.Result.Points[i].Loss {
			t.Errorf("epoch %d: resumed loss %v, straight %v", b.Result.Points[i].Epoch, b.Result.Points[i].Loss, straight.Result.Points[i].Loss)
		}
	}
	if math.IsNaN(b.Result.LateSlope) {
		t.Error("no late slope")
	}
	cfg.Every = 0
	if _, err := Noise(context.Background(), run.Env{Backend: be, BackendName: "test", Cache: cache}, cfg); err == nil {
		t.Error("every = 0 accepted")
	}
}
