package network

import (
	"context"
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"gonum.org/v1/gonum/mat"

	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/minibatch"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/spectrum"
)

// Shallow is a one-hidden-layer ReLU network with one output,
// f(x) = w₂·relu(W₁ᵀx + b₁) + b₂, in float64 — the 784-10-1 network of
// section 5.3.2 — with the data it is trained on.
type Shallow struct {
	D, H int
	W1   []float64 // D×H, row-major (as model.Arch's first weight)
	B1   []float64 // H
	W2   []float64 // H
	B2   float64
}

// ShallowFromParams converts trained GoMLX parameters of an MLP D-H-1.
func ShallowFromParams(a model.Arch, params []*tensors.Tensor) (Shallow, error) {
	ps := a.Params()
	if len(ps) != 4 || a.Outputs != 1 {
		return Shallow{}, fmt.Errorf("network: the native continuation engine needs a one-hidden-layer, one-output MLP, got %s", a.Name)
	}
	f := func(t *tensors.Tensor) []float64 {
		v := tensors.MustCopyFlatData[float32](t)
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	}
	s := Shallow{D: ps[0].Shape[0], H: ps[0].Shape[1], W1: f(params[0]), B1: f(params[1]), W2: f(params[2])}
	s.B2 = f(params[3])[0]
	return s, nil
}

// Continuation runs copies of a Shallow network with SGD from the same start,
// each with its own mini-batches, and reports the exact full-batch loss after
// every step. A step with B samples changes the first layer by a rank-B
// update, so the hidden pre-activations of all N samples are updated in
// O(N·B·H) through the input Gram matrix G = XXᵀ (precomputed once with
// spectrum.SymOuter, N² values) instead of being recomputed in O(N·D·H);
// they are recomputed exactly every
// RefreshEvery steps to stop rounding from accumulating.
type Continuation struct {
	Net          Shallow
	N            int
	X            []float64 // N×D
	Y            []float64 // N
	G            []float64 // N×N, x_μ·x_ν
	Eta          float64
	B            int
	RefreshEvery int64
}

// NewContinuation precomputes the input Gram matrix.
func NewContinuation(net Shallow, x, y []float32, n int, eta float64, b int) (*Continuation, error) {
	if len(x) != n*net.D || len(y) != n {
		return nil, fmt.Errorf("network: %d samples need %d inputs and %d targets", n, n*net.D, n)
	}
	if !(eta > 0) || b < 1 || b > n {
		return nil, fmt.Errorf("network: need η > 0 and 1 ≤ B ≤ N (got η=%v, B=%d, N=%d)", eta, b, n)
	}
	if need := int64(n) * int64(n) * 8; need > 16<<30 {
		return nil, fmt.Errorf("network: the input Gram matrix for N = %d needs %d GiB; use fewer samples", n, need>>30)
	}
	c := &Continuation{Net: net, N: n, X: make([]float64, n*net.D), Y: make([]float64, n), Eta: eta, B: b, RefreshEvery: 20000}
	for i, v := range x {
		c.X[i] = float64(v)
	}
	for i, v := range y {
		c.Y[i] = float64(v)
	}
	xm := mat.NewDense(n, net.D, c.X)
	g := mat.NewSymDense(n, nil)
	spectrum.SymOuter(g, 1, xm) // OpenBLAS's dsyrk where built with it: 10⁴×10⁴ from 784 pixels in seconds, not a minute
	c.G = make([]float64, n*n)
	raw := g.RawSymmetric() // the upper triangle holds G
	for i := 0; i < n; i++ {
		row := raw.Data[i*raw.Stride : i*raw.Stride+n]
		for j := i; j < n; j++ {
			c.G[i*n+j], c.G[j*n+i] = row[j], row[j]
		}
	}
	return c, nil
}

// replica is one run's state.
type replica struct {
	w1, b1, w2 []float64
	b2         float64
	a1         []float64 // N×H hidden pre-activations
	delta      []float64 // B×H
	resid      []float64 // B
}

