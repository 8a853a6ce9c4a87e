package backend

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func randTensor(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

// gradients returns d/dA and d/dB of Σ W ⊙ f(A, B).
func gradients(t *testing.T, f func(a, b *Node) *Node, a, b, w *tensors.Tensor) ([]float64, []float64) {
	t.Helper()
	be, err := New()
	if err != nil {
		t.Fatal(err)
	}
	exec, err := NewExec(be, func(a, b, w *Node) (*Node, *Node) {
		loss := ReduceAllSum(Mul(f(a, b), w))
		g := Gradient(loss, a, b)
		return g[0], g[1]
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(a, b, w)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])
}

// TestDotGradientsEqualStock compares the registered gradients of Dot and
// DotGeneral with GoMLX's stock ones on products with batch axes, several
// contracting axes in unsorted order, and batch axes that are not leading.
func TestDotGradientsEqualStock(t *testing.T) {
	cases := []struct {
		name   string
		aDims  []int
		bDims  []int
		f      func(a, b *Node) *Node
		outDim []int
	}{
		{"matmul", []int{3, 4}, []int{4, 5}, func(a, b *Node) *Node { return MatMul(a, b) }, []int{3, 5}},
		{"matvec", []int{3, 4}, []int{4}, func(a, b *Node) *Node { return Dot(a, b) }, []int{3}},
		{"vecvec", []int{4}, []int{4}, func(a, b *Node) *Node { return Dot(a, b) }, nil},
		{"matmul-dot", []int{3, 4}, []int{4, 2}, func(a, b *Node) *Node { return Dot(a, b) }, []int{3, 2}},
		{"batched", []int{2, 3, 4}, []int{2, 4, 5}, func(a, b *Node) *Node {
			return DotGeneral(a, []int{2}, []int{0}, b, []int{1}, []int{0})
		}, []int{2, 3, 5}},
		{"two-contracting-unsorted", []int{3, 4, 5}, []int{5, 4, 6}, func(a, b *Node) *Node {
			return DotGeneral(a, []int{2, 1}, nil, b, []int{0, 1}, nil)
		}, []int{3, 6}},
		{"batch-not-leading", []int{3, 2, 4}, []int{4, 2, 5}, func(a, b *Node) *Node {
			return DotGeneral(a, []int{2}, []int{1}, b, []int{0}, []int{1})
		}, []int{2, 3, 5}},
		{"transposed-contracting", []int{4, 3}, []int{5, 4}, func(a, b *Node) *Node {
			return DotGeneral(a, []int{0}, nil, b, []int{1}, nil)
		}, []int{3, 5}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := randTensor(rng, c.aDims...), randTensor(rng, c.bDims...)
			w := randTensor(rng, c.outDim...)
			ga, gb := gradients(t, c.f, a, b, w)
			VJPRegistration[NodeTypeDotGeneral], VJPRegistration[NodeTypeDot] = StockDotGeneralVJP, StockDotVJP
			sa, sb := gradients(t, c.f, a, b, w)
			VJPRegistration[NodeTypeDotGeneral], VJPRegistration[NodeTypeDot] = dotGeneralVJP, dotVJP
			for _, pair := range [][2][]float64{{ga, sa}, {gb, sb}} {
				if len(pair[0]) != len(pair[1]) {
					t.Fatalf("gradient sizes differ: %d vs %d", len(pair[0]), len(pair[1]))
				}
				for i := range pair[0] {
					if math.Abs(pair[0][i]-pair[1][i]) > 1e-12*(1+math.Abs(pair[1][i])) {
						t.Fatalf("element %d: fast %v, stock %v", i, pair[0][i], pair[1][i])
					}
				}
			}
		})
	}
}

// TestAxesReadable guards the reflection that reads DotGeneral's axes: if a
// GoMLX upgrade changes the layout, this fails instead of silently falling
// back to the slow gradient.
func TestAxesReadable(t *testing.T) {
	be, err := New()
	if err != nil {
		t.Fatal(err)
	}
	g := NewGraph(be, "axes")
	a := Parameter(g, "a", randTensor(rand.New(rand.NewPCG(1, 1)), 2, 3, 4).Shape())
	b := Parameter(g, "b", randTensor(rand.New(rand.NewPCG(1, 1)), 2, 4, 5).Shape())
	n := DotGeneral(a, []int{2}, []int{0}, b, []int{1}, []int{0})
	lc, lb, rc, rb, ok := dotGeneralAxes(n)
	if !ok || lc[0] != 2 || lb[0] != 0 || rc[0] != 1 || rb[0] != 0 {
		t.Fatalf("axes not readable: %v %v %v %v %v", lc, lb, rc, rb, ok)
	}
}
