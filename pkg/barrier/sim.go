package barrier

import (
	"math"
	"math/rand/v2"

	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/minibatch"
	"github.com/sgdescape/sgdescape/pkg/rng"
)

// Sampling schemes of the mini-batches (minibatch.Epoch and minibatch.IID).
const (
	Epoch = "epoch" // a fresh random permutation each epoch, batches without replacement (the paper's SGD, Eq. 2)
	IID   = "iid"   // each sample of each batch drawn uniformly with replacement (control)
)

// Dynamics simulated.
const (
	SGD   = "sgd"   // discrete SGD with real mini-batches
	Gauss = "gauss" // discrete steps −ηL′ + η√Σ ξ with Σ the exact mini-batch variance of Eq. 8 along θ₁ (n = 1)
	GLD   = "gld"   // gradient Langevin dynamics, Eq. 5: −η∇L + √(2Dη) ξ with D = ηL*h*/B
)

// ensemble is the dynamics.Ensemble of the runs at one β: every run starts
// at θ* and is absorbed when θ₁ leaves the escape interval (lo, hi).
type ensemble struct {
	d          *Data
	eta        float64
	b          int
	lo, hi     float64 // escape interval
	start      []float64
	sampling   minibatch.Sampling
	dynamics   string
	prof       *Profile1D // C(θ) for Gauss
	dGLD       float64
	sigmaScale float64 // (N−B)/(B(N−1)) for Gauss
	index      int     // the β's index: with the run, it names the run's stream
}

// Walker returns run r: its mini-batches and Gaussian noise come from the
// stream rng.BarrierRun at (β index, r) for seed.
func (e *ensemble) Walker(r int, seed uint64) (dynamics.Walker, error) {
	w := &walker{e: e, src: rng.NewFast(seed, rng.BarrierRun, rng.BarrierIndex(e.index, r)), th: append([]float64(nil), e.start...)}
	w.sn, w.cs = math.Sincos(w.th[0])
	switch e.dynamics {
	case Gauss, GLD:
		w.norm = w.src.Rand()
	default:
		bt, err := minibatch.NewFast(e.d.N, e.b, e.sampling, &w.src)
		if err != nil {
			return nil, err
		}
		w.bt = bt
	}
	return w, nil
}

// walker is one run: a dynamics.Advancer whose Advance is the hot loop.
type walker struct {
	e      *ensemble
	src    rng.Fast
	bt     *minibatch.Batcher
	rest   []int32    // the batches left in the epoch (minibatch.Batcher.Rest)
	norm   *rand.Rand // Gaussian noise of Gauss and GLD (drawn from src)
	th     []float64  // θ (θ₁ first)
	sn, cs float64    // sin θ₁, cos θ₁ (SGD)
	steps  int64
	// escaped: θ₁ left the interval; diverged: θ became NaN.
	escaped, diverged bool
}

// Observe returns the time t = η·steps and the loss.
func (w *walker) Observe() (t, loss float64) {
	return w.e.eta * float64(w.steps), w.e.d.Loss(w.th)
}

// Step takes one step.
func (w *walker) Step(bool) (t, loss float64, diverged bool) {
	_, _, div := w.Advance(1)
	t, loss = w.Observe()
	return t, loss, div
}

// Advance takes up to n steps of the run's dynamics and stops when θ₁ leaves
// the escape interval (absorbed) or θ is not a number (diverged).
func (w *walker) Advance(n int64) (int64, bool, bool) {
	if w.escaped || w.diverged {
		return 0, w.escaped, w.diverged
	}
	var k int64
	switch {
	case w.e.dynamics == Gauss:
		k = w.gauss(n)
	case w.e.dynamics == GLD:
		k = w.gld(n)
	case w.e.d.Dim == 1:
		k = w.sgd1(n)
	default:
		k = w.sgdN(n)
	}
	return k, w.escaped, w.diverged
}

