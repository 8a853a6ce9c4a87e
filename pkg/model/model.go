// Package model defines the networks of the paper as GoMLX graphs: MLPs of
// any widths and the convolutional network of section 5.2 (3×conv64, pool,
// 3×conv128, pool, 3×conv256, pool, dense), ReLU activations, no output
// activation, Glorot-uniform initialisation, zero biases; and the losses:
// the mean-square loss with the paper's ½ (Eq. 1) and softmax
// cross-entropy (appendix D).
//
// A model knows its parameter shapes and its forward graph f(θ, x), nothing
// about training. Forward also returns, for every parametric layer l, its
// input in "patch" form U_l ([n, positions, k]) and its pre-activation
// A_l = U_l·W_l + b_l ([n, positions, c]): per-sample gradients are then
// ∇_{W_l}ℓ_μ = Σ_p U_l[μ,p]ᵀ δ_l[μ,p] with δ_l = ∂(Σ_μ ℓ_μ)/∂A_l, which is how
// pkg/noise gets per-sample quantities without a per-sample backward pass
// (for convolutions from the nine shifted windows of the layer's input
// image, Tap.X and Windows, whose concatenation is U).
// Convolutions (3×3, stride 1, "same" padding) are XLA's own convolution op
// where the backend supports it (with its gradient, except that from 64
// output channels the kernel's gradient is an im2col matrix product: see
// conv3x3), and im2col plus a matrix product on SimpleGo; the taps' U is
// im2col patches either way.
package model

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph-building code reads best with dot import
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/rng"
)

// Kind of a layer.
type Kind string

// Layer kinds.
const (
	KindDense   Kind = "dense"   // U·W + b on the flattened features
	KindConv3   Kind = "conv3x3" // 3×3 convolution, stride 1, same padding
	KindReLU    Kind = "relu"
	KindMaxPool Kind = "maxpool2" // 2×2 max pooling, stride 2
	KindFlatten Kind = "flatten"
)

// Layer is one step of the network.
type Layer struct {
	Kind Kind `json:"kind"`
	In   int  `json:"in,omitempty"`  // input features (dense) or channels (conv)
	Out  int  `json:"out,omitempty"` // output features or channels
}

// Arch is a network architecture: the project's own (Layers) or one given
// by its own graph (Net, an imported network).
type Arch struct {
	Name    string  `json:"name"`
	Input   []int   `json:"input"` // per-sample input shape: [D] (MLP) or [H, W, C] (CNN); for a Net, its own per-sample shape
	Layers  []Layer `json:"layers"`
	Outputs int     `json:"outputs"`
	// Net, when set, replaces Layers: Params, Forward and Apply delegate to
	// it (an imported network, see pkg/onnxmodel). Layers is then empty.
	Net Network `json:"-"`
}

// Network is a network that builds its own graph instead of being a list of
// Layers (an imported ONNX model). It keeps the contract every consumer of
// Arch relies on (pkg/noise, pkg/hessian, pkg/train): the parameters are
// pairs (weight [k, c], bias [c]), one pair per Tap and in Tap order, and
// the pre-activation of tap l is A_l = U_l·W_l + b_l, so that per-sample
// gradients are Σ_p U_l[μ,p]ᵀ δ_l[μ,p] (weight, flattened row-major) and
// Σ_p δ_l[μ,p] (bias).
type Network interface {
	// Params lists the parameter tensors, (weight, bias) per tap.
	Params() []Param
	// Forward builds f(θ, x) for x [n, InputSize] in the dtype of the
	// parameters, returning the outputs [n, Outputs] and one Tap per pair.
	Forward(params []*Node, x *Node) (*Node, []Tap, error)
	// FloatsPerSample estimates the values one sample holds in the largest
	// intermediate buffers of a per-sample gradient graph (for chunk sizes).
	FloatsPerSample() int
	// DenseOnly reports whether every tap has a single position (no
	// convolution or shared weights), the condition of the N×N Gram route.
	DenseOnly() bool
	// TapShapes gives, per tap in order, its positions per sample and the
	// weight's rows and columns (T, k, c of U [n, T, k] and A [n, T, c]),
	// from which pkg/noise chooses how to take each layer's per-sample norms.
	TapShapes() []TapShape
}

// TapShape is the size of one tap: T positions per sample, K inputs and C
// outputs per position.
type TapShape struct{ T, K, C int }

