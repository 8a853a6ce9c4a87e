package barrier

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// Sampling schemes of the mini-batches.
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

// fastRNG is a PCG generator with an unbiased bounded draw (Lemire's method).
type fastRNG struct{ p rand.PCG }

func (r *fastRNG) intn(n uint64) uint64 {
	hi, lo := bits.Mul64(r.p.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(r.p.Uint64(), n)
		}
	}
	return hi
}

// outcome of one run.
type outcome struct {
	T        float64 // exit time t = η·steps (or the censoring time)
	Steps    int64
	Escaped  bool
	Diverged bool
	High     bool    // left through the upper end B
	Theta    float64 // θ₁ at the end of the run
}

// simulator holds what every run of one (β, B) point shares.
type simulator struct {
	d          *Data
	eta        float64
	b          int
	lo, hi     float64 // escape interval
	start      []float64
	maxSteps   int64
	sampling   string
	dynamics   string
	prof       *Profile1D // C(θ) for Gauss
	dGLD       float64
	sigmaScale float64 // (N−B)/(B(N−1)) for Gauss
}

func (s *simulator) run(seed, stream uint64) outcome {
	r := &fastRNG{}
	r.p.Seed(seed, stream)
	switch s.dynamics {
	case Gauss:
		return s.runGauss(r)
	case GLD:
		return s.runGLD(r)
	}
	if s.d.Dim == 1 {
		return s.runSGD1(r)
	}
	return s.runSGDn(r)
}

func (s *simulator) finish(steps int64, th float64, escaped bool) outcome {
	o := outcome{Steps: steps, T: s.eta * float64(steps), Theta: th}
	if th != th {
		o.Diverged = true
		return o
	}
	o.Escaped = escaped
	o.High = escaped && th >= s.hi
	return o
}

