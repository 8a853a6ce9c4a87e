package diffusion

import (
	"fmt"
	"math"

	"github.com/sgdescape/sgdescape/pkg/estimate"
)

// CGF returns K(s) = log (1/N) Σ_μ exp(−s g_μ), the cumulant generating
// function of −g for g drawn uniformly from the N values (a per-sample
// gradient drawn by one SGD sample). K(0) = 0, K′(0) = −mean g and
// K″(0) = var g. It is evaluated with expm1/log1p for small |s g| and with a
// shifted log-sum-exp otherwise, so it is accurate at both ends.
func CGF(g []float64, s float64) float64 {
	if len(g) == 0 {
		return math.NaN()
	}
	big := 0.0
	for _, v := range g {
		big = math.Max(big, math.Abs(s*v))
	}
	n := float64(len(g))
	if big < 0.5 {
		sum := 0.0
		for _, v := range g {
			sum += math.Expm1(-s * v)
		}
		return math.Log1p(sum / n)
	}
	top := math.Inf(-1)
	for _, v := range g {
		top = math.Max(top, -s*v)
	}
	sum := 0.0
	for _, v := range g {
		sum += math.Exp(-s*v - top)
	}
	return top + math.Log(sum/n)
}

// GaussianRoot is the non-trivial root of the second-order truncation
// K(s) ≈ −s·mean + s²·var/2 = 0, namely s = 2·mean/var: the slope of the
// quasi-potential of a diffusion whose noise has the exact per-sample
// variance.
func GaussianRoot(mean, variance float64) float64 { return 2 * mean / variance }

// CGFRoot returns the non-trivial root s ≠ 0 of K(s) = 0 (s = 0 when
// mean g = 0). It has the sign of mean g. For a random-step chain
// θ ← θ − (η/B) Σ_{i≤B} g_{μ_i}(θ) with i.i.d. draws, the WKB ansatz
// p ∝ exp(−(B/η) W) balances when K(W′) = 0, so s(θ) is the slope of the
// quasi-potential W. An error is returned when no root exists: every
// per-sample gradient has the sign of the mean, so no single step moves
// against the drift and the chain can never climb (W′ = ±∞).
func CGFRoot(g []float64) (float64, error) {
	if len(g) == 0 {
		return 0, fmt.Errorf("diffusion: no per-sample gradients")
	}
	mean, variance := estimate.MeanVar(g)
	if mean == 0 {
		return 0, nil
	}
	sign := 1.0
	if mean < 0 {
		sign = -1
	}
	against := false
	for _, v := range g {
		if v*sign < 0 {
			against = true
			break
		}
	}
	if !against || !(variance > 0) {
		return 0, fmt.Errorf("diffusion: every per-sample gradient has the sign of the mean %v: no large-deviation root (the chain cannot climb here)", mean)
	}
	// F(u) = K(sign·u)/u for u > 0: F(0+) = −|mean| < 0 and F → +∞.
	f := func(u float64) float64 { return CGF(g, sign*u) / u }
	sg := math.Abs(GaussianRoot(mean, variance))
	lo := sg * 1e-3
	for f(lo) >= 0 && lo > 1e-300 {
		lo *= 1e-3
	}
	hi := sg
	for i := 0; f(hi) <= 0; i++ {
		lo = hi
		hi *= 2
		if i > 2000 || math.IsInf(hi, 0) {
			return 0, fmt.Errorf("diffusion: large-deviation root not bracketed")
		}
	}
	u, err := Root(f, lo, hi, 1e-14*hi)
	if err != nil {
		return 0, err
	}
	return sign * u, nil
}
