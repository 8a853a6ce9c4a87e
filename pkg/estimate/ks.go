package estimate

import (
	"fmt"
	"math"
	"sort"
)

// KS is a one-sample Kolmogorov–Smirnov comparison of samples with a
// continuous distribution function.
type KS struct {
	D      float64 `json:"D"`       // sup |F_n − F|
	NEff   float64 `json:"n_eff"`   // effective sample size used for the p-value
	PValue float64 `json:"p_value"` // asymptotic Kolmogorov p-value at NEff
}

// KSTest compares samples with cdf. Autocorrelated samples (for example a
// thinned Markov chain) carry less information than their number: pass their
// integrated autocorrelation time tau (in samples, ≥ 1) and the p-value uses
// n_eff = n/tau.
func KSTest(samples []float64, cdf func(float64) float64, tau float64) (KS, error) {
	n := len(samples)
	if n < 5 {
		return KS{}, fmt.Errorf("estimate: KS test needs at least 5 samples, got %d", n)
	}
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	d := 0.0
	for i, x := range s {
		f := cdf(x)
		d = math.Max(d, math.Max(float64(i+1)/float64(n)-f, f-float64(i)/float64(n)))
	}
	neff := float64(n) / math.Max(tau, 1)
	return KS{D: d, NEff: neff, PValue: kolmogorovQ((math.Sqrt(neff) + 0.12 + 0.11/math.Sqrt(neff)) * d)}, nil
}

// kolmogorovQ is P(K > x) for the Kolmogorov distribution.
func kolmogorovQ(x float64) float64 {
	if x < 0.2 {
		return 1
	}
	s := 0.0
	for k := 1; k <= 100; k++ {
		term := 2 * math.Exp(-2*float64(k*k)*x*x)
		if k%2 == 0 {
			s -= term
		} else {
			s += term
		}
		if term < 1e-16 {
			break
		}
	}
	return math.Min(math.Max(s, 0), 1)
}