// runSGD1 is the n = 1 hot loop: per step one sincos and B samples of 4 numbers.
func (s *simulator) runSGD1(r *fastRNG) outcome {
	d := s.d
	z := d.Z
	N := d.N
	B := s.b
	R, C := d.R, d.C
	etaB := s.eta / float64(B)
	lo, hi := s.lo, s.hi
	iid := s.sampling == IID
	var perm []int32
	pos := N
	if !iid {
		perm = make([]int32, N)
		for i := range perm {
			perm[i] = int32(i)
		}
	}
	th := s.start[0]
	sn, cs := math.Sincos(th)
	for step := int64(1); step <= s.maxSteps; step++ {
		u0, u1, u2 := R*cs, R*sn, C*th
		d0, d1 := -R*sn, R*cs
		g := 0.0
		for k := 0; k < B; k++ {
			var mu int
			if iid {
				mu = int(r.intn(uint64(N)))
			} else {
				if k == 0 && pos > N-B { // fewer than B left: a new epoch
					for i := N - 1; i > 0; i-- {
						j := r.intn(uint64(i + 1))
						perm[i], perm[j] = perm[j], perm[i]
					}
					pos = 0
				}
				mu = int(perm[pos])
				pos++
			}
			row := z[4*mu : 4*mu+4 : 4*mu+4]
			res := row[0]*u0 + row[1]*u1 + row[2]*u2 + row[3]
			g += res * (row[0]*d0 + row[1]*d1 + row[2]*C)
		}
		delta := etaB * g
		th -= delta
		if !(th > lo && th < hi) {
			return s.finish(step, th, true)
		}
		// Advance (sin θ, cos θ) by the rotation through −δ: cheaper than a
		// fresh sincos; resynchronised exactly every 64 steps and whenever
		// |δ| is not small, so rounding never accumulates beyond ~1e-15.
		if step&63 == 0 || !(math.Abs(delta) < 0.5) {
			sn, cs = math.Sincos(th)
		} else {
			sd, cd := sincosSmall(delta)
			sn, cs = sn*cd-cs*sd, cs*cd+sn*sd
		}
	}
	return s.finish(s.maxSteps, th, false)
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

// runSGDn is the general loop with n − 1 spectators.
func (s *simulator) runSGDn(r *fastRNG) outcome {
	d := s.d
	D, N, B, n := d.D, d.N, s.b, d.Dim
	R, C := d.R, d.C
	etaB := s.eta / float64(B)
	lo, hi := s.lo, s.hi
	iid := s.sampling == IID
	var perm []int32
	pos := N
	if !iid {
		perm = make([]int32, N)
		for i := range perm {
			perm[i] = int32(i)
		}
	}
	th := append([]float64(nil), s.start...)
	g := make([]float64, n)
	ths, gs := th[1:n:n], g[1:n:n] // spectator parameters and their gradient
	sn, cs := math.Sincos(th[0])
	for step := int64(1); step <= s.maxSteps; step++ {
		u0, u1, u2 := R*cs, R*sn, C*th[0]
		d0, d1 := -R*sn, R*cs
		for i := range g {
			g[i] = 0
		}
		for k := 0; k < B; k++ {
			var mu int
			if iid {
				mu = int(r.intn(uint64(N)))
			} else {
				if k == 0 && pos > N-B { // fewer than B left: a new epoch
					for i := N - 1; i > 0; i-- {
						j := r.intn(uint64(i + 1))
						perm[i], perm[j] = perm[j], perm[i]
					}
					pos = 0
				}
				mu = int(perm[pos])
				pos++
			}
			row := d.Z[mu*D : mu*D+D : mu*D+D]
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
		if !(th[0] > lo && th[0] < hi) {
			return s.finish(step, th[0], true)
		}
		if th[n-1] != th[n-1] {
			return s.finish(step, math.NaN(), false)
		}
		// (sin θ₁, cos θ₁) advanced by rotation as in runSGD1.
		if delta := etaB * g[0]; step&63 == 0 || !(math.Abs(delta) < 0.5) {
			sn, cs = math.Sincos(th[0])
		} else {
			sd, cd := sincosSmall(delta)
			sn, cs = sn*cd-cs*sd, cs*cd+sn*sd
		}
	}
	return s.finish(s.maxSteps, th[0], false)
}

// runGauss: θ ← θ − ηL′(θ) + η√Σ(θ) ξ, Σ = (N−B)C(θ)/(B(N−1)) (n = 1).
func (s *simulator) runGauss(r *fastRNG) outcome {
	rr := rand.New(&r.p)
	th := s.start[0]
	for step := int64(1); step <= s.maxSteps; step++ {
		_, dl, _, _ := s.d.Profile(th)
		c := interp(s.prof.X, s.prof.C, th)
		th += -s.eta*dl + s.eta*math.Sqrt(s.sigmaScale*c)*rr.NormFloat64()
		if !(th > s.lo && th < s.hi) {
			return s.finish(step, th, true)
		}
	}
	return s.finish(s.maxSteps, th, false)
}

// runGLD: θ ← θ − η∇L(θ) + √(2Dη) ξ on all n coordinates.
func (s *simulator) runGLD(r *fastRNG) outcome {
	rr := rand.New(&r.p)
	d := s.d
	n, D := d.Dim, d.D
	th := append([]float64(nil), s.start...)
	u := make([]float64, D)
	u[D-1] = 1
	g := make([]float64, n)
	amp := math.Sqrt(2 * s.dGLD * s.eta)
	for step := int64(1); step <= s.maxSteps; step++ {
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
		for i := 1; i < n; i++ {
			row := d.M[(2+i)*D : (3+i)*D]
			sum := 0.0
			for j, v := range u {
				sum += row[j] * v
			}
			g[i] = sum
		}
		for i := range th {
			th[i] += -s.eta*g[i] + amp*rr.NormFloat64()
		}
		if !(th[0] > s.lo && th[0] < s.hi) {
			return s.finish(step, th[0], true)
		}
		if th[n-1] != th[n-1] {
			return s.finish(step, math.NaN(), false)
		}
	}
	return s.finish(s.maxSteps, th[0], false)
}
