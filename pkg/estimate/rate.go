package estimate

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// Rate is the rate κ of exponential waiting times (escapes, first
// passages) estimated from runs that were stopped at a budget: the
// escaped runs are events, the others are right-censored.
type Rate struct {
	// Rate is the maximum-likelihood estimate κ̂ = k/T: k escapes over the
	// total time at risk T (every run's observed time, escaped or censored;
	// 1/mean exit time when nothing is censored). 0 when nothing escaped.
	Rate float64 `json:"rate"`
	// SE is κ̂/√k, NaN when nothing escaped.
	SE float64 `json:"se"`
	// CI is the 95 % interval κ̂·exp(∓1.96/√k) (ln κ̂ is nearly normal with
	// variance 1/k); [0, Upper] when nothing escaped.
	CI run.Interval `json:"ci"`
	// Upper is the exact one-sided 95 % upper bound of κ given k events in
	// time T (Poisson): χ²_{0.95}(2k + 2)/(2T); 3.0/T when nothing escaped.
	Upper float64 `json:"upper_95"`
}

// CensoredRate returns the Rate of k escapes over a total time at risk T.
func CensoredRate(k int, total float64) (Rate, error) {
	if k < 0 {
		return Rate{}, fmt.Errorf("estimate: %d escapes", k)
	}
	if !(total > 0) || math.IsInf(total, 0) {
		return Rate{}, fmt.Errorf("estimate: the total time at risk must be positive and finite, got %v", total)
	}
	r := Rate{Upper: distuv.ChiSquared{K: float64(2*k + 2)}.Quantile(0.95) / (2 * total)}
	if k == 0 {
		r.SE, r.CI = math.NaN(), run.NewInterval(0, r.Upper)
		return r, nil
	}
	r.Rate = float64(k) / total
	r.SE = r.Rate / math.Sqrt(float64(k))
	z := 1.96 / math.Sqrt(float64(k))
	r.CI = run.NewInterval(r.Rate*math.Exp(-z), r.Rate*math.Exp(z))
	return r, nil
}