// DenseOnly reports whether every parametric layer is dense (one position
// per sample): the condition of the Gram routes of pkg/noise and pkg/hessian.
func (a Arch) DenseOnly() bool {
	if a.Net != nil {
		return a.Net.DenseOnly()
	}
	for _, l := range a.Layers {
		if l.Kind == KindConv3 {
			return false
		}
	}
	return true
}

// MLP returns in → widths… → out with ReLU after every hidden layer and no
// output activation.
func MLP(in int, widths []int, out int) (Arch, error) {
	if in < 1 || out < 1 {
		return Arch{}, fmt.Errorf("model: MLP needs positive input and output sizes, got %d and %d", in, out)
	}
	a := Arch{Input: []int{in}, Outputs: out}
	prev := in
	var name []string
	name = append(name, fmt.Sprint(in))
	for _, w := range widths {
		if w < 1 {
			return Arch{}, fmt.Errorf("model: hidden width %d must be positive (widths %v)", w, widths)
		}
		a.Layers = append(a.Layers, Layer{Kind: KindDense, In: prev, Out: w}, Layer{Kind: KindReLU})
		prev = w
		name = append(name, fmt.Sprint(w))
	}
	a.Layers = append(a.Layers, Layer{Kind: KindDense, In: prev, Out: out})
	a.Name = "mlp-" + strings.Join(append(name, fmt.Sprint(out)), "-")
	return a, nil
}

// CNN returns the convolutional network of section 5.2 for h×w×c images:
// for each entry of channels, convsPerStack 3×3 convolutions with ReLU, then
// a 2×2 max pool; then a dense layer to out outputs. The paper's network is
// CNN(32, 32, 3, []int{64, 128, 256}, 3, 10).
func CNN(h, w, c int, channels []int, convsPerStack, out int) (Arch, error) {
	if h < 1 || w < 1 || c < 1 || out < 1 || convsPerStack < 1 || len(channels) == 0 {
		return Arch{}, fmt.Errorf("model: CNN needs a positive image shape, outputs, convolutions per stack and at least one stack")
	}
	a := Arch{Input: []int{h, w, c}, Outputs: out}
	prev := c
	for _, ch := range channels {
		if ch < 1 {
			return Arch{}, fmt.Errorf("model: channel count %d must be positive (channels %v)", ch, channels)
		}
		if h%2 != 0 || w%2 != 0 {
			return Arch{}, fmt.Errorf("model: a %d×%d feature map cannot be max-pooled 2×2; use an image size divisible by 2^%d", h, w, len(channels))
		}
		for i := 0; i < convsPerStack; i++ {
			a.Layers = append(a.Layers, Layer{Kind: KindConv3, In: prev, Out: ch}, Layer{Kind: KindReLU})
			prev = ch
		}
		a.Layers = append(a.Layers, Layer{Kind: KindMaxPool})
		h, w = h/2, w/2
	}
	a.Layers = append(a.Layers, Layer{Kind: KindFlatten}, Layer{Kind: KindDense, In: h * w * prev, Out: out})
	parts := make([]string, len(channels))
	for i, ch := range channels {
		parts[i] = fmt.Sprint(ch)
	}
	a.Name = fmt.Sprintf("cnn-%dx%dx%d-%s-x%d-%d", a.Input[0], a.Input[1], c, strings.Join(parts, "-"), convsPerStack, out)
	return a, nil
}

// InputSize is the number of input values per sample.
func (a Arch) InputSize() int {
	n := 1
	for _, d := range a.Input {
		n *= d
	}
	return n
}

// Param describes one parameter tensor.
type Param struct {
	Layer  int   // index in Layers
	Shape  []int // [k, c] for weights, [c] for biases
	Bias   bool
	FanIn  int
	FanOut int
}

// Params lists the parameter tensors in order: for every dense or conv
// layer, its weight [k, c] then its bias [c]. For a 3×3 convolution k = 9·In.
func (a Arch) Params() []Param {
	if a.Net != nil {
		return a.Net.Params()
	}
	var ps []Param
	for i, l := range a.Layers {
		switch l.Kind {
		case KindDense:
			ps = append(ps, Param{Layer: i, Shape: []int{l.In, l.Out}, FanIn: l.In, FanOut: l.Out},
				Param{Layer: i, Shape: []int{l.Out}, Bias: true})
		case KindConv3:
			ps = append(ps, Param{Layer: i, Shape: []int{9 * l.In, l.Out}, FanIn: 9 * l.In, FanOut: 9 * l.Out},
				Param{Layer: i, Shape: []int{l.Out}, Bias: true})
		}
	}
	return ps
}

