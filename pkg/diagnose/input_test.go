package diagnose

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/onnxmodel"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// small writes a 4-6-K MLP of the project with random weights, N random
// inputs and one-hot targets, and returns a configuration for them.
func small(t *testing.T, dir string, k, n int) Config {
	t.Helper()
	a, err := model.MLP(4, []int{6}, k)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*4)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]float32, n*k)
	for i := 0; i < n; i++ {
		y[i*k+r.IntN(k)] = 1
	}
	c := Defaults()
	c.Model, c.Data, c.Targets = filepath.Join(dir, "m.onnx"), filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	c.B, c.Lanczos, c.TopK = 8, 10, 3
	if err := onnxmodel.ExportMLP(c.Model, a, a.Init(3)); err != nil {
		t.Fatal(err)
	}
	if err := data.WriteNPY(c.Data, []int{n, 4}, x); err != nil {
		t.Fatal(err)
	}
	if err := data.WriteNPY(c.Targets, []int{n, k}, y); err != nil {
		t.Fatal(err)
	}
	return c
}

// Bad files and settings: each an input error (run.IsBadInput) of one line that says what
// is wrong (the command line exits with status 2 on them).
func TestBadInput(t *testing.T) {
	env := testEnv(t)
	dir := t.TempDir()
	base := small(t, dir, 3, 40)
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	npy := func(name string, shape []int, v []float32) string {
		p := filepath.Join(dir, name)
		if err := data.WriteNPY(p, shape, v); err != nil {
			t.Fatal(err)
		}
		return p
	}
	filled := func(n int, v float32) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	nanX := filled(40*4, 0.5)
	nanX[4*7+2] = float32(math.NaN())
	infY := filled(40*3, 0)
	infY[5] = float32(math.Inf(1))
	labels := make([]float32, 40)
	labels[3] = 7
	wrongRows := filled(40*3, 0.2)
	gemm := onnxmodel.NodeSpec{Op: "Gemm", Name: "/fc/Gemm", Inputs: []string{"input", "w", "b"}, Outputs: []string{"h"}, Ints: map[string]int64{"transB": 1}}
	weights := []onnxmodel.TensorSpec{{Name: "w", Dims: []int64{3, 4}, F32: filled(12, 0.1)}, {Name: "b", Dims: []int64{3}, F32: filled(3, 0)}}
	celu := onnxmodel.Spec{Nodes: []onnxmodel.NodeSpec{gemm, {Op: "Celu", Name: "/act/Celu", Inputs: []string{"h"}, Outputs: []string{"output"}}},
		Initializers: weights, Input: onnxmodel.ValueSpec{Name: "input", Dims: []int64{-1, 4}}, Output: onnxmodel.ValueSpec{Name: "output", Dims: []int64{-1, 3}}}
	relu := onnxmodel.Spec{Nodes: []onnxmodel.NodeSpec{{Op: "Relu", Name: "/r", Inputs: []string{"input"}, Outputs: []string{"output"}}},
		Input: onnxmodel.ValueSpec{Name: "input", Dims: []int64{-1, 4}}, Output: onnxmodel.ValueSpec{Name: "output", Dims: []int64{-1, 4}}}
	huge := celu
	huge.Nodes = []onnxmodel.NodeSpec{gemm, {Op: "Relu", Name: "/r", Inputs: []string{"h"}, Outputs: []string{"output"}}}
	huge.Initializers = []onnxmodel.TensorSpec{{Name: "w", Dims: []int64{3 << 20, 4 << 20}, F32: []float32{1}}, weights[1]}
	for _, c := range []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"not ONNX", func(c *Config) { c.Model = file("text.onnx", []byte("hello, I am a text file\n")) }, "is not an ONNX model"},
		{"missing model", func(c *Config) { c.Model = filepath.Join(dir, "none.onnx") }, "cannot read the model file"},
		{"unsupported operator", func(c *Config) { c.Model = file("celu.onnx", celu.Encode()) }, `operator Celu (node "/act/Celu") is not supported`},
		{"no weights", func(c *Config) { c.Model = file("relu.onnx", relu.Encode()) }, "no trainable weights"},
		{"too large", func(c *Config) { c.Model = file("huge.onnx", huge.Encode()) }, "of memory but only"},
		{"input shape", func(c *Config) { c.Data = npy("x5.npy", []int{40, 5}, filled(200, 0)) }, "the data's samples have shape [5]"},
		{"sample count", func(c *Config) { c.Data = npy("x39.npy", []int{39, 4}, filled(156, 0)) }, "39 input samples but 40 targets"},
		{"targets width", func(c *Config) { c.Targets = npy("y2.npy", []int{40, 2}, filled(80, 0)) }, "do not match the model's 3 outputs"},
		{"label range", func(c *Config) { c.Targets = npy("lab.npy", []int{40}, labels) }, "has the label 7"},
		{"cross-entropy rows", func(c *Config) { c.Loss = model.CE; c.Targets = npy("rows.npy", []int{40, 3}, wrongRows) }, "sums to 0.6"},
		{"NaN input", func(c *Config) { c.Data = npy("nan.npy", []int{40, 4}, nanX) }, "NaN at sample 7, value 2"},
		{"Inf target", func(c *Config) { c.Targets = npy("inf.npy", []int{40, 3}, infY) }, "+Inf at sample 1, value 2"},
		{"batch above N", func(c *Config) { c.B = 41 }, "B = 41 is not below the N = 40"},
		{"batch equal N", func(c *Config) { c.B = 40 }, "B = N is gradient descent"},
		{"Lanczos above P", func(c *Config) { c.Lanczos, c.TopK = 100, 3 }, "exceed the P = 51 parameters"},
		{"zero η", func(c *Config) { c.Eta = 0 }, "learning rate"},
		{"NaN η", func(c *Config) { c.Eta = math.NaN() }, "learning rate"},
		{"infinite η", func(c *Config) { c.Eta = math.Inf(1) }, "learning rate"},
		{"zero B", func(c *Config) { c.B = 0 }, "batch size"},
		{"loss ratio 1", func(c *Config) { c.LossRatio = 1 }, "loss ratio"},
		{"loss ratio NaN", func(c *Config) { c.LossRatio = math.NaN() }, "loss ratio"},
		{"top above steps", func(c *Config) { c.TopK = 11 }, "between 1 and the Lanczos steps"},
		{"negative dense", func(c *Config) { c.DenseMax = -1 }, "dense spectrum"},
		{"unknown loss", func(c *Config) { c.Loss = "hinge" }, `unknown loss "hinge"`},
		{"unknown curvature", func(c *Config) { c.Curvature = "fisher" }, `unknown curvature "fisher"`},
		{"negative continuation", func(c *Config) { c.ContinueSteps = -5 }, "continuation"},
		{"no data", func(c *Config) { c.Data = "" }, "no inputs"},
		{"empty arrays", func(c *Config) {
			c.Data, c.Targets = npy("x0.npy", []int{0, 4}, nil), npy("y0.npy", []int{0, 3}, nil)
		}, "0 samples"},
		{"NaN weight", func(c *Config) { c.Model = nanModel(t, dir) }, "the loss is not finite at the imported weights"},
	} {
		cfg := base
		c.edit(&cfg)
		_, err := Diagnose(context.Background(), env, cfg)
		switch {
		case err == nil:
			t.Errorf("%s: no error", c.name)
		case !run.IsBadInput(err):
			t.Errorf("%s: %v is not an input error", c.name, err)
		case !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n"):
			t.Errorf("%s: error %q, want one line containing %q", c.name, err, c.want)
		}
	}
	// Cross-entropy with one output.
	one := small(t, t.TempDir(), 1, 20)
	one.Loss = model.CE
	if _, err := Diagnose(context.Background(), env, one); err == nil || !strings.Contains(err.Error(), "at least 2 outputs") {
		t.Errorf("cross-entropy with one output: %v", err)
	}
}

