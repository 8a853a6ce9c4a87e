package spectrum

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// BenchmarkEigen2000 times the dense symmetric eigenvalues of a 2000×2000 matrix
// (compare the default build with -tags openblas).
func BenchmarkEigen2000(b *testing.B) {
	n := 2000
	a := mat.NewDense(n, n/2, nil)
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < n; i++ {
		for j := 0; j < n/2; j++ {
			a.Set(i, j, r.NormFloat64())
		}
	}
	s := mat.NewSymDense(n, nil)
	SymOuter(s, 1, a)
	for b.Loop() {
		Eigenvalues(s)
	}
}
