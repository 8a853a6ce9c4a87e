package model

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/sgdescape/sgdescape/pkg/backend"
)

func TestParamCounts(t *testing.T) {
	mlp, _ := MLP(784, []int{100, 100}, 1)
	if got := mlp.NumParams(); got != 88701 {
		t.Errorf("784-100-100-1 has %d parameters, want 88701", got)
	}
	small, _ := MLP(784, []int{10}, 1)
	if got := small.NumParams(); got != 7861 {
		t.Errorf("784-10-1 has %d parameters, want 7861 (the paper's count)", got)
	}
	cnn, err := CNN(32, 32, 3, []int{64, 128, 256}, 3, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	prev := 3
	for _, ch := range []int{64, 128, 256} {
		for i := 0; i < 3; i++ {
			want += 9*prev*ch + ch
			prev = ch
		}
	}
	want += 4*4*256*10 + 10
	if got := cnn.NumParams(); got != want {
		t.Errorf("paper CNN has %d parameters, want %d", got, want)
	}
	for _, bad := range []func() error{
		func() error { _, err := MLP(0, nil, 1); return err },
		func() error { _, err := MLP(4, []int{3, 0}, 1); return err },
		func() error { _, err := CNN(30, 30, 3, []int{8, 8}, 1, 10); return err }, // 15×15 cannot be pooled
		func() error { _, err := CNN(32, 32, 3, nil, 1, 10); return err },
	} {
		if bad() == nil {
			t.Error("bad architecture accepted")
		}
	}
}

func TestGlorotInit(t *testing.T) {
	a, _ := MLP(50, []int{30}, 2)
	ps := a.Init(3)
	w := tensors.MustCopyFlatData[float32](ps[0])
	lim := float32(math.Sqrt(6.0 / 80))
	var sum2 float64
	for _, v := range w {
		if v < -lim || v > lim {
			t.Fatalf("weight %v outside ±%v", v, lim)
		}
		sum2 += float64(v * v)
	}
	// Var of U(−a, a) is a²/3 = 2/(fan_in+fan_out).
	if v := sum2 / float64(len(w)); math.Abs(v/(2.0/80)-1) > 0.1 {
		t.Errorf("weight variance %v, want %v", v, 2.0/80)
	}
	for _, b := range tensors.MustCopyFlatData[float32](ps[1]) {
		if b != 0 {
			t.Fatal("bias not zero")
		}
	}
	again := tensors.MustCopyFlatData[float32](a.Init(3)[0])
	if again[7] != w[7] {
		t.Error("init not deterministic")
	}
}

// reference computes the network with plain loops.
func reference(a Arch, ps [][]float32, x []float32) []float32 {
	type fm struct {
		h, w, c int
		v       []float32
	}
	cur := fm{1, 1, len(x), x}
	if len(a.Input) == 3 {
		cur = fm{a.Input[0], a.Input[1], a.Input[2], x}
	}
	pi := 0
	for _, l := range a.Layers {
		switch l.Kind {
		case KindDense:
			w, b := ps[pi], ps[pi+1]
			pi += 2
			out := make([]float32, l.Out)
			for o := 0; o < l.Out; o++ {
				s := b[o]
				for i := 0; i < l.In; i++ {
					s += cur.v[i] * w[i*l.Out+o]
				}
				out[o] = s
			}
			cur = fm{1, 1, l.Out, out}
		case KindConv3:
			w, b := ps[pi], ps[pi+1]
			pi += 2
			out := make([]float32, cur.h*cur.w*l.Out)
			for y := 0; y < cur.h; y++ {
				for xx := 0; xx < cur.w; xx++ {
					for o := 0; o < l.Out; o++ {
						s := b[o]
						for dy := 0; dy < 3; dy++ {
							for dx := 0; dx < 3; dx++ {
								yy, xs := y+dy-1, xx+dx-1
								if yy < 0 || yy >= cur.h || xs < 0 || xs >= cur.w {
									continue
								}
								for c := 0; c < cur.c; c++ {
									k := (dy*3+dx)*cur.c + c
									s += cur.v[(yy*cur.w+xs)*cur.c+c] * w[k*l.Out+o]
								}
							}
						}
						out[(y*cur.w+xx)*l.Out+o] = s
					}
				}
			}
			cur = fm{cur.h, cur.w, l.Out, out}
		case KindReLU:
			for i, v := range cur.v {
				if v < 0 {
					cur.v[i] = 0
				}
			}
		case KindMaxPool:
			out := make([]float32, cur.h/2*cur.w/2*cur.c)
			for y := 0; y < cur.h/2; y++ {
				for xx := 0; xx < cur.w/2; xx++ {
					for c := 0; c < cur.c; c++ {
						m := float32(math.Inf(-1))
						for dy := 0; dy < 2; dy++ {
							for dx := 0; dx < 2; dx++ {
								m = max(m, cur.v[((2*y+dy)*cur.w+2*xx+dx)*cur.c+c])
							}
						}
						out[(y*cur.w/2+xx)*cur.c+c] = m
					}
				}
			}
			cur = fm{cur.h / 2, cur.w / 2, cur.c, out}
		case KindFlatten:
			cur = fm{1, 1, len(cur.v), cur.v}
		}
	}
	return cur.v
}

func TestForwardMatchesLoops(t *testing.T) {
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	mlp, _ := MLP(6, []int{5, 4}, 3)
	cnn, _ := CNN(4, 4, 2, []int{3, 2}, 2, 3)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, a := range []Arch{mlp, cnn} {
		ps := a.Init(7)
		var host [][]float32
		for _, p := range ps {
			v := tensors.MustCopyFlatData[float32](p)
			for i := range v {
				v[i] += float32(0.1 * rng.NormFloat64()) // non-zero biases too
			}
			host = append(host, v)
			tensors.MustMutableFlatData(p, func(flat []float32) { copy(flat, v) })
		}
		const n = 3
		x := make([]float32, n*a.InputSize())
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		exec, err := NewExec(be, func(in []*Node) []*Node {
			out, taps, err := a.ForwardIm2col(in[:len(in)-1], in[len(in)-1])
			if err != nil {
				panic(err)
			}
			fast, err := a.ApplyNative(in[:len(in)-1], in[len(in)-1])
			if err != nil {
				panic(err)
			}
			def, dtaps, err := a.Forward(in[:len(in)-1], in[len(in)-1])
			if err != nil {
				panic(err)
			}
			// Forward's taps (native convolution where the backend has it) equal im2col's.
			return []*Node{out, taps[0].A, fast, def, dtaps[0].A, taps[0].U, dtaps[0].U}
		})
		if err != nil {
			t.Fatal(err)
		}
		args := make([]any, 0, len(ps)+1)
		for _, p := range ps {
			args = append(args, p)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(x, n, a.InputSize()))
		res, err := exec.Exec(args...)
		if err != nil {
			t.Fatal(err)
		}
		got := tensors.MustCopyFlatData[float32](res[0])
		fast := tensors.MustCopyFlatData[float32](res[2])
		for i := range got {
			if d := math.Abs(float64(got[i] - fast[i])); d > 1e-4*(1+math.Abs(float64(got[i]))) {
				t.Fatalf("%s: Apply (backend convolution) %v differs from Forward (im2col) %v", a.Name, fast[i], got[i])
			}
		}
		for _, pair := range [][2]int{{0, 3}, {1, 4}, {5, 6}} {
			u, v := tensors.MustCopyFlatData[float32](res[pair[0]]), tensors.MustCopyFlatData[float32](res[pair[1]])
			for i := range u {
				if d := math.Abs(float64(u[i] - v[i])); d > 1e-4*(1+math.Abs(float64(u[i]))) {
					t.Fatalf("%s: Forward output %d element %d: %v, im2col %v", a.Name, pair[1], i, v[i], u[i])
				}
			}
		}
		for s := 0; s < n; s++ {
			want := reference(a, host, append([]float32(nil), x[s*a.InputSize():(s+1)*a.InputSize()]...))
			for k := range want {
				if d := math.Abs(float64(got[s*a.Outputs+k] - want[k])); d > 1e-4*(1+math.Abs(float64(want[k]))) {
					t.Fatalf("%s sample %d output %d: graph %v, loops %v", a.Name, s, k, got[s*a.Outputs+k], want[k])
				}
			}
		}
	}
}

// conv3x3's gradients (the kernel's from an im2col product, x's from XLA)
// against GoMLX's own gradient of the same convolution and a central
// difference of one kernel entry; its second derivatives (Hessian-vector
// products) against the im2col convolution; on the backend's native
// convolution.
func TestConv3x3GradientMatchesGoMLX(t *testing.T) {
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	if !NativeConv(be) {
		t.Skip("the backend has no differentiable convolution op (conv3x3 is used only where it has)")
	}
	const n, H, W, C, O = 3, 6, 5, 4, 7
	r := rand.New(rand.NewPCG(3, 4))
	rnd := func(k int) []float32 {
		v := make([]float32, k)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	xs, ks, ws := rnd(n*H*W*C), rnd(9*C*O), rnd(n*H*W*O)
	X := tensors.FromFlatDataAndDimensions(xs, n, H, W, C)
	K := tensors.FromFlatDataAndDimensions(ks, 3, 3, C, O)
	Wt := tensors.FromFlatDataAndDimensions(ws, n, H, W, O)
	grads := func(conv func(x, k *Node) *Node) (loss float32, gx, gk []float32) {
		exec, err := NewExec(be, func(x, k, w *Node) []*Node {
			s := ReduceAllSum(Mul(conv(x, k), w))
			g := Gradient(s, x, k)
			return []*Node{s, g[0], g[1]}
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec(X, K, Wt)
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float32](out[0])[0], tensors.MustCopyFlatData[float32](out[1]), tensors.MustCopyFlatData[float32](out[2])
	}
	l1, gx1, gk1 := grads(conv3x3)
	l2, gx2, gk2 := grads(func(x, k *Node) *Node { return Convolve(x, k).Strides(1).PadSame().Done() })
	if math.Abs(float64(l1-l2)) > 1e-5*math.Abs(float64(l2)) {
		t.Fatalf("values differ: %v vs %v", l1, l2)
	}
	for _, c := range []struct {
		name string
		a, b []float32
	}{{"∂/∂x", gx1, gx2}, {"∂/∂K", gk1, gk2}} {
		for i := range c.a {
			if d := math.Abs(float64(c.a[i] - c.b[i])); d > 1e-4*(1+math.Abs(float64(c.b[i]))) {
				t.Fatalf("%s[%d]: conv3x3 %v, GoMLX %v", c.name, i, c.a[i], c.b[i])
			}
		}
	}
	// Second order (as pkg/hessian's Hessian-vector products): the gradient of
	// ⟨∂L/∂K, V⟩ for a loss quadratic in the output, with respect to x and K.
	hvp := func(conv func(x, k *Node) *Node) (hx, hk []float32) {
		exec, err := NewExec(be, func(x, k, w, v *Node) []*Node {
			c := Mul(conv(x, k), w)
			l := ReduceAllSum(Mul(c, c))
			gk := Gradient(l, k)[0]
			g := Gradient(ReduceAllSum(Mul(gk, v)), x, k)
			return []*Node{g[0], g[1]}
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec(X, K, Wt, tensors.FromFlatDataAndDimensions(rnd(9*C*O), 3, 3, C, O))
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
	}
	r = rand.New(rand.NewPCG(5, 6))
	hx1, hk1 := hvp(conv3x3)
	// GoMLX cannot differentiate its convolution's kernel gradient again (its
	// second-order VJP fails on the swapped axes), so the reference here is
	// the im2col convolution of SimpleGo.
	r = rand.New(rand.NewPCG(5, 6))
	hx2, hk2 := hvp(func(x, k *Node) *Node {
		return DotGeneral(im2col3(x), []int{3}, nil, Reshape(k, 9*C, O), []int{0}, nil)
	})
	for _, c := range []struct {
		name string
		a, b []float32
	}{{"∂²/∂x∂K·V", hx1, hx2}, {"∂²/∂K²·V", hk1, hk2}} {
		scale := 0.0
		for _, v := range c.b {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for i := range c.a {
			if d := math.Abs(float64(c.a[i] - c.b[i])); d > 1e-4*scale {
				t.Fatalf("%s[%d]: conv3x3 %v, im2col %v", c.name, i, c.a[i], c.b[i])
			}
		}
	}
	// The loss is linear in K: a central difference of one entry is its gradient exactly (up to float32 rounding).
	i := 5*C*O + 2*O + 3 // dy = 1, dx = 2, c = 2, o = 3
	lossAt := func(delta float32) float64 {
		k2 := append([]float32(nil), ks...)
		k2[i] += delta
		exec, _ := NewExec(be, func(x, k, w *Node) *Node { return ReduceAllSum(Mul(conv3x3(x, k), w)) })
		out, err := exec.Exec(X, tensors.FromFlatDataAndDimensions(k2, 3, 3, C, O), Wt)
		if err != nil {
			t.Fatal(err)
		}
		return float64(tensors.MustCopyFlatData[float32](out[0])[0])
	}
	fd := (lossAt(0.5) - lossAt(-0.5)) / 1.0
	if math.Abs(fd-float64(gk1[i])) > 1e-3*(1+math.Abs(fd)) {
		t.Fatalf("∂/∂K[%d]: conv3x3 %v, central difference %v", i, gk1[i], fd)
	}
}

// Patches times the kernel equals GoMLX's own convolution for windows with
// strides, asymmetric padding, dilations and non-square kernels; and
// im2col3 is Patches with the 3×3 "same" window.
func TestPatchesMatchConvolution(t *testing.T) {
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	const n, H, W, C, O = 2, 9, 8, 3, 4
	r := rand.New(rand.NewPCG(8, 9))
	rnd := func(k int) []float32 {
		v := make([]float32, k)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	X := tensors.FromFlatDataAndDimensions(rnd(n*H*W*C), n, H, W, C)
	for _, w := range []Window{
		{KH: 3, KW: 3, SH: 1, SW: 1, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1},
		{KH: 5, KW: 5},
		{KH: 3, KW: 3, SH: 2, SW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1},
		{KH: 2, KW: 3, SH: 1, SW: 2, PadTop: 0, PadBottom: 1, PadLeft: 2, PadRight: 0},
		{KH: 3, KW: 2, DH: 2, DW: 3, PadTop: 1, PadBottom: 2},
	} {
		ho, wo, err := w.OutSize(H, W)
		if err != nil {
			t.Fatal(err)
		}
		K := tensors.FromFlatDataAndDimensions(rnd(w.KH*w.KW*C*O), w.KH, w.KW, C, O)
		exec, err := NewExec(be, func(x, k *Node) []*Node {
			mine := DotGeneral(Reshape(Patches(x, w), n*ho*wo, w.KH*w.KW*C), []int{1}, nil, Reshape(k, w.KH*w.KW*C, O), []int{0}, nil)
			theirs := Convolve(x, k).StridePerAxis(one(w.SH), one(w.SW)).DilationPerAxis(one(w.DH), one(w.DW)).
				PaddingPerDim([][2]int{{w.PadTop, w.PadBottom}, {w.PadLeft, w.PadRight}}).Done()
			return []*Node{Reshape(mine, n, ho, wo, O), theirs, Patches(x, w), PatchesMasked(x, w)}
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec(X, K)
		if err != nil {
			t.Fatalf("%+v: %v", w, err)
		}
		a, b := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
		if len(a) != len(b) {
			t.Fatalf("%+v: %d values from Patches, %d from Convolve (%s)", w, len(a), len(b), out[1].Shape())
		}
		for i := range a {
			if math.Abs(float64(a[i]-b[i])) > 1e-4*(1+math.Abs(float64(b[i]))) {
				t.Fatalf("%+v: value %d: Patches %v, Convolve %v", w, i, a[i], b[i])
			}
		}
		p, pm := tensors.MustCopyFlatData[float32](out[2]), tensors.MustCopyFlatData[float32](out[3])
		for i := range p {
			if p[i] != pm[i] {
				t.Fatalf("%+v: patch value %d: Patches %v, PatchesMasked %v", w, i, p[i], pm[i])
			}
		}
	}
	if _, _, err := (Window{KH: 9, KW: 1}).OutSize(5, 5); err == nil {
		t.Error("a window larger than the map was accepted")
	}
}

// PatchesMasked is differentiable twice on every backend: the gradient of
// ⟨∇_K L, V⟩ for a two-layer convolutional loss (so that the backward pass
// goes through the second layer's patches of the first layer's output)
// matches central finite differences of ∇_K L.
func TestPatchesMaskedSecondOrder(t *testing.T) {
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	w := Window{KH: 3, KW: 3, SH: 2, SW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 0}
	const n, H, W, C = 2, 6, 5, 2
	r := rand.New(rand.NewPCG(4, 4))
	rnd := func(k int) []float64 {
		v := make([]float64, k)
		for i := range v {
			v[i] = r.NormFloat64()
		}
		return v
	}
	X := tensors.FromFlatDataAndDimensions(rnd(n*H*W*C), n, H, W, C)
	k1 := rnd(9 * C * 3)
	K2 := tensors.FromFlatDataAndDimensions(rnd(9*3*2), 9*3, 2)
	V := rnd(len(k1))
	conv := func(x, k *Node, cin int) *Node {
		d := x.Shape().Dimensions
		ho, wo, _ := w.OutSize(d[1], d[2])
		p := Reshape(PatchesMasked(x, w), d[0], ho, wo, 9*cin)
		return DotGeneral(p, []int{3}, nil, k, []int{0}, nil)
	}
	loss := func(x, k1, k2 *Node) *Node {
		h := Tanh(conv(x, k1, C))
		o := conv(h, k2, 3)
		return ReduceAllSum(Mul(o, o))
	}
	grad, err := NewExec(be, func(x, k1, k2 *Node) *Node { return Gradient(loss(x, k1, k2), k1)[0] })
	if err != nil {
		t.Fatal(err)
	}
	hvp, err := NewExec(be, func(x, k1, k2, v *Node) *Node {
		g := Gradient(loss(x, k1, k2), k1)[0]
		return Gradient(ReduceAllSum(Mul(g, v)), k1)[0]
	})
	if err != nil {
		t.Fatal(err)
	}
	kt := func(v []float64) *tensors.Tensor { return tensors.FromFlatDataAndDimensions(v, 9*C, 3) }
	out, err := hvp.Exec(X, kt(k1), K2, kt(V))
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[float64](out[0])
	const eps = 1e-5
	plus, minus := make([]float64, len(k1)), make([]float64, len(k1))
	for i := range k1 {
		plus[i], minus[i] = k1[i]+eps*V[i], k1[i]-eps*V[i]
	}
	gp, err := grad.Exec(X, kt(plus), K2)
	if err != nil {
		t.Fatal(err)
	}
	gm, _ := grad.Exec(X, kt(minus), K2)
	a, b := tensors.MustCopyFlatData[float64](gp[0]), tensors.MustCopyFlatData[float64](gm[0])
	for i := range got {
		fd := (a[i] - b[i]) / (2 * eps)
		if math.Abs(fd-got[i]) > 1e-5*(1+math.Abs(fd)) {
			t.Fatalf("H·v[%d] = %v, finite differences %v", i, got[i], fd)
		}
	}
}

// MaxPoolWindow equals the maximum over the taps of Patches with the padding
// below every value (with and without padding), and
// its Hessian-vector products match finite differences on every backend.
func TestMaxPoolWindow(t *testing.T) {
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	const n, H, W, C = 2, 7, 6, 3
	r := rand.New(rand.NewPCG(9, 9))
	xs := make([]float64, n*H*W*C)
	for i := range xs {
		xs[i] = r.NormFloat64() - 2 // mostly negative: padding must not win
	}
	X := tensors.FromFlatDataAndDimensions(xs, n, H, W, C)
	for _, w := range []Window{{KH: 2, KW: 2, SH: 2, SW: 2}, {KH: 3, KW: 2, SH: 2, SW: 1, PadTop: 1, PadBottom: 1, PadLeft: 0, PadRight: 1}} {
		exec, err := NewExec(be, func(x *Node) []*Node {
			mine := MaxPoolWindow(x, w)
			// Reference without GoMLX's pooling op: the maximum over the taps of Patches with padding at −∞.
			pad := padZeros(Add(x, Const(x.Graph(), 1e6)), w.PadTop, w.PadBottom, w.PadLeft, w.PadRight)
			d := mine.Shape().Dimensions
			ref := Sub(ReduceMax(Reshape(Patches(pad, Window{KH: w.KH, KW: w.KW, SH: w.SH, SW: w.SW}), n, d[1], d[2], w.KH*w.KW, C), 3), Const(x.Graph(), 1e6))
			return []*Node{mine, ref}
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec(X)
		if err != nil {
			t.Fatal(err)
		}
		a, b := tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])
		if len(a) != len(b) {
			t.Fatalf("%+v: %d values, reference %d", w, len(a), len(b))
		}
		for i := range a {
			if math.Abs(a[i]-b[i]) > 1e-9 {
				t.Fatalf("%+v: value %d: %v, reference %v", w, i, a[i], b[i])
			}
		}
		// Second order: H·v of Σ tanh(pool(x))² against finite differences of the gradient.
		loss := func(x *Node) *Node { p := Tanh(MaxPoolWindow(x, w)); return ReduceAllSum(Mul(p, p)) }
		grad, _ := NewExec(be, func(x *Node) *Node { return Gradient(loss(x), x)[0] })
		hvp, _ := NewExec(be, func(x, v *Node) *Node {
			return Gradient(ReduceAllSum(Mul(Gradient(loss(x), x)[0], v)), x)[0]
		})
		vs := make([]float64, len(xs))
		for i := range vs {
			vs[i] = r.NormFloat64()
		}
		V := tensors.FromFlatDataAndDimensions(vs, n, H, W, C)
		hv, err := hvp.Exec(X, V)
		if err != nil {
			t.Fatalf("%+v: Hessian-vector product: %v", w, err)
		}
		const eps = 1e-6
		shift := func(s float64) *tensors.Tensor {
			v := make([]float64, len(xs))
			for i := range v {
				v[i] = xs[i] + s*eps*vs[i]
			}
			return tensors.FromFlatDataAndDimensions(v, n, H, W, C)
		}
		gp, _ := grad.Exec(shift(1))
		gm, _ := grad.Exec(shift(-1))
		got, p1, m1 := tensors.MustCopyFlatData[float64](hv[0]), tensors.MustCopyFlatData[float64](gp[0]), tensors.MustCopyFlatData[float64](gm[0])
		for i := range got {
			if fd := (p1[i] - m1[i]) / (2 * eps); math.Abs(fd-got[i]) > 1e-5*(1+math.Abs(fd)) {
				t.Fatalf("%+v: H·v[%d] = %v, finite differences %v", w, i, got[i], fd)
			}
		}
	}
}

// MaxPoolWindow passes the gradient of a tied window to its first maximal
// tap only (as PyTorch), not to every tied tap.
func TestMaxPoolWindowTies(t *testing.T) {
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	exec, err := NewExec(be, func(x *Node) *Node {
		return Gradient(ReduceAllSum(MaxPoolWindow(x, Window{KH: 2, KW: 2, SH: 2, SW: 2})), x)[0]
	})
	if err != nil {
		t.Fatal(err)
	}
	x := []float32{
		1, 1, 2, 0,
		1, 1, 2, 2,
		0, 3, 5, 1,
		3, 3, 1, 4,
	}
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, 1, 4, 4, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{
		1, 0, 1, 0,
		0, 0, 0, 0,
		0, 1, 1, 0,
		0, 0, 0, 0,
	}
	got := tensors.MustCopyFlatData[float32](out[0])
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("gradient %v, want %v", got, want)
		}
	}
}

// The nine windows of Windows, concatenated along the channels, are the
// im2col patches U of the taps (and their transpose with channelsFirst),
// and every entry is the pixel at its offset, or zero outside the image.
func TestWindowsAreIm2col(t *testing.T) {
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	const n, H, W, C = 2, 4, 5, 3
	x := make([]float32, n*H*W*C)
	for i := range x {
		x[i] = float32(i%17) - 8
	}
	exec, err := NewExec(be, func(xx *Node) []*Node {
		u := Reshape(im2col3(xx), n, H*W, 9*C)
		return []*Node{u, Concatenate(Windows(xx, false), 2), Concatenate(Windows(xx, true), 1)}
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, n, H, W, C))
	if err != nil {
		t.Fatal(err)
	}
	u := tensors.MustCopyFlatData[float32](res[0])
	last := tensors.MustCopyFlatData[float32](res[1])
	first := tensors.MustCopyFlatData[float32](res[2])
	for s := 0; s < n; s++ {
		for i := 0; i < H; i++ {
			for j := 0; j < W; j++ {
				p := i*W + j
				for o := 0; o < 9; o++ {
					dy, dx := o/3, o%3
					for c := 0; c < C; c++ {
						want := float32(0)
						if y, xx := i+dy-1, j+dx-1; y >= 0 && y < H && xx >= 0 && xx < W {
							want = x[((s*H+y)*W+xx)*C+c]
						}
						k := o*C + c
						got := []float32{u[(s*H*W+p)*9*C+k], last[(s*H*W+p)*9*C+k], first[(s*9*C+k)*H*W+p]}
						for v, g := range got {
							if g != want {
								t.Fatalf("sample %d position (%d,%d) offset (%d,%d) channel %d: form %d gives %v, want %v", s, i, j, dy, dx, c, v, g, want)
							}
						}
					}
				}
			}
		}
	}
}