// The cache key holds the files' contents: the same files give the cached
// result, a changed data file a new one; an exploding learning rate gives
// an "unstable" verdict, not an error; the continuation measures 𝒩 and L
// after every epoch and reports a diverged run as such.
func TestCacheVerdictsContinuation(t *testing.T) {
	env := testEnv(t)
	env.Cache = run.Cache{Dir: t.TempDir()}
	dir := t.TempDir()
	c := small(t, dir, 3, 40)
	first, err := Diagnose(context.Background(), env, c)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Diagnose(context.Background(), env, c)
	if err != nil || !again.FromCache || again.Result.L != first.Result.L {
		t.Fatalf("second run: from cache %v, err %v", again.FromCache, err)
	}
	a, _ := data.ReadArray(c.Data)
	a.Data[0] += 1
	if err := data.WriteNPY(c.Data, a.Shape, a.Data); err != nil {
		t.Fatal(err)
	}
	changed, err := Diagnose(context.Background(), env, c)
	if err != nil || changed.FromCache || changed.Result.L == first.Result.L {
		t.Fatalf("changed data: from cache %v, L %v (was %v), err %v", changed.FromCache, changed.Result.L, first.Result.L, err)
	}
	if first.Result.Stability.Verdict == "" || len(first.Result.Stability.Estimators) < 4 {
		t.Errorf("stability %+v", first.Result.Stability)
	}
	hot := c
	hot.Eta = 1e12
	res, err := Diagnose(context.Background(), env, hot)
	if err != nil {
		t.Fatal(err)
	}
	if res.Result.Stability.Verdict != "unstable" || math.Abs(res.Result.Stability.NC-2) > 1e-6 {
		t.Errorf("η = 1e12: verdict %s, n_c %v", res.Result.Stability.Verdict, res.Result.Stability.NC)
	}
	cont := c
	cont.ContinueSteps = 25 // 5 epochs of 5 steps
	res, err = Diagnose(context.Background(), env, cont)
	if err != nil {
		t.Fatal(err)
	}
	co := res.Result.Continuation
	if co == nil || co.Epochs != 5 || len(co.Points) != 6 || co.Steps != 25 || co.Diverged || math.IsNaN(float64(co.Slope)) {
		t.Fatalf("continuation %+v", co)
	}
	if co.Points[0].L != res.Result.L {
		t.Errorf("the continuation starts at L = %v, the diagnosis measured %v", co.Points[0].L, res.Result.L)
	}
	boom := cont
	boom.Eta = 1e6
	res, err = Diagnose(context.Background(), env, boom)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Result.Continuation.Diverged {
		t.Errorf("η = 1e6: the continuation did not report divergence: %+v", res.Result.Continuation)
	}
}