// NumParams is P, the number of trainable parameters.
func (a Arch) NumParams() int {
	n := 0
	for _, p := range a.Params() {
		s := 1
		for _, d := range p.Shape {
			s *= d
		}
		n += s
	}
	return n
}

// Init draws parameters with Glorot-uniform weights, U(±sqrt(6/(fan_in+fan_out))),
// and zero biases, from a PCG stream seeded by seed. Values are float32.
func (a Arch) Init(seed uint64) []*tensors.Tensor {
	rng := rng.New(seed, rng.ModelInit)
	var out []*tensors.Tensor
	for _, p := range a.Params() {
		n := 1
		for _, d := range p.Shape {
			n *= d
		}
		v := make([]float32, n)
		if !p.Bias {
			lim := math.Sqrt(6 / float64(p.FanIn+p.FanOut))
			for i := range v {
				v[i] = float32((2*rng.Float64() - 1) * lim)
			}
		}
		out = append(out, tensors.FromFlatDataAndDimensions(v, p.Shape...))
	}
	return out
}

// Tap is one parametric layer's input in patch form and its pre-activation.
type Tap struct {
	U *Node // [n, positions, k]
	A *Node // [n, positions, c]
	// X is a convolution's input image [n, H, W, C], from which U is made
	// (nil for dense layers): per-sample products are cheaper from its nine
	// shifted windows than from U (see Windows). Not differentiable.
	X *Node
}

// Windows returns the nine shifted 3×3-convolution windows of x [n, H, W, C]
// (zero padded), in the order (dy, dx) of the rows of a convolution's
// weight: window (dy, dx) holds, at every position (i, j), the pixel
// (i+dy−1, j+dx−1). With channelsFirst each window is [n, C, H·W], else
// [n, H·W, C]; concatenated along the channel axis they are U (im2col3) or
// its transpose. Built from Slice (whose gradient needs Pad, missing in
// SimpleGo), so x must not need a gradient.
func Windows(x *Node, channelsFirst bool) []*Node {
	dims := x.Shape().Dimensions
	n, H, W, C := dims[0], dims[1], dims[2], dims[3]
	p := pad1(x)
	if channelsFirst {
		p = TransposeAllAxes(p, 0, 3, 1, 2) // [n, C, H+2, W+2]
	}
	out := make([]*Node, 0, 9)
	for dy := 0; dy < 3; dy++ {
		for dx := 0; dx < 3; dx++ {
			if channelsFirst {
				out = append(out, Reshape(Slice(p, AxisRange(), AxisRange(), AxisRange(dy, dy+H), AxisRange(dx, dx+W)), n, C, H*W))
			} else {
				out = append(out, Reshape(Slice(p, AxisRange(), AxisRange(dy, dy+H), AxisRange(dx, dx+W), AxisRange()), n, H*W, C))
			}
		}
	}
	return out
}

// Forward builds f(θ, x) for a batch x of shape [n, InputSize] (flattened
// per sample; images in H, W, C order) and returns the outputs [n, Outputs]
// and one Tap per parametric layer, in order. Where the backend can
// differentiate its own convolution (XLA), the pre-activations A_l of
// convolutions are computed by that op and U_l (im2col patches) is only a
// side output for per-sample gradients, so gradients flow through XLA's
// convolution instead of the 9× larger im2col tensor; elsewhere (SimpleGo)
// A_l = U_l·W_l + b_l.
func (a Arch) Forward(params []*Node, x *Node) (*Node, []Tap, error) {
	return a.forward(params, x, true, NativeConv(x.Graph().Backend()))
}

// NativeConv reports whether a backend can differentiate its own convolution
// op (the XLA backend; SimpleGo lacks the Reverse op its gradient needs).
func NativeConv(be backends.Backend) bool {
	ops := be.Capabilities().Operations
	return ops[backends.OpTypeReverse] && ops[backends.OpTypeConvGeneral]
}

// Apply builds f(θ, x) like Forward without the taps, with the backend's
// own convolution op where it can be differentiated (NativeConv), im2col
// otherwise. The two agree to rounding.
func (a Arch) Apply(params []*Node, x *Node) (*Node, error) {
	out, _, err := a.forward(params, x, false, NativeConv(x.Graph().Backend()))
	return out, err
}

