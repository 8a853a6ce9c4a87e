package noise

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/model"
)

// normTol is the relative tolerance between per-sample squared norms
// computed along different routes (ghost norm, formed per-sample
// gradients, one backward pass per sample): float32 rounding of sums of up
// to a few thousand terms in different orders. The largest deviation seen
// on these fixtures is printed by the tests (a few 1e-7).
const normTol = 1e-5

// ghostFixtures are small networks on which Auto picks different methods
// per layer: an MLP (ghost everywhere), and CNNs with 8×8 and 4×4 feature
// maps (T = 64 and 16), one output and three, mean-square and cross-entropy
// losses.
func ghostFixtures(t *testing.T) []fixture {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	mlp, _ := model.MLP(6, []int{5, 4}, 3)
	cnn1, _ := model.CNN(8, 8, 2, []int{3, 4}, 2, 1)
	cnn3, _ := model.CNN(8, 8, 3, []int{4, 5}, 1, 3)
	var out []fixture
	for _, c := range []struct {
		a    model.Arch
		loss string
	}{{mlp, model.CE}, {cnn1, model.MSE}, {cnn3, model.MSE}, {cnn3, model.CE}} {
		f := fixture{arch: c.a, loss: c.loss, params: c.a.Init(3), n: 8}
		for _, p := range f.params { // non-zero biases
			tensors.MustMutableFlatData(p, func(v []float32) {
				for i := range v {
					v[i] += float32(0.05 * rng.NormFloat64())
				}
			})
		}
		f.x = make([]float32, f.n*c.a.InputSize())
		for i := range f.x {
			f.x[i] = float32(rng.NormFloat64())
		}
		K := c.a.Outputs
		f.y = make([]float32, f.n*K)
		for i := range f.y {
			if c.loss == model.CE {
				if i%K == (i/K)%K {
					f.y[i] = 1
				}
			} else {
				f.y[i] = float32(rng.NormFloat64())
			}
		}
		out = append(out, f)
	}
	return out
}

// explicit holds per-sample quantities computed one sample at a time by
// GoMLX's Gradient with respect to the parameters, through model.Apply (no
// taps: neither the patches U nor the pre-activation gradients δ).
type explicit struct {
	g2  []float64   // |∇ℓ_μ|²
	jk  [][]float64 // |∇f_μk|², [μ][k]
	sum []float64   // Σ_μ ∇ℓ_μ, flattened
	r2  [][]float64 // (f_μk − y_μk)²
}

func explicitPerSample(t *testing.T, be backends.Backend, f fixture) explicit {
	t.Helper()
	a := f.arch
	np, K, D := len(a.Params()), a.Outputs, a.InputSize()
	exec, err := NewExec(be, func(in []*Node) []*Node {
		ps, x, y := in[:np], in[np], in[np+1]
		out, err := a.Apply(ps, x)
		if err != nil {
			panic(err)
		}
		l, err := model.PerSampleLoss(f.loss, out, y)
		if err != nil {
			panic(err)
		}
		res := Gradient(ReduceAllSum(l), ps...)
		for k := 0; k < K; k++ {
			mask := make([]float32, K)
			mask[k] = 1
			res = append(res, Gradient(ReduceAllSum(Mul(out, Const(x.Graph(), tensors.FromFlatDataAndDimensions(mask, 1, K)))), ps...)...)
		}
		d := Sub(out, y)
		return append(res, Mul(d, d))
	})
	if err != nil {
		t.Fatal(err)
	}
	var e explicit
	for mu := 0; mu < f.n; mu++ {
		args := make([]any, 0, np+2)
		for _, p := range f.params {
			args = append(args, p)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(f.x[mu*D:(mu+1)*D], 1, D), tensors.FromFlatDataAndDimensions(f.y[mu*K:(mu+1)*K], 1, K))
		out, err := exec.Exec(args...)
		if err != nil {
			t.Fatal(err)
		}
		sq := func(ts []*tensors.Tensor) float64 {
			s := 0.0
			for _, tt := range ts {
				for _, v := range tensors.MustCopyFlatData[float32](tt) {
					s += float64(v) * float64(v)
				}
			}
			return s
		}
		e.g2 = append(e.g2, sq(out[:np]))
		var flat []float64
		for _, tt := range out[:np] {
			for _, v := range tensors.MustCopyFlatData[float32](tt) {
				flat = append(flat, float64(v))
			}
		}
		if e.sum == nil {
			e.sum = make([]float64, len(flat))
		}
		for i, v := range flat {
			e.sum[i] += v
		}
		row := make([]float64, K)
		for k := 0; k < K; k++ {
			row[k] = sq(out[np*(k+1) : np*(k+2)])
		}
		e.jk = append(e.jk, row)
		r := tensors.MustCopyFlatData[float32](out[len(out)-1])
		rr := make([]float64, K)
		for k := range rr {
			rr[k] = float64(r[k])
		}
		e.r2 = append(e.r2, rr)
	}
	return e
}

