package barrier

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/sgdescape/sgdescape/pkg/diffusion"
	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

// Stationary is a stationary point of the profile loss along θ₁.
type Stationary struct {
	Theta float64 `json:"theta"`
	L     float64 `json:"L"`
	H     float64 `json:"h"`  // L_p″(θ): > 0 minimum, < 0 maximum (a saddle of the full loss for n > 1)
	GN    float64 `json:"gn"` // Gauss–Newton part of H
	Min   bool    `json:"min"`
}

// Landscape is the exact landscape of a drawn data set around the start
// minimum θ*: every stationary point in the search interval, the escape
// saddle θˢ (the lower of the two maxima next to θ*), the escape interval
// (A, B) and the curvatures Eq. 15 needs.
//
// The escape interval: on each side of θ*, walk past the neighbouring
// maximum into the next basin and stop at the first θ where L_p falls back
// to L* (or at that basin's minimum when it never gets as low as L*). A run
// has escaped when θ₁ leaves (A, B).
type Landscape struct {
	Points       []Stationary `json:"stationary_points"`
	ThetaStar    float64      `json:"theta_star"`
	ThetaSaddle  float64      `json:"theta_saddle"`
	ThetaOther   float64      `json:"theta_other_saddle"` // the other neighbouring maximum
	LStar        float64      `json:"L_star"`
	LSaddle      float64      `json:"L_saddle"`
	LOther       float64      `json:"L_other_saddle"`
	HStar        float64      `json:"h_star"`   // L_p″(θ*): curvature along the escape path
	HSaddle      float64      `json:"h_saddle"` // L_p″(θˢ) < 0
	GNStar       float64      `json:"gn_star"`  // Gauss–Newton part of h*
	GNSaddle     float64      `json:"gn_saddle"`
	A            float64      `json:"escape_lo"` // escape interval (A, B) of θ₁
	B            float64      `json:"escape_hi"`
	N            int          `json:"n"`
	HessStar     []float64    `json:"hessian_eigs_star"`   // eigenvalues of the full n×n Hessian at θ*
	HessSaddle   []float64    `json:"hessian_eigs_saddle"` // … at θˢ (one negative)
	Prefactor    float64      `json:"prefactor"`           // theory.KramersPrefactor: (|h_eˢ|/2π)·√(det H*/|det Hˢ|) (Eq. 15; √(h*|hˢ|)/2π for n = 1)
	SaddleIsHigh bool         `json:"saddle_above"`        // θˢ > θ*
}