// ApplyNative is Apply forced to use the backend's convolution op (for
// inference-only graphs, and to test that both forms agree).
func (a Arch) ApplyNative(params []*Node, x *Node) (*Node, error) {
	out, _, err := a.forward(params, x, false, true)
	return out, err
}

// ForwardIm2col is Forward forced to compute convolutions as im2col plus a
// matrix product (to test that both forms agree).
func (a Arch) ForwardIm2col(params []*Node, x *Node) (*Node, []Tap, error) {
	return a.forward(params, x, true, false)
}

func (a Arch) forward(params []*Node, x *Node, withTaps, native bool) (*Node, []Tap, error) {
	if a.Net != nil {
		if want := len(a.Net.Params()); len(params) != want {
			return nil, nil, fmt.Errorf("model: %s takes %d parameter tensors, got %d", a.Name, want, len(params))
		}
		return a.Net.Forward(params, x) // a Net has one form: native and im2col do not apply
	}
	if want := len(a.Params()); len(params) != want {
		return nil, nil, fmt.Errorf("model: %s takes %d parameter tensors, got %d", a.Name, want, len(params))
	}
	n := x.Shape().Dimensions[0]
	h := x
	if len(a.Input) == 3 {
		h = Reshape(x, n, a.Input[0], a.Input[1], a.Input[2])
	}
	cpu := backend.Platform(x.Graph().Backend()) == "cpu"
	var taps []Tap
	pi := 0
	for _, l := range a.Layers {
		switch l.Kind {
		case KindDense:
			u := Reshape(h, n, 1, l.In)
			w, b := params[pi], params[pi+1]
			pi += 2
			pre := Add(DotGeneral(u, []int{2}, nil, w, []int{0}, nil), Reshape(b, 1, 1, l.Out))
			taps = append(taps, Tap{U: u, A: pre})
			h = Reshape(pre, n, l.Out)
		case KindConv3:
			dims := h.Shape().Dimensions // [n, H, W, C]
			H, W := dims[1], dims[2]
			w, b := params[pi], params[pi+1]
			pi += 2
			if native {
				k := Reshape(w, 3, 3, l.In, l.Out) // rows of w are ordered (dy, dx, c), as im2col3
				var conv *Node
				if cpu && l.Out >= wideConv {
					conv = conv3x3(h, k)
				} else {
					conv = Convolve(h, k).Strides(1).PadSame().Done()
				}
				conv = Add(conv, Reshape(b, 1, 1, 1, l.Out))
				if withTaps {
					// U is a side output: StopGradient keeps the backward pass on the convolution.
					x := StopGradient(h)
					u := Reshape(im2col3(x), n, H*W, 9*l.In)
					pre := Reshape(conv, n, H*W, l.Out)
					taps = append(taps, Tap{U: u, A: pre, X: x})
					conv = Reshape(pre, n, H, W, l.Out)
				}
				h = conv
				continue
			}
			u := Reshape(im2col3(h), n, H*W, 9*l.In)
			pre := Add(DotGeneral(u, []int{2}, nil, w, []int{0}, nil), Reshape(b, 1, 1, l.Out))
			if withTaps {
				taps = append(taps, Tap{U: u, A: pre, X: StopGradient(h)})
			}
			h = Reshape(pre, n, H, W, l.Out)
		case KindReLU:
			h = Max(h, ZerosLike(h))
		case KindMaxPool:
			dims := h.Shape().Dimensions
			H, W, C := dims[1], dims[2], dims[3]
			h = ReduceMax(Reshape(h, n, H/2, 2, W/2, 2, C), 2, 4)
		case KindFlatten:
			h = Reshape(h, n, -1)
		default:
			return nil, nil, fmt.Errorf("model: unknown layer kind %q", l.Kind)
		}
	}
	return h, taps, nil
}

// wideConv is the output-channel count from which a convolution's kernel
// gradient is taken from conv3x3's matrix product rather than GoMLX's own, on
// the CPU (on a GPU GoMLX's cuDNN gradient is kept, as benchmarked):
// one epoch of the paper's CNN (64/128/256 channels, B = 100) runs at 40
// instead of 22 images/s here, while the quick CNN (8/16/32, B = 10) is
// faster with GoMLX's (860 against 670 images/s; benchmarks on 2 cores).
const wideConv = 64

