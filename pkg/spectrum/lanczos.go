package spectrum

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"

	streams "github.com/sgdescape/sgdescape/pkg/rng"
)

// Operator applies a symmetric linear map: out = A·v. Hessian-vector
// products of a network are one; a dense matrix is another (Dense).
type Operator interface {
	Dim() int
	Apply(v, out []float64) error
}

// Dense wraps a symmetric matrix as an Operator (for tests and references).
type Dense struct{ A mat.Symmetric }

// Dim is the matrix size.
func (d Dense) Dim() int { return d.A.SymmetricDim() }

// Apply computes A·v.
func (d Dense) Apply(v, out []float64) error {
	var o mat.VecDense
	o.MulVec(d.A, mat.NewVecDense(len(v), v))
	copy(out, o.RawVector().Data)
	return nil
}

// Lanczos runs m steps of the Lanczos iteration from start (normalised
// internally; random when nil) with full reorthogonalisation against every
// previous vector, and returns the Ritz values in decreasing order together
// with the weights τ_i² (squared first components of the Ritz vectors) that
// stochastic Lanczos quadrature needs. m is capped at Dim; the iteration
// stops early on an invariant subspace.
func Lanczos(op Operator, m int, start []float64, rng *rand.Rand) (ritz, weights []float64, err error) {
	r, err := LanczosRitz(op, m, start, rng)
	return r.Values, r.Weights, err
}

// Ritz is the outcome of m Lanczos steps: the Ritz values in decreasing
// order, their quadrature weights τ_i² (see Lanczos) and their residual
// norms |A·y_i − θ_i·y_i| = β_m·|s_{m,i}| for the unit Ritz vector y_i
// (β_m the norm of the next Lanczos vector, s_{m,i} the last component of
// the eigenvector of the tridiagonal matrix; exact with the full
// reorthogonalisation used here). A residual r bounds the distance from θ_i
// to the nearest eigenvalue by r (Weyl), so a small residual relative to
// θ_i says that the Ritz value has converged.
type Ritz struct {
	Values    []float64 `json:"values"`
	Weights   []float64 `json:"weights"`
	Residuals []float64 `json:"residuals"`
}

// LanczosRitz is Lanczos (same arguments, the same Ritz values and weights)
// with the residual norms of the Ritz pairs.
func LanczosRitz(op Operator, m int, start []float64, rng *rand.Rand) (Ritz, error) {
	ritz, weights, resid, err := lanczos(op, m, start, rng)
	return Ritz{Values: ritz, Weights: weights, Residuals: resid}, err
}

func lanczos(op Operator, m int, start []float64, rng *rand.Rand) (ritz, weights, resid []float64, err error) {
	n := op.Dim()
	if m < 1 {
		return nil, nil, nil, fmt.Errorf("spectrum: Lanczos needs at least one step, got %d", m)
	}
	if m > n {
		return nil, nil, nil, fmt.Errorf("spectrum: Lanczos with k = %d steps exceeds the dimension %d of the operator; ask for at most %d (or use the dense spectrum)", m, n, n)
	}
	q := make([]float64, n)
	if start != nil {
		if len(start) != n {
			return nil, nil, nil, fmt.Errorf("spectrum: start vector of length %d for dimension %d", len(start), n)
		}
		copy(q, start)
	} else {
		if rng == nil {
			rng = streams.New(1, streams.LanczosDefault)
		}
		for i := range q {
			q[i] = rng.NormFloat64()
		}
	}
	if nrm := norm(q); nrm == 0 {
		return nil, nil, nil, fmt.Errorf("spectrum: zero start vector")
	} else {
		scale(q, 1/nrm)
	}
	basis := [][]float64{q}
	var alpha, beta []float64
	last := 0.0 // β_m, the norm of the vector that would come next
	w := make([]float64, n)
	for j := 0; j < m; j++ {
		if err := op.Apply(basis[j], w); err != nil {
			return nil, nil, nil, err
		}
		for _, x := range w {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, nil, nil, fmt.Errorf("spectrum: the operator returned a non-finite value")
			}
		}
		a := dot(w, basis[j])
		alpha = append(alpha, a)
		// Full reorthogonalisation (twice, "twice is enough").
		for pass := 0; pass < 2; pass++ {
			for _, b := range basis {
				axpy(-dot(w, b), b, w)
			}
		}
		bnorm := norm(w)
		if j == m-1 {
			last = bnorm
			break
		}
		if bnorm < 1e-12*math.Max(1, math.Abs(a)) {
			last = bnorm
			break // invariant subspace found
		}
		beta = append(beta, bnorm)
		next := make([]float64, n)
		copy(next, w)
		scale(next, 1/bnorm)
		basis = append(basis, next)
	}
	k := len(alpha)
	t := mat.NewSymDense(k, nil)
	for i := 0; i < k; i++ {
		t.SetSym(i, i, alpha[i])
		if i+1 < k {
			t.SetSym(i, i+1, beta[i])
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(t, true) {
		return nil, nil, nil, fmt.Errorf("spectrum: eigendecomposition of the Lanczos matrix failed")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return vals[idx[a]] > vals[idx[b]] })
	for _, i := range idx {
		ritz = append(ritz, vals[i])
		weights = append(weights, vecs.At(0, i)*vecs.At(0, i))
		resid = append(resid, last*math.Abs(vecs.At(k-1, i)))
	}
	return ritz, weights, resid, nil
}

