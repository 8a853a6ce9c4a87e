package network

import (
	"math"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/train"
)

func TestDivergenceRule(t *testing.T) {
	mse := RunSpec{Data: DataSpec{Set: data.MNIST, N: 10, Targets: EvenOdd}, Train: train.Config{Loss: model.MSE}}
	ce := RunSpec{Data: DataSpec{Set: data.Fashion, N: 10, Targets: OneHot}, Train: train.Config{Loss: model.CE}}
	for _, c := range []struct {
		r    RunSpec
		loss float64
		want bool
	}{
		{mse, 0.8, false}, {mse, 4.99, false}, {mse, 5.01, true}, {mse, 4.9e21, true},
		{mse, math.NaN(), true}, {mse, math.Inf(1), true},
		{ce, 2.5, false}, {ce, 60, true}, {ce, 20, false},
	} {
		if got := c.r.Diverged(c.loss); got != c.want {
			t.Errorf("%s loss %v: diverged %v, want %v", c.r.Train.Loss, c.loss, got, c.want)
		}
	}
	if p, ok := mse.FirstDiverged([]LossPoint{{0, 0.8}, {5, 0.3}, {10, 7}, {15, math.NaN()}}); !ok || p.Epoch != 10 {
		t.Errorf("first diverged point %+v %v", p, ok)
	}
}

func TestNoiseMeasurements(t *testing.T) {
	for _, c := range []struct{ epochs, every, want int }{{2, 1, 3}, {3, 1, 4}, {4, 1, 5}, {30, 1, 31}, {10, 3, 5}, {9, 3, 4}, {5, 3, 3}} {
		cfg := NoiseCurveConfig{Epochs: c.epochs, Every: c.every, Run: RunSpec{Data: DataSpec{Set: data.Fashion, N: 100, Targets: OneHot},
			Arch: ArchSpec{Kind: MLP, Widths: []int{10}}, Train: train.Config{Loss: model.MSE, Eta: 0.1, B: 10}}}
		if got := cfg.Measurements(); got != c.want {
			t.Errorf("%+v: %d measurements, want %d", c, got, c.want)
		}
		if err := cfg.Validate(); (err == nil) != (c.want >= MinNoiseMeasurements) {
			t.Errorf("%+v: Validate %v", c, err)
		}
	}
}

func TestMemoryEstimatesSaturate(t *testing.T) {
	r := RunSpec{Data: DataSpec{Set: data.MNIST, N: 1000, Targets: EvenOdd}, Arch: ArchSpec{Kind: "mlp", Widths: []int{100, 100}}}
	if p := r.Params(); p != 784*100+100+100*100+100+100+1 {
		t.Errorf("params %v", p)
	}
	cnn := RunSpec{Data: DataSpec{Set: data.CIFAR10, Targets: OneHot}, Arch: ArchSpec{Kind: "cnn", Channels: []int{4, 8}, ConvsPerStack: 2}}
	arch, err := model.CNN(32, 32, 3, []int{4, 8}, 2, 10)
	if err != nil {
		t.Fatal(err)
	}
	if p, want := cnn.Params(), float64(arch.NumParams()); p != want {
		t.Errorf("CNN params %v, model.CNN has %v", p, want)
	}
	mlp, _ := model.MLP(784, []int{100, 100}, 1)
	if p := r.Params(); p != float64(mlp.NumParams()) {
		t.Errorf("MLP params %v, model.MLP has %d", p, mlp.NumParams())
	}
	cnn.Arch.ConvsPerStack = 1 << 40 // closed form: no loop over a trillion layers
	if p := cnn.Params(); !(p > 1e12) {
		t.Errorf("CNN params %v", p)
	}
	if b := (NoiseCurveConfig{Run: r, Epochs: 1 << 40, Every: 1}).MemoryBytes(); !(b > 1e13) {
		t.Errorf("noise memory with 2⁴⁰ measured epochs: %v", b)
	}
	small := DecouplingConfig{Run: r}.MemoryBytes()
	r.Arch.Widths = []int{1000000000}
	huge := DecouplingConfig{Run: r}.MemoryBytes()
	if !(small > 0 && small < 4<<30) || !(huge > 1e12) || math.IsInf(huge, 0) {
		t.Errorf("memory: small %v, huge %v", small, huge)
	}
}