// conv3x3 is XLA's 3×3 convolution (stride 1, same padding) of x [n, H, W, C]
// with k [3, 3, C, C'], with the kernel's gradient computed as one matrix
// product of im2col patches instead of GoMLX's default. The default
// differentiates with respect to the kernel by a convolution whose batch and
// channel axes are swapped, which XLA's CPU runtime runs 10–15× slower than
// the forward convolution (0.94 s against 0.07 s for 100 images of 32×32×64,
// measured here); the product takes 0.48 s. The value and the gradient with
// respect to x are XLA's own. Tested against GoMLX's gradient.
func conv3x3(x, k *Node) *Node {
	var delta *Node // ∂/∂(output), captured on the way back (the output's VJP runs before the kernel's)
	kk := IdentityWithCustomGradient(k, func(_, _ *Node) *Node {
		if delta == nil {
			return ZerosLike(k)
		}
		return conv3x3KernelGrad(x, delta)
	})
	out := Convolve(x, kk).Strides(1).PadSame().Done()
	return IdentityWithCustomGradient(out, func(_, v *Node) *Node {
		delta = v
		return v
	})
}

// conv3x3KernelGrad returns ∂K[dy, dx, c, o] = Σ_{n,i,j} xpad[n, i+dy, j+dx, c]·δ[n, i, j, o]
// ([3, 3, C, C']) for x [n, H, W, C] and δ [n, H, W, C']: one matrix product
// of the im2col patches [n·H·W, 9C] with δ [n·H·W, C'].
func conv3x3KernelGrad(x, delta *Node) *Node {
	dims := x.Shape().Dimensions
	n, H, W, C := dims[0], dims[1], dims[2], dims[3]
	p := pad1(x) // differentiable in x too: Hessian-vector products differentiate this gradient again
	taps := make([]*Node, 0, 9)
	for dy := 0; dy < 3; dy++ {
		for dx := 0; dx < 3; dx++ {
			taps = append(taps, Slice(p, AxisRange(), AxisRange(dy, dy+H), AxisRange(dx, dx+W), AxisRange()))
		}
	}
	o := delta.Shape().Dimensions[3]
	u := Reshape(Concatenate(taps, 3), n*H*W, 9*C) // im2col patches, (dy, dx, c) order
	g := DotGeneral(u, []int{0}, nil, Reshape(delta, n*H*W, o), []int{0}, nil)
	return Reshape(g, 3, 3, C, o)
}

// pad1 pads [n, H, W, C] with one row and column of zeros on every side,
// [n, H+2, W+2, C] (see padZeros).
func pad1(x *Node) *Node { return padZeros(x, 1, 1, 1, 1) }

// padZeros pads [n, H, W, C] with top/bottom rows and left/right columns of
// zeros, with Concatenate (whose gradient every backend has; the gradient of
// Pad is missing in SimpleGo).
func padZeros(x *Node, top, bottom, left, right int) *Node {
	if top == 0 && bottom == 0 && left == 0 && right == 0 {
		return x
	}
	dims := x.Shape().Dimensions
	n, H, W, C := dims[0], dims[1], dims[2], dims[3]
	p := x
	if top > 0 || bottom > 0 {
		parts := make([]*Node, 0, 3)
		if top > 0 {
			parts = append(parts, Zeros(x.Graph(), shapes.Make(x.DType(), n, top, W, C)))
		}
		parts = append(parts, x)
		if bottom > 0 {
			parts = append(parts, Zeros(x.Graph(), shapes.Make(x.DType(), n, bottom, W, C)))
		}
		p = Concatenate(parts, 1)
	}
	if left > 0 || right > 0 {
		Hp := H + top + bottom
		parts := make([]*Node, 0, 3)
		if left > 0 {
			parts = append(parts, Zeros(x.Graph(), shapes.Make(x.DType(), n, Hp, left, C)))
		}
		parts = append(parts, p)
		if right > 0 {
			parts = append(parts, Zeros(x.Graph(), shapes.Make(x.DType(), n, Hp, right, C)))
		}
		p = Concatenate(parts, 2)
	}
	return p
}

// Window describes a 2-D convolution window: a KH×KW kernel, strides SH, SW,
// zero padding (top, bottom, left, right) and dilations DH, DW (0 means 1
// for strides and dilations).
type Window struct {
	KH, KW                               int
	SH, SW                               int
	PadTop, PadBottom, PadLeft, PadRight int
	DH, DW                               int
}