// stop records where a run left after step k of the current Advance.
func (w *walker) stop(k int64, nan bool) int64 {
	w.steps += k
	w.diverged = nan || w.th[0] != w.th[0]
	w.escaped = !w.diverged
	return k
}

// sgd1 is the n = 1 hot loop: per step one mini-batch of B samples of 4
// numbers, and (sin θ, cos θ) advanced by a rotation (turn).
func (w *walker) sgd1(n int64) int64 {
	e, d := w.e, w.e.d
	z, bt := d.Z, w.bt
	R, C := d.R, d.C
	etaB := e.eta / float64(e.b)
	lo, hi := e.lo, e.hi
	th, sn, cs := w.th[0], w.sn, w.cs
	b, rest := e.b, w.rest
	for k := int64(1); k <= n; k++ {
		u0, u1, u2 := R*cs, R*sn, C*th
		d0, d1 := -R*sn, R*cs
		g := 0.0
		if len(rest) == 0 {
			rest = bt.Rest()
		}
		batch := rest[:b:b]
		rest = rest[b:]
		for _, mu := range batch {
			row := z[4*int(mu) : 4*int(mu)+4 : 4*int(mu)+4]
			res := row[0]*u0 + row[1]*u1 + row[2]*u2 + row[3]
			g += res * (row[0]*d0 + row[1]*d1 + row[2]*C)
		}
		delta := etaB * g
		th -= delta
		if !(th > lo && th < hi) {
			w.th[0] = th
			return w.stop(k, false)
		}
		sn, cs = turn(w.steps+k, th, delta, sn, cs)
	}
	w.th[0], w.sn, w.cs, w.rest = th, sn, cs, rest
	w.steps += n
	return n
}

// sgdN is the loop with n − 1 spectators.
func (w *walker) sgdN(n int64) int64 {
	e, d := w.e, w.e.d
	D, dim, bt := d.D, d.Dim, w.bt
	R, C := d.R, d.C
	etaB := e.eta / float64(e.b)
	th := w.th
	g := make([]float64, dim)
	ths, gs := th[1:dim:dim], g[1:dim:dim] // spectator parameters and their gradient
	sn, cs := w.sn, w.cs
	b, rest := e.b, w.rest
	for k := int64(1); k <= n; k++ {
		u0, u1, u2 := R*cs, R*sn, C*th[0]
		d0, d1 := -R*sn, R*cs
		clear(g)
		if len(rest) == 0 {
			rest = bt.Rest()
		}
		batch := rest[:b:b]
		rest = rest[b:]
		for _, mu := range batch {
			row := d.Z[int(mu)*D : int(mu)*D+D : int(mu)*D+D]
			sp := row[3 : D-1 : D-1]
			res := row[0]*u0 + row[1]*u1 + row[2]*u2 + row[D-1]
			for i, v := range sp {
				res += v * ths[i]
			}
			g[0] += res * (row[0]*d0 + row[1]*d1 + row[2]*C)
			for i, v := range sp {
				gs[i] += res * v
			}
		}
		for i := range th {
			th[i] -= etaB * g[i]
		}
		if !(th[0] > e.lo && th[0] < e.hi) || th[dim-1] != th[dim-1] {
			return w.stop(k, th[dim-1] != th[dim-1])
		}
		sn, cs = turn(w.steps+k, th[0], etaB*g[0], sn, cs)
	}
	w.sn, w.cs, w.rest = sn, cs, rest
	w.steps += n
	return n
}

// turn returns (sin θ, cos θ) after a step of −δ that reached θ at step
// number step: the old pair rotated through −δ, cheaper than a fresh sincos,
// resynchronised exactly every 64 steps and whenever |δ| is not small, so
// rounding never accumulates beyond ~1e-15.
func turn(step int64, th, delta, sn, cs float64) (float64, float64) {
	if step&63 == 0 || !(math.Abs(delta) < 0.5) {
		return math.Sincos(th)
	}
	sd, cd := sincosSmall(delta)
	return sn*cd - cs*sd, cs*cd + sn*sd
}

