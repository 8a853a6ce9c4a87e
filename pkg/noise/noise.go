// Package noise measures the structure of SGD noise in networks (section
// 3.1): per-sample losses, gradient norms |∇ℓ_μ|² and Jacobian norms
// |∇f_μ|², the noise strength 𝒩 = (1/N)Σ|∇ℓ_μ|² − |∇L|² and the exact trace
// of the mini-batch noise covariance Tr Σ = (1/B)(N−B)/(N−1)·𝒩 (Eq. 8), the
// decoupled prediction 2L·(1/N)Σ|∇f_μ|² (Eq. 9), and the matrices of the
// decoupling approximation (Eq. 7) through their N×N Gram forms.
//
// Per-sample quantities never run N backward passes: for a parametric layer
// with input patches U_l and pre-activations A_l, the per-sample gradient of
// its weight is Σ_p U_l[μ,p]ᵀδ_l[μ,p] with δ_l = ∂(Σ_μ ℓ_μ)/∂A_l (row μ of
// δ_l only depends on sample μ). For dense layers its squared norm is
// |U_l[μ]|²·|δ_l[μ]|²; for convolutions the per-sample gradient is formed by
// a batched product. Work is chunked over samples so that memory stays
// bounded.
package noise

import (
	"fmt"
	"math"
	"sync"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph-building code reads best with dot import
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/sgdescape/sgdescape/pkg/model"
)

// MemoryBudget is the number of float32 values a chunk may hold in its
// largest intermediate buffers (2²⁸ values = 1 GiB).
const MemoryBudget = 1 << 28

// ChunkSize returns how many samples one graph execution processes: as many
// as fit MemoryBudget given the per-sample sizes of the architecture, at most
// limit.
func ChunkSize(a model.Arch, limit int) int {
	if a.Net != nil {
		return max(1, min(MemoryBudget/max(a.Net.FloatsPerSample(), 1), limit))
	}
	per := a.InputSize()
	maxPerSampleGrad := 0
	h, w := 1, 1
	if len(a.Input) == 3 {
		h, w = a.Input[0], a.Input[1]
	}
	for _, l := range a.Layers {
		switch l.Kind {
		case model.KindDense:
			per += 4 * (l.In + l.Out)
		case model.KindConv3:
			per += 4 * h * w * (9*l.In + l.Out)
			maxPerSampleGrad = max(maxPerSampleGrad, 9*l.In*l.Out)
		case model.KindMaxPool:
			h, w = h/2, w/2
		}
	}
	per += 2 * maxPerSampleGrad
	c := MemoryBudget / max(per, 1)
	return max(1, min(c, limit))
}

// Stats are full-data statistics of one parameter point.
type Stats struct {
	N          int       `json:"N"`
	Loss       float64   `json:"loss"`       // L = (1/N)Σℓ_μ
	Accuracy   float64   `json:"accuracy"`   // sign agreement (1 output) or argmax (several)
	GradNorm2  float64   `json:"grad_norm2"` // |∇L|²
	MeanGrad2  float64   `json:"mean_grad2"` // (1/N)Σ|∇ℓ_μ|²
	MeanJac2   float64   `json:"mean_jac2"`  // (1/N)Σ|∇f_μ|² (summed over outputs)
	Noise      float64   `json:"noise"`      // 𝒩 = (1/N)Σ|∇ℓ_μ|² − |∇L|²
	Decoupled  float64   `json:"decoupled"`  // 2L·(1/N)Σ|∇f_μ|², the decoupled prediction of 𝒩 (Eq. 9, mean-square loss)
	PerSampleL []float64 `json:"-"`          // ℓ_μ, kept for spectra
	PerSampleG []float64 `json:"-"`          // |∇ℓ_μ|², the per-sample squared gradient norms
}

// TraceSigma returns Tr Σ = (1/B)(N−B)/(N−1)·𝒩 for batch size B (Eq. 8).
func (s Stats) TraceSigma(b int) float64 {
	if s.N <= 1 {
		return 0
	}
	return float64(s.N-b) / (float64(b) * float64(s.N-1)) * s.Noise
}

