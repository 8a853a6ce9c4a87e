package hessian

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/noise"
	"github.com/sgdescape/sgdescape/pkg/spectrum"
)

func setup(t *testing.T, outputs int) (model.Arch, []*tensors.Tensor, []float32, []float32, int) {
	t.Helper()
	a, _ := model.MLP(5, []int{6, 4}, outputs)
	rng := rand.New(rand.NewPCG(3, 3))
	ps := a.Init(5)
	for _, p := range ps {
		tensors.MustMutableFlatData(p, func(v []float32) {
			for i := range v {
				v[i] += float32(0.1 * rng.NormFloat64())
			}
		})
	}
	n := 30
	x := make([]float32, n*5)
	y := make([]float32, n*outputs)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range y {
		y[i] = float32(rng.NormFloat64())
	}
	return a, ps, x, y, n
}

// Lanczos on exact Hessian-vector products against the dense Hessian from
// finite differences of gradients.
func TestLanczosMatchesDenseHessian(t *testing.T) {
	be, _ := backend.New()
	a, ps, x, y, n := setup(t, 1)
	h, err := NewHVP(be, a, model.MSE, ps, x, y, n)
	if err != nil {
		t.Fatal(err)
	}
	dense, err := h.DenseFD(1e-6)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := spectrum.Eigenvalues(dense)
	top, err := spectrum.TopK(h, 10, h.Dim(), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if math.Abs(top[i]-ref[i]) > 1e-6*math.Abs(ref[0]) {
			t.Errorf("λ%d: Lanczos %.10g, dense %.10g", i+1, top[i], ref[i])
		}
	}
	// Hutchinson against the exact trace.
	tr := 0.0
	for i := 0; i < h.Dim(); i++ {
		tr += dense.At(i, i)
	}
	est, se, err := spectrum.Hutchinson(h, 200, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(est-tr) > 3*se {
		t.Errorf("Hutchinson %v ± %v, trace %v", est, se, tr)
	}
	if _, err := spectrum.TopK(h, h.Dim()+1, 0, nil); err == nil || !strings.Contains(err.Error(), "k must be") {
		t.Errorf("k > P: %v", err)
	}
}

// The P×P and N×N routes of the Gauss–Newton spectrum agree, and its trace
// equals (1/N)Σ|∇f_μ|² measured per sample.
func TestGaussNewtonRoutesAgree(t *testing.T) {
	be, _ := backend.New()
	a, ps, x, y, n := setup(t, 1)
	pp, err := GaussNewton(be, a, ps, x, n, RouteP)
	if err != nil {
		t.Fatal(err)
	}
	gr, err := GaussNewton(be, a, ps, x, n, RouteGram)
	if err != nil {
		t.Fatal(err)
	}
	auto, _ := GaussNewton(be, a, ps, x, n, "")
	if auto.Route != RouteGram {
		t.Errorf("N = %d < P = %d should take the N×N route, took %s", n, a.NumParams(), auto.Route)
	}
	for i := range gr.Eigenvalues {
		if math.Abs(gr.Eigenvalues[i]-pp.Eigenvalues[i]) > 1e-8*pp.Eigenvalues[0] {
			t.Errorf("λ%d: N×N %v, P×P %v", i+1, gr.Eigenvalues[i], pp.Eigenvalues[i])
		}
	}
	ev, _ := noise.NewEvaluator(be, a, model.MSE, true)
	st, _ := ev.Stats(ps, x, y, n)
	tr := 0.0
	for _, v := range pp.Eigenvalues {
		tr += v
	}
	if math.Abs(tr-st.MeanJac2) > 1e-5*tr {
		t.Errorf("Tr GN = %v, mean |∇f|² = %v", tr, st.MeanJac2)
	}
	// Several outputs: the trace is the mean of Σ_k |∇f_μk|².
	a3, ps3, x3, y3, n3 := setup(t, 3)
	g3, err := GaussNewton(be, a3, ps3, x3, n3, "")
	if err != nil {
		t.Fatal(err)
	}
	ev3, _ := noise.NewEvaluator(be, a3, model.MSE, true)
	st3, _ := ev3.Stats(ps3, x3, y3, n3)
	tr3 := 0.0
	for _, v := range g3.Eigenvalues {
		tr3 += v
	}
	if g3.Route != RouteP || math.Abs(tr3-st3.MeanJac2) > 1e-5*tr3 {
		t.Errorf("3 outputs (%s): Tr GN = %v, mean Σ_k|∇f_k|² = %v", g3.Route, tr3, st3.MeanJac2)
	}
	if _, err := GaussNewton(be, a3, ps3, x3, n3, RouteGram); err == nil {
		t.Error("N×N route accepted for several outputs")
	}
}