func relDiff(a, b float64) float64 {
	return math.Abs(a-b) / math.Max(math.Max(math.Abs(a), math.Abs(b)), 1e-30)
}

// Per-sample |∇ℓ_μ|², |∇L|², (1/N)Σ|∇ℓ_μ|², 𝒩 and the per-sample Jacobian
// norms of Stats, by every method (Auto, which mixes them on the CNNs, and
// Materialise and Ghost on all layers), against explicit per-sample gradients: one
// backward pass per sample with respect to the parameters.
func TestNormsMatchExplicitPerSampleGradients(t *testing.T) {
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for _, f := range ghostFixtures(t) {
		e := explicitPerSample(t, be, f)
		nl := len(Layers(f.arch))
		all := func(m Method) []Method {
			ms := make([]Method, nl)
			for i := range ms {
				ms[i] = m
			}
			return ms
		}
		fn := float64(f.n)
		wantMean, wantGrad2 := 0.0, 0.0
		for _, v := range e.g2 {
			wantMean += v / fn
		}
		for _, v := range e.sum {
			wantGrad2 += (v / fn) * (v / fn)
		}
		wantJac, wantDec := 0.0, 0.0
		K := f.arch.Outputs
		for k := 0; k < K; k++ {
			mj, mr := 0.0, 0.0
			for mu := 0; mu < f.n; mu++ {
				mj += e.jk[mu][k] / fn
				mr += e.r2[mu][k] / fn
			}
			wantJac += mj
			wantDec += mj * mr
		}
		for _, c := range []struct {
			name string
			ms   []Method
		}{{"auto", nil}, {"materialise", all(Materialise)}, {"ghost", all(Ghost)}} {
			name := fmt.Sprintf("%s/%s/%s", f.arch.Name, f.loss, c.name)
			ev, err := NewEvaluatorWith(be, f.arch, f.loss, Options{Jacobian: true, Methods: c.ms, JacobianMethods: c.ms, Chunk: 4}) // two chunks of one shape
			if err != nil {
				t.Fatal(err)
			}
			st, err := ev.Stats(f.params, f.x, f.y, f.n)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for mu, want := range e.g2 {
				d := relDiff(st.PerSampleG2[mu], want)
				worst = math.Max(worst, d)
				if d > normTol {
					t.Errorf("%s: |∇ℓ_%d|² = %v, explicit gradient gives %v (relative difference %.2g)", name, mu, st.PerSampleG2[mu], want, d)
				}
			}
			for _, q := range []struct {
				what      string
				got, want float64
				scale     float64
			}{
				{"(1/N)Σ|∇ℓ_μ|²", st.MeanGrad2, wantMean, wantMean},
				{"|∇L|²", st.GradNorm2, wantGrad2, wantGrad2},
				{"𝒩", st.Noise, wantMean - wantGrad2, wantMean}, // a difference: rounding relative to its terms
				{"(1/N)Σ|∇f_μ|²", st.MeanJac2, wantJac, wantJac},
				{"Σ_k mean(r_k²)·mean|∇f_k|²", st.Decoupled, wantDec, wantDec},
			} {
				if d := math.Abs(q.got-q.want) / q.scale; d > normTol {
					t.Errorf("%s: %s = %v, explicit gradients give %v (relative difference %.2g)", name, q.what, q.got, q.want, d)
				}
			}
		}
	}
	t.Logf("largest relative difference of a per-sample |∇ℓ_μ|²: %.2g (tolerance %g)", worst, normTol)
}

