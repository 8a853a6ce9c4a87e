package exitchain

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
)

// MaxGMRES bounds the Krylov dimension of the GMRES solve (its basis takes
// MaxGMRES·M numbers).
const MaxGMRES = 2000

// solveGMRES solves (I − P)T = 1 by GMRES without restarts (modified
// Gram–Schmidt Arnoldi, Givens rotations), to a residual of 1e-12 relative
// to the right-hand side. gonum.org/v1/exp/linsolve has GMRES, but the Go
// module proxy does not serve gonum.org/v1/exp, so it is written out here.
//
// Why it converges although T is huge: the spectrum of I − P is one
// isolated eigenvalue ≈ 1/T (the slow escape mode) and the relaxation rates
// within the wells, of order ηh*; a Krylov polynomial needs only one extra
// degree for the isolated eigenvalue, so the iteration count is set by the
// fast modes, not by T (unlike Jacobi or power iteration, which contract by
// 1 − 1/T per sweep).
func (s *sparse) solveGMRES() ([]float64, float64, int, error) {
	m := s.m
	b := make([]float64, m)
	for i := range b {
		b[i] = 1
	}
	x, it, err := s.gmres(b)
	if err != nil {
		return nil, 0, it, err
	}
	// Iterative refinement: GMRES on the residual of the sparse rows.
	r := make([]float64, m)
	res := s.residual(x, r)
	for pass := 0; pass < 3 && res > 1e-9; pass++ {
		d, k, err := s.gmres(r)
		it += k
		if err != nil {
			return nil, 0, it, err
		}
		prev := append([]float64(nil), x...)
		floats.Add(x, d)
		next := s.residual(x, r)
		if !(next < res) {
			copy(x, prev)
			s.residual(x, r)
			break
		}
		res = next
	}
	return x, res, it, nil
}

// gmres solves (I − P)x = b from x = 0.
func (s *sparse) gmres(b []float64) ([]float64, int, error) {
	m := s.m
	maxIt := min(m, MaxGMRES)
	beta := floats.Norm(b, 2)
	v := make([][]float64, 0, maxIt+1)
	v0 := make([]float64, m)
	floats.ScaleTo(v0, 1/beta, b)
	v = append(v, v0)
	h := make([][]float64, maxIt) // h[j] is column j (length j+2)
	cs, sn := make([]float64, maxIt), make([]float64, maxIt)
	gres := make([]float64, maxIt+1)
	gres[0] = beta
	tol := 1e-12 * beta
	k := 0
	for ; k < maxIt; k++ {
		w := make([]float64, m)
		s.apply(v[k], w)
		col := make([]float64, k+2)
		for i := 0; i <= k; i++ {
			col[i] = floats.Dot(w, v[i])
			floats.AddScaled(w, -col[i], v[i])
		}
		// One re-orthogonalisation pass keeps the basis orthogonal when the
		// residual has dropped by many orders.
		for i := 0; i <= k; i++ {
			c := floats.Dot(w, v[i])
			col[i] += c
			floats.AddScaled(w, -c, v[i])
		}
		hk1 := floats.Norm(w, 2)
		col[k+1] = hk1
		for i := 0; i < k; i++ {
			a, bb := col[i], col[i+1]
			col[i], col[i+1] = cs[i]*a+sn[i]*bb, -sn[i]*a+cs[i]*bb
		}
		r := math.Hypot(col[k], col[k+1])
		cs[k], sn[k] = col[k]/r, col[k+1]/r
		col[k], col[k+1] = r, 0
		gres[k+1] = -sn[k] * gres[k]
		gres[k] *= cs[k]
		h[k] = col
		if math.Abs(gres[k+1]) < tol || hk1 == 0 {
			k++
			break
		}
		floats.Scale(1/hk1, w)
		v = append(v, w)
	}
	// Back substitution for the Krylov coefficients.
	y := make([]float64, k)
	for i := k - 1; i >= 0; i-- {
		sum := gres[i]
		for j := i + 1; j < k; j++ {
			sum -= h[j][i] * y[j]
		}
		y[i] = sum / h[i][i]
	}
	x := make([]float64, m)
	for j := 0; j < k; j++ {
		floats.AddScaled(x, y[j], v[j])
	}
	if math.Abs(gres[k]) >= tol && k == maxIt {
		return nil, k, fmt.Errorf("exitchain: GMRES did not converge in %d iterations (residual %.3g of %.3g); use the LU solver", k, math.Abs(gres[k]), beta)
	}
	return x, k, nil
}