// FindLandscape locates every stationary point of the profile loss in the
// search interval by bracketing sign changes of L_p′ on a uniform grid and
// refining each with Brent's method, then builds the Landscape around the
// minimum nearest to Start. It fails with a message naming what is missing
// when θ* has no maximum on one side (no barrier) or no basin beyond it.
func FindLandscape(d *Data) (Landscape, error) {
	h := d.Helix
	n := h.GridSteps
	step := (h.SearchHi - h.SearchLo) / float64(n)
	dl := func(t float64) float64 { _, v, _, _ := d.Profile(t); return v }
	var pts []Stationary
	prevT, prev := h.SearchLo, dl(h.SearchLo)
	for i := 1; i <= n; i++ {
		t := h.SearchLo + step*float64(i)
		v := dl(t)
		if (prev < 0 && v >= 0) || (prev > 0 && v <= 0) {
			if v == 0 && i < n {
				// Exact zero on the grid: handled when the sign changes after it.
				if nv := dl(t + step); (nv > 0) == (prev > 0) {
					prevT, prev = t, v
					continue
				}
			}
			r, err := diffusion.Root(dl, prevT, t, 1e-13)
			if err != nil {
				return Landscape{}, fmt.Errorf("barrier: refining a stationary point: %w", err)
			}
			l, _, hh, gn := d.Profile(r)
			pts = append(pts, Stationary{Theta: r, L: l, H: hh, GN: gn, Min: hh > 0})
		}
		if v != 0 {
			prevT, prev = t, v
		}
	}
	ls := Landscape{Points: pts, N: h.Dim}
	star := -1
	for i, p := range pts {
		if p.Min && (star < 0 || math.Abs(p.Theta-h.Start) < math.Abs(pts[star].Theta-h.Start)) {
			star = i
		}
	}
	if star < 0 {
		return ls, fmt.Errorf("barrier: no local minimum of the loss in [%.4g, %.4g] (seed %d): nothing to escape from", h.SearchLo, h.SearchHi, h.Seed)
	}
	// Neighbouring maxima and the basins beyond them.
	if star == 0 || star == len(pts)-1 {
		side := "below"
		if star == len(pts)-1 {
			side = "above"
		}
		return ls, fmt.Errorf("barrier: no saddle %s the minimum θ* = %.4g in the search interval [%.4g, %.4g] (seed %d): this data set has no barrier there; widen the search or change the seed/model",
			side, pts[star].Theta, h.SearchLo, h.SearchHi, h.Seed)
	}
	left, right := pts[star-1], pts[star+1]
	p := pts[star]
	ls.ThetaStar, ls.LStar, ls.HStar, ls.GNStar = p.Theta, p.L, p.H, p.GN
	sad, oth := right, left
	ls.SaddleIsHigh = true
	if left.L < right.L {
		sad, oth = left, right
		ls.SaddleIsHigh = false
	}
	ls.ThetaSaddle, ls.LSaddle, ls.HSaddle, ls.GNSaddle = sad.Theta, sad.L, sad.H, sad.GN
	ls.ThetaOther, ls.LOther = oth.Theta, oth.L
	// Boundary beyond a maximum at index k, walking in direction dir.
	beyond := func(k, dir int) (float64, error) {
		next := k + dir
		if next < 0 || next >= len(pts) {
			return 0, fmt.Errorf("barrier: no basin beyond the saddle at θ = %.4g in the search interval (seed %d); widen the search interval", pts[k].Theta, h.Seed)
		}
		lo, hi := pts[k].Theta, pts[next].Theta
		if pts[next].L > p.L {
			return hi, nil // the next basin never gets as low as L*: stop at its minimum
		}
		f := func(t float64) float64 { l, _, _, _ := d.Profile(t); return l - p.L }
		if lo > hi {
			lo, hi = hi, lo
		}
		return diffusion.Root(f, lo, hi, 1e-12)
	}
	var err error
	if ls.A, err = beyond(star-1, -1); err != nil {
		return ls, err
	}
	if ls.B, err = beyond(star+1, +1); err != nil {
		return ls, err
	}
	// Full Hessians and the Eq. 15 prefactor.
	eig := func(t float64) ([]float64, float64, error) {
		var es mat.EigenSym
		if !es.Factorize(d.Hessian(d.Theta(t)), false) {
			return nil, 0, fmt.Errorf("barrier: Hessian eigen-decomposition failed at θ₁ = %v", t)
		}
		v := es.Values(nil)
		sort.Float64s(v)
		det := 1.0
		for _, x := range v {
			det *= x
		}
		return v, det, nil
	}
	es, ds, err := eig(ls.ThetaStar)
	if err != nil {
		return ls, err
	}
	ess, dss, err := eig(ls.ThetaSaddle)
	if err != nil {
		return ls, err
	}
	ls.HessStar, ls.HessSaddle = es, ess
	if !(ds > 0) || !(dss < 0) || !(ess[0] < 0) || (len(ess) > 1 && !(ess[1] > 0)) {
		return ls, fmt.Errorf("barrier: the Hessian at θ* (eigenvalues %v) or at θˢ (%v) is not a minimum/index-1 saddle", es, ess)
	}
	ls.Prefactor, err = theory.KramersPrefactor(ess[0], ds, dss)
	return ls, err
}

// Profile1D holds the 1-D quantities along θ₁ on a uniform grid over the
// escape interval: the profile loss and slope, the per-sample variance
// C(θ) = (1/N)Σ g_μ² − L′² of the gradients along θ₁, and the
// large-deviation slope s(θ) (root of K_θ(s) = 0) with its quasi-potential
// W(θ) = ∫_{θ*} s dθ.
type Profile1D struct {
	X, L, DL, C, S, W []float64
	// G is the mean of the per-sample gradients (equal to DL up to rounding).
	G []float64
	// SGauss is the second-order truncation 2L′/C of S.
	SGauss []float64
	// NoRoot, when not empty, says where S (and so W) is undefined: at a
	// grid point where every per-sample gradient has the sign of the mean,
	// K_θ(s) = 0 has no root (one sample can never step against the drift).
	NoRoot string
}

