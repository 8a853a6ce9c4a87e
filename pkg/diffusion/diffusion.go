// Package diffusion holds exact results for one-dimensional diffusions
//
//	dX = μ(X) dt + √(2D(X)) dW
//
// on an interval with absorbing ends: the mean exit time by the classical
// double-integral (scale function and speed measure) formula, with no
// small-noise asymptotics, and the large-deviation quasi-potential of a
// random-step chain from the cumulant generating function of its steps.
// The barrier experiment (pkg/barrier) uses both to turn a data set's
// per-sample gradients into escape-rate predictions that do not rely on the
// paper's decoupling approximation (Eq. 6) or on Kramers' asymptotics (Eq. 15).
package diffusion

import (
	"errors"
	"fmt"
	"math"
)

// ExitProblem is a diffusion sampled on an increasing grid X with absorbing
// ends X[0] and X[len-1]. Drift holds μ(X[i]) and D the diffusion
// coefficient D(X[i]) > 0 (the generator is μ d/dx + D d²/dx²).
type ExitProblem struct {
	X, Drift, D []float64
}

// Validate checks sizes, ordering and finiteness.
func (p ExitProblem) Validate() error {
	n := len(p.X)
	if n < 3 {
		return fmt.Errorf("diffusion: need at least 3 grid points, got %d", n)
	}
	if len(p.Drift) != n || len(p.D) != n {
		return fmt.Errorf("diffusion: grid has %d points but drift %d and D %d", n, len(p.Drift), len(p.D))
	}
	for i := range p.X {
		if math.IsNaN(p.X[i]) || math.IsInf(p.X[i], 0) || math.IsNaN(p.Drift[i]) || math.IsInf(p.Drift[i], 0) {
			return fmt.Errorf("diffusion: non-finite grid or drift at point %d", i)
		}
		if !(p.D[i] > 0) || math.IsInf(p.D[i], 0) {
			return fmt.Errorf("diffusion: D(x) must be positive and finite, got %v at x=%v", p.D[i], p.X[i])
		}
		if i > 0 && !(p.X[i] > p.X[i-1]) {
			return fmt.Errorf("diffusion: grid must be strictly increasing (point %d)", i)
		}
	}
	return nil
}

// Potential returns Φ(x) = −∫_{X[0]}^x μ/D dy (trapezoid rule): the
// dimensionless potential in which the diffusion is a gradient flow,
// μ = −D Φ′. Its stationary density (without absorption) is ∝ e^{−Φ}/D.
func (p ExitProblem) Potential() []float64 {
	phi := make([]float64, len(p.X))
	for i := 1; i < len(p.X); i++ {
		h := p.X[i] - p.X[i-1]
		phi[i] = phi[i-1] - 0.5*h*(p.Drift[i-1]/p.D[i-1]+p.Drift[i]/p.D[i])
	}
	return phi
}

// ErrOverflow is returned when the potential difference across the interval
// exceeds what float64 exponentials can hold (about 700): the mean exit time
// is then astronomically long and not representable.
var ErrOverflow = errors.New("diffusion: potential difference across the interval exceeds 690 (exit time beyond float64 range)")

