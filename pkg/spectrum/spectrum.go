// Package spectrum computes and compares eigenvalue spectra of the
// N-sample matrices of the paper: (1/N)Σ_μ w_μ ∇f_μ∇f_μᵀ (the Gauss–Newton
// matrix of Eq. 44 for w = 1, the exact noise matrix (1/N)Σℓ_μC_μ of
// section 5.1 for w = ℓ). Their non-zero eigenvalues equal those of the N×N
// matrix (1/N)·W^½·G·W^½ with G the Gram matrix of the Jacobian rows, so
// whichever of P and N is smaller sets the cost. Dense eigenvalues use
// gonum's symmetric eigensolver.
package spectrum

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// Eigenvalues returns the eigenvalues of a symmetric matrix in decreasing
// order (LAPACK's dsyevd with the openblas build tag, gonum otherwise).
func Eigenvalues(a mat.Symmetric) ([]float64, error) {
	v, ok := symEigenvalues(a)
	if !ok {
		return nil, fmt.Errorf("spectrum: the symmetric eigensolver did not converge")
	}
	return v, nil
}

// WeightedGram returns scale·W^½·G·W^½ for weights w ≥ 0 (W = diag(w)).
func WeightedGram(g mat.Symmetric, w []float64, scale float64) (*mat.SymDense, error) {
	n := g.SymmetricDim()
	if len(w) != n {
		return nil, fmt.Errorf("spectrum: %d weights for a %d×%d matrix", len(w), n, n)
	}
	s := make([]float64, n)
	for i, v := range w {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("spectrum: weight %d is %v; weights must be finite and non-negative", i, v)
		}
		s[i] = math.Sqrt(v)
	}
	out := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			out.SetSym(i, j, scale*s[i]*s[j]*g.At(i, j))
		}
	}
	return out, nil
}

// PSquare returns scale·Rᵀ·W·R for per-sample rows R (N×P): the P×P route.
func PSquare(rows *mat.Dense, w []float64, scale float64) (*mat.SymDense, error) {
	n, p := rows.Dims()
	if w != nil && len(w) != n {
		return nil, fmt.Errorf("spectrum: %d weights for %d rows", len(w), n)
	}
	r := rows
	if w != nil {
		scaled := mat.NewDense(n, p, nil)
		for i := 0; i < n; i++ {
			if w[i] < 0 || math.IsNaN(w[i]) {
				return nil, fmt.Errorf("spectrum: weight %d is %v", i, w[i])
			}
			s := math.Sqrt(w[i])
			src, dst := rows.RawRowView(i), scaled.RawRowView(i)
			for j := range src {
				dst[j] = s * src[j]
			}
		}
		r = scaled
	}
	out := mat.NewSymDense(p, nil)
	SymRankK(out, scale, r)
	return out, nil
}

// Agreement compares two spectra (decreasing, same length).
type Agreement struct {
	// MedianRelDiffTopK is the median over i < K of |a_i − b_i|/b_i.
	MedianRelDiffTopK float64 `json:"median_rel_diff_topk"`
	K                 int     `json:"k"`
	// TopRelDiff is |a_0 − b_0|/b_0, the largest eigenvalues' relative difference.
	TopRelDiff float64 `json:"top_rel_diff"`
	// Cutoff: only eigenvalues above Cutoff (a fraction of the largest
	// eigenvalue of b) enter the distribution distances.
	Cutoff float64 `json:"cutoff"`
	// KS is the Kolmogorov distance between the empirical distributions of
	// log10 λ above the cut-off; W1Decades the 1-Wasserstein distance between
	// them in decades.
	KS        float64 `json:"ks_log_eigs"`
	W1Decades float64 `json:"w1_decades"`
	// Counts of eigenvalues above the cut-off.
	NA, NB int `json:"-"`
}

// Compare measures how close spectrum a (e.g. exact) is to b (e.g.
// decoupled): top-k relative differences and distances between the
// log-eigenvalue distributions above cutoff·max(b).
func Compare(a, b []float64, k int, cutoff float64) (Agreement, error) {
	if len(a) == 0 || len(b) == 0 {
		return Agreement{}, fmt.Errorf("spectrum: empty spectrum")
	}
	k = min(k, len(a), len(b))
	if k < 1 {
		return Agreement{}, fmt.Errorf("spectrum: top-k needs k ≥ 1")
	}
	ag := Agreement{K: k, Cutoff: cutoff}
	rel := make([]float64, k)
	for i := 0; i < k; i++ {
		rel[i] = math.Abs(a[i]-b[i]) / math.Abs(b[i])
	}
	ag.TopRelDiff = rel[0]
	sort.Float64s(rel)
	if k%2 == 1 {
		ag.MedianRelDiffTopK = rel[k/2]
	} else {
		ag.MedianRelDiffTopK = 0.5 * (rel[k/2-1] + rel[k/2])
	}
	thr := cutoff * b[0]
	logs := func(v []float64) []float64 {
		var out []float64
		for _, x := range v {
			if x > thr {
				out = append(out, math.Log10(x))
			}
		}
		sort.Float64s(out)
		return out
	}
	la, lb := logs(a), logs(b)
	ag.NA, ag.NB = len(la), len(lb)
	if len(la) == 0 || len(lb) == 0 {
		return ag, fmt.Errorf("spectrum: no eigenvalue above the cut-off %g", thr)
	}
	ag.KS, ag.W1Decades = distances(la, lb)
	return ag, nil
}

// distances returns the Kolmogorov and 1-Wasserstein distances between two
// sorted samples.
func distances(a, b []float64) (ks, w1 float64) {
	i, j := 0, 0
	na, nb := float64(len(a)), float64(len(b))
	prev := math.Min(a[0], b[0])
	for i < len(a) || j < len(b) {
		var x float64
		switch {
		case j >= len(b) || (i < len(a) && a[i] <= b[j]):
			x = a[i]
		default:
			x = b[j]
		}
		fa, fb := float64(i)/na, float64(j)/nb
		w1 += math.Abs(fa-fb) * (x - prev)
		prev = x
		for i < len(a) && a[i] == x {
			i++
		}
		for j < len(b) && b[j] == x {
			j++
		}
		ks = math.Max(ks, math.Abs(float64(i)/na-float64(j)/nb))
	}
	return ks, w1
}
