package onnxmodel

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/onnx-gomlx/onnx"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/hessian"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/noise"
)

// smallMLP returns a perturbed 5-6-4-K MLP and random data.
func smallMLP(t *testing.T, outputs int) (model.Arch, []*tensors.Tensor, []float32, []float32, int) {
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

// An MLP of the project written with ExportMLP and read back with Load has
// the same parameters to the bit, and noise statistics and Hessian-vector
// products through the imported graph equal the native ones to rounding.
func TestExportedMLPMatchesNative(t *testing.T) {
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{1, 3} {
		a, ps, x, y, n := smallMLP(t, k)
		path := filepath.Join(t.TempDir(), "mlp.onnx")
		if err := ExportMLP(path, a, ps); err != nil {
			t.Fatal(err)
		}
		m, err := Load(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.Outputs != k || m.P != a.NumParams() || len(m.Layers) != 3 || !m.DenseOnly() {
			t.Fatalf("K=%d: imported %d outputs, P=%d, %d layers; want %d, %d, 3", k, m.Outputs, m.P, len(m.Layers), k, a.NumParams())
		}
		for i, p := range m.Weights() {
			got, want := tensors.MustCopyFlatData[float32](p), tensors.MustCopyFlatData[float32](ps[i])
			for j := range want {
				if got[j] != want[j] {
					t.Fatalf("K=%d: parameter %d[%d] = %v after the round trip, want %v", k, i, j, got[j], want[j])
				}
			}
		}
		ia := m.Arch()
		for _, loss := range []string{model.MSE, model.CE} {
			if loss == model.CE && k == 1 {
				continue
			}
			yy := y
			if loss == model.CE {
				yy = oneHot(y, n, k)
			}
			native, err := noise.NewEvaluator(be, a, loss, true)
			if err != nil {
				t.Fatal(err)
			}
			imported, err := noise.NewEvaluator(be, ia, loss, true)
			if err != nil {
				t.Fatal(err)
			}
			sn, err := native.Stats(ps, x, yy, n)
			if err != nil {
				t.Fatal(err)
			}
			si, err := imported.Stats(m.Weights(), x, yy, n)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"L", si.Loss, sn.Loss}, {"mean |∇ℓ|²", si.MeanGrad2, sn.MeanGrad2}, {"|∇L|²", si.GradNorm2, sn.GradNorm2},
				{"𝒩", si.Noise, sn.Noise}, {"(1/N)Σ|∇f|²", si.MeanJac2, sn.MeanJac2}, {"accuracy", si.Accuracy, sn.Accuracy},
			} {
				if math.Abs(c.got-c.want) > 1e-5*math.Max(math.Abs(c.want), 1e-3) {
					t.Errorf("K=%d %s: %s imported %.8g, native %.8g", k, loss, c.name, c.got, c.want)
				}
			}
			hn, err := hessian.NewHVP(be, a, loss, ps, x, yy, n)
			if err != nil {
				t.Fatal(err)
			}
			hi, err := hessian.NewHVP(be, ia, loss, m.Weights(), x, yy, n)
			if err != nil {
				t.Fatal(err)
			}
			v := make([]float64, hn.Dim())
			for i := range v {
				v[i] = math.Sin(float64(i))
			}
			on, oi := make([]float64, len(v)), make([]float64, len(v))
			if err := hn.Apply(v, on); err != nil {
				t.Fatal(err)
			}
			if err := hi.Apply(v, oi); err != nil {
				t.Fatal(err)
			}
			// The segments (ReLU) run in float32: agreement to float32 rounding.
			var d, s float64
			for i := range on {
				d += (on[i] - oi[i]) * (on[i] - oi[i])
				s += on[i] * on[i]
			}
			if math.Sqrt(d/s) > 1e-5 {
				t.Errorf("K=%d %s: Hessian-vector products differ by %.2g (relative)", k, loss, math.Sqrt(d/s))
			}
		}
	}
}

func oneHot(y []float32, n, k int) []float32 {
	out := make([]float32, n*k)
	for i := 0; i < n; i++ {
		best := 0
		for j := 1; j < k; j++ {
			if y[i*k+j] > y[i*k+best] {
				best = j
			}
		}
		out[i*k+best] = 1
	}
	return out
}