// TopK returns the k largest eigenvalues by Lanczos with m ≥ k steps
// (m = min(Dim, max(2k, k+20)) when m is 0).
func TopK(op Operator, k, m int, rng *rand.Rand) ([]float64, error) {
	n := op.Dim()
	if k < 1 || k > n {
		return nil, fmt.Errorf("spectrum: asked for the top %d eigenvalues of a %d-dimensional operator; k must be between 1 and %d", k, n, n)
	}
	if m == 0 {
		m = min(n, max(2*k, k+20))
	}
	if m < k {
		return nil, fmt.Errorf("spectrum: %d Lanczos steps cannot give %d eigenvalues", m, k)
	}
	ritz, _, err := Lanczos(op, m, nil, rng)
	if err != nil {
		return nil, err
	}
	if len(ritz) < k {
		return nil, fmt.Errorf("spectrum: Lanczos stopped after %d steps (invariant subspace); fewer than %d eigenvalues are available", len(ritz), k)
	}
	return ritz[:k], nil
}

// Hutchinson estimates Tr A with samples Rademacher vectors z: the mean of
// zᵀAz, and its standard error.
func Hutchinson(op Operator, samples int, rng *rand.Rand) (trace, se float64, err error) {
	if samples < 2 {
		return 0, 0, fmt.Errorf("spectrum: Hutchinson needs at least 2 samples for an error bar, got %d", samples)
	}
	n := op.Dim()
	z := make([]float64, n)
	az := make([]float64, n)
	var s, ss float64
	for i := 0; i < samples; i++ {
		for j := range z {
			z[j] = 1
			if rng.Uint64()&1 == 0 {
				z[j] = -1
			}
		}
		if err := op.Apply(z, az); err != nil {
			return 0, 0, err
		}
		v := dot(z, az)
		s += v
		ss += v * v
	}
	m := s / float64(samples)
	variance := (ss/float64(samples) - m*m) * float64(samples) / float64(samples-1)
	return m, math.Sqrt(math.Max(variance, 0) / float64(samples)), nil
}

// Density is a spectral density estimate on a grid.
type Density struct {
	X, Y []float64
}

// SLQ estimates the spectral density of A by stochastic Lanczos quadrature:
// probes random start vectors, m Lanczos steps each; every Ritz value θ_i
// carries weight τ_i²/probes, and the density is their sum of Gaussians of
// width sigma evaluated on the grid. The density integrates to about 1 (the
// eigenvalue count divided by the dimension).
func SLQ(op Operator, probes, m int, grid []float64, sigma float64, rng *rand.Rand) (Density, []float64, []float64, error) {
	if probes < 1 || sigma <= 0 {
		return Density{}, nil, nil, fmt.Errorf("spectrum: SLQ needs probes ≥ 1 and σ > 0")
	}
	var nodes, weights []float64
	for p := 0; p < probes; p++ {
		r, w, err := Lanczos(op, m, nil, rng)
		if err != nil {
			return Density{}, nil, nil, err
		}
		for i := range r {
			nodes = append(nodes, r[i])
			weights = append(weights, w[i]/float64(probes))
		}
	}
	d := Density{X: grid, Y: make([]float64, len(grid))}
	norm := 1 / (sigma * math.Sqrt(2*math.Pi))
	for gi, x := range grid {
		s := 0.0
		for i, t := range nodes {
			u := (x - t) / sigma
			s += weights[i] * norm * math.Exp(-0.5*u*u)
		}
		d.Y[gi] = s
	}
	return d, nodes, weights, nil
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func norm(a []float64) float64 { return math.Sqrt(dot(a, a)) }

func scale(a []float64, s float64) {
	for i := range a {
		a[i] *= s
	}
}

func axpy(alpha float64, x, y []float64) {
	for i := range x {
		y[i] += alpha * x[i]
	}
}
