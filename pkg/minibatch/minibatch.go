// Package minibatch draws mini-batches the way the paper's SGD does (Eq. 2):
// each epoch the training set is randomly divided into mini-batches of B
// samples, sampling without replacement inside the epoch. When B does not
// divide N, the last N mod B samples of each epoch's permutation are left
// out (and a new permutation starts), so every step uses exactly B samples.
package minibatch

import (
	"fmt"
	"math/rand/v2"
)

// Batcher yields the mini-batches of one SGD run. It is not safe for
// concurrent use; give each run its own.
type Batcher struct {
	n, b  int
	perm  []int32
	pos   int
	rng   *rand.Rand
	epoch int
}

// New returns a Batcher over n samples with batch size b, drawing its
// permutations from rng (which the caller may share with other draws of the
// same run, in a fixed order, for reproducibility).
func New(n, b int, rng *rand.Rand) (*Batcher, error) {
	if n < 1 {
		return nil, fmt.Errorf("minibatch: need at least one sample, got N=%d", n)
	}
	if b < 1 || b > n {
		return nil, fmt.Errorf("minibatch: batch size B=%d must satisfy 1 ≤ B ≤ N=%d", b, n)
	}
	if rng == nil {
		return nil, fmt.Errorf("minibatch: nil random source")
	}
	bt := &Batcher{n: n, b: b, perm: make([]int32, n), rng: rng}
	for i := range bt.perm {
		bt.perm[i] = int32(i)
	}
	bt.pos = n // forces a shuffle on the first call
	bt.epoch = -1
	return bt, nil
}

// Next returns the indices of the next mini-batch. The slice is reused by
// the following call.
func (bt *Batcher) Next() []int32 {
	if bt.pos+bt.b > bt.n {
		// Fisher–Yates shuffle: a fresh random division of the training set.
		for i := bt.n - 1; i > 0; i-- {
			j := bt.rng.IntN(i + 1)
			bt.perm[i], bt.perm[j] = bt.perm[j], bt.perm[i]
		}
		bt.pos = 0
		bt.epoch++
	}
	s := bt.perm[bt.pos : bt.pos+bt.b]
	bt.pos += bt.b
	return s
}

// Epoch returns the number of completed reshuffles minus one (0 during the first epoch).
func (bt *Batcher) Epoch() int { return bt.epoch }

// StepsPerEpoch is ⌊N/B⌋.
func (bt *Batcher) StepsPerEpoch() int { return bt.n / bt.b }
