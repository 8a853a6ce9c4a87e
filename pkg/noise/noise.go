// Package noise measures the structure of SGD noise in networks (section
// 3.1): per-sample losses, gradient norms |∇ℓ_μ|² and Jacobian norms
// |∇f_μ|², the noise strength 𝒩 = (1/N)Σ|∇ℓ_μ|² − |∇L|² and the exact trace
// of the mini-batch noise covariance Tr Σ = (1/B)(N−B)/(N−1)·𝒩 (Eq. 8), the
// decoupled prediction 2L·(1/N)Σ|∇f_μ|² (Eq. 9), and the matrices of the
// decoupling approximation (Eq. 7) through their N×N Gram forms.
//
// Per-sample quantities never run N backward passes: for a parametric layer
// with input patches U_l and pre-activations A_l, the per-sample gradient of
// its weight is G_μ = Σ_p U_l[μ,p]ᵀδ_l[μ,p] with δ_l = ∂(Σ_μ ℓ_μ)/∂A_l (row μ
// of δ_l only depends on sample μ), so one backward pass to the A_l gives
// every |∇ℓ_μ|²: per layer either G_μ is formed or its norm is taken from
// the two Gram matrices U_μU_μᵀ and δ_μδ_μᵀ (the ghost norm), whichever is
// cheaper (see Method). Work is chunked over samples so that it fits the
// memory the device has free (ChunkSizeOn).
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
	// PerSampleG2 holds |∇ℓ_μ|², sample by sample (their mean is MeanGrad2).
	PerSampleG2 []float64 `json:"-"`
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
	be       backends.Backend
	arch     model.Arch
	loss     string
	chunk    int  // samples per execution
	fixed    bool // chunk given by the caller (never shrunk on running out of memory)
	jac      bool
	methods  []Method // per layer, for ∇ℓ_μ (with the summed gradient)
	jmethods []Method // per layer, for ∇f_μk
	mu       sync.Mutex
	exec     *Exec
}

// Options adjusts an Evaluator; the zero value is what NewEvaluator uses.
type Options struct {
	// Jacobian adds the per-sample Jacobian norms |∇f_μ|² and the decoupled
	// prediction (one more backward pass per output).
	Jacobian bool
	// Methods gives, per parametric layer (see Layers), how the per-sample
	// norms |∇ℓ_μ|² are computed; nil or Auto entries are chosen by cost
	// (Choose).
	Methods []Method
	// JacobianMethods is Methods for the Jacobian norms |∇f_μk|² (which need
	// no summed gradient, so Choose may pick differently for them).
	JacobianMethods []Method
	// Chunk is the number of samples per graph execution; 0 sizes it from
	// the memory the device has free (ChunkSizeOn).
	Chunk int
}

// NewEvaluator returns an Evaluator; withJacobian adds the per-sample
// Jacobian norms (one extra backward pass per output).
func NewEvaluator(be backends.Backend, a model.Arch, loss string, withJacobian bool) (*Evaluator, error) {
	return NewEvaluatorWith(be, a, loss, Options{Jacobian: withJacobian})
}