// Grid computes Profile1D on m points over [A, B] (parallel over workers),
// reporting the chunks of 64 points done to progress (a fine grid on a
// large data set takes minutes: N per-sample gradients and a root of their
// cumulant generating function at every point).
func (ls Landscape) Grid(ctx context.Context, d *Data, m, workers int, progress run.Progress) (*Profile1D, error) {
	if m < 11 {
		return nil, fmt.Errorf("barrier: the 1-D grid needs at least 11 points, got %d", m)
	}
	p := &Profile1D{X: make([]float64, m), L: make([]float64, m), DL: make([]float64, m), C: make([]float64, m),
		S: make([]float64, m), W: make([]float64, m), SGauss: make([]float64, m), G: make([]float64, m)}
	const chunk = 64
	nch := (m + chunk - 1) / chunk
	note := func() string { return fmt.Sprintf("1-D grid of %d points for the exact predictions", m) }
	var mu sync.Mutex
	err := run.Parallel(ctx, nch, workers, progress, note, func(ctx context.Context, c int) error {
		g := make([]float64, d.N)
		for i := c * chunk; i < min(m, (c+1)*chunk); i++ {
			t := ls.A + (ls.B-ls.A)*float64(i)/float64(m-1)
			p.X[i] = t
			p.L[i], p.DL[i], _, _ = d.Profile(t)
			d.SampleGrads(t, g)
			mean, v := estimate.MeanVar(g)
			p.C[i], p.G[i] = v, mean
			p.SGauss[i] = diffusion.GaussianRoot(mean, v)
			s, err := diffusion.CGFRoot(g)
			if err != nil {
				s = math.NaN()
				mu.Lock()
				if p.NoRoot == "" {
					p.NoRoot = fmt.Sprintf("no large-deviation root at θ₁ = %.4g (%v)", t, err)
				}
				mu.Unlock()
			}
			p.S[i] = s
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	// W by the trapezoid rule, zero at θ*.
	for i := 1; i < m; i++ {
		p.W[i] = p.W[i-1] + 0.5*(p.X[i]-p.X[i-1])*(p.S[i-1]+p.S[i])
	}
	w0 := interp(p.X, p.W, ls.ThetaStar)
	for i := range p.W {
		p.W[i] -= w0
	}
	return p, nil
}

// interp is linear interpolation on a uniform increasing grid.
func interp(x, y []float64, t float64) float64 {
	n := len(x)
	f := (t - x[0]) / (x[n-1] - x[0]) * float64(n-1)
	i := int(math.Floor(f))
	if i < 0 {
		return y[0]
	}
	if i >= n-1 {
		return y[n-1]
	}
	w := f - float64(i)
	return y[i] + w*(y[i+1]-y[i])
}

// ExactDiffusionD is D(θ) = η (N−B) C(θ) / (2B(N−1)): the diffusion
// coefficient of Eq. 4 with the exact mini-batch variance of Eq. 8 along θ₁.
func ExactDiffusionD(c, eta float64, b, n int) float64 {
	return eta * float64(n-b) * c / (2 * float64(b) * float64(n-1))
}

// batchVariance is (N−B)/(B(N−1)): the variance of a mini-batch mean of B
// of N values drawn without replacement, per unit of their variance (Eq. 8).
func batchVariance(b, n int) float64 {
	return float64(n-b) / (float64(b) * float64(n-1))
}

// problem builds the 1-D exit problem with drift −L′ and the given D.
func (p *Profile1D) problem(dfun func(i int) float64) diffusion.ExitProblem {
	ep := diffusion.ExitProblem{X: p.X, Drift: make([]float64, len(p.X)), D: make([]float64, len(p.X))}
	for i := range p.X {
		ep.Drift[i] = -p.DL[i]
		ep.D[i] = dfun(i)
	}
	return ep
}

// KappaExact is 1/T of the exact-variance diffusion dθ = −L′dt + √(2D(θ))dW
// exiting (A, B) from θ* (double-integral formula, no asymptotics).
func (p *Profile1D) KappaExact(ls Landscape, eta float64, b, n int) (float64, error) {
	if b >= n {
		return 0, fmt.Errorf("barrier: B = N leaves no mini-batch noise: the exact-variance diffusion has D = 0")
	}
	t, err := p.problem(func(i int) float64 { return ExactDiffusionD(p.C[i], eta, b, n) }).MeanExitTime(ls.ThetaStar)
	return 1 / t, err
}

// KappaLD is 1/T of the diffusion with drift −L′ and the effective
// D = ηL′/(Bs) of the large-deviation slope s(θ) (so its potential is
// (B/η)W). With gauss = true it uses the second-order truncation
// s = 2L′/C, which gives D = ηC/(2B): the exact-variance diffusion with the
// i.i.d. (with-replacement) variance, identical to KappaExact at B = 1.
func (p *Profile1D) KappaLD(ls Landscape, eta float64, b int, gauss bool) (float64, error) {
	s := p.S
	if !gauss && p.NoRoot != "" {
		return 0, fmt.Errorf("%s", p.NoRoot)
	}
	if gauss {
		s = p.SGauss
	}
	t, err := p.problem(func(i int) float64 {
		// mean/s > 0 by construction (s has the sign of the mean); at a
		// stationary point both vanish and the ratio tends to C/2.
		r := p.G[i] / s[i]
		if s[i] == 0 || !(r > 0) || math.IsInf(r, 0) {
			r = p.C[i] / 2
		}
		return eta * r / float64(b)
	}).MeanExitTime(ls.ThetaStar)
	return 1 / t, err
}

// barrier is the landscape's barrier for pkg/theory.
func (ls Landscape) barrier() theory.Barrier {
	return theory.Barrier{LStar: ls.LStar, LSaddle: ls.LSaddle, N: float64(ls.N)}
}

// KappaPowerLaw is Eq. 15 with the landscape's exact prefactor:
// prefactor·(Lˢ/L*)^−(β + 1 − n/2), β = B/(ηh*) (theory.PowerLawRate).
func (ls Landscape) KappaPowerLaw(beta float64) (float64, error) {
	return theory.PowerLawRate(ls.Prefactor, beta, ls.barrier())
}

// KappaArrhenius is Eq. 5 with Kramers' prefactor and the constant
// D = ηL*h*/B = L*/β: prefactor·exp(−(Lˢ − L*)β/L*) (theory.ArrheniusRate).
func (ls Landscape) KappaArrhenius(beta float64) (float64, error) {
	return theory.ArrheniusRate(ls.Prefactor, beta, ls.barrier())
}