func (c *Continuation) newReplica() *replica {
	n, h := c.N, c.Net.H
	r := &replica{w1: append([]float64(nil), c.Net.W1...), b1: append([]float64(nil), c.Net.B1...),
		w2: append([]float64(nil), c.Net.W2...), b2: c.Net.B2, a1: make([]float64, n*h),
		delta: make([]float64, c.B*h), resid: make([]float64, c.B)}
	c.refresh(r)
	return r
}

// refresh recomputes the pre-activations exactly: A₁ = XW₁ + b₁.
func (c *Continuation) refresh(r *replica) {
	n, d, h := c.N, c.Net.D, c.Net.H
	for mu := 0; mu < n; mu++ {
		row := r.a1[mu*h : (mu+1)*h]
		copy(row, r.b1)
		x := c.X[mu*d : (mu+1)*d]
		for i, xi := range x {
			if xi == 0 {
				continue
			}
			w := r.w1[i*h : (i+1)*h]
			for j := range row {
				row[j] += xi * w[j]
			}
		}
	}
}

// loss returns the full-batch loss L = (1/2N)Σ(f − y)². The ReLU is
// max(a, 0) without a branch (twice as fast as a branch on a sign that is a
// coin flip); a NaN pre-activation makes the loss NaN, so a diverged run is
// seen as such.
func (c *Continuation) loss(r *replica) float64 {
	h := c.Net.H
	s := 0.0
	for mu := 0; mu < c.N; mu++ {
		s += sqResidual(r.a1[mu*h:(mu+1)*h], r.w2, r.b2, c.Y[mu])
	}
	return s / (2 * float64(c.N))
}

// sqResidual is one sample's (f − y)² from its hidden pre-activations row:
// f = w₂·max(row, 0) + b₂.
func sqResidual(row, w2 []float64, b2, y float64) float64 {
	f := b2
	for j, a := range row {
		f += w2[j] * max(a, 0)
	}
	d := f - y
	return d * d
}

// step performs one SGD step on the mini-batch idx and, when withLoss is
// set, returns the full-batch loss after it (as loss would), computed in the
// same pass over the N×H pre-activations that updates them: that pass is
// the cost of a step, so fusing the two halves the memory traffic of an
// observed step. The result is bit-identical to step followed by loss.
func (c *Continuation) step(r *replica, idx []int32, withLoss bool) float64 {
	h, d := c.Net.H, c.Net.D
	B := float64(len(idx))
	gb2 := 0.0
	gw2 := make([]float64, h) // small; allocation-free variant not needed at H = 10
	for b, mu := range idx {
		row := r.a1[int(mu)*h : int(mu)*h+h]
		f := r.b2
		for j, a := range row {
			if a > 0 {
				f += r.w2[j] * a
			}
		}
		res := f - c.Y[mu]
		r.resid[b] = res
		gb2 += res
		dl := r.delta[b*h : (b+1)*h]
		for j, a := range row {
			if a > 0 {
				gw2[j] += res * a
				dl[j] = res * r.w2[j]
			} else {
				dl[j] = 0
			}
		}
	}
	scale := c.Eta / B
	// First layer: W₁ −= (η/B)Σ_b x_b δ_bᵀ, b₁ −= (η/B)Σ_b δ_b.
	for b, mu := range idx {
		dl := r.delta[b*h : (b+1)*h]
		x := c.X[int(mu)*d : int(mu)*d+d]
		for i, xi := range x {
			if xi == 0 {
				continue
			}
			w := r.w1[i*h : (i+1)*h]
			for j, v := range dl {
				w[j] -= scale * xi * v
			}
		}
		for j, v := range dl {
			r.b1[j] -= scale * v
		}
	}
	for j := range r.w2 {
		r.w2[j] -= scale * gw2[j]
	}
	r.b2 -= scale * gb2
	// Every pre-activation: A₁[ν] −= (η/B)Σ_b (x_ν·x_b + 1) δ_b (G is
	// symmetric: row μ = column μ), then, fused, ν's term of the loss with
	// the updated second layer.
	n := c.N
	s := 0.0
	w2, b2 := r.w2, r.b2
	if len(idx) == 1 {
		mu := int(idx[0])
		gcol := c.G[mu*n : mu*n+n]
		dl := r.delta[:h]
		for nu, g := range gcol {
			k := scale * (g + 1)
			row := r.a1[nu*h : nu*h+h]
			row = row[:len(dl)]
			if !withLoss {
				for j, v := range dl {
					row[j] -= k * v
				}
				continue
			}
			f := b2
			for j, v := range dl {
				a := row[j] - k*v
				row[j] = a
				f += w2[j] * max(a, 0) // branch-free ReLU: the sign is a coin flip
			}
			e := f - c.Y[nu]
			s += e * e
		}
	} else {
		for nu := 0; nu < n; nu++ {
			row := r.a1[nu*h : nu*h+h]
			for b, mu := range idx {
				k := scale * (c.G[int(mu)*n+nu] + 1)
				dl := r.delta[b*h : (b+1)*h]
				for j, v := range dl {
					row[j] -= k * v
				}
			}
			if withLoss {
				s += sqResidual(row, w2, b2, c.Y[nu])
			}
		}
	}
	return s / (2 * float64(n))
}

