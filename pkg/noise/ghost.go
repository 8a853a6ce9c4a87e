package noise

import (
	"fmt"
	"strings"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph-building code reads best with dot import

	"github.com/sgdescape/sgdescape/pkg/model"
)

// Method says how the per-sample squared gradient norms of one parametric
// layer are computed. For a layer with input patches U_μ (T×k: T positions,
// k inputs each) and output gradients δ_μ = ∂ℓ_μ/∂A_μ (T×c), the per-sample
// weight gradient is G_μ = U_μᵀδ_μ (k×c) and
//
//	|G_μ|²_F = ⟨U_μU_μᵀ, δ_μδ_μᵀ⟩_F          (the "ghost norm")
//
// so the norm can be had from two T×T Gram matrices, T²(k+c) multiply-adds,
// instead of forming G_μ, T·k·c of them and k·c values of memory (Goodfellow
// 2015 for dense layers, T = 1, where it is |U_μ|²|δ_μ|²; Li et al. 2022 and
// Bu et al. 2022, "Scalable and efficient training of large convolutional
// neural networks with differential privacy", for convolutions, whose "mixed
// ghost norm" picks the cheaper of the two per layer, as Choose does).
type Method int

// Methods.
const (
	Auto        Method = iota // chosen per layer by Choose
	Materialise               // form G_μ = U_μᵀδ_μ ([n, k, c] per chunk)
	Ghost                     // ⟨U_μU_μᵀ, δ_μδ_μᵀ⟩ ([n, T, T] per chunk)
)

// String names the method ("auto", "materialise", "ghost").
func (m Method) String() string {
	switch m {
	case Auto:
		return "auto"
	case Materialise:
		return "materialise"
	case Ghost:
		return "ghost"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// Layer is the geometry of one parametric layer as the per-sample norms see
// it: T positions (1 for a dense layer, H·W for a convolution), k inputs per
// position (9·channels for a 3×3 convolution) and c outputs.
type Layer struct {
	T, K, C int
}

// Layers returns the geometry of every parametric layer of a, in order
// (one per weight/bias pair of model.Arch.Params).
func Layers(a model.Arch) []Layer {
	var out []Layer
	if a.Net != nil {
		for _, t := range a.Net.TapShapes() {
			out = append(out, Layer{T: t.T, K: t.K, C: t.C})
		}
		return out
	}
	h, w := 1, 1
	if len(a.Input) == 3 {
		h, w = a.Input[0], a.Input[1]
	}
	for _, l := range a.Layers {
		switch l.Kind {
		case model.KindDense:
			out = append(out, Layer{T: 1, K: l.In, C: l.Out})
		case model.KindConv3:
			out = append(out, Layer{T: h * w, K: 9 * l.In, C: l.Out})
		case model.KindMaxPool:
			h, w = h/2, w/2
		}
	}
	return out
}

// Cost returns the multiply-adds per sample of a layer's per-sample squared
// norm by method m (Materialise or Ghost), counting with them what the norm
// needs besides: when summed is true the gradient summed over the samples is
// wanted too (for |∇L|²), which Materialise gets by adding up the G_μ it has
// formed (k·c) and Ghost only by one more product Σ_μ U_μᵀδ_μ (T·k·c).
// Materialise also writes G_μ and reads it back to square it: k·c values,
// counted as memoryWeight multiply-adds each (memory traffic, not
// arithmetic, bounds that pass).
func (l Layer) Cost(m Method, summed bool) float64 {
	T, k, c := float64(l.T), float64(l.K), float64(l.C)
	switch m {
	case Materialise:
		cost := T*k*c + memoryWeight*k*c
		if summed {
			cost += k * c
		}
		return cost
	case Ghost:
		var cost float64
		if l.T == 1 {
			cost = k + c
		} else {
			cost = T*T*(k+c) + T*T
		}
		if summed {
			cost += T * k * c
		}
		return cost
	}
	return 0
}

// memoryWeight is the cost, in multiply-adds, of writing one value of a
// per-sample gradient and reading it back (see Layer.Cost): an estimate.
// Choose's decisions were checked against XLA's CPU runtime (2 cores, 20
// images, norms alone as for the Jacobian) on the paper CNN's layer shapes:
// 32×32×64 → 64 materialised 58 ms, ghost 496 ms; 16×16×128 → 128 24 vs
// 42 ms; 8×8×128 → 256 9.8 vs 4.6 ms; 8×8×256 → 256 19.6 vs 8.0 ms; Cost
// orders every pair the same way.
const memoryWeight = 8

// Choose returns, for every parametric layer of a, the cheaper Method by
// Layer.Cost (ties go to Ghost, which needs less memory). summed says whether
// the summed gradient is wanted as well (the loss gradient's |∇L|²; not the
// Jacobian's norms).
func Choose(a model.Arch, summed bool) []Method {
	ls := Layers(a)
	out := make([]Method, len(ls))
	for i, l := range ls {
		out[i] = Materialise
		if l.Cost(Ghost, summed) <= l.Cost(Materialise, summed) {
			out[i] = Ghost
		}
	}
	return out
}

// resolve fills Auto entries of ms (nil: all Auto) by Choose and checks the
// length and values.
func resolve(a model.Arch, ms []Method, summed bool) ([]Method, error) {
	auto := Choose(a, summed)
	if ms == nil {
		return auto, nil
	}
	if len(ms) != len(auto) {
		return nil, fmt.Errorf("noise: %d methods given for the %d parametric layers of %s; give one per layer or none", len(ms), len(auto), a.Name)
	}
	out := make([]Method, len(ms))
	for i, m := range ms {
		switch m {
		case Auto:
			out[i] = auto[i]
		case Materialise, Ghost:
			out[i] = m
		default:
			return nil, fmt.Errorf("noise: unknown method %d for layer %d; use Auto, Materialise or Ghost", int(m), i)
		}
	}
	return out, nil
}

// MethodsString writes per-layer methods compactly, for example "M M G G".
func MethodsString(ms []Method) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = strings.ToUpper(m.String()[:1])
	}
	return strings.Join(parts, " ")
}

