//go:build !openblas

package spectrum

import "gonum.org/v1/gonum/mat"

const linalgName = "gonum (pure Go)"

func symRankK(c *mat.SymDense, alpha float64, a *mat.Dense, trans bool) {
	if trans {
		c.SymRankK(c, alpha, a.T())
	} else {
		c.SymRankK(c, alpha, a)
	}
}

func symEigen(a mat.Symmetric) ([]float64, bool) {
	var e mat.EigenSym
	if !e.Factorize(a, false) {
		return nil, false
	}
	return e.Values(nil), true
}