func one(v int) int { return max(v, 1) }

// OutSize returns the output height and width of the window on an H×W map,
// and an error when the window does not fit or a size is not positive.
func (w Window) OutSize(H, W int) (int, int, error) {
	if w.KH < 1 || w.KW < 1 || w.SH < 0 || w.SW < 0 || w.DH < 0 || w.DW < 0 || w.PadTop < 0 || w.PadBottom < 0 || w.PadLeft < 0 || w.PadRight < 0 {
		return 0, 0, fmt.Errorf("model: invalid convolution window %+v", w)
	}
	ho := (H+w.PadTop+w.PadBottom-one(w.DH)*(w.KH-1)-1)/one(w.SH) + 1
	wo := (W+w.PadLeft+w.PadRight-one(w.DW)*(w.KW-1)-1)/one(w.SW) + 1
	if ho < 1 || wo < 1 {
		return 0, 0, fmt.Errorf("model: a %d×%d convolution window does not fit a %d×%d map", w.KH, w.KW, H, W)
	}
	return ho, wo, nil
}

// Patches turns [n, H, W, C] into [n, Ho, Wo, KH·KW·C]: the window of every
// output position (zero padded), ordered (dy, dx, channel), so that a
// convolution is Patches(x)·K with K [KH·KW·C, C'] (the im2col form, whose
// taps give per-sample gradients). It is built from Concatenate (the
// padding) and Gather, whose gradients every backend supports; its second
// derivatives need Pad, which SimpleGo lacks (see PatchesMasked). The
// window must fit (see OutSize).
func Patches(x *Node, w Window) *Node {
	dims := x.Shape().Dimensions
	n, H, W, C := dims[0], dims[1], dims[2], dims[3]
	ho, wo, err := w.OutSize(H, W)
	if err != nil {
		panic(err) // graph-building code: callers check OutSize first
	}
	Hp, Wp := H+w.PadTop+w.PadBottom, W+w.PadLeft+w.PadRight
	p := TransposeAllAxes(Reshape(padZeros(x, w.PadTop, w.PadBottom, w.PadLeft, w.PadRight), n, Hp*Wp, C), 1, 0, 2)
	idx := make([]int32, 0, ho*wo*w.KH*w.KW)
	w.each(ho, wo, func(py, px int) {
		idx = append(idx, int32(py*Wp+px))
	})
	ids := Const(x.Graph(), tensors.FromFlatDataAndDimensions(idx, len(idx), 1))
	g := Gather(p, ids) // [Ho·Wo·KH·KW, n, C]
	g = TransposeAllAxes(g, 1, 0, 2)
	return Reshape(g, n, ho, wo, w.KH*w.KW*C)
}

// each calls fn with the padded-map coordinates (row, column) of every tap
// of every output position, in the order of Patches: output row, output
// column, kernel row, kernel column.
func (w Window) each(ho, wo int, fn func(py, px int)) {
	for y := 0; y < ho; y++ {
		for x := 0; x < wo; x++ {
			for dy := 0; dy < w.KH; dy++ {
				for dx := 0; dx < w.KW; dx++ {
					fn(y*one(w.SH)+dy*one(w.DH), x*one(w.SW)+dx*one(w.DW))
				}
			}
		}
	}
}

// PatchesMasked is Patches built from a single Gather of the unpadded map
// (padding taps read a clamped pixel) times a 0/1 mask that zeroes the
// padding taps: the same values (a padding tap is +0 or −0), and, with no
// Concatenate, differentiable twice on every backend — the Hessian-vector
// products of imported convolutional networks use it (pkg/onnxmodel).
func PatchesMasked(x *Node, w Window) *Node {
	g, mask, ho, wo := gatherWindows(x, w)
	n, C := x.Shape().Dimensions[0], x.Shape().Dimensions[3]
	g = Mul(g, ConvertDType(Const(x.Graph(), tensors.FromFlatDataAndDimensions(mask, len(mask), 1, 1)), x.DType()))
	g = TransposeAllAxes(g, 1, 0, 2)
	return Reshape(g, n, ho, wo, w.KH*w.KW*C)
}