// layerNorms returns the per-sample squared norms [n] of a layer's weight
// and bias gradients, given its tap (patches U [n, T, k] and, for a
// convolution, its input image X) and its output gradients d [n, T, c], by
// method m; with summed, also the weight and bias gradients summed over the
// samples ([k, c] and [c]).
//
// A convolution's products run over the nine shifted windows S_o of X
// (model.Windows) instead of U: U = [S_1 … S_9] along k, so
// G_μ = [S_oμᵀδ_μ]_o and U_μU_μᵀ = Σ_o S_oμS_oμᵀ. The windows are plain
// strided copies, which XLA's CPU runtime makes several times faster than
// the gather of U, and [n, C, T]-shaped windows feed the batched product in
// the layout it runs fastest.
func layerNorms(t model.Tap, d *Node, m Method, summed bool) (sq, gw, gb *Node) {
	u := t.U
	T := u.Shape().Dimensions[1]
	c := d.Shape().Dimensions[2]
	add := func(acc, v *Node) *Node {
		if acc == nil {
			return v
		}
		return Add(acc, v)
	}
	switch {
	case m == Materialise && t.X != nil: // G_μ = U_μᵀδ_μ window by window, [n, C, c] each
		var parts []*Node
		for _, s := range model.Windows(t.X, true) {
			g := DotGeneral(s, []int{2}, []int{0}, d, []int{1}, []int{0})
			sq = add(sq, ReduceSum(Mul(g, g), 1, 2))
			if summed {
				parts = append(parts, ReduceSum(g, 0))
			}
		}
		if summed {
			gw = Reshape(Stack(parts, 0), -1, c) // rows (dy, dx, channel), as the weight's
		}
	case m == Materialise:
		g := DotGeneral(u, []int{1}, []int{0}, d, []int{1}, []int{0}) // G_μ, [n, k, c]
		sq = ReduceSum(Mul(g, g), 1, 2)
		if summed {
			gw = ReduceSum(g, 0)
		}
	case T == 1: // ghost norm of a dense layer: |u_μ|²|δ_μ|²
		sq = Mul(ReduceSum(Mul(u, u), 1, 2), ReduceSum(Mul(d, d), 1, 2))
	default: // ghost norm: ⟨U_μU_μᵀ, δ_μδ_μᵀ⟩
		var uu *Node
		if t.X != nil {
			for _, s := range model.Windows(t.X, false) {
				uu = add(uu, DotGeneral(s, []int{2}, []int{0}, s, []int{2}, []int{0})) // [n, T, T]
			}
		} else {
			uu = DotGeneral(u, []int{2}, []int{0}, u, []int{2}, []int{0})
		}
		dd := DotGeneral(d, []int{2}, []int{0}, d, []int{2}, []int{0})
		sq = ReduceSum(Mul(uu, dd), 1, 2)
	}
	if summed && gw == nil { // Σ_μ U_μᵀδ_μ, [k, c]
		if t.X != nil {
			var parts []*Node
			for _, s := range model.Windows(t.X, false) {
				parts = append(parts, DotGeneral(s, []int{0, 1}, nil, d, []int{0, 1}, nil))
			}
			gw = Reshape(Stack(parts, 0), -1, c)
		} else {
			gw = DotGeneral(u, []int{0, 1}, nil, d, []int{0, 1}, nil)
		}
	}
	b := ReduceSum(d, 1) // per-sample bias gradients Σ_p δ_μ[p], [n, c]
	sq = Add(sq, ReduceSum(Mul(b, b), 1))
	if summed {
		gb = ReduceSum(b, 0)
	}
	return sq, gw, gb
}

// perSampleGrad returns the per-sample weight gradients G_μ = U_μᵀδ_μ of a
// layer, [n, k, c] (for a convolution from the windows of its input, as
// layerNorms).
func perSampleGrad(t model.Tap, d *Node) *Node {
	if t.X == nil {
		return DotGeneral(t.U, []int{1}, []int{0}, d, []int{1}, []int{0})
	}
	var parts []*Node
	for _, s := range model.Windows(t.X, true) {
		parts = append(parts, DotGeneral(s, []int{2}, []int{0}, d, []int{1}, []int{0})) // [n, C, c]
	}
	return Concatenate(parts, 1)
}
