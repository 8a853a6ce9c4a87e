package noise

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/gomlx/backends"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/memcheck"
	"github.com/sgdescape/sgdescape/pkg/model"
)

// MemoryBudget is the number of float32 values (2²⁸ = 1 GiB) a chunk may
// hold when the free memory of the device cannot be read.
const MemoryBudget = 1 << 28

// chunkFraction is the share of the device's free memory one chunk may
// take: the rest is left to the parameters, the data, other graphs and the
// estimate's error.
const chunkFraction = 0.5

// cpuChunkBytes caps a chunk on the CPU, where larger chunks only cost
// memory: the per-sample statistics of the paper's CNN (about 47 MB per
// image by SampleBytes, so 45 images per chunk) took the same CPU time per
// image with chunks of 10, 20 and 40 images on XLA's CPU runtime (13.6 to
// 14.3 CPU-seconds per 500 images, 2 cores).
const cpuChunkBytes = 2 << 30

// SampleBytes estimates the memory one sample takes in a per-sample
// statistics graph of a whose layers use methods ms (see Layers; nil:
// Choose's): the input, every layer's patches U, pre-activation and its
// gradient with the backward pass's temporaries, and the largest per-layer
// norm buffer (k·c values of G_μ, or the two T×T Gram matrices of the ghost
// norm), in float32.
func SampleBytes(a model.Arch, ms []Method) float64 {
	if a.Net != nil { // an imported network estimates its own size
		return 4 * float64(max(a.Net.FloatsPerSample(), 1))
	}
	ls := Layers(a)
	if ms == nil {
		ms = Choose(a, true)
	}
	per := float64(a.InputSize() + a.Outputs)
	transient := 0.0
	for i, l := range ls {
		T, k, c := float64(l.T), float64(l.K), float64(l.C)
		per += 4 * T * (k + c)
		m := Materialise
		if i < len(ms) {
			m = ms[i]
		}
		switch {
		case m == Materialise:
			transient = math.Max(transient, 2*k*c)
		case l.T > 1:
			transient = math.Max(transient, 3*T*T)
		}
	}
	return 4 * (per + transient)
}

// ChunkSize returns how many samples one graph execution on the host
// processes: as many as fit MemoryBudget float32 values (1 GiB), or half
// the host's available memory when that is less, given the per-sample sizes
// of the architecture (SampleBytes), at most limit and at least 1. Callers
// with a backend use ChunkSizeOn, which sizes chunks from its device.
func ChunkSize(a model.Arch, limit int) int {
	budget := float64(4 * MemoryBudget)
	if avail, ok := memcheck.Available(); ok {
		budget = math.Min(chunkFraction*avail, budget)
	}
	return max(1, min(limit, int(budget/SampleBytes(a, nil))))
}

// ChunkSizeOn returns how many samples one graph execution on be processes:
// as many as fit a share of the memory the device has free
// (backend.FreeMemory: the accelerator's allocator on a GPU, the host's
// available memory on the CPU, where chunks stop at 2 GiB; 1 GiB when it
// cannot be read), at most limit. It fails with a one-line error when not
// even one sample fits.
func ChunkSizeOn(be backends.Backend, a model.Arch, limit int) (int, error) {
	return chunkFor(be, a, limit, SampleBytes(a, nil))
}

// budget returns the bytes one chunk may take on be, and where they were read.
func budget(be backends.Backend) (float64, string) {
	m, ok := backend.FreeMemory(be)
	if !ok {
		return float64(4 * MemoryBudget), "a fixed 1 GiB (the device's free memory could not be read)"
	}
	b := chunkFraction * m.Free
	if backend.Platform(be) == "cpu" {
		b = math.Min(b, cpuChunkBytes)
	}
	return b, m.Where
}

// chunkFor sizes a chunk of samples of per bytes each (see ChunkSizeOn).
func chunkFor(be backends.Backend, a model.Arch, limit int, per float64) (int, error) {
	if limit < 1 {
		return 0, fmt.Errorf("noise: chunk limit %d must be at least 1", limit)
	}
	b, where := budget(be)
	c := b / per
	if c < 1 {
		return 0, fmt.Errorf("noise: one sample of %s needs about %s in the per-sample statistics but the chunk budget is %s (half of what is free: %s); free memory on the device or use a smaller network",
			a.Name, memcheck.Format(per), memcheck.Format(b), where)
	}
	return int(math.Min(c, float64(limit))), nil
}

// CheckChunk returns a one-line error when a chunk of the given number of
// samples, per bytes each (SampleBytes), does not fit the chunk budget of
// be's device (see ChunkSizeOn).
func CheckChunk(be backends.Backend, a model.Arch, chunk int, per float64) error {
	b, where := budget(be)
	if need := float64(chunk) * per; need > b {
		return fmt.Errorf("noise: a chunk of %d samples of %s needs about %s but the chunk budget is %s (half of what is free: %s); lower the chunk to %d or less, or set it to 0 to size it from the device",
			chunk, a.Name, memcheck.Format(need), memcheck.Format(b), where, max(1, int(b/per)))
	}
	return nil
}

// OutOfMemory reports whether an execution error is the device running out
// of memory (XLA's RESOURCE_EXHAUSTED).
func OutOfMemory(err error) bool {
	if err == nil {
		return false
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "resource_exhausted") || strings.Contains(s, "out of memory")
}

// chunkError is the one-line error of a chunk of m samples that ran out of
// device memory.
func chunkError(be backends.Backend, a model.Arch, m int, err error) error {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 160 {
		msg = msg[:160] + "…"
	}
	_, where := budget(be)
	if m <= 1 {
		return fmt.Errorf("noise: one sample of %s does not fit in the device's memory (%s; now %s); free device memory or use a smaller network", a.Name, msg, where)
	}
	return fmt.Errorf("noise: a chunk of %d samples of %s does not fit in the device's memory (%s; now %s); lower the chunk (noise.Options.Chunk) or set it to 0 to size it from the device", m, a.Name, msg, where)
}
