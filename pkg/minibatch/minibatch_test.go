package minibatch

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/rng"
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

// NewFast draws what a plain loop over the same Fast stream draws: the
// epoch shuffle of the paper (Fisher–Yates with rng.Fast.IntN) and, for IID,
// one uniform index per sample in order; IID batches also hit every sample
// about equally often.
func TestFastMatchesPlainLoops(t *testing.T) {
	for _, c := range []struct {
		n, b int
		s    Sampling
	}{{10, 1, Epoch}, {10, 3, Epoch}, {1000, 1, Epoch}, {10, 3, IID}, {1000, 1, IID}, {7, 7, IID}} {
		src := rng.NewFast(4, rng.BarrierRun, 9)
		bt, err := NewFast(c.n, c.b, c.s, &src)
		if err != nil {
			t.Fatal(err)
		}
		ref := rng.NewFast(4, rng.BarrierRun, 9)
		perm := make([]int32, c.n)
		for i := range perm {
			perm[i] = int32(i)
		}
		pos := c.n
		for step := 0; step < 5*c.n; step++ {
			got := bt.Next()
			for k, mu := range got {
				var want int32
				if c.s == IID {
					want = int32(ref.IntN(c.n))
				} else {
					if k == 0 && pos > c.n-c.b {
						for i := c.n - 1; i > 0; i-- {
							j := ref.IntN(i + 1)
							perm[i], perm[j] = perm[j], perm[i]
						}
						pos = 0
					}
					want = perm[pos]
					pos++
				}
				if mu != want {
					t.Fatalf("%+v step %d item %d: %d, plain loop %d", c, step, k, mu, want)
				}
			}
		}
	}
	src := rng.NewFast(1, rng.Run, 0)
	bt, _ := NewFast(4, 2, IID, &src)
	hits := make([]float64, 4)
	for i := 0; i < 20000; i++ {
		for _, mu := range bt.Next() {
			hits[mu]++
		}
	}
	for i, h := range hits {
		if math.Abs(h/40000-0.25) > 5*math.Sqrt(0.25*0.75/40000) {
			t.Errorf("IID: sample %d drawn with frequency %v, want 1/4", i, h/40000)
		}
	}
	if _, err := NewFast(3, 1, "sobol", &src); err == nil {
		t.Error("unknown sampling accepted")
	}
	if _, err := NewFast(3, 1, Epoch, nil); err == nil {
		t.Error("nil source accepted")
	}
}

// Rest hands out the same batches as Next, a whole epoch at a time, and the
// two can be mixed.
func TestRestIsNextByTheEpoch(t *testing.T) {
	for _, c := range []struct {
		n, b int
		s    Sampling
	}{{10, 3, Epoch}, {12, 4, Epoch}, {10, 1, IID}, {10, 3, IID}} {
		a, b := rng.NewFast(2, rng.Run, 1), rng.NewFast(2, rng.Run, 1)
		next, _ := NewFast(c.n, c.b, c.s, &a)
		rest, _ := NewFast(c.n, c.b, c.s, &b)
		next.Next() // one batch in: Rest returns the rest of the first epoch
		rest.Next()
		for epoch := 0; epoch < 4; epoch++ {
			got := rest.Rest()
			if len(got) == 0 || len(got)%c.b != 0 {
				t.Fatalf("%+v: Rest returned %d indices", c, len(got))
			}
			for k := 0; k < len(got); k += c.b {
				want := next.Next()
				for i := range want {
					if got[k+i] != want[i] {
						t.Fatalf("%+v epoch %d: Rest %v, Next %v", c, epoch, got[k:k+c.b], want)
					}
				}
			}
		}
	}
}
