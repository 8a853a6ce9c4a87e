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
