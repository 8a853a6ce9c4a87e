package spectrum

import (
	"fmt"
	"math"
)

// EffectiveDimension holds the estimators of the number n of Hessian
// outliers from a spectrum λ₁ ≥ λ₂ ≥ … (appendix E). The paper's own
// heuristic (its Eq. 45) builds weights from the eigenvalues and turns them
// into a count; its exact form was not recovered, so several are reported.
type EffectiveDimension struct {
	// TraceRatio is Σλ/λ₁: Eq. 45 read with weights w_i = λ_i/λ₁ summed.
	TraceRatio float64 `json:"n_trace_ratio"`
	// Participation is the participation ratio (Σλ)²/Σλ².
	Participation float64 `json:"n_participation"`
	// Entropy is exp(−Σ w_i ln w_i) with w_i = λ_i/Σλ (the exponential of the spectral entropy).
	Entropy float64 `json:"n_entropy"`
	// AboveTenth counts eigenvalues above λ₁/10.
	AboveTenth int `json:"n_above_tenth"`
}

// Estimate computes every estimator; eigenvalues below zero (rounding) are
// treated as zero.
func Estimate(eigs []float64) (EffectiveDimension, error) {
	if len(eigs) == 0 {
		return EffectiveDimension{}, fmt.Errorf("spectrum: no eigenvalues")
	}
	top := 0.0
	var sum, sq float64
	for _, v := range eigs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return EffectiveDimension{}, fmt.Errorf("spectrum: non-finite eigenvalue %v", v)
		}
		v = math.Max(v, 0)
		top = math.Max(top, v)
		sum += v
		sq += v * v
	}
	if top == 0 {
		return EffectiveDimension{}, fmt.Errorf("spectrum: every eigenvalue is zero")
	}
	e := EffectiveDimension{TraceRatio: sum / top, Participation: sum * sum / sq}
	h := 0.0
	for _, v := range eigs {
		if v > 0 {
			w := v / sum
			h -= w * math.Log(w)
		}
		if v > top/10 {
			e.AboveTenth++
		}
	}
	e.Entropy = math.Exp(h)
	return e, nil
}