// sincosSmall returns sin x and cos x for |x| < 0.5 by their Taylor series
// (truncation error below 1e-17). The polynomials are evaluated by Estrin's
// scheme (short dependency chains), and |x| < 1/8, the usual size of an SGD
// step in θ, uses the series to x¹¹ and x¹² only.
func sincosSmall(x float64) (sin, cos float64) {
	const (
		s3, s5, s7, s9, s11, s13, s15      = -1.0 / 6, 1.0 / 120, -1.0 / 5040, 1.0 / 362880, -1.0 / 39916800, 1.0 / 6227020800, -1.0 / 1307674368000
		c2, c4, c6, c8, c10, c12, c14, c16 = -1.0 / 2, 1.0 / 24, -1.0 / 720, 1.0 / 40320, -1.0 / 3628800, 1.0 / 479001600, -1.0 / 87178291200, 1.0 / 20922789888000
	)
	z := x * x
	z2 := z * z
	z4 := z2 * z2
	if z < 1.0/64 {
		// sin: x(1 + s3 z + s5 z² + s7 z³ + s9 z⁴ + s11 z⁵); cos: 1 + c2 z + … + c12 z⁶.
		ps := (1 + s3*z) + z2*(s5+s7*z) + z4*(s9+s11*z)
		pc := (1 + c2*z) + z2*(c4+c6*z) + z4*((c8+c10*z)+z2*c12)
		return x * ps, pc
	}
	ps := (1 + s3*z) + z2*(s5+s7*z) + z4*((s9+s11*z)+z2*(s13+s15*z))
	pc := (1 + c2*z) + z2*(c4+c6*z) + z4*((c8+c10*z)+z2*(c12+c14*z)) + z4*z4*c16
	return x * ps, pc
}

// gauss: θ ← θ − ηL′(θ) + η√Σ(θ) ξ, Σ = (N−B)C(θ)/(B(N−1)) (n = 1).
func (w *walker) gauss(n int64) int64 {
	e := w.e
	th := w.th[0]
	for k := int64(1); k <= n; k++ {
		_, dl, _, _ := e.d.Profile(th)
		c := interp(e.prof.X, e.prof.C, th)
		th += -e.eta*dl + e.eta*math.Sqrt(e.sigmaScale*c)*w.norm.NormFloat64()
		if !(th > e.lo && th < e.hi) {
			w.th[0] = th
			return w.stop(k, false)
		}
	}
	w.th[0] = th
	w.steps += n
	return n
}

// gld: θ ← θ − η∇L(θ) + √(2Dη) ξ on all n coordinates.
func (w *walker) gld(n int64) int64 {
	e, d := w.e, w.e.d
	dim, D := d.Dim, d.D
	th := w.th
	u := make([]float64, D)
	u[D-1] = 1
	g := make([]float64, dim)
	amp := math.Sqrt(2 * e.dGLD * e.eta)
	for k := int64(1); k <= n; k++ {
		sn, cs := math.Sincos(th[0])
		u[0], u[1], u[2] = d.R*cs, d.R*sn, d.C*th[0]
		copy(u[3:D-1], th[1:])
		du := [3]float64{-d.R * sn, d.R * cs, d.C}
		g[0] = 0
		for i := 0; i < 3; i++ {
			row := d.M[i*D : (i+1)*D]
			for j, v := range u {
				g[0] += du[i] * row[j] * v
			}
		}
		for i := 1; i < dim; i++ {
			row := d.M[(2+i)*D : (3+i)*D]
			sum := 0.0
			for j, v := range u {
				sum += row[j] * v
			}
			g[i] = sum
		}
		for i := range th {
			th[i] += -e.eta*g[i] + amp*w.norm.NormFloat64()
		}
		if !(th[0] > e.lo && th[0] < e.hi) || th[dim-1] != th[dim-1] {
			return w.stop(k, th[dim-1] != th[dim-1])
		}
	}
	w.steps += n
	return n
}