// MaxPoolWindow is max pooling of [n, H, W, C] over the window w ([n, Ho,
// Wo, C]): the maximum of the window's taps, padding taps excluded, as
// ONNX's and PyTorch's MaxPool. The gradient goes to the first maximal tap
// of each window (row by row), as PyTorch's: ties are common with
// quantized images (flat regions give equal activations), and GoMLX's
// ReduceMax would pass the whole gradient to every tied tap, which is not
// a subgradient. It is built from a Gather, ArgMax and a one-hot selection,
// so that it is differentiable twice on every backend (GoMLX's own max
// pooling is differentiated by SelectAndScatter, which has no gradient and
// which SimpleGo lacks).
func MaxPoolWindow(x *Node, w Window) *Node {
	g, mask, ho, wo := gatherWindows(x, w)
	n, C := x.Shape().Dimensions[0], x.Shape().Dimensions[3]
	pad := false
	for i, m := range mask {
		mask[i] = (m - 1) * math.MaxFloat32 // 0 for a pixel, −max for padding
		pad = pad || m == 0
	}
	if pad {
		g = Add(g, ConvertDType(Const(x.Graph(), tensors.FromFlatDataAndDimensions(mask, len(mask), 1, 1)), x.DType()))
	}
	kk := w.KH * w.KW
	g = TransposeAllAxes(Reshape(TransposeAllAxes(g, 1, 0, 2), n, ho, wo, kk, C), 0, 1, 2, 4, 3) // [n, Ho, Wo, C, KH·KW]
	first := OneHot(ArgMax(g, 4), kk, g.DType())                                                 // ArgMax returns the smallest index of a tie
	return ReduceSum(Mul(g, first), 4)
}

// gatherWindows gathers the taps of every window of x [n, H, W, C] from the
// unpadded map, [Ho·Wo·KH·KW, n, C] in the order of Patches, with a mask
// that is 1 for a pixel and 0 for a padding tap (which reads a clamped
// pixel). The window must fit (see OutSize).
func gatherWindows(x *Node, w Window) (g *Node, mask []float64, ho, wo int) {
	dims := x.Shape().Dimensions
	n, H, W, C := dims[0], dims[1], dims[2], dims[3]
	ho, wo, err := w.OutSize(H, W)
	if err != nil {
		panic(err) // graph-building code: callers check OutSize first
	}
	p := TransposeAllAxes(Reshape(x, n, H*W, C), 1, 0, 2)
	idx := make([]int32, 0, ho*wo*w.KH*w.KW)
	mask = make([]float64, 0, ho*wo*w.KH*w.KW)
	w.each(ho, wo, func(py, px int) {
		yy, xx := py-w.PadTop, px-w.PadLeft
		m := 1.0
		if yy < 0 || yy >= H || xx < 0 || xx >= W {
			m = 0
		}
		idx = append(idx, int32(min(max(yy, 0), H-1)*W+min(max(xx, 0), W-1)))
		mask = append(mask, m)
	})
	ids := Const(x.Graph(), tensors.FromFlatDataAndDimensions(idx, len(idx), 1))
	return Gather(p, ids), mask, ho, wo
}

// im2col3 turns [n, H, W, C] into [n, H, W, 9C]: the 3×3 neighbourhood of
// every pixel (zero padded), ordered (dy, dx, channel): Patches with a 3×3
// window, stride 1 and "same" padding.
func im2col3(x *Node) *Node {
	return Patches(x, Window{KH: 3, KW: 3, SH: 1, SW: 1, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1, DH: 1, DW: 1})
}

// Loss names.
const (
	MSE = "mse" // ℓ = ½|f − y|² (Eq. 1)
	CE  = "ce"  // ℓ = −Σ_k y_k log softmax(f)_k
)

// PerSampleLoss returns ℓ_μ ([n]) for outputs f [n, K] and targets y [n, K].
func PerSampleLoss(loss string, f, y *Node) (*Node, error) {
	switch loss {
	case MSE:
		d := Sub(f, y)
		return MulScalar(ReduceSum(Mul(d, d), -1), 0.5), nil
	case CE:
		return Neg(ReduceSum(Mul(y, LogSoftmax(f, -1)), -1)), nil
	}
	return nil, fmt.Errorf("model: unknown loss %q (use %q or %q)", loss, MSE, CE)
}

// ParamShapes returns the GoMLX shapes of the parameters (float32).
func (a Arch) ParamShapes() []shapes.Shape {
	var out []shapes.Shape
	for _, p := range a.Params() {
		out = append(out, shapes.Make(dtypes.Float32, p.Shape...))
	}
	return out
}
