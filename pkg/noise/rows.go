package noise

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"gonum.org/v1/gonum/mat"

	"github.com/sgdescape/sgdescape/pkg/model"
)

// What selects per-sample vectors: the gradient of the loss ∇ℓ_μ or of the
// (single) network output ∇f_μ (a row of the Jacobian).
type What int

const (
	LossGradient   What = iota // ∇_θ ℓ_μ
	OutputGradient             // ∇_θ f_μ (single-output networks)
)

// Rows materialises per-sample gradient vectors in float64, row μ for sample
// μ, parameters in the order of model.Arch.Params (each tensor flattened
// row-major). It needs N·P values of memory: use it for small problems and
// for the P×P route; the Gram route (GramFactors) avoids it. Each call
// compiles its graph; callers that ask many times build a Rower once.
func Rows(be backends.Backend, a model.Arch, loss string, what What, params []*tensors.Tensor, x, y []float32, n int) (*mat.Dense, error) {
	r, err := NewRower(be, a, loss, what)
	if err != nil {
		return nil, err
	}
	return r.Rows(params, x, y, n)
}

// Rower computes per-sample gradient rows (see Rows) with one compiled graph
// per chunk size, reused across calls: XLA compiles a graph in tens to
// hundreds of milliseconds, so a loop over Rows would be dominated by it.
type Rower struct {
	be   backends.Backend
	a    model.Arch
	what What
	np   int
	exec *Exec
}

// NewRower prepares the per-sample gradient graph of a network and loss.
func NewRower(be backends.Backend, a model.Arch, loss string, what What) (*Rower, error) {
	if what == OutputGradient && a.Outputs != 1 {
		return nil, fmt.Errorf("noise: Jacobian rows need a single-output network; %s has %d outputs", a.Name, a.Outputs)
	}
	if what == LossGradient && loss != model.MSE && loss != model.CE {
		return nil, fmt.Errorf("noise: unknown loss %q (use %q or %q)", loss, model.MSE, model.CE)
	}
	np := len(a.Params())
	exec, err := NewExec(be, func(in []*Node) []*Node {
		ps, xx, yy := in[:np], in[np], in[np+1]
		f, taps, err := a.Forward(ps, xx)
		if err != nil {
			panic(err)
		}
		var target *Node
		if what == LossGradient {
			l, err := model.PerSampleLoss(loss, f, yy)
			if err != nil {
				panic(err)
			}
			target = ReduceAllSum(l)
		} else {
			target = ReduceAllSum(f)
		}
		as := make([]*Node, len(taps))
		for i, t := range taps {
			as[i] = t.A
		}
		deltas := Gradient(target, as...)
		var out []*Node
		for l, t := range taps {
			// Per-sample weight gradient Σ_p U[μ,p]ᵀδ[μ,p] and bias gradient Σ_p δ[μ,p].
			g := perSampleGrad(t, deltas[l]) // [n, k, c]
			m := g.Shape().Dimensions[0]
			out = append(out, ConvertDType(Reshape(g, m, -1), dtypes.Float64), ConvertDType(ReduceSum(deltas[l], 1), dtypes.Float64))
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	return &Rower{be: be, a: a, what: what, np: np, exec: exec}, nil
}

// Rows computes the per-sample gradient rows of n samples (see Rows).
func (r *Rower) Rows(params []*tensors.Tensor, x, y []float32, n int) (*mat.Dense, error) {
	a, np := r.a, r.np
	if len(params) != np {
		return nil, fmt.Errorf("noise: %s takes %d parameter tensors, got %d", a.Name, np, len(params))
	}
	P := a.NumParams()
	if int64(n)*int64(P) > 1<<31 {
		return nil, fmt.Errorf("noise: %d×%d per-sample rows do not fit in memory; use the Gram route or fewer samples", n, P)
	}
	exec := r.exec
	D, K := a.InputSize(), a.Outputs
	rows := mat.NewDense(n, P, nil)
	ms := make([]Method, len(Layers(a)))
	for i := range ms {
		ms[i] = Materialise // every per-sample gradient is formed
	}
	chunk, err := chunkFor(r.be, a, 512, SampleBytes(a, ms)+12*float64(P)) // + the rows: float32 G_μ, float64 copies
	if err != nil {
		return nil, err
	}
	chunk = max(1, min(chunk, (1<<26)/max(P, 1)))
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		m := hi - lo
		args := make([]any, 0, np+2)
		for _, p := range params {
			args = append(args, p)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(x[lo*D:hi*D], m, D), tensors.FromFlatDataAndDimensions(y[lo*K:hi*K], m, K))
		out, err := exec.Exec(args...)
		if err != nil {
			return nil, err
		}
		col := 0
		for _, t := range out {
			v := tensors.MustCopyFlatData[float64](t)
			w := len(v) / m
			for i := 0; i < m; i++ {
				copy(rows.RawRowView(lo + i)[col:col+w], v[i*w:(i+1)*w])
			}
			col += w
		}
	}
	return rows, nil
}