// Bad files give one-line errors that say what is wrong.
func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gemm := func(in, out string, k, c int) (NodeSpec, []TensorSpec) {
		w := make([]float32, k*c)
		for i := range w {
			w[i] = float32(i%7) / 7
		}
		return NodeSpec{Op: "Gemm", Name: "/fc/Gemm", Inputs: []string{in, "w", "b"}, Outputs: []string{out}, Ints: map[string]int64{"transB": 1}},
			[]TensorSpec{{Name: "w", Dims: []int64{int64(c), int64(k)}, F32: w}, {Name: "b", Dims: []int64{int64(c)}, F32: make([]float32, c)}}
	}
	g, inits := gemm("input", "output", 4, 2)
	good := Spec{Nodes: []NodeSpec{g}, Initializers: inits, Input: ValueSpec{"input", []int64{-1, 4}}, Output: ValueSpec{"output", []int64{-1, 2}}}
	if _, err := Load(write("good.onnx", good.Encode()), nil); err != nil {
		t.Fatalf("a valid Gemm model: %v", err)
	}
	unsupported := good
	g2, _ := gemm("input", "h", 4, 2)
	unsupported.Nodes = []NodeSpec{g2, {Op: "Celu", Name: "/act/Celu", Inputs: []string{"h"}, Outputs: []string{"output"}}}
	noWeights := Spec{Nodes: []NodeSpec{{Op: "Relu", Name: "/r", Inputs: []string{"input"}, Outputs: []string{"output"}}},
		Input: ValueSpec{"input", []int64{-1, 4}}, Output: ValueSpec{"output", []int64{-1, 4}}}
	noBias := good
	noBias.Nodes = []NodeSpec{{Op: "Gemm", Name: "/fc/Gemm", Inputs: []string{"input", "w"}, Outputs: []string{"output"}, Ints: map[string]int64{"transB": 1}}}
	noBias.Initializers = inits[:1]
	huge := good
	huge.Initializers = []TensorSpec{{Name: "w", Dims: []int64{1 << 20, 1 << 20}, F32: []float32{1}}, inits[1]}
	fixedBatch := good
	g3, _ := gemm("flat", "output", 4, 2)
	fixedBatch.Nodes = []NodeSpec{{Op: "Reshape", Name: "/flatten/Reshape", Inputs: []string{"input", "shape"}, Outputs: []string{"flat"}}, g3}
	fixedBatch.Initializers = append([]TensorSpec{{Name: "shape", Dims: []int64{2}, Int64: []int64{1, 4}}}, inits...)
	for _, c := range []struct {
		name, file string
		sample     []int
		want       string
	}{
		{"text file", write("text.onnx", []byte("this is not a model\n")), nil, "is not an ONNX model"},
		{"empty file", write("empty.onnx", nil), nil, "is not an ONNX model"},
		{"missing file", filepath.Join(dir, "nope.onnx"), nil, "cannot read the model"},
		{"unsupported operator", write("celu.onnx", unsupported.Encode()), nil, `operator Celu (node "/act/Celu") is not supported`},
		{"no weights", write("relu.onnx", noWeights.Encode()), nil, "no trainable weights"},
		{"no bias", write("nobias.onnx", noBias.Encode()), nil, "has no bias"},
		{"too large", write("huge.onnx", huge.Encode()), nil, "of memory but only"},
		{"input shape", write("good2.onnx", good.Encode()), []int{5}, "the data's samples have shape [5]"},
		{"fixed batch", write("fixed.onnx", fixedBatch.Encode()), nil, "cannot be built"},
	} {
		_, err := Load(c.file, c.sample)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q, want one line containing %q", c.name, err, c.want)
		}
	}
}

// convSpec is a small convolutional network written from Go: Conv(2→3,
// 3×3, stride 2, pads (1, 0, 1, 1)) → Relu → Flatten → Gemm(→ 2), on
// 2×5×6 inputs (channels first).
func convSpec(r *rand.Rand) Spec {
	rnd := func(k int, s float64) []float32 {
		v := make([]float32, k)
		for i := range v {
			v[i] = float32(s * r.NormFloat64())
		}
		return v
	}
	// Output map: H = (5+1+1−3)/2+1 = 3, W = (6+0+1−3)/2+1 = 3.
	return Spec{
		Nodes: []NodeSpec{
			{Op: "Conv", Name: "/conv/Conv", Inputs: []string{"input", "cw", "cb"}, Outputs: []string{"c"},
				IntLists: map[string][]int64{"kernel_shape": {3, 3}, "strides": {2, 2}, "pads": {1, 0, 1, 1}, "dilations": {1, 1}}, Ints: map[string]int64{"group": 1}},
			{Op: "Relu", Name: "/Relu", Inputs: []string{"c"}, Outputs: []string{"r"}},
			{Op: "Flatten", Name: "/Flatten", Inputs: []string{"r"}, Outputs: []string{"f"}, Ints: map[string]int64{"axis": 1}},
			{Op: "Gemm", Name: "/fc/Gemm", Inputs: []string{"f", "fw", "fb"}, Outputs: []string{"output"}, Ints: map[string]int64{"transB": 1}},
		},
		Initializers: []TensorSpec{
			{Name: "cw", Dims: []int64{3, 2, 3, 3}, F32: rnd(54, 0.5)}, {Name: "cb", Dims: []int64{3}, F32: rnd(3, 0.1)},
			{Name: "fw", Dims: []int64{2, 27}, F32: rnd(54, 0.3)}, {Name: "fb", Dims: []int64{2}, F32: rnd(2, 0.1)},
		},
		Input: ValueSpec{"input", []int64{-1, 2, 5, 6}}, Output: ValueSpec{"output", []int64{-1, 2}},
	}
}

