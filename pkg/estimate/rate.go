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

// Z95 is the two-sided 95 % normal quantile of the intervals of CensoredRate.
const Z95 = 1.96

// RateHalfWidth is the 95 % half-width of ln κ̂ from runs exit times whose
// coefficient of variation is cv: its standard error is cv/√runs (1/√runs
// for the exponential times of a memoryless escape, the law behind
// CensoredRate's interval), so κ's interval is κ̂·exp(∓RateHalfWidth).
func RateHalfWidth(cv float64, runs int) float64 { return Z95 * cv / math.Sqrt(float64(runs)) }

// RunsFor inverts RateHalfWidth: the runs per point that give ln κ̂ a 95 %
// half-width of at most w, ⌈(1.96·cv/w)²⌉. For a slope d ln κ/dβ fitted
// over β values with spread S = √Σ(β − β̄)², a slope half-width h needs
// w = h·S. Errors for cv or w that are not positive and finite, or a count
// beyond 10¹² runs.
func RunsFor(cv, w float64) (int, error) {
	if !(cv > 0) || math.IsInf(cv, 0) || !(w > 0) || math.IsInf(w, 0) {
		return 0, fmt.Errorf("estimate: runs for a half-width need a positive finite CV and width, got cv = %v, w = %v", cv, w)
	}
	n := math.Ceil(math.Pow(Z95*cv/w, 2) * (1 - 1e-12))
	if n > 1e12 {
		return 0, fmt.Errorf("estimate: a half-width of %.3g at CV %.3g needs %.3g runs per point (more than 10¹²)", w, cv, n)
	}
	return max(int(n), 1), nil
}
