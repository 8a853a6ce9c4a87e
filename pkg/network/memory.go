package network

import (
	"math"

	"github.com/sgdescape/sgdescape/pkg/data"
)

// Memory estimates (bytes, as float64 so that absurd sizes saturate instead
// of overflowing an int) for checking a configuration against the machine
// before anything is allocated (see pkg/memcheck). They count the large
// arrays only: data, parameters with their gradients and checkpoints, the
// per-chunk buffers of pkg/noise (at most 1 GiB) and dense N×N matrices.

const chunkBudget = 1 << 30 // noise.MemoryBudget float32 values ≈ 1 GiB

func (r RunSpec) dims() (in, out float64) {
	in = 28 * 28
	if r.Data.Set == data.CIFAR10 {
		in = 32 * 32 * 3
	}
	out = 1
	if r.Data.Targets == OneHot {
		out = 10
	}
	return in, out
}

// Params is the number of parameters of the run's network (float64, so
// that absurd widths do not overflow).
func (r RunSpec) Params() float64 {
	in, out := r.dims()
	var p float64
	switch r.Arch.Kind {
	case "cnn":
		prev, convs := 3.0, float64(max(r.Arch.ConvsPerStack, 1))
		for _, c := range r.Arch.Channels {
			cf := float64(c)
			// the first convolution of a stack maps prev → c channels, the others c → c
			p += 9*prev*cf + cf + (convs-1)*(9*cf*cf+cf)
			prev = cf
		}
		side := 32.0 // CIFAR-10 images; each stack halves the side before the dense layer
		if r.Data.Set != data.CIFAR10 {
			side = 28
		}
		side /= math.Pow(2, float64(len(r.Arch.Channels)))
		p += math.Max(math.Floor(side), 1)*math.Max(math.Floor(side), 1)*prev*out + out
	default:
		prev := in
		for _, w := range r.Arch.Widths {
			p += prev*float64(w) + float64(w)
			prev = float64(w)
		}
		p += prev*out + out
	}
	return p
}

// MemoryBytes estimates the memory of a training run: the data (float32
// and float64 copies), the parameters with gradients, optimiser state and
// two checkpoints, and one chunk of per-sample work.
func (r RunSpec) MemoryBytes() float64 {
	in, out := r.dims()
	n := float64(r.Data.N)
	return 12*n*(in+out) + 8*6*r.Params() + chunkBudget
}

// MemoryBytes of the decoupling experiment: training plus the N×N Gram
// matrices (exact, decoupled and the eigensolver's workspace) and the Gram
// factors (one N-vector per hidden unit).
func (c DecouplingConfig) MemoryBytes() float64 {
	n := float64(c.Run.Data.N)
	var units float64
	for _, w := range c.Run.Arch.Widths {
		units += float64(w)
	}
	return c.Run.MemoryBytes() + 8*4*n*n + 8*2*n*units
}

// MemoryBytes of the noise curve: training plus the per-sample evaluator's
// parameter-sized buffers and the measured points (with the epoch list).
func (c NoiseCurveConfig) MemoryBytes() float64 {
	points := float64(c.Epochs)/float64(max(c.Every, 1)) + 2
	return c.Run.MemoryBytes() + 8*4*c.Run.Params() + 96*points
}

// MemoryBytes of pre-training and the Gauss–Newton spectrum at θ*: the
// dense route works in the smaller of N and P (three square matrices) plus
// its Jacobian chunks.
func (c PretrainConfig) MemoryBytes() float64 {
	n, p := float64(c.Run.Data.N), c.Run.Params()
	m := min(n, p)
	return c.Run.MemoryBytes() + 8*3*m*m
}

// MemoryBytes of the escape experiment: pre-training, the spectrum, the
// N×N input Gram matrix of the continuation engine and one network replica
// (with its N pre-activations) per worker and per run's record.
func (c FirstPassageConfig) MemoryBytes() float64 {
	n, p := float64(c.Pretrain.Run.Data.N), c.Pretrain.Run.Params()
	var units float64
	for _, w := range c.Pretrain.Run.Arch.Widths {
		units += float64(w)
	}
	runs := float64(c.Runs) + float64(c.FreeRuns)
	return c.Pretrain.MemoryBytes() + 8*n*n + 8*16*(p+n*units) + 8*runs*float64(len(c.C)+4)
}
