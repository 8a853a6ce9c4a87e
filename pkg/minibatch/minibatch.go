// Package minibatch draws mini-batches the way the paper's SGD does (Eq. 2):
// each epoch the training set is randomly divided into mini-batches of B
// samples, sampling without replacement inside the epoch. When B does not
// divide N, the last N mod B samples of each epoch's permutation are left
// out (and a new permutation starts), so every step uses exactly B samples.
// The control IID draws every index of every batch uniformly with
// replacement.
package minibatch

import (
	"fmt"
	"math/rand/v2"

	"github.com/sgdescape/sgdescape/pkg/rng"
)

// Sampling says how a Batcher draws.
type Sampling string

// The samplings.
const (
	// Epoch is the paper's SGD (Eq. 2): a fresh random division of the
	// data into batches each epoch, without replacement inside it.
	Epoch Sampling = "epoch"
	// IID draws every index of every batch uniformly with replacement (a
	// control: the batches of the SDE picture's i.i.d. noise).
	IID Sampling = "iid"
)

// Samplings lists the samplings.
var Samplings = []Sampling{Epoch, IID}

// Batcher yields the mini-batches of one SGD run. It is not safe for
// concurrent use; give each run its own.
type Batcher struct {
	n, b int
	// perm holds the epoch's permutation (Epoch) or the next draws (IID);
	// batches are served from perm[pos:limit].
	perm       []int32
	pos, limit int
	iid        bool
	rng        *rand.Rand
	fast       *rng.Fast
	epoch      int
}

// New returns an Epoch Batcher over n samples with batch size b, drawing its
// permutations from rng (which the caller may share with other draws of the
// same run, in a fixed order, for reproducibility).
func New(n, b int, rng *rand.Rand) (*Batcher, error) {
	if rng == nil {
		return nil, fmt.Errorf("minibatch: nil random source")
	}
	return newBatcher(n, b, Epoch, rng, nil)
}

// NewFast returns a Batcher with the given sampling that draws from a Fast
// stream (the hot loops of pkg/barrier): the draws go through no interface,
// and its bounded draws are rng.Fast's (see there).
func NewFast(n, b int, s Sampling, src *rng.Fast) (*Batcher, error) {
	if src == nil {
		return nil, fmt.Errorf("minibatch: nil random source")
	}
	return newBatcher(n, b, s, nil, src)
}

func newBatcher(n, b int, s Sampling, r *rand.Rand, f *rng.Fast) (*Batcher, error) {
	if n < 1 {
		return nil, fmt.Errorf("minibatch: need at least one sample, got N=%d", n)
	}
	if b < 1 || b > n {
		return nil, fmt.Errorf("minibatch: batch size B=%d must satisfy 1 ≤ B ≤ N=%d", b, n)
	}
	if s != Epoch && s != IID {
		return nil, fmt.Errorf("minibatch: sampling %q is not one of %v", s, Samplings)
	}
	bt := &Batcher{n: n, b: b, perm: make([]int32, n), limit: n, iid: s == IID, rng: r, fast: f}
	if bt.iid {
		// Whole batches of draws at a time, served in the order drawn: the
		// same indices as drawing one by one.
		bt.limit = b * (n / b)
	}
	for i := range bt.perm {
		bt.perm[i] = int32(i)
	}
	bt.pos = bt.limit // forces a draw on the first call
	bt.epoch = -1
	return bt, nil
}

// Next returns the indices of the next mini-batch. The slice is reused by
// the following calls.
func (bt *Batcher) Next() []int32 {
	if bt.pos+bt.b > bt.limit {
		bt.refill()
	}
	s := bt.perm[bt.pos : bt.pos+bt.b : bt.pos+bt.b]
	bt.pos += bt.b
	return s
}

// Rest returns every batch left in the current epoch as one slice — k ≥ 1
// batches of B indices, in the order Next would return them — and ends the
// epoch. A hot loop takes its batches B at a time from it, with one call per
// epoch instead of one per step; the slice is valid until the next call.
func (bt *Batcher) Rest() []int32 {
	if bt.pos+bt.b > bt.limit {
		bt.refill()
	}
	end := bt.pos + bt.b*((bt.limit-bt.pos)/bt.b)
	s := bt.perm[bt.pos:end:end]
	bt.pos = bt.limit
	return s
}

// refill starts a new epoch: a Fisher–Yates shuffle (a fresh random
// division of the training set), or the next draws with replacement. The
// two sources have a loop each, so that a Fast source's draws are direct
// calls in the hot path.
func (bt *Batcher) refill() {
	bt.pos = 0
	bt.epoch++
	perm, f := bt.perm, bt.fast
	switch {
	case bt.iid && f != nil:
		for i := range perm[:bt.limit] {
			perm[i] = int32(f.IntN(bt.n))
		}
	case bt.iid:
		for i := range perm[:bt.limit] {
			perm[i] = int32(bt.rng.IntN(bt.n))
		}
	case f != nil:
		for i := len(perm) - 1; i > 0; i-- {
			j := f.IntN(i + 1)
			perm[i], perm[j] = perm[j], perm[i]
		}
	default:
		for i := len(perm) - 1; i > 0; i-- {
			j := bt.rng.IntN(i + 1)
			perm[i], perm[j] = perm[j], perm[i]
		}
	}
}

// Epoch returns the number of completed reshuffles minus one (0 during the
// first epoch); with IID, of completed refills of ⌊N/B⌋ batches.
func (bt *Batcher) Epoch() int { return bt.epoch }

// StepsPerEpoch is ⌊N/B⌋.
func (bt *Batcher) StepsPerEpoch() int { return bt.n / bt.b }
