package spectrum

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestEigenvaluesOfKnownMatrix(t *testing.T) {
	// Q diag(5, 2, 1e-3) Qᵀ for a rotation Q.
	c, s := math.Cos(0.3), math.Sin(0.3)
	q := mat.NewDense(3, 3, []float64{c, -s, 0, s, c, 0, 0, 0, 1})
	d := mat.NewDiagDense(3, []float64{2, 5, 1e-3})
	var a mat.Dense
	a.Product(q, d, q.T())
	sym := mat.NewSymDense(3, nil)
	for i := 0; i < 3; i++ {
		for j := i; j < 3; j++ {
			sym.SetSym(i, j, a.At(i, j))
		}
	}
	ev, err := Eigenvalues(sym)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{5, 2, 1e-3} {
		if math.Abs(ev[i]-want) > 1e-12 {
			t.Errorf("eigenvalue %d = %v, want %v", i, ev[i], want)
		}
	}
}

func TestWeightedGramAndPSquareAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := mat.NewDense(5, 12, nil)
	for i := 0; i < 5; i++ {
		for j := 0; j < 12; j++ {
			rows.Set(i, j, rng.NormFloat64())
		}
	}
	w := []float64{0.5, 1, 2, 0, 3}
	g := mat.NewSymDense(5, nil)
	g.SymOuterK(1, rows)
	a, _ := WeightedGram(g, w, 0.2)
	b, _ := PSquare(rows, w, 0.2)
	ea, _ := Eigenvalues(a)
	eb, _ := Eigenvalues(b)
	for i := range ea {
		if math.Abs(ea[i]-eb[i]) > 1e-10*eb[0] {
			t.Errorf("eigenvalue %d: %v vs %v", i, ea[i], eb[i])
		}
	}
	if _, err := WeightedGram(g, []float64{1, 2}, 1); err == nil {
		t.Error("wrong weight count accepted")
	}
	if _, err := WeightedGram(g, []float64{1, 2, -1, 1, 1}, 1); err == nil {
		t.Error("negative weight accepted")
	}
}

func TestCompare(t *testing.T) {
	b := []float64{10, 5, 1, 0.1, 1e-9}
	a := []float64{11, 5, 1.1, 0.1, 1e-12}
	ag, err := Compare(a, b, 3, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	// relative differences 0.1, 0, 0.1 → median 0.1; top 0.1.
	if math.Abs(ag.MedianRelDiffTopK-0.1) > 1e-12 || math.Abs(ag.TopRelDiff-0.1) > 1e-12 {
		t.Errorf("top-k: %+v", ag)
	}
	if ag.NA != 4 || ag.NB != 4 {
		t.Errorf("cut-off counts %d %d, want 4 4 (1e-9 and 1e-12 are below 1e-5)", ag.NA, ag.NB)
	}
	same, _ := Compare(b, b, 5, 1e-12)
	if same.KS != 0 || same.W1Decades != 0 || same.MedianRelDiffTopK != 0 {
		t.Errorf("identical spectra: %+v", same)
	}
	// Shifting every eigenvalue by a factor 10 moves the log distribution by one decade.
	shifted := make([]float64, len(b))
	for i, v := range b {
		shifted[i] = 10 * v
	}
	sh, _ := Compare(shifted, b, 2, 1e-12)
	if math.Abs(sh.W1Decades-1) > 1e-9 || sh.KS < 0.19 {
		t.Errorf("shifted spectra: W1 %v (want 1 decade), KS %v", sh.W1Decades, sh.KS)
	}
}