// ContinuationObserver sees each run's full-batch loss at time t = η·steps
// (every `every` steps) and returns true to stop the run. It is called
// concurrently for different runs.
type ContinuationObserver func(run int, steps int64, t, loss float64) (stop bool)

// Run simulates runs replicas for at most maxSteps steps each, observing the
// full-batch loss every `every` steps (and at step 0 and the last step),
// with the shared ensemble driver dynamics.Simulate. Run r draws its
// mini-batches from dynamics.RunRNG(seed, r). It returns the number of
// diverged runs (non-finite loss or above 10¹²) and the total steps.
func (c *Continuation) Run(ctx context.Context, runs int, seed uint64, maxSteps int64, every int64, obs ContinuationObserver, progress run.Progress) (diverged int, total int64, err error) {
	if runs < 1 || maxSteps < 1 || every < 1 {
		return 0, 0, fmt.Errorf("network: need runs ≥ 1, max steps ≥ 1 and every ≥ 1")
	}
	sum, err := dynamics.Simulate(ctx, c, dynamics.Schedule{Runs: runs, Seed: seed, MaxSteps: maxSteps, Every: every, Progress: progress},
		func(r int, steps int64, _ dynamics.Walker, t, loss float64, div bool) bool {
			return div || obs(r, steps, t, loss)
		})
	return sum.Diverged, sum.TotalSteps, err
}

// Walker makes run r: a replica of the network with its own mini-batches
// (the continuation is a dynamics.Ensemble).
func (c *Continuation) Walker(r int, seed uint64) (dynamics.Walker, error) {
	bt, err := minibatch.New(c.N, c.B, dynamics.RunRNG(seed, r))
	if err != nil {
		return nil, err
	}
	return &walker{c: c, rep: c.newReplica(), bt: bt}, nil
}

// walker is one run of the continuation.
type walker struct {
	c     *Continuation
	rep   *replica
	bt    *minibatch.Batcher
	steps int64
}

// Step performs one SGD step, refreshing the pre-activations exactly every
// RefreshEvery steps; observed, it returns t = η·steps and the exact
// full-batch loss, diverged when that is not finite or above 10¹².
func (w *walker) Step(observe bool) (t, loss float64, diverged bool) {
	w.steps++
	refresh := w.steps%w.c.RefreshEvery == 0
	l := w.c.step(w.rep, w.bt.Next(), observe && !refresh)
	if refresh {
		w.c.refresh(w.rep)
		if observe {
			l = w.c.loss(w.rep)
		}
	}
	if !observe {
		return 0, 0, false
	}
	return w.time(), l, math.IsNaN(l) || math.IsInf(l, 0) || l > 1e12
}

// Observe returns t = η·steps and the exact full-batch loss.
func (w *walker) Observe() (t, loss float64) { return w.time(), w.c.loss(w.rep) }

// time is the run's time t = η·steps.
func (w *walker) time() float64 { return float64(w.steps) * w.c.Eta }