// The per-sample norms and the summed gradient against the path this
// package used before the ghost norm (legacy_test.go: a second backward
// pass to the parameters, every convolution's G_μ formed).
func TestNormsMatchLegacyPath(t *testing.T) {
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for _, f := range append(ghostFixtures(t), fixtures(t)...) {
		lg, err := newLegacy(be, f.arch, f.loss, 5)
		if err != nil {
			t.Fatal(err)
		}
		ls, g2, sum, err := lg.run(f.params, f.x, f.y, f.n)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := NewEvaluator(be, f.arch, f.loss, false)
		if err != nil {
			t.Fatal(err)
		}
		st, err := ev.Stats(f.params, f.x, f.y, f.n)
		if err != nil {
			t.Fatal(err)
		}
		for mu := range g2 {
			d := relDiff(st.PerSampleG2[mu], g2[mu])
			worst = math.Max(worst, d)
			if d > normTol || relDiff(st.PerSampleL[mu], ls[mu]) > normTol {
				t.Errorf("%s/%s sample %d: new ℓ %v, |∇ℓ|² %v; previous path %v, %v", f.arch.Name, f.loss, mu, st.PerSampleL[mu], st.PerSampleG2[mu], ls[mu], g2[mu])
			}
		}
		want := 0.0
		for _, v := range sum {
			want += (v / float64(f.n)) * (v / float64(f.n))
		}
		if d := relDiff(st.GradNorm2, want); d > normTol {
			t.Errorf("%s/%s: |∇L|² %v, previous path %v", f.arch.Name, f.loss, st.GradNorm2, want)
		}
	}
	t.Logf("largest relative difference of a per-sample |∇ℓ_μ|² from the previous path: %.2g (tolerance %g)", worst, normTol)
}

// Layers' geometry against the parameter shapes, and Choose against the
// costs: the dense layers always take the ghost norm (T = 1); with the
// summed gradient wanted, a convolution's ghost norm costs its T·k·c
// product on top of T²(k+c), so convolutions keep their G_μ; for the
// Jacobian alone (no summed gradient) the paper CNN's 8×8 stack takes the
// ghost norm (T²(k+c) = 64²·(2304+256) ≈ 10.5 M against T·k·c ≈ 37.7 M) and
// its 32×32 and 16×16 stacks do not.
func TestLayersAndChoose(t *testing.T) {
	cnn, _ := model.CNN(32, 32, 3, []int{64, 128, 256}, 3, 10)
	mlp, _ := model.MLP(784, []int{100, 100}, 1)
	for _, a := range []model.Arch{cnn, mlp} {
		ls := Layers(a)
		ps := a.Params()
		if len(ps) != 2*len(ls) {
			t.Fatalf("%s: %d layers for %d parameter tensors", a.Name, len(ls), len(ps))
		}
		for i, l := range ls {
			w, b := ps[2*i].Shape, ps[2*i+1].Shape
			if w[0] != l.K || w[1] != l.C || b[0] != l.C {
				t.Errorf("%s layer %d: geometry %+v, parameters %v and %v", a.Name, i, l, w, b)
			}
		}
		for _, summed := range []bool{true, false} {
			for i, m := range Choose(a, summed) {
				l := ls[i]
				other := Materialise
				if m == Materialise {
					other = Ghost
				}
				if l.Cost(m, summed) > l.Cost(other, summed) {
					t.Errorf("%s layer %d (summed %v): chose %v at cost %g over %v at %g", a.Name, i, summed, m, l.Cost(m, summed), other, l.Cost(other, summed))
				}
				if l.T == 1 && m != Ghost {
					t.Errorf("%s dense layer %d: %v, want the ghost norm", a.Name, i, m)
				}
			}
		}
	}
	if got := MethodsString(Choose(cnn, true)); got != "M M M M M M M M M G" {
		t.Errorf("paper CNN with the summed gradient: %s", got)
	}
	if got := MethodsString(Choose(cnn, false)); got != "M M M M M M G G G G" {
		t.Errorf("paper CNN, Jacobian: %s", got)
	}
}

// Bad options and inputs give one-line errors, never a panic or a partial result.
func TestEvaluatorBadInput(t *testing.T) {
	be, _ := backend.New()
	f := ghostFixtures(t)[1]
	a := f.arch
	nl := len(Layers(a))
	for _, c := range []struct {
		name string
		o    Options
		loss string
		want string
	}{
		{"negative chunk", Options{Chunk: -1}, model.MSE, "negative"},
		{"methods per layer", Options{Methods: []Method{Ghost}}, model.MSE, "one per layer"},
		{"unknown method", Options{Methods: append(make([]Method, nl-1), Method(7))}, model.MSE, "unknown method"},
		{"Jacobian methods per layer", Options{JacobianMethods: make([]Method, nl+1)}, model.MSE, "one per layer"},
		{"unknown loss", Options{}, "hinge", "unknown loss"},
		{"chunk beyond memory", Options{Chunk: 1 << 40}, model.MSE, "lower the chunk"},
	} {
		_, err := NewEvaluatorWith(be, a, c.loss, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line with %q", c.name, err, c.want)
		}
	}
	ev, err := NewEvaluatorWith(be, a, model.MSE, Options{})
	if err != nil {
		t.Fatal(err)
	}
	nan := a.Init(1)
	tensors.MustMutableFlatData(nan[0], func(v []float32) { v[0] = float32(math.NaN()) })
	huge := a.Init(1)
	for _, p := range huge {
		tensors.MustMutableFlatData(p, func(v []float32) {
			for i := range v {
				v[i] *= 1e12
			}
		})
	}
	for _, c := range []struct {
		name   string
		params []*tensors.Tensor
		x, y   []float32
		n      int
		want   string
	}{
		{"no samples", f.params, nil, nil, 0, "at least one sample"},
		{"short data", f.params, f.x[:5], f.y, f.n, "inputs"},
		{"parameter count", f.params[:2], f.x, f.y, f.n, "parameter tensors"},
		{"NaN parameter", nan, f.x, f.y, f.n, "not finite"},
		{"exploded parameters", huge, f.x, f.y, f.n, "not finite"},
	} {
		_, err := ev.Stats(c.params, c.x, c.y, c.n)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line with %q", c.name, err, c.want)
		}
	}
}