// Evaluator computes Stats for a fixed architecture and loss on a backend.
// It compiles its graphs once per chunk shape; it is safe for sequential use.
type Evaluator struct {
	be    backends.Backend
	arch  model.Arch
	loss  string
	chunk int
	jac   bool
	mu    sync.Mutex
	exec  *Exec
}

// NewEvaluator returns an Evaluator; withJacobian adds the per-sample
// Jacobian norms (one extra backward pass per output).
func NewEvaluator(be backends.Backend, a model.Arch, loss string, withJacobian bool) (*Evaluator, error) {
	if loss != model.MSE && loss != model.CE {
		return nil, fmt.Errorf("noise: unknown loss %q", loss)
	}
	e := &Evaluator{be: be, arch: a, loss: loss, chunk: ChunkSize(a, 2048), jac: withJacobian}
	np := len(a.Params())
	exec, err := NewExec(be, func(in []*Node) []*Node {
		params, x, y := in[:np], in[np], in[np+1]
		return e.graph(params, x, y)
	})
	if err != nil {
		return nil, err
	}
	e.exec = exec
	return e, nil
}

// perSampleSq returns [n] squared norms of per-sample parameter gradients
// given the taps and the δ of each layer's pre-activation.
func perSampleSq(taps []model.Tap, deltas []*Node) *Node {
	var total *Node
	for l, tap := range taps {
		u, d := tap.U, deltas[l]
		pos := u.Shape().Dimensions[1]
		var sq *Node
		if pos == 1 {
			uu := ReduceSum(Mul(u, u), 1, 2)
			dd := ReduceSum(Mul(d, d), 1, 2)
			sq = Mul(uu, dd)
		} else {
			g := DotGeneral(u, []int{1}, []int{0}, d, []int{1}, []int{0}) // [n, k, c]
			sq = ReduceSum(Mul(g, g), 1, 2)
		}
		b := ReduceSum(d, 1) // bias gradient [n, c]
		sq = Add(sq, ReduceSum(Mul(b, b), 1))
		if total == nil {
			total = sq
		} else {
			total = Add(total, sq)
		}
	}
	return total
}

// graph returns, for one chunk: ℓ [n], |∇ℓ|² [n], |∇f|² [n] (or zeros),
// correct [n] (1 or 0), and the summed gradient Σ_μ∇ℓ_μ per parameter.
func (e *Evaluator) graph(params []*Node, x, y *Node) []*Node {
	f, taps, err := e.arch.Forward(params, x)
	if err != nil {
		panic(err) // shapes are fixed by the architecture; Forward only fails on a wrong parameter count
	}
	l, err := model.PerSampleLoss(e.loss, f, y)
	if err != nil {
		panic(err)
	}
	sum := ReduceAllSum(l)
	wrt := make([]*Node, 0, len(taps)+len(params))
	for _, t := range taps {
		wrt = append(wrt, t.A)
	}
	wrt = append(wrt, params...)
	grads := Gradient(sum, wrt...)
	g2 := perSampleSq(taps, grads[:len(taps)])
	jac := ZerosLike(l)
	K := e.arch.Outputs
	jacK := make([]*Node, 0, K) // per-output |∇f_μk|², each [n]
	if e.jac {
		for k := 0; k < K; k++ {
			// Σ_μ f_μk through a one-hot mask (the gradient of Slice needs Pad, missing in SimpleGo).
			mask := make([]float32, K)
			mask[k] = 1
			fk := ReduceAllSum(Mul(f, Const(f.Graph(), tensors.FromFlatDataAndDimensions(mask, 1, K))))
			as := make([]*Node, len(taps))
			for i, t := range taps {
				as[i] = t.A
			}
			jk := perSampleSq(taps, Gradient(fk, as...))
			jacK = append(jacK, jk)
			jac = Add(jac, jk)
		}
	}
	r := Sub(f, y)
	res2 := Mul(r, r) // [n, K]
	var jacs *Node
	if e.jac {
		jacs = Stack(jacK, 1) // [n, K]
	} else {
		jacs = ZerosLike(res2)
	}
	var correct *Node
	if e.arch.Outputs == 1 {
		correct = ConvertDType(Equal(Sign(f), Sign(y)), f.DType())
	} else {
		correct = ConvertDType(Equal(ArgMax(f, -1), ArgMax(y, -1)), f.DType())
	}
	correct = Reshape(correct, -1)
	out := []*Node{l, g2, jac, correct, res2, jacs}
	return append(out, grads[len(taps):]...)
}

