package compare

import (
	"fmt"
	"math"

	"github.com/sgdescape/sgdescape/pkg/network"
)

// ExactVsGaussNewton compares the exact Hessian's top eigenvalues (Lanczos)
// and trace (Hutchinson) with the dense Gauss–Newton spectrum at θ*.
func ExactVsGaussNewton(m network.MinimumResult, probes int) Table {
	t := Table{Caption: "exact Hessian (Lanczos) vs Gauss–Newton (dense)", Header: []string{"i", "exact Hessian", "Gauss–Newton", "difference"}}
	ex, ms := m.Exact, m.Spectrum
	if ex == nil || ms == nil {
		return t
	}
	for i, v := range ex.Top {
		if i >= len(ms.Top) {
			break
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(i + 1), fmt.Sprintf("%.5g", v), fmt.Sprintf("%.5g", ms.Top[i]), fmt.Sprintf("%+.2f %%", 100*(v/ms.Top[i]-1))})
	}
	if tr := float64(ex.Trace); !math.IsNaN(tr) {
		t.Rows = append(t.Rows, []string{"trace", fmt.Sprintf("%.5g ± %.2g (Hutchinson, %d probes)", tr, float64(ex.TraceSE), probes), fmt.Sprintf("%.5g", ms.Trace),
			fmt.Sprintf("%+.2f %%", 100*(tr/ms.Trace-1))})
	}
	return t
}

// EffectiveDimension tabulates h* and every estimator of n at θ*, and says
// how far apart the estimators are.
func EffectiveDimension(m network.MinimumResult, n int) (Table, string) {
	if m.Diverged || m.Spectrum == nil || m.Pretrained == nil {
		return Table{Caption: "effective dimension n and h* at θ*"}, fmt.Sprintf("**Pre-training DIVERGED** (%s; rule: %s): there is no minimum θ*, no spectrum.", m.Note, m.DivergenceRule)
	}
	ms, pre := m.Spectrum, m.Pretrained
	e := ms.Estimators
	t := Table{Caption: "effective dimension n and h* at θ*", Header: []string{"quantity", "value", "formula"}, Rows: [][]string{
		{"h* = λ1", fmt.Sprintf("%.5g", ms.HStar), "largest eigenvalue of Eq. 44"},
		{"n, trace ratio", fmt.Sprintf("%.3g", e.TraceRatio), "Σλ/λ1"},
		{"n, participation ratio", fmt.Sprintf("%.3g", e.Participation), "(Σλ)²/Σλ²"},
		{"n, entropy count", fmt.Sprintf("%.3g", e.Entropy), "exp(−Σ w ln w), w = λ/Σλ"},
		{"n, count above λ1/10", fmt.Sprint(e.AboveTenth), "#{λ > λ1/10}"},
		{"L(θ*)", fmt.Sprintf("%.5g", pre.LStar), fmt.Sprintf("after %d epochs", pre.Epoch)},
	}}
	lo := math.Min(math.Min(e.TraceRatio, e.Participation), math.Min(e.Entropy, float64(e.AboveTenth)))
	hi := math.Max(math.Max(e.TraceRatio, e.Participation), math.Max(e.Entropy, float64(e.AboveTenth)))
	size := fmt.Sprintf("This minimum was found on the first $N$ = %d images, as in the paper.", n)
	if n != 10000 {
		size = fmt.Sprintf("This is the minimum of a smaller problem ($N$ = %d; the paper: 10 000), not the paper's.", n)
	}
	return t, fmt.Sprintf("**Reading.** λ1 = %.3g; the estimators range from %.3g to %.3g. The paper's network (its values were not recovered from our copy) is described with the same picture: a bulk near zero, a few outliers, and an $n$ that is hard to pin down. %s",
		ms.HStar, lo, hi, size)
}

// MinimumFigures are notebook 05's key figures.
func MinimumFigures(m network.MinimumResult, n int) map[string]any {
	if m.Diverged || m.Spectrum == nil || m.Pretrained == nil {
		return map[string]any{"diverged": true, "divergence_rule": m.DivergenceRule, "note": m.Note, "N": n}
	}
	ms, pre := m.Spectrum, m.Pretrained
	return map[string]any{"h_star": ms.HStar, "estimators": ms.Estimators, "trace": ms.Trace, "L_star": pre.LStar, "pretrain": pre, "route": ms.Route, "N": n, "top": ms.Top[:min(20, len(ms.Top))]}
}
