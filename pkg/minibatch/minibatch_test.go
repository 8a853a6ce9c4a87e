package minibatch

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestEachEpochIsAPartition(t *testing.T) {
	for _, c := range []struct{ n, b int }{{10, 1}, {10, 3}, {12, 4}, {7, 7}} {
		bt, err := New(c.n, c.b, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		for epoch := 0; epoch < 5; epoch++ {
			seen := map[int32]int{}
			for s := 0; s < bt.StepsPerEpoch(); s++ {
				batch := bt.Next()
				if len(batch) != c.b {
					t.Fatalf("batch of %d, want %d", len(batch), c.b)
				}
				for _, i := range batch {
					seen[i]++
				}
				if bt.Epoch() != epoch {
					t.Fatalf("epoch counter %d, want %d", bt.Epoch(), epoch)
				}
			}
			for i, k := range seen {
				if k != 1 {
					t.Fatalf("n=%d b=%d: sample %d drawn %d times in one epoch", c.n, c.b, i, k)
				}
			}
			if len(seen) != c.b*(c.n/c.b) {
				t.Fatalf("n=%d b=%d: %d distinct samples per epoch", c.n, c.b, len(seen))
			}
		}
	}
}

// Every sample is equally likely in every position: check the frequency of
// sample 0 in the first batch over many epochs.
func TestUniform(t *testing.T) {
	bt, _ := New(5, 2, rand.New(rand.NewPCG(3, 4)))
	hits, epochs := 0, 20000
	for e := 0; e < epochs; e++ {
		first := bt.Next()
		for _, i := range first {
			if i == 0 {
				hits++
			}
		}
		bt.Next()
	}
	p := float64(hits) / float64(epochs) // expected 2/5
	if se := math.Sqrt(0.4 * 0.6 / float64(epochs)); math.Abs(p-0.4) > 5*se {
		t.Errorf("sample 0 in the first batch with frequency %v, want 0.4 ± %v", p, 5*se)
	}
}

func TestRejectsBadSizes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct{ n, b int }{{0, 1}, {5, 0}, {5, 6}} {
		if _, err := New(c.n, c.b, r); err == nil {
			t.Errorf("N=%d B=%d accepted", c.n, c.b)
		}
	}
	if _, err := New(3, 1, nil); err == nil {
		t.Error("nil rng accepted")
	}
}
