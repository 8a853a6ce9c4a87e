package dynamics

import (
	"fmt"
	"math"
)

// KestenExponent returns the tail exponent α of discrete SGD on
// one-dimensional linear regression with Gaussian inputs x ~ N(0, σ²):
// z ← (1 − ηs)z + noise with s the batch mean of x² (s ~ σ²χ²_B/B, treating
// mini-batches as independent draws, accurate for B ≪ N). By Kesten's theorem
// the stationary law has P(|z| > r) ~ r^(−α) where E|1 − ηs|^α = 1, so its
// density in θ falls as L^(−(α+1)/2): KestenPhi = (α+1)/2 is the φ of the
// tail (Eq. 17 predicts 1 + B/(ησ²) for η → 0). It is an independent,
// finite-η prediction that the continuous-time theory does not contain. An
// error is returned when E log|1 − ηs| ≥ 0 (no stationary law: SGD diverges).
func KestenExponent(eta float64, b int, sigma2 float64) (alpha float64, err error) {
	if !(eta > 0) || b < 1 || !(sigma2 > 0) {
		return 0, fmt.Errorf("dynamics: Kesten exponent needs η > 0, B ≥ 1, σ² > 0")
	}
	// s = σ²·χ²_B/B = t²: t has density ∝ t^(B−1) exp(−B t²/(2σ²)), smooth for B ≥ 1.
	k := float64(b) / 2
	scale := 2 * sigma2 / float64(b) // Gamma(k, scale) for s
	tmax := math.Sqrt(scale * (k + 40 + 12*math.Sqrt(k+1)))
	const n = 200000
	h := tmax / n
	lg, _ := math.Lgamma(k)
	logNorm := -lg - k*math.Log(scale)
	moment := func(a float64, useLog bool) float64 {
		s := 0.0
		for i := 1; i <= n; i++ {
			t := float64(i) * h
			w := 1.0
			if i == n {
				w = 0.5
			}
			ss := t * t
			dens := math.Exp(logNorm+(k-1)*math.Log(ss)-ss/scale) * 2 * t // Gamma density of s times ds/dt
			m := math.Abs(1 - eta*ss)
			if useLog {
				if m > 0 {
					s += w * dens * math.Log(m)
				}
			} else {
				s += w * dens * math.Pow(m, a)
			}
		}
		return s * h
	}
	if moment(0, true) >= 0 {
		return 0, fmt.Errorf("dynamics: E log|1 − ηs| ≥ 0 at η=%v, B=%d: SGD has no stationary distribution (it diverges)", eta, b)
	}
	lo, hi := 1e-6, 1.0
	for moment(hi, false) < 1 {
		lo = hi
		hi *= 2
		if hi > 1e5 {
			return math.Inf(1), nil // tail lighter than any power within reach
		}
	}
	for i := 0; i < 60 && hi-lo > 1e-6*hi; i++ {
		mid := 0.5 * (lo + hi)
		if moment(mid, false) < 1 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return 0.5 * (lo + hi), nil
}
