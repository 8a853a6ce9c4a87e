// Package dynamics simulates ensembles of independent runs of SGD and of the
// paper's continuous-time models on the linear-regression loss of section
// 5.3.1: discrete SGD (Eq. 2), the Itô SDE with the exact mini-batch noise
// (Eq. 4 with Eq. 8), the SDE with the decoupled noise (Eq. 12), its
// random-time-changed form on log L (Eq. 14), and gradient Langevin dynamics
// (Eq. 5). All of them share one driver (Run) and one observer interface, so
// the same first-passage and sampling code serves every dynamics.
//
// The loss is quadratic, L(θ) = L* + ½(θ−θ*)ᵀH(θ−θ*), so every model is
// simulated in the eigenbasis of H: z = Qᵀ(θ−θ*), L = L* + ½Σλᵢzᵢ². This is
// an exact change of coordinates (Q is orthogonal), and it makes a step of
// SGD with batch B cost O(B·P) including the exact loss.
package dynamics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/sgdescape/sgdescape/pkg/data"
)

// Quadratic is a linear-regression loss in the eigenbasis of its Hessian.
type Quadratic struct {
	N, P      int
	Lambda    []float64 // Hessian eigenvalues λᵢ, decreasing
	Q         []float64 // P×P row-major; column i is the eigenvector of λᵢ
	XT        []float64 // N×P; row μ is x̃_μ = Qᵀx_μ
	E         []float64 // e_μ = x_μᵀθ* − y_μ, the residuals at the minimum
	LStar     float64   // L(θ*)
	ThetaStar []float64

	m2, m3, m4 []float64 // moments for the exact noise of Eq. 8 (built on demand)
}

