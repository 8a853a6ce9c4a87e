//go:build openblas

package spectrum

/*
#cgo LDFLAGS: -llapacke -lopenblas
#include <lapacke.h>
#include <cblas.h>
*/
import "C"

import (
	"unsafe"

	"gonum.org/v1/gonum/mat"
)

const linalgName = "OpenBLAS + LAPACKE (dsyevd, dsyrk)"

// symRankK: c += alpha·aᵀa (trans) or alpha·a·aᵀ with cblas_dsyrk on the
// upper triangle (row-major), as gonum's SymDense stores it.
func symRankK(c *mat.SymDense, alpha float64, a *mat.Dense, trans bool) {
	r, k := a.Dims()
	n := c.SymmetricDim()
	op, inner, dim := uint32(C.CblasTrans), r, k
	if !trans {
		op, inner, dim = uint32(C.CblasNoTrans), k, r
	}
	if dim != n || inner == 0 {
		if trans { // let gonum check and report the shapes
			c.SymRankK(c, alpha, a.T())
		} else {
			c.SymRankK(c, alpha, a)
		}
		return
	}
	raw := c.RawSymmetric()
	ar := a.RawMatrix()
	C.cblas_dsyrk(C.CblasRowMajor, C.CblasUpper, op, C.int(n), C.int(inner), C.double(alpha),
		(*C.double)(unsafe.Pointer(&ar.Data[0])), C.int(ar.Stride), C.double(1),
		(*C.double)(unsafe.Pointer(&raw.Data[0])), C.int(raw.Stride))
}

// symEigen: eigenvalues only, divide and conquer (LAPACKE_dsyevd, 'N').
func symEigen(a mat.Symmetric) ([]float64, bool) {
	n := a.SymmetricDim()
	buf := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			buf[i*n+j] = a.At(i, j)
		}
	}
	w := make([]float64, n)
	info := C.LAPACKE_dsyevd(C.LAPACK_ROW_MAJOR, C.char('N'), C.char('U'), C.lapack_int(n),
		(*C.double)(unsafe.Pointer(&buf[0])), C.lapack_int(n), (*C.double)(unsafe.Pointer(&w[0])))
	return w, info == 0
}
