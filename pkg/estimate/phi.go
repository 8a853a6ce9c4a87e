package estimate

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"

	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// The stationary law of Eq. 17, P(θ) ∝ L(θ)^−φ, near a quadratic minimum
// L = L*·ℓ with ℓ = 1 + ½δᵀHδ/L* and n = 2a directions: the shell
// {ℓ ∈ [ℓ, ℓ+dℓ]} has volume ∝ (ℓ−1)^(a−1) dℓ for any positive-definite H,
// so ℓ has the density
//
//	p(ℓ) = (ℓ−1)^(a−1) ℓ^(−φ) / B(a, φ−a),  ℓ > 1,
//
// normalisable only for φ > a, i.e. n < 2φ = n_c (Eq. 16).

// PowerLawLogLik is the mean log-likelihood per sample of ℓ under the law above.
func PowerLawLogLik(ell []float64, a, phi float64) float64 {
	if !(phi > a) {
		return math.Inf(-1)
	}
	lb := lbeta(a, phi-a)
	s := 0.0
	for _, l := range ell {
		s += (a-1)*math.Log(l-1) - phi*math.Log(l) - lb
	}
	return s / float64(len(ell))
}

func lbeta(x, y float64) float64 {
	a, _ := math.Lgamma(x)
	b, _ := math.Lgamma(y)
	c, _ := math.Lgamma(x + y)
	return a + b - c
}

// PhiMLE returns the maximum-likelihood φ of the power law for samples ℓ_j > 1
// in n = 2a dimensions: the root of ψ(φ) − ψ(φ−a) = mean(log ℓ) (ψ the
// digamma function), which is unique because the left side falls from +∞ to 0.
func PhiMLE(ell []float64, a float64) (float64, error) {
	if len(ell) < 2 {
		return 0, fmt.Errorf("estimate: φ fit needs at least two samples, got %d", len(ell))
	}
	if !(a > 0) {
		return 0, fmt.Errorf("estimate: dimension n = 2a must be positive, got a = %v", a)
	}
	m := 0.0
	for _, l := range ell {
		if !(l > 1) || math.IsInf(l, 0) {
			return 0, fmt.Errorf("estimate: loss ratio L/L* = %v; samples must lie above the minimum and be finite", l)
		}
		m += math.Log(l)
	}
	m /= float64(len(ell))
	return PhiFromMeanLog(m, a)
}

