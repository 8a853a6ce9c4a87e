package rng

import (
	"math/rand/v2"
	"testing"
)

// The named streams must reproduce the historical generators exactly, or
// every cached result and recorded figure would silently change.
func TestStreamsMatchTheHistoricalGenerators(t *testing.T) {
	for _, c := range []struct {
		got  *rand.Rand
		want *rand.Rand
	}{
		{New(7, ModelInit), rand.New(rand.NewPCG(7, 0x9107))},
		{New(7, LinRegData), rand.New(rand.NewPCG(7, 0x11e9))},
		{Indexed(7, Run, 3), rand.New(rand.NewPCG(7, 0x9e3779b97f4a7c15^3))},
		{Indexed(7, TrainEpoch, 12), rand.New(rand.NewPCG(7, 0xe90c^12))},
		{New(1, HelixData), rand.New(rand.NewPCG(1, 0x4e11c5))},
		{New(1, HelixSpectators), rand.New(rand.NewPCG(1, 0x5bec7a))},
		{Indexed(2, BarrierRun, BarrierIndex(3, 17)), rand.New(rand.NewPCG(2, 3<<40|17))},
	} {
		for i := 0; i < 5; i++ {
			if a, b := c.got.Uint64(), c.want.Uint64(); a != b {
				t.Fatalf("stream differs: %x vs %x", a, b)
			}
		}
	}
}

func TestStreamsAreDistinct(t *testing.T) {
	all := []Stream{LinRegData, Subset, ModelInit, TrainEpoch, Run, FPTBootstrap, PhiBootstrap, NoiseSlopeBootstrap, ExactHessian, LanczosDefault, ExitChainData, ExitChainMC, HelixData, HelixSpectators, BarrierRun, DiagnoseLanczos}
	seen := map[Stream]bool{}
	for _, s := range all {
		if seen[s] {
			t.Errorf("stream %#x used twice", uint64(s))
		}
		seen[s] = true
	}
}

// Fast draws the same bits as the PCG stream it names, its IntN is
// (*rand.Rand).IntN's for n that are not powers of two, and its bounded
// draws are uniform (a χ² test over 7 and 8 cells).
func TestFast(t *testing.T) {
	f := NewFast(5, BarrierRun, BarrierIndex(1, 2))
	ref := Indexed(5, BarrierRun, BarrierIndex(1, 2))
	for i := 0; i < 100; i++ {
		if a, b := f.Uint64(), ref.Uint64(); a != b {
			t.Fatalf("draw %d: %x, PCG %x", i, a, b)
		}
	}
	g, r := NewFast(9, Run, 4), Indexed(9, Run, 4)
	for _, n := range []int{3, 1000, 999, 7, 1<<40 + 1} {
		for i := 0; i < 200; i++ {
			if a, b := g.IntN(n), r.IntN(n); a != b {
				t.Fatalf("IntN(%d) draw %d: %d, rand %d", n, i, a, b)
			}
		}
	}
	for _, n := range []int{7, 8} {
		h := NewFast(11, Run, uint64(n))
		counts := make([]float64, n)
		const draws = 70000
		for i := 0; i < draws; i++ {
			k := h.IntN(n)
			if k < 0 || k >= n {
				t.Fatalf("IntN(%d) = %d", n, k)
			}
			counts[k]++
		}
		chi2 := 0.0
		for _, c := range counts {
			e := float64(draws) / float64(n)
			chi2 += (c - e) * (c - e) / e
		}
		if chi2 > 30 { // 99.99 % quantile of χ² with 7 degrees of freedom is about 29.9
			t.Errorf("IntN(%d): χ² = %v", n, chi2)
		}
	}
	// Rand continues the same sequence.
	a := NewFast(3, Run, 0)
	b := Indexed(3, Run, 0)
	a.Uint64()
	b.Uint64()
	if a.Rand().Uint64() != b.Uint64() {
		t.Error("Rand does not continue the stream")
	}
}