// Stats evaluates the statistics over all n samples of x ([n, InputSize],
// float32) and y ([n, Outputs]).
func (e *Evaluator) Stats(params []*tensors.Tensor, x, y []float32, n int) (Stats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	D, K := e.arch.InputSize(), e.arch.Outputs
	if len(x) != n*D || len(y) != n*K {
		return Stats{}, fmt.Errorf("noise: data of %d samples must have %d inputs and %d targets each", n, D, K)
	}
	var st Stats
	st.N = n
	st.PerSampleL = make([]float64, 0, n)
	st.PerSampleG = make([]float64, 0, n)
	var sumGrad [][]float64
	var meanR2, meanJK []float64
	for lo := 0; lo < n; lo += e.chunk {
		hi := min(n, lo+e.chunk)
		m := hi - lo
		args := make([]any, 0, len(params)+2)
		for _, p := range params {
			args = append(args, p)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(x[lo*D:hi*D], m, D), tensors.FromFlatDataAndDimensions(y[lo*K:hi*K], m, K))
		out, err := e.exec.Exec(args...)
		if err != nil {
			return Stats{}, err
		}
		ls := tensors.MustCopyFlatData[float32](out[0])
		g2 := tensors.MustCopyFlatData[float32](out[1])
		j2 := tensors.MustCopyFlatData[float32](out[2])
		ok := tensors.MustCopyFlatData[float32](out[3])
		r2 := tensors.MustCopyFlatData[float32](out[4])
		jk := tensors.MustCopyFlatData[float32](out[5])
		if meanR2 == nil {
			meanR2, meanJK = make([]float64, K), make([]float64, K)
		}
		for i := range r2 {
			meanR2[i%K] += float64(r2[i])
			meanJK[i%K] += float64(jk[i])
		}
		for i := 0; i < m; i++ {
			st.Loss += float64(ls[i])
			st.MeanGrad2 += float64(g2[i])
			st.MeanJac2 += float64(j2[i])
			st.Accuracy += float64(ok[i])
			st.PerSampleL = append(st.PerSampleL, float64(ls[i]))
			st.PerSampleG = append(st.PerSampleG, float64(g2[i]))
		}
		if sumGrad == nil {
			sumGrad = make([][]float64, len(params))
		}
		for pi, t := range out[6:] {
			v := tensors.MustCopyFlatData[float32](t)
			if sumGrad[pi] == nil {
				sumGrad[pi] = make([]float64, len(v))
			}
			for i, g := range v {
				sumGrad[pi][i] += float64(g)
			}
		}
	}
	fn := float64(n)
	st.Loss /= fn
	st.MeanGrad2 /= fn
	st.MeanJac2 /= fn
	st.Accuracy /= fn
	for _, g := range sumGrad {
		for _, v := range g {
			st.GradNorm2 += (v / fn) * (v / fn)
		}
	}
	st.Noise = st.MeanGrad2 - st.GradNorm2
	for k := range meanR2 {
		st.Decoupled += (meanR2[k] / fn) * (meanJK[k] / fn)
	}
	if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) || math.IsNaN(st.Noise) {
		return st, fmt.Errorf("noise: the loss is not finite (%v): training diverged", st.Loss)
	}
	return st, nil
}