// PhiFromMeanLog returns the φ whose power law (in n = 2a dimensions) has
// E[log ℓ] = m, i.e. the root of ψ(φ) − ψ(φ−a) = m. Applied to a sample mean
// it is the maximum-likelihood estimate; applied to the expectation under
// another density it gives that density's φ-equivalent.
func PhiFromMeanLog(m, a float64) (float64, error) {
	if !(m > 0) || math.IsInf(m, 0) || !(a > 0) {
		return 0, fmt.Errorf("estimate: need E[log ℓ] > 0 and a > 0, got %v and %v", m, a)
	}
	f := func(phi float64) float64 { return mathext.Digamma(phi) - mathext.Digamma(phi-a) - m }
	lo, hi := a+1e-12, a+1.0
	for f(hi) > 0 {
		hi = a + 2*(hi-a)
		if hi > 1e12 {
			return 0, fmt.Errorf("estimate: φ fit diverges (samples sit at the minimum)")
		}
	}
	for i := 0; i < 200 && hi-lo > 1e-12*hi; i++ {
		mid := 0.5 * (lo + hi)
		if f(mid) > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return 0.5 * (lo + hi), nil
}

// GibbsMLE fits the Gibbs alternative P(θ) ∝ exp(−L/T) (the stationary law of
// GLD, Eq. 5): ℓ−1 is then Gamma-distributed with shape a and scale T/L*,
// whose maximum-likelihood scale is mean(ℓ−1)/a. It returns T/L* and the mean
// log-likelihood per sample of ℓ.
func GibbsMLE(ell []float64, a float64) (tOverL, loglik float64) {
	m := 0.0
	for _, l := range ell {
		m += l - 1
	}
	m /= float64(len(ell))
	theta := m / a
	lg, _ := math.Lgamma(a)
	s := 0.0
	for _, l := range ell {
		u := l - 1
		s += (a-1)*math.Log(u) - u/theta - lg - a*math.Log(theta)
	}
	return theta, s / float64(len(ell))
}

// PhiHistogram fits φ the way the paper does, from a histogram: the samples
// of u = ℓ−1 are binned in nbins logarithmic bins, and log(density) −
// (a−1)·log u is fitted against log(1+u) by least squares weighted by the
// bin counts (bins with fewer than 5 samples are dropped). The slope is −φ.
func PhiHistogram(ell []float64, a float64, nbins int) (float64, error) {
	if nbins < 3 {
		return 0, fmt.Errorf("estimate: histogram fit needs at least 3 bins, got %d", nbins)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, l := range ell {
		u := l - 1
		if !(u > 0) {
			continue
		}
		lo, hi = math.Min(lo, math.Log(u)), math.Max(hi, math.Log(u))
	}
	if !(hi > lo) {
		return 0, fmt.Errorf("estimate: histogram fit needs spread-out samples")
	}
	w := (hi - lo) / float64(nbins)
	counts := make([]float64, nbins)
	n := 0
	for _, l := range ell {
		u := l - 1
		if !(u > 0) {
			continue
		}
		i := min(int((math.Log(u)-lo)/w), nbins-1)
		counts[i]++
		n++
	}
	var sw, sx, sy, sxx, sxy float64
	used := 0
	for i, c := range counts {
		if c < 5 {
			continue
		}
		u0, u1 := math.Exp(lo+float64(i)*w), math.Exp(lo+float64(i+1)*w)
		uc := math.Sqrt(u0 * u1)
		dens := c / (float64(n) * (u1 - u0))
		x := math.Log(1 + uc)
		y := math.Log(dens) - (a-1)*math.Log(uc)
		sw += c
		sx += c * x
		sy += c * y
		sxx += c * x * x
		sxy += c * x * y
		used++
	}
	if used < 3 {
		return 0, fmt.Errorf("estimate: only %d histogram bins have 5 or more samples; take more samples", used)
	}
	slope := (sw*sxy - sx*sy) / (sw*sxx - sx*sx)
	return -slope, nil
}

// IntegratedAutocorrTime estimates τ_int = 1 + 2Σρ(k) of a series with
// Sokal's automatic window (stop at the first k ≥ 5·τ(k)).
func IntegratedAutocorrTime(x []float64) float64 {
	n := len(x)
	if n < 4 {
		return 1
	}
	m := 0.0
	for _, v := range x {
		m += v
	}
	m /= float64(n)
	c0 := 0.0
	for _, v := range x {
		c0 += (v - m) * (v - m)
	}
	c0 /= float64(n)
	if c0 == 0 {
		return 1
	}
	tau := 1.0
	for k := 1; k < n/2; k++ {
		ck := 0.0
		for i := 0; i+k < n; i++ {
			ck += (x[i] - m) * (x[i+k] - m)
		}
		ck /= float64(n)
		tau += 2 * ck / c0
		if float64(k) >= 5*tau {
			break
		}
	}
	return math.Max(tau, 1)
}

// PhiFit is the result of FitPhi.
type PhiFit struct {
	A        float64      `json:"a"`       // n/2
	MLE      float64      `json:"phi_mle"` // maximum likelihood (correct volume element)
	MLECI    run.Interval `json:"phi_mle_ci"`
	Hist     float64      `json:"phi_hist"` // the paper's histogram fit
	HistCI   run.Interval `json:"phi_hist_ci"`
	Samples  int          `json:"samples"`
	TauInt   float64      `json:"tau_int"`   // integrated autocorrelation time of log ℓ, in samples
	BlockLen int          `json:"block_len"` // block length of the bootstrap
	GibbsT   float64      `json:"gibbs_T_over_Lstar"`
	// LogLikPerSample is the mean log-likelihood of the power law minus that
	// of the best Gibbs law: positive when the power law describes the
	// samples better.
	LogLikPerSample float64 `json:"loglik_powerlaw_minus_gibbs"`
}

// UndefinedPhiFit is the fit of a run that has no stationary distribution
// (it diverged): every estimate NaN, written as null, never 0 [0, 0].
func UndefinedPhiFit(a float64) PhiFit {
	nan := math.NaN()
	return PhiFit{A: a, MLE: nan, MLECI: NewNaNInterval(), Hist: nan, HistCI: NewNaNInterval(), TauInt: nan, GibbsT: nan, LogLikPerSample: nan}
}

// NewNaNInterval is an interval whose ends are unknown (null in JSON).
func NewNaNInterval() run.Interval { return run.NewInterval(math.NaN(), math.NaN()) }

// FitPhi fits φ to chains of samples ℓ = L/L* (one slice per independent
// chain, in time order) by maximum likelihood and by the histogram method,
// with 95 % intervals from a moving-block bootstrap (blocks of about 2·τ_int
// samples, within chains) so that autocorrelated samples are not treated as
// independent.
func FitPhi(chains [][]float64, a float64, nbins, boot int, seed uint64) (PhiFit, error) {
	var all []float64
	tauSum, nc := 0.0, 0
	for _, c := range chains {
		all = append(all, c...)
		if len(c) >= 4 {
			logs := make([]float64, len(c))
			for i, l := range c {
				logs[i] = math.Log(l)
			}
			tauSum += IntegratedAutocorrTime(logs)
			nc++
		}
	}
	fit := PhiFit{A: a, Samples: len(all)}
	var err error
	if fit.MLE, err = PhiMLE(all, a); err != nil {
		return fit, err
	}
	if fit.Hist, err = PhiHistogram(all, a, nbins); err != nil {
		return fit, err
	}
	fit.TauInt = 1
	if nc > 0 {
		fit.TauInt = tauSum / float64(nc)
	}
	fit.BlockLen = max(1, int(math.Ceil(2*fit.TauInt)))
	var gll float64
	fit.GibbsT, gll = GibbsMLE(all, a)
	fit.LogLikPerSample = PowerLawLogLik(all, a, fit.MLE) - gll
	if boot <= 0 {
		fit.MLECI = run.NewInterval(math.NaN(), math.NaN())
		fit.HistCI = fit.MLECI
		return fit, nil
	}
	rng := rng.New(seed, rng.PhiBootstrap)
	var mles, hists []float64
	res := make([]float64, 0, len(all))
	for b := 0; b < boot; b++ {
		res = res[:0]
		for _, c := range chains {
			bl := min(fit.BlockLen, len(c))
			target := len(c)
			got := 0
			for got < target {
				start := rng.IntN(len(c) - bl + 1)
				take := min(bl, target-got)
				res = append(res, c[start:start+take]...)
				got += take
			}
		}
		if v, err := PhiMLE(res, a); err == nil {
			mles = append(mles, v)
		}
		if v, err := PhiHistogram(res, a, nbins); err == nil {
			hists = append(hists, v)
		}
	}
	fit.MLECI = Interval95(mles)
	fit.HistCI = Interval95(hists)
	return fit, nil
}

// PowerLawPDF is the normalised one-dimensional density p(z) ∝ L(z)^(−φ) of
// Eq. 17 for L(z) = L* + ½λz², using ∫(L* + ½λz²)^(−φ)dz =
// L*^(½−φ)·sqrt(2/λ)·B(½, φ−½) (φ > ½).
func PowerLawPDF(z, lambda, lStar, phi float64) float64 {
	logNorm := (0.5-phi)*math.Log(lStar) + 0.5*math.Log(2/lambda) + lbeta(0.5, phi-0.5)
	return math.Exp(-phi*math.Log(lStar+0.5*lambda*z*z) - logNorm)
}

// GibbsPDF is the one-dimensional Gibbs density p(z) ∝ exp(−L(z)/T) for
// L(z) = L* + ½λz²: a Gaussian of variance T/λ.
func GibbsPDF(z, lambda, temperature float64) float64 {
	v := temperature / lambda
	return math.Exp(-z*z/(2*v)) / math.Sqrt(2*math.Pi*v)
}
