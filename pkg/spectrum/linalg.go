package spectrum

import (
	"sort"

	"gonum.org/v1/gonum/mat"
)

// The two dense kernels that dominate the spectra of this project — the
// symmetric eigenvalues of an n×n matrix and the rank-k update C += α·AᵀA —
// run through the functions below. Built with the `openblas` tag (which the
// Makefile sets when OpenBLAS and LAPACKE are installed) they call LAPACK's
// dsyevd and BLAS's dsyrk, multithreaded; otherwise gonum's pure-Go
// implementations, which are exact but several times slower at n ≈ 10⁴.

// Backend names the linear-algebra implementation in use, for provenance.
func LinalgBackend() string { return linalgName }

// SymRankK sets c = c + alpha·aᵀ·a (c is n×n with n the columns of a).
func SymRankK(c *mat.SymDense, alpha float64, a *mat.Dense) {
	symRankK(c, alpha, a, true)
}

// SymOuter sets c = c + alpha·a·aᵀ (c is n×n with n the rows of a).
func SymOuter(c *mat.SymDense, alpha float64, a *mat.Dense) {
	symRankK(c, alpha, a, false)
}

// symEigenvalues returns the eigenvalues of a (decreasing); ok is false when
// the solver failed.
func symEigenvalues(a mat.Symmetric) ([]float64, bool) {
	v, ok := symEigen(a)
	if !ok {
		return nil, false
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(v)))
	return v, true
}