// MeanExitTime returns the exact mean exit time T(x0) from the interval
// (X[0], X[len-1]), both ends absorbing, for a start x0 inside it. With the
// scale density s′ = e^{Φ}, the scale function S and the speed density
// m = e^{−Φ}/D,
//
//	T(x0) = [ (S(x0)−S(a)) ∫_{x0}^b (S(b)−S(y)) m dy + (S(b)−S(x0)) ∫_a^{x0} (S(y)−S(a)) m dy ] / (S(b)−S(a)),
//
// which solves D T″ + μ T′ = −1, T(a) = T(b) = 0. The integrals use the
// trapezoid rule on the grid (second order in the spacing); S and m are
// scaled by e^{∓max Φ} so barriers up to Φ ≈ 690 stay finite.
func (p ExitProblem) MeanExitTime(x0 float64) (float64, error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	n := len(p.X)
	a, b := p.X[0], p.X[n-1]
	if !(x0 > a && x0 < b) {
		return 0, fmt.Errorf("diffusion: start %v is not inside the interval (%v, %v)", x0, a, b)
	}
	phi := p.Potential()
	hi, lo := math.Inf(-1), math.Inf(1)
	for _, v := range phi {
		hi, lo = math.Max(hi, v), math.Min(lo, v)
	}
	if hi-lo > 690 {
		return math.Inf(1), ErrOverflow
	}
	// Scaled scale density s̃ = e^{Φ−hi} and speed density m̃ = m·e^{hi}. The
	// scale function is accumulated from each end, SL = S − S(a) from the
	// left and SR = S(b) − S from the right: a difference S(b) − S(y) of
	// sums taken from the left loses every digit when the scale density
	// beyond y is below the rounding of S(y) (a low right-hand basin), and
	// the exit time then came out as 0.
	sd := make([]float64, n)
	m := make([]float64, n)
	for i := range p.X {
		m[i] = math.Exp(hi-phi[i]) / p.D[i]
		sd[i] = math.Exp(phi[i] - hi)
	}
	SL := make([]float64, n)
	SR := make([]float64, n)
	for i := 1; i < n; i++ {
		SL[i] = SL[i-1] + 0.5*(p.X[i]-p.X[i-1])*(sd[i-1]+sd[i])
		j := n - 1 - i
		SR[j] = SR[j+1] + 0.5*(p.X[j+1]-p.X[j])*(sd[j]+sd[j+1])
	}
	// The cell [X[k-1], X[k]] holding x0 is split at x0 (linear Φ and D in
	// the cell), so the integrals below are exact trapezoids on [a, x0] and
	// [x0, b].
	k := 1
	for k < n-1 && p.X[k] < x0 {
		k++
	}
	w := (x0 - p.X[k-1]) / (p.X[k] - p.X[k-1])
	phi0 := phi[k-1] + w*(phi[k]-phi[k-1])
	d0 := p.D[k-1] + w*(p.D[k]-p.D[k-1])
	m0, sd0 := math.Exp(hi-phi0)/d0, math.Exp(phi0-hi)
	SL0 := SL[k-1] + 0.5*(x0-p.X[k-1])*(sd[k-1]+sd0) // S(x0) − S(a)
	SR0 := SR[k] + 0.5*(p.X[k]-x0)*(sd0+sd[k])       // S(b) − S(x0)
	// Left integral ∫_a^{x0} (S(y) − S(a)) m(y) dy.
	left := 0.0
	for i := 1; i < k; i++ {
		left += 0.5 * (p.X[i] - p.X[i-1]) * (SL[i-1]*m[i-1] + SL[i]*m[i])
	}
	left += 0.5 * (x0 - p.X[k-1]) * (SL[k-1]*m[k-1] + SL0*m0)
	// Right integral ∫_{x0}^b (S(b) − S(y)) m(y) dy.
	right := 0.5 * (p.X[k] - x0) * (SR0*m0 + SR[k]*m[k])
	for i := k + 1; i < n; i++ {
		right += 0.5 * (p.X[i] - p.X[i-1]) * (SR[i-1]*m[i-1] + SR[i]*m[i])
	}
	t := (SL0*right + SR0*left) / (SL0 + SR0)
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return math.Inf(1), ErrOverflow
	}
	if !(t > 0) {
		return 0, fmt.Errorf("diffusion: the mean exit time underflowed to %v (the scale function's increments are below float64's range)", t)
	}
	return t, nil
}

// Root finds a zero of f in [a, b], where f(a) and f(b) have opposite signs
// (or one is zero), by Brent's method (bisection safeguarded inverse
// quadratic interpolation) to an absolute tolerance tol in x.
func Root(f func(float64) float64, a, b, tol float64) (float64, error) {
	fa, fb := f(a), f(b)
	if math.IsNaN(fa) || math.IsNaN(fb) {
		return 0, fmt.Errorf("diffusion: root bracket [%v, %v] has a NaN end", a, b)
	}
	if fa == 0 {
		return a, nil
	}
	if fb == 0 {
		return b, nil
	}
	if (fa > 0) == (fb > 0) {
		return 0, fmt.Errorf("diffusion: f(%v) = %v and f(%v) = %v do not bracket a root", a, fa, b, fb)
	}
	c, fc := a, fa
	d := b - a
	e := d
	for iter := 0; iter < 200; iter++ {
		if (fb > 0) == (fc > 0) {
			c, fc = a, fa
			d = b - a
			e = d
		}
		if math.Abs(fc) < math.Abs(fb) {
			a, b, c = b, c, b
			fa, fb, fc = fb, fc, fb
		}
		tol1 := 2*1e-16*math.Abs(b) + 0.5*tol
		xm := 0.5 * (c - b)
		if math.Abs(xm) <= tol1 || fb == 0 {
			return b, nil
		}
		if math.Abs(e) >= tol1 && math.Abs(fa) > math.Abs(fb) {
			s := fb / fa
			var pp, q float64
			if a == c {
				pp = 2 * xm * s
				q = 1 - s
			} else {
				q = fa / fc
				r := fb / fc
				pp = s * (2*xm*q*(q-r) - (b-a)*(r-1))
				q = (q - 1) * (r - 1) * (s - 1)
			}
			if pp > 0 {
				q = -q
			}
			pp = math.Abs(pp)
			if 2*pp < math.Min(3*xm*q-math.Abs(tol1*q), math.Abs(e*q)) {
				e = d
				d = pp / q
			} else {
				d = xm
				e = d
			}
		} else {
			d = xm
			e = d
		}
		a, fa = b, fb
		if math.Abs(d) > tol1 {
			b += d
		} else {
			b += math.Copysign(tol1, xm)
		}
		fb = f(b)
	}
	return b, nil
}