// A convolutional network: the adapter's outputs equal onnx-gomlx's own
// conversion (GoMLX's convolution on the ONNX weights, an independent
// check of the kernel layout and window); the per-sample gradient norms
// from the taps equal one full gradient per sample; and Hessian-vector
// products (twice through the im2col patches) match central finite
// differences of the gradient — on every backend.
func TestConvNetwork(t *testing.T) {
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(6, 7))
	path := filepath.Join(t.TempDir(), "conv.onnx")
	if err := os.WriteFile(path, convSpec(r).Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.DenseOnly() || m.Layers[0].Positions != 9 || m.Layers[0].K != 18 || m.Outputs != 2 || m.P != 54+3+54+2 {
		t.Fatalf("layers %+v, outputs %d, P %d", m.Layers, m.Outputs, m.P)
	}
	n := 7
	x := make([]float32, n*m.InputSize())
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]float32, n*2)
	for i := range y {
		y[i] = float32(r.NormFloat64())
	}
	// Outputs against onnx-gomlx with GoMLX's convolution.
	om, err := onnx.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	if err := om.VariablesToContext(ctx); err != nil {
		t.Fatal(err)
	}
	ref, err := context.ExecOnce(be, ctx, func(ctx *context.Context, xx *Node) *Node {
		return om.CallGraph(ctx, xx.Graph(), map[string]*Node{"input": xx})[0]
	}, tensors.FromFlatDataAndDimensions(x, n, 2, 5, 6))
	if err != nil {
		t.Fatal(err)
	}
	a := m.Arch()
	np := len(m.Weights())
	exec, err := NewExec(be, func(in []*Node) *Node {
		f, err := a.Apply(in[:np], in[np])
		if err != nil {
			panic(err)
		}
		return f
	})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := exec.Exec(append(anys(m.Weights()), tensors.FromFlatDataAndDimensions(x, n, m.InputSize()))...)
	if err != nil {
		t.Fatal(err)
	}
	want, got := tensors.MustCopyFlatData[float32](ref), tensors.MustCopyFlatData[float32](mine[0])
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("output %d: adapter %v, onnx-gomlx %v", i, got[i], want[i])
		}
	}
	// Per-sample gradient norms: taps against one full gradient per sample.
	ev, err := noise.NewEvaluator(be, a, model.MSE, false)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ev.Stats(m.Weights(), x, y, n)
	if err != nil {
		t.Fatal(err)
	}
	D := m.InputSize()
	for mu := 0; mu < n; mu++ {
		h, err := hessian.NewHVP(be, a, model.MSE, m.Weights(), x[mu*D:(mu+1)*D], y[mu*2:(mu+1)*2], 1)
		if err != nil {
			t.Fatal(err)
		}
		g, _, err := h.GradientAt(h.Flat())
		if err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for _, v := range g {
			s += v * v
		}
		if math.Abs(s-st.PerSampleG2[mu]) > 1e-4*s {
			t.Errorf("sample %d: |∇ℓ|² from the taps %v, from a full gradient %v", mu, st.PerSampleG2[mu], s)
		}
	}
	// Hessian-vector products against finite differences.
	h, err := hessian.NewHVP(be, a, model.MSE, m.Weights(), x, y, n)
	if err != nil {
		t.Fatal(err)
	}
	dense, err := h.DenseFD(1e-3) // float32 segments: a larger step keeps their rounding out of the differences
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float64, h.Dim())
	for i := range v {
		v[i] = r.NormFloat64()
	}
	hv := make([]float64, len(v))
	if err := h.Apply(v, hv); err != nil {
		t.Fatal(err)
	}
	var d, s float64
	for i := range hv {
		fd := 0.0
		for j := range v {
			fd += dense.At(i, j) * v[j]
		}
		d += (fd - hv[i]) * (fd - hv[i])
		s += fd * fd
	}
	// The ReLU segment runs in float32: agreement to about float32 rounding.
	if math.Sqrt(d/s) > 1e-4 {
		t.Errorf("H·v differs from finite differences by %.2g (relative)", math.Sqrt(d/s))
	}
	t.Logf("H·v against finite differences: relative difference %.2g", math.Sqrt(d/s))
}

func anys(ts []*tensors.Tensor) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = t
	}
	return out
}
