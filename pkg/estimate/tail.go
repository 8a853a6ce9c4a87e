package estimate

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Hill returns the Hill estimate of the tail index α of P(X > x) ~ x^−α
// from the k largest of the positive samples x:
// α̂ = [ (1/k) Σ_{i<k} ln(X_(i)/X_(k)) ]^−1, X_(0) ≥ X_(1) ≥ … the order
// statistics. x is not modified. When the k + 1 largest values are all
// equal there is no tail to measure (α̂ would be +∞): an error says so.
func Hill(x []float64, k int) (float64, error) {
	if k < 2 || k >= len(x) {
		return 0, fmt.Errorf("estimate: the Hill estimator needs 2 ≤ k < len(x) = %d, got k = %d", len(x), k)
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("estimate: the Hill estimator needs finite samples, sample %d is %v", i, v)
		}
	}
	s := append([]float64(nil), x...)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	if !(s[k] > 0) {
		return 0, fmt.Errorf("estimate: the Hill estimator needs positive order statistics, the %d-th largest is %v", k+1, s[k])
	}
	lk := math.Log(s[k])
	sum := 0.0
	for i := 0; i < k; i++ {
		sum += math.Log(s[i]) - lk
	}
	if !(sum > 0) {
		return 0, fmt.Errorf("estimate: the %d largest values all equal %v: no tail to measure", k+1, s[k])
	}
	return float64(k) / sum, nil
}

// MeanHalfWidth95 is the half-width of the 95 % Student-t interval of the
// mean of v: t_{0.975, n−1}·s/√n with s the sample standard deviation (NaN
// with fewer than two values).
func MeanHalfWidth95(v []float64) float64 {
	n := len(v)
	if n < 2 {
		return math.NaN()
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
	return t * StdDev(v) / math.Sqrt(float64(n))
}