// NewEvaluatorWith returns an Evaluator with options. The per-sample norms
// cost one backward pass (to the layers' pre-activations) plus, per layer,
// the cheaper of the two forms of Method.
func NewEvaluatorWith(be backends.Backend, a model.Arch, loss string, o Options) (*Evaluator, error) {
	if loss != model.MSE && loss != model.CE {
		return nil, fmt.Errorf("noise: unknown loss %q (use %q or %q)", loss, model.MSE, model.CE)
	}
	if o.Chunk < 0 {
		return nil, fmt.Errorf("noise: chunk size %d is negative; use 0 to size chunks from the device's memory", o.Chunk)
	}
	ms, err := resolve(a, o.Methods, true)
	if err != nil {
		return nil, err
	}
	jms, err := resolve(a, o.JacobianMethods, false)
	if err != nil {
		return nil, err
	}
	e := &Evaluator{be: be, arch: a, loss: loss, jac: o.Jacobian, methods: ms, jmethods: jms}
	if o.Chunk > 0 {
		if err := CheckChunk(be, a, o.Chunk, e.sampleBytes()); err != nil {
			return nil, err
		}
		e.chunk, e.fixed = o.Chunk, true
	} else if e.chunk, err = chunkFor(be, a, evalLimit, e.sampleBytes()); err != nil {
		return nil, err
	}
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

// evalLimit is the largest chunk of an Evaluator: beyond a few thousand
// samples a GPU is saturated and only the compile time grows.
const evalLimit = 2048

// Methods returns the per-layer methods of the per-sample loss-gradient norms.
func (e *Evaluator) Methods() []Method { return append([]Method(nil), e.methods...) }

// Chunk returns the number of samples per graph execution.
func (e *Evaluator) Chunk() int { return e.chunk }

// sampleBytes estimates the device memory one sample takes in e's graph.
func (e *Evaluator) sampleBytes() float64 {
	b := SampleBytes(e.arch, e.methods)
	if e.jac {
		b += float64(e.arch.Outputs) * SampleBytes(e.arch, e.jmethods)
	}
	return b
}

// graph returns, for one chunk: ℓ [n], |∇ℓ|² [n], |∇f|² [n] (or zeros),
// correct [n] (1 or 0), the squared residuals [n, K], the per-output |∇f_k|²
// [n, K] (or zeros) and the summed gradient Σ_μ∇ℓ_μ per parameter. One
// backward pass runs to the layers' pre-activations A_l; the weight
// gradients come from layerNorms, never from a second pass.
func (e *Evaluator) graph(params []*Node, x, y *Node) []*Node {
	f, taps, err := e.arch.Forward(params, x)
	if err != nil {
		panic(err) // shapes are fixed by the architecture; Forward only fails on a wrong parameter count
	}
	l, err := model.PerSampleLoss(e.loss, f, y)
	if err != nil {
		panic(err)
	}
	as := make([]*Node, len(taps))
	for i, t := range taps {
		as[i] = t.A
	}
	deltas := Gradient(ReduceAllSum(l), as...)
	var g2 *Node
	sums := make([]*Node, 0, 2*len(taps))
	for i, t := range taps {
		sq, gw, gb := layerNorms(t, deltas[i], e.methods[i], true)
		if g2 == nil {
			g2 = sq
		} else {
			g2 = Add(g2, sq)
		}
		sums = append(sums, gw, gb)
	}
	jac := ZerosLike(l)
	K := e.arch.Outputs
	jacK := make([]*Node, 0, K) // per-output |∇f_μk|², each [n]
	if e.jac {
		for k := 0; k < K; k++ {
			// Σ_μ f_μk through a one-hot mask (the gradient of Slice needs Pad, missing in SimpleGo).
			mask := make([]float32, K)
			mask[k] = 1
			fk := ReduceAllSum(Mul(f, Const(f.Graph(), tensors.FromFlatDataAndDimensions(mask, 1, K))))
			dk := Gradient(fk, as...)
			var jk *Node
			for i, t := range taps {
				sq, _, _ := layerNorms(t, dk[i], e.jmethods[i], false)
				if jk == nil {
					jk = sq
				} else {
					jk = Add(jk, sq)
				}
			}
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
	return append(out, sums...)
}

// Stats evaluates the statistics over all n samples of x ([n, InputSize],
// float32) and y ([n, Outputs]).
func (e *Evaluator) Stats(params []*tensors.Tensor, x, y []float32, n int) (Stats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	D, K := e.arch.InputSize(), e.arch.Outputs
	if n < 1 {
		return Stats{}, fmt.Errorf("noise: statistics need at least one sample, got %d", n)
	}
	if len(x) != n*D || len(y) != n*K {
		return Stats{}, fmt.Errorf("noise: data of %d samples must have %d inputs and %d targets each", n, D, K)
	}
	if want := len(e.arch.Params()); len(params) != want {
		return Stats{}, fmt.Errorf("noise: %s takes %d parameter tensors, got %d", e.arch.Name, want, len(params))
	}
	var st Stats
	st.N = n
	st.PerSampleL = make([]float64, 0, n)
	st.PerSampleG2 = make([]float64, 0, n)
	var sumGrad [][]float64
	var meanR2, meanJK []float64
	for lo := 0; lo < n; {
		hi := min(n, lo+e.chunk)
		m := hi - lo
		args := make([]any, 0, len(params)+2)
		for _, p := range params {
			args = append(args, p)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(x[lo*D:hi*D], m, D), tensors.FromFlatDataAndDimensions(y[lo*K:hi*K], m, K))
		out, err := e.exec.Exec(args...)
		if err != nil {
			if retry, err := e.shrink(err, m); retry {
				continue
			} else {
				return Stats{}, err
			}
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
			st.PerSampleG2 = append(st.PerSampleG2, float64(g2[i]))
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
		lo = hi
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
	if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) || math.IsNaN(st.Noise) || math.IsInf(st.Noise, 0) {
		return st, fmt.Errorf("noise: the loss or the noise strength is not finite (L = %v, 𝒩 = %v): training diverged", st.Loss, st.Noise)
	}
	return st, nil
}

// shrink handles an execution error of a chunk of m samples: when the
// device ran out of memory and the chunk was sized automatically, it halves
// the chunk and asks for a retry; otherwise it returns a one-line error.
func (e *Evaluator) shrink(err error, m int) (bool, error) {
	if !OutOfMemory(err) {
		return false, err
	}
	if e.fixed || m <= 1 {
		return false, chunkError(e.be, e.arch, m, err)
	}
	e.chunk = max(1, m/2)
	return true, nil
}
