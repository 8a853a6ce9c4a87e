package spectrum

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// randomSym returns Q·diag(eigs)·Qᵀ for a random orthogonal Q.
func randomSym(eigs []float64, seed uint64) *mat.SymDense {
	n := len(eigs)
	rng := rand.New(rand.NewPCG(seed, 3))
	g := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	var a mat.Dense
	a.Product(&q, mat.NewDiagDense(n, eigs), q.T())
	s := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			s.SetSym(i, j, 0.5*(a.At(i, j)+a.At(j, i)))
		}
	}
	return s
}

func TestLanczosTopKMatchesDense(t *testing.T) {
	eigs := make([]float64, 200)
	for i := range eigs {
		eigs[i] = 0.01 * float64(i%17) // a bulk near zero
	}
	for i, v := range []float64{50, 20, 9, 5, 3, 2.5, 2, 1.5, 1.2, 1.1} { // outliers
		eigs[i] = v
	}
	a := randomSym(eigs, 1)
	got, err := TopK(Dense{a}, 10, 60, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := Eigenvalues(a)
	for i := 0; i < 10; i++ {
		if math.Abs(got[i]-ref[i]) > 1e-10*ref[0] {
			t.Errorf("λ%d: Lanczos %v, dense %v", i+1, got[i], ref[i])
		}
	}
	if _, err := TopK(Dense{a}, 201, 0, nil); err == nil {
		t.Error("k > dimension accepted")
	}
	// Lanczos with m = n steps recovers the full spectrum.
	small := randomSym([]float64{4, 3, 2, 1, 0.5}, 4)
	all, _, err := Lanczos(Dense{small}, 5, nil, nil)
	if err != nil || len(all) != 5 || math.Abs(all[4]-0.5) > 1e-10 {
		t.Errorf("full Lanczos: %v %v", all, err)
	}
}

func TestHutchinsonWithinItsError(t *testing.T) {
	eigs := make([]float64, 300)
	tr := 0.0
	for i := range eigs {
		eigs[i] = 1 / float64(i+1)
		tr += eigs[i]
	}
	a := randomSym(eigs, 5)
	est, se, err := Hutchinson(Dense{a}, 400, rand.New(rand.NewPCG(6, 6)))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(est-tr) > 3*se || se <= 0 {
		t.Errorf("Hutchinson %v ± %v, exact trace %v", est, se, tr)
	}
}

func TestSLQDensityMatchesDense(t *testing.T) {
	eigs := make([]float64, 400)
	rng := rand.New(rand.NewPCG(8, 8))
	for i := range eigs {
		eigs[i] = rng.Float64() // uniform bulk on [0, 1]
	}
	eigs[0], eigs[1] = 5, 4
	a := randomSym(eigs, 9)
	grid := make([]float64, 121)
	for i := range grid {
		grid[i] = -0.5 + 6*float64(i)/120
	}
	d, nodes, w, err := SLQ(Dense{a}, 20, 40, grid, 0.05, rng)
	if err != nil {
		t.Fatal(err)
	}
	// Quadrature moments: Σ w θ^p ≈ (1/n) Tr A^p.
	for p := 1; p <= 2; p++ {
		est, exact := 0.0, 0.0
		for i := range nodes {
			est += w[i] * math.Pow(nodes[i], float64(p))
		}
		for _, v := range eigs {
			exact += math.Pow(v, float64(p)) / float64(len(eigs))
		}
		if math.Abs(est/exact-1) > 0.1 {
			t.Errorf("moment %d: SLQ %v, exact %v", p, est, exact)
		}
	}
	// The density integrates to ≈ 1 and puts ≈ 398/400 of its mass in the bulk [−0.2, 1.2].
	total, bulk := 0.0, 0.0
	for i := 1; i < len(grid); i++ {
		m := 0.5 * (d.Y[i] + d.Y[i-1]) * (grid[i] - grid[i-1])
		total += m
		if grid[i] <= 1.2 {
			bulk += m
		}
	}
	if math.Abs(total-1) > 0.05 || math.Abs(bulk-398.0/400) > 0.05 {
		t.Errorf("SLQ density mass %v, bulk %v", total, bulk)
	}
}

func TestEffectiveDimension(t *testing.T) {
	e, err := Estimate([]float64{4, 4, 4, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	// Three equal outliers: every estimator gives 3.
	if math.Abs(e.TraceRatio-3) > 1e-12 || math.Abs(e.Participation-3) > 1e-12 || math.Abs(e.Entropy-3) > 1e-12 || e.AboveTenth != 3 {
		t.Errorf("%+v", e)
	}
	e, _ = Estimate([]float64{10, 1, 1, 0.5})
	// Σλ/λ₁ = 1.25; (Σλ)²/Σλ² = 156.25/102.25; above 1: one.
	if math.Abs(e.TraceRatio-1.25) > 1e-12 || math.Abs(e.Participation-156.25/102.25) > 1e-12 || e.AboveTenth != 1 {
		t.Errorf("%+v", e)
	}
	if _, err := Estimate([]float64{0, 0}); err == nil {
		t.Error("all-zero spectrum accepted")
	}
}

// The residuals of LanczosRitz equal |A·y − θ·y| computed directly from the
// Ritz vectors y = Q·s of an independent Lanczos run written out here
// (Gram–Schmidt against every previous vector, then the tridiagonal
// eigenproblem), and every Ritz value has an eigenvalue within its residual.
func TestLanczosRitzResiduals(t *testing.T) {
	eigs := make([]float64, 60)
	for i := range eigs {
		eigs[i] = 0.02 * float64(i%11)
	}
	for i, v := range []float64{9, 6, 4, 3} {
		eigs[i] = v
	}
	a := randomSym(eigs, 7)
	n := a.SymmetricDim()
	start := make([]float64, n)
	r := rand.New(rand.NewPCG(5, 5))
	for i := range start {
		start[i] = r.NormFloat64()
	}
	for _, m := range []int{4, 8, 15, n} {
		got, err := LanczosRitz(Dense{a}, m, start, nil)
		if err != nil {
			t.Fatal(err)
		}
		vals, _ := Eigenvalues(a)
		// The independent run.
		q := mat.NewVecDense(n, append([]float64(nil), start...))
		q.ScaleVec(1/mat.Norm(q, 2), q)
		basis := []*mat.VecDense{q}
		tri := mat.NewSymDense(m, nil)
		for j := 0; j < m; j++ {
			var w mat.VecDense
			w.MulVec(a, basis[j])
			tri.SetSym(j, j, mat.Dot(&w, basis[j]))
			for pass := 0; pass < 2; pass++ {
				for _, b := range basis {
					w.AddScaledVec(&w, -mat.Dot(&w, b), b)
				}
			}
			if j+1 < m {
				beta := mat.Norm(&w, 2)
				tri.SetSym(j, j+1, beta)
				w.ScaleVec(1/beta, &w)
				basis = append(basis, &w)
			}
		}
		var es mat.EigenSym
		es.Factorize(tri, true)
		tv := es.Values(nil)
		var s mat.Dense
		es.VectorsTo(&s)
		for i, theta := range got.Values {
			// The matching Ritz pair of the independent run (values are distinct here).
			best := 0
			for k := range tv {
				if math.Abs(tv[k]-theta) < math.Abs(tv[best]-theta) {
					best = k
				}
			}
			y := mat.NewVecDense(n, nil)
			for k, b := range basis {
				y.AddScaledVec(y, s.At(k, best), b)
			}
			var ay mat.VecDense
			ay.MulVec(a, y)
			ay.AddScaledVec(&ay, -theta, y)
			want := mat.Norm(&ay, 2)
			if math.Abs(got.Residuals[i]-want) > 1e-8*eigs[0] {
				t.Errorf("m=%d θ%d = %.6g: residual %.3g, directly %.3g", m, i+1, theta, got.Residuals[i], want)
			}
			near := math.Inf(1)
			for _, v := range vals {
				near = math.Min(near, math.Abs(v-theta))
			}
			if near > got.Residuals[i]+1e-10 {
				t.Errorf("m=%d θ%d = %.6g: nearest eigenvalue %.3g away, beyond the residual %.3g", m, i+1, theta, near, got.Residuals[i])
			}
		}
		if m == 4 && got.Residuals[0] < 1e-6 {
			t.Errorf("4 steps: the top residual %.2g is implausibly small", got.Residuals[0])
		}
		if m == n && got.Residuals[0] > 1e-8 {
			t.Errorf("a full run leaves residual %.2g", got.Residuals[0])
		}
	}
}
