package exitchain

import (
	"fmt"
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
)

// entry is one transition probability P(θ → X[j]) of a row.
type entry struct {
	j int
	p float64
}

// rowOut is one row of the discretised transition kernel.
type rowOut struct {
	entries []entry // merged, one per grid index (reused between calls)
	exit    float64 // probability of leaving (Lo, Hi) in this step
	rms     float64 // root-mean-square step √E[(θ′ − θ)²]
}

// kernel builds rows of P on the grid X_i = Lo + i·h, i = 0…m−1.
//
// B = 1: each of the N landing points y_μ = θ − η g_μ(θ) inside (Lo, Hi)
// gives weight (1/N)(1 − w) to its cell's left grid point and (1/N)w to the
// right one (linear interpolation of T); landing points outside exit.
//
// B > 1: the step is −(η/B) Σ_k g_{μ_k}. Each per-sample part −(η/B)g_μ is
// split linearly onto a sub-lattice of spacing δ = h/s (s = ⌈√B⌉, so the
// splitting adds a variance of at most B·δ²/4 ≤ h²/4 to the step, as the
// final interpolation does), the distribution of the sum of B independent
// parts is the B-th power of its discrete Fourier transform (gonum's FFT, on
// a lattice long enough that nothing wraps around), and each lattice landing
// point is then treated as in B = 1. Values below the transform's rounding
// (about 4e-16·√length of the largest) are dropped, so that noise never
// counts as an exit; the mass dropped stays put, which is negligible unless
// T approaches 1e13 steps.
type kernel struct {
	c      Chain
	m      int
	lo, h  float64
	acc    []float64 // dense accumulator of one row
	mark   []bool
	out    rowOut
	s      int // sub-lattice refinement (B > 1)
	fft    *fourier.FFT
	seq    []float64
	coeffs []complex128
}

func newKernel(c Chain, m int) *kernel {
	k := &kernel{c: c, m: m, lo: c.Lo, h: (c.Hi - c.Lo) / float64(m-1), acc: make([]float64, m), mark: make([]bool, m)}
	if c.B > 1 {
		k.s = int(math.Ceil(math.Sqrt(float64(c.B))))
	}
	return k
}

// land adds probability p of landing at y.
func (k *kernel) land(y, p float64) {
	if !(y > k.c.Lo && y < k.c.Hi) {
		k.out.exit += p
		return
	}
	f := (y - k.lo) / k.h
	j := int(f)
	if j >= k.m-1 {
		j = k.m - 2
	}
	w := f - float64(j)
	k.add(j, p*(1-w))
	k.add(j+1, p*w)
}

func (k *kernel) add(j int, p float64) {
	if !k.mark[j] {
		k.mark[j] = true
		k.out.entries = append(k.out.entries, entry{j: j})
	}
	k.acc[j] += p
}

// moments evaluates the per-sample gradients at θ into g, checks that every
// one was written and is finite, and returns the root-mean-square step
// η·√(mean² + var/B) of the chain there.
func (c Chain) moments(theta float64, g []float64) (float64, error) {
	for i := range g {
		g[i] = math.NaN()
	}
	c.Grads(theta, g)
	sum, sq := 0.0, 0.0
	for mu, v := range g {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("exitchain: per-sample gradient μ = %d at θ = %.6g is %v (not written, or the data/model produced a non-finite number); fix the data or the gradient function", mu, theta, v)
		}
		sum += v
		sq += v * v
	}
	n := float64(c.N)
	mean := sum / n
	variance := math.Max(sq/n-mean*mean, 0)
	rms := c.Eta * math.Sqrt(mean*mean+variance/float64(c.B))
	if math.IsInf(rms, 0) || math.IsNaN(rms) {
		return 0, fmt.Errorf("exitchain: the steps at θ = %.6g overflow float64 (η = %v times gradients up to %.3g); lower η or check the gradients", theta, c.Eta, math.Sqrt(sq))
	}
	return rms, nil
}

// row computes the transition row from θ (g is scratch of length N). The
// returned entries are valid until the next call.
func (k *kernel) row(theta float64, g []float64) (*rowOut, error) {
	c := k.c
	rms, err := c.moments(theta, g)
	if err != nil {
		return nil, err
	}
	n := float64(c.N)
	k.out.entries = k.out.entries[:0]
	k.out.exit = 0
	k.out.rms = rms
	if c.B == 1 {
		for _, v := range g {
			k.land(theta-c.Eta*v, 1/n)
		}
	} else if err := k.convolve(theta, g); err != nil {
		return nil, err
	}
	for i, e := range k.out.entries {
		k.out.entries[i].p = k.acc[e.j]
		k.acc[e.j] = 0
		k.mark[e.j] = false
	}
	return &k.out, nil
}

// convolve lands the distribution of the mean of B samples (B > 1).
func (k *kernel) convolve(theta float64, g []float64) error {
	c := k.c
	delta := k.h / float64(k.s)
	scale := -c.Eta / float64(c.B) / delta // per-sample step in sub-lattice units
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range g {
		u := scale * v
		lo, hi = math.Min(lo, u), math.Max(hi, u)
	}
	kmin := math.Floor(lo)
	span := math.Floor(hi) + 1 - kmin // per-sample lattice length − 1
	total := float64(c.B)*span + 1
	if !(total <= MaxLattice) {
		return fmt.Errorf("exitchain: at θ = %.6g the sum of B = %d per-sample steps spans %.3g sub-lattice cells (more than %d): the steps are far wider than the grid spacing; use fewer grid points or a smaller η", theta, c.B, total, MaxLattice)
	}
	l := 1
	for l < int(total) {
		l *= 2
	}
	if k.fft == nil || k.fft.Len() != l {
		k.fft = fourier.NewFFT(l)
		k.seq = make([]float64, l)
		k.coeffs = make([]complex128, l/2+1)
	}
	seq := k.seq
	for i := range seq {
		seq[i] = 0
	}
	inv := 1 / float64(c.N)
	for _, v := range g {
		u := scale*v - kmin
		j := math.Floor(u)
		w := u - j
		seq[int(j)] += inv * (1 - w)
		if w > 0 {
			seq[int(j)+1] += inv * w
		}
	}
	co := k.fft.Coefficients(k.coeffs, seq)
	for i, z := range co {
		co[i] = cpow(z, c.B)
	}
	seq = k.fft.Sequence(seq, co)
	// Values below the transform's rounding (relative 1e-16 of the largest,
	// times the length) are noise, not probability: drop them.
	top := 0.0
	for _, v := range seq {
		top = math.Max(top, v)
	}
	floor := 4e-16 * math.Sqrt(float64(l)) * top
	norm := 1 / float64(l)
	base := theta + float64(c.B)*kmin*delta
	for i := 0; i < int(total); i++ {
		if v := seq[i]; v > floor {
			k.land(base+float64(i)*delta, v*norm)
		}
	}
	return nil
}

// cpow is z^n by repeated squaring.
func cpow(z complex128, n int) complex128 {
	r := complex(1, 0)
	for n > 0 {
		if n&1 == 1 {
			r *= z
		}
		z *= z
		n >>= 1
	}
	if cmplx.IsNaN(r) {
		return 0
	}
	return r
}