// Chunk sizing: the budget comes from the device's free memory, a
// per-sample size beyond it is a one-line error, and out-of-memory errors
// are recognised.
func TestChunkSizing(t *testing.T) {
	be, _ := backend.New()
	cnn, _ := model.CNN(32, 32, 3, []int{64, 128, 256}, 3, 10)
	b, where := budget(be)
	if m, ok := backend.FreeMemory(be); ok {
		if b > chunkFraction*m.Free*(1+1e-9) || b <= 0 || where == "" {
			t.Errorf("budget %v (%s) for %v free", b, where, m.Free)
		}
	}
	c, err := ChunkSizeOn(be, cnn, 2048)
	if err != nil {
		t.Fatal(err)
	}
	per := SampleBytes(cnn, nil)
	if want := max(1, min(2048, int(b/per))); c != want {
		t.Errorf("paper CNN: chunk %d, budget %v / %v per sample = %d", c, b, per, want)
	}
	if per < 4*float64(cnn.InputSize()) {
		t.Errorf("a sample of the paper CNN takes %v bytes: less than its input", per)
	}
	if _, err := chunkFor(be, cnn, 2048, 1e30); err == nil || !strings.Contains(err.Error(), "one sample") {
		t.Errorf("a sample beyond memory: %v", err)
	}
	if _, err := chunkFor(be, cnn, 0, per); err == nil {
		t.Error("limit 0 accepted")
	}
	if err := CheckChunk(be, cnn, 10, per); b > 10*per && err != nil {
		t.Errorf("10 samples of the paper CNN (%v bytes) refused with a budget of %v: %v", 10*per, b, err)
	}
	for _, c := range []struct {
		err error
		oom bool
	}{
		{errors.New("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 1.2GiB"), true},
		{errors.New("failed to execute: out of memory"), true},
		{errors.New("INVALID_ARGUMENT: shape mismatch"), false},
		{nil, false},
	} {
		if OutOfMemory(c.err) != c.oom {
			t.Errorf("OutOfMemory(%v) = %v", c.err, !c.oom)
		}
	}
	// Running out of device memory halves an automatic chunk and retries; a chunk the
	// caller fixed, or a single sample, ends in a one-line error.
	oom := errors.New("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 9.5GiB\ndetails")
	ev := &Evaluator{be: be, arch: cnn, chunk: 64}
	if retry, err := ev.shrink(oom, 64); !retry || err != nil || ev.chunk != 32 {
		t.Errorf("automatic chunk of 64 out of memory: retry %v, err %v, chunk now %d (want a retry with 32)", retry, err, ev.chunk)
	}
	if retry, err := ev.shrink(errors.New("INVALID_ARGUMENT: bad"), 32); retry || err == nil || ev.chunk != 32 {
		t.Errorf("another error: retry %v, err %v, chunk %d", retry, err, ev.chunk)
	}
	if retry, err := ev.shrink(oom, 1); retry || err == nil || !strings.Contains(err.Error(), "one sample") {
		t.Errorf("one sample out of memory: retry %v, err %v", retry, err)
	}
	fixed := &Evaluator{be: be, arch: cnn, chunk: 64, fixed: true}
	if retry, err := fixed.shrink(oom, 64); retry || err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("fixed chunk out of memory: retry %v, err %v (want one line)", retry, err)
	}
	msg := chunkError(be, cnn, 64, errors.New("RESOURCE_EXHAUSTED: Out of memory\nmore detail")).Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "lower the chunk") {
		t.Errorf("chunk error %q: want one line saying what to do", msg)
	}
}
