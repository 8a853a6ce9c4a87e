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
	} {
		for i := 0; i < 5; i++ {
			if a, b := c.got.Uint64(), c.want.Uint64(); a != b {
				t.Fatalf("stream differs: %x vs %x", a, b)
			}
		}
	}
}

func TestStreamsAreDistinct(t *testing.T) {
	all := []Stream{LinRegData, Subset, ModelInit, TrainEpoch, Run, FPTBootstrap, PhiBootstrap, NoiseSlopeBootstrap, ExactHessian, LanczosDefault, DiagnoseLanczos}
	seen := map[Stream]bool{}
	for _, s := range all {
		if seen[s] {
			t.Errorf("stream %#x used twice", uint64(s))
		}
		seen[s] = true
	}
}