// nanModel writes the 4-6-3 MLP of small with one NaN weight.
func nanModel(t *testing.T, dir string) string {
	a, _ := model.MLP(4, []int{6}, 3)
	ps := a.Init(3)
	tensors.MustMutableFlatData(ps[0], func(v []float32) { v[5] = float32(math.NaN()) })
	p := filepath.Join(dir, "nan.onnx")
	if err := onnxmodel.ExportMLP(p, a, ps); err != nil {
		t.Fatal(err)
	}
	return p
}

// The declared parameters bind the configuration's fields, and their bounds
// refuse what Validate refuses; WriteText prints the verdict.
func TestDeclareAndText(t *testing.T) {
	c := Defaults()
	s := param.Declare(&c)
	for _, name := range []string{"onnx", "data", "targets", "loss", "eta", "B", "loss-ratio", "lanczos", "topk", "dense-max", "curvature", "seed", "continue"} {
		if _, ok := s.Lookup(name); !ok {
			t.Errorf("parameter %s is not declared", name)
		}
	}
	if _, err := s.Apply([]param.Setting{{Name: "eta", Value: "0.25"}, {Name: "curvature", Value: "hessian"}, {Name: "onnx", Value: "m.onnx"}}, "diagnose"); err != nil {
		t.Fatal(err)
	}
	if c.Eta != 0.25 || c.Curvature != CurvatureHessian || c.Model != "m.onnx" {
		t.Errorf("settings not applied: %+v", c)
	}
	for _, bad := range []param.Setting{{Name: "eta", Value: "0"}, {Name: "loss-ratio", Value: "1"}, {Name: "loss", Value: "hinge"}, {Name: "lanczos", Value: "0"}} {
		if _, err := s.Apply([]param.Setting{bad}, "diagnose"); err == nil {
			t.Errorf("%s = %s accepted", bad.Name, bad.Value)
		}
	}
	env := testEnv(t)
	cfg := small(t, t.TempDir(), 3, 40)
	res, err := Diagnose(context.Background(), env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := res.Result.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"verdict", res.Result.Stability.Verdict, "Tr Σ at B = 8", "n_c (Eq. 16)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
}

// TestStabilityVerdict: n below n_c is stable, n above unstable, and
// ηh* ≥ 2 is unstable whatever n (gradient descent itself overshoots),
// checked against Eq. 16 by hand: n_c = 2(1 + B/(ηh*)).
func TestStabilityVerdict(t *testing.T) {
	cfg := Config{Eta: 0.1, B: 1, LossRatio: 5}
	for _, c := range []struct {
		eta, hstar, n float64
		want          string
	}{
		{0.1, 1, 5, "stable"},    // n_c = 22
		{0.1, 1, 30, "unstable"}, // n ≥ 22
		{0.5, 2, 1.5, "stable"},  // ηh* = 1, n_c = 4
		{1, 2.5, 1, "unstable"},  // ηh* = 2.5 ≥ 2, although n < n_c = 2.8
	} {
		cfg.Eta = c.eta
		res := Result{L: 0.1, HStar: c.hstar}
		res.Estimators.TraceRatio, res.Estimators.Participation, res.Estimators.Entropy = c.n, c.n, c.n
		res.Estimators.AboveTenth = int(c.n)
		res.TraceRatioExact = run.Float(math.NaN())
		if s := stability(res, cfg); s.Verdict != c.want {
			t.Errorf("η = %g, h* = %g, n = %g: %s (%s), want %s", c.eta, c.hstar, c.n, s.Verdict, s.Summary, c.want)
		}
	}
}