// NewQuadratic rotates a generated regression problem into its eigenbasis.
func NewQuadratic(p *data.LinRegProblem) (*Quadratic, error) {
	N, P := p.Config.N, p.Config.P
	h := mat.NewSymDense(P, append([]float64(nil), p.Hessian...))
	var eig mat.EigenSym
	if !eig.Factorize(h, true) {
		return nil, fmt.Errorf("dynamics: eigendecomposition of the Hessian failed")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	// gonum returns increasing eigenvalues; reorder to decreasing.
	q := &Quadratic{N: N, P: P, Lambda: make([]float64, P), Q: make([]float64, P*P),
		XT: make([]float64, N*P), E: make([]float64, N), LStar: p.LStar, ThetaStar: append([]float64(nil), p.ThetaStar...)}
	for i := 0; i < P; i++ {
		src := P - 1 - i
		if vals[src] <= 0 {
			return nil, fmt.Errorf("dynamics: Hessian eigenvalue %v ≤ 0: the minimum is not strict", vals[src])
		}
		q.Lambda[i] = vals[src]
		for r := 0; r < P; r++ {
			q.Q[r*P+i] = vecs.At(r, src)
		}
	}
	for mu := 0; mu < N; mu++ {
		x := p.X[mu*P : (mu+1)*P]
		e := -p.Y[mu]
		for j := 0; j < P; j++ {
			e += x[j] * p.ThetaStar[j]
		}
		q.E[mu] = e
		for i := 0; i < P; i++ {
			s := 0.0
			for r := 0; r < P; r++ {
				s += q.Q[r*P+i] * x[r]
			}
			q.XT[mu*P+i] = s
		}
	}
	if !(q.LStar > 0) {
		return nil, fmt.Errorf("dynamics: L(θ*) = %v; first passages need a positive minimum loss (use Gaussian labels or label noise)", q.LStar)
	}
	return q, nil
}

// Loss returns L = L* + ½Σλᵢzᵢ².
func (q *Quadratic) Loss(z []float64) float64 {
	s := 0.0
	for i, l := range q.Lambda {
		s += l * z[i] * z[i]
	}
	return q.LStar + 0.5*s
}

// Theta maps z back to parameters θ = θ* + Qz.
func (q *Quadratic) Theta(z []float64) []float64 {
	th := append([]float64(nil), q.ThetaStar...)
	for r := 0; r < q.P; r++ {
		for i := 0; i < q.P; i++ {
			th[r] += q.Q[r*q.P+i] * z[i]
		}
	}
	return th
}

// Z maps parameters to eigen-coordinates z = Qᵀ(θ − θ*).
func (q *Quadratic) Z(theta []float64) []float64 {
	z := make([]float64, q.P)
	for i := 0; i < q.P; i++ {
		for r := 0; r < q.P; r++ {
			z[i] += q.Q[r*q.P+i] * (theta[r] - q.ThetaStar[r])
		}
	}
	return z
}

// MeanEigenvalue is Tr H / P, the paper's h* for linear regression.
func (q *Quadratic) MeanEigenvalue() float64 {
	s := 0.0
	for _, l := range q.Lambda {
		s += l
	}
	return s / float64(q.P)
}

// moments builds M2[i,j] = (1/N)Σe²x̃ᵢx̃ⱼ, M3[a,i,j] = (1/N)Σe·x̃ₐx̃ᵢx̃ⱼ and
// M4[a,b,i,j] = (1/N)Σx̃ₐx̃_bx̃ᵢx̃ⱼ, so that (1/N)Σ_μ r_μ²x̃x̃ᵀ with
// r_μ = x̃_μᵀz + e_μ is a quadratic form in z (Eq. 8 exactly).
func (q *Quadratic) moments() {
	if q.m4 != nil {
		return
	}
	P := q.P
	m2 := make([]float64, P*P)
	m3 := make([]float64, P*P*P)
	m4 := make([]float64, P*P*P*P)
	outer := make([]float64, P*P)
	for mu := 0; mu < q.N; mu++ {
		x := q.XT[mu*P : (mu+1)*P]
		e := q.E[mu]
		for i := 0; i < P; i++ {
			for j := 0; j < P; j++ {
				outer[i*P+j] = x[i] * x[j]
			}
		}
		for k, o := range outer {
			m2[k] += e * e * o
		}
		for a := 0; a < P; a++ {
			ea := e * x[a]
			row := m3[a*P*P : (a+1)*P*P]
			for k, o := range outer {
				row[k] += ea * o
			}
			for b := 0; b < P; b++ {
				ab := x[a] * x[b]
				blk := m4[(a*P+b)*P*P : (a*P+b+1)*P*P]
				for k, o := range outer {
					blk[k] += ab * o
				}
			}
		}
	}
	inv := 1 / float64(q.N)
	for _, s := range [][]float64{m2, m3, m4} {
		for k := range s {
			s[k] *= inv
		}
	}
	q.m2, q.m3, q.m4 = m2, m3, m4
}

// NoiseCov writes into dst (P×P) the exact covariance of the mini-batch
// gradient noise of Eq. 8 at z, in the eigenbasis:
//
//	Σ(z) = (1/B)·(N−B)/(N−1)·[(1/N)Σ_μ ∇ℓ_μ∇ℓ_μᵀ − ∇L∇Lᵀ],  ∇ℓ_μ = r_μ x̃_μ, ∇L = Λz.
//
// It costs O(P⁴).
func (q *Quadratic) NoiseCov(z []float64, B int, dst []float64) {
	q.moments()
	P := q.P
	copy(dst, q.m2)
	for a := 0; a < P; a++ {
		za := z[a]
		if za == 0 {
			continue
		}
		row := q.m3[a*P*P : (a+1)*P*P]
		for k := range dst {
			dst[k] += 2 * za * row[k]
		}
		for b := 0; b < P; b++ {
			zab := za * z[b]
			blk := q.m4[(a*P+b)*P*P : (a*P+b+1)*P*P]
			for k := range dst {
				dst[k] += zab * blk[k]
			}
		}
	}
	kb := float64(q.N-B) / (float64(B) * float64(q.N-1))
	if q.N == 1 {
		kb = 0
	}
	for i := 0; i < P; i++ {
		gi := q.Lambda[i] * z[i]
		for j := 0; j < P; j++ {
			dst[i*P+j] = kb * (dst[i*P+j] - gi*q.Lambda[j]*z[j])
		}
	}
}

// sqrtPSD writes a matrix S with S·Sᵀ = A (A symmetric P×P, positive
// semi-definite up to rounding) into dst: the lower Cholesky factor when A is
// positive definite (computed in place, without allocation, since it runs
// every step), otherwise a symmetric square root with negative eigenvalues
// clipped to zero.
func sqrtPSD(a []float64, P int, dst []float64) {
	if P == 1 {
		dst[0] = math.Sqrt(math.Max(a[0], 0))
		return
	}
	if cholesky(a, P, dst) {
		return
	}
	sym := mat.NewSymDense(P, append([]float64(nil), a...))
	var eig mat.EigenSym
	eig.Factorize(sym, true)
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	for i := 0; i < P; i++ {
		for j := 0; j < P; j++ {
			dst[i*P+j] = vecs.At(i, j) * math.Sqrt(math.Max(vals[j], 0))
		}
	}
}

// cholesky writes the lower factor L (A = LLᵀ) into l and reports whether A
// is positive definite.
func cholesky(a []float64, P int, l []float64) bool {
	for i := range l[:P*P] {
		l[i] = 0
	}
	for j := 0; j < P; j++ {
		d := a[j*P+j]
		for k := 0; k < j; k++ {
			d -= l[j*P+k] * l[j*P+k]
		}
		if !(d > 0) {
			return false
		}
		d = math.Sqrt(d)
		l[j*P+j] = d
		for i := j + 1; i < P; i++ {
			s := a[i*P+j]
			for k := 0; k < j; k++ {
				s -= l[i*P+k] * l[j*P+k]
			}
			l[i*P+j] = s / d
		}
	}
	return true
}
