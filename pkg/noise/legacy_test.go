package noise

import (
	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/sgdescape/sgdescape/pkg/model"
)

// legacy is the per-sample statistics graph of sgdescape up to 2273ce6 (the
// path this package replaced), kept as a reference for tests and for A/B
// benchmarks: a backward pass to the pre-activations and the parameters
// both, every convolution's per-sample gradient formed as a batched
// product [n, k, c], dense layers by |u|²|δ|².
type legacy struct {
	arch  model.Arch
	loss  string
	chunk int
	exec  *Exec
}

func newLegacy(be backends.Backend, a model.Arch, loss string, chunk int) (*legacy, error) {
	lg := &legacy{arch: a, loss: loss, chunk: chunk}
	np := len(a.Params())
	exec, err := NewExec(be, func(in []*Node) []*Node {
		params, x, y := in[:np], in[np], in[np+1]
		f, taps, err := a.Forward(params, x)
		if err != nil {
			panic(err)
		}
		l, err := model.PerSampleLoss(loss, f, y)
		if err != nil {
			panic(err)
		}
		wrt := make([]*Node, 0, len(taps)+len(params))
		for _, t := range taps {
			wrt = append(wrt, t.A)
		}
		wrt = append(wrt, params...)
		grads := Gradient(ReduceAllSum(l), wrt...)
		var total *Node
		for i, tap := range taps {
			u, d := tap.U, grads[i]
			var sq *Node
			if u.Shape().Dimensions[1] == 1 {
				sq = Mul(ReduceSum(Mul(u, u), 1, 2), ReduceSum(Mul(d, d), 1, 2))
			} else {
				g := DotGeneral(u, []int{1}, []int{0}, d, []int{1}, []int{0}) // [n, k, c]
				sq = ReduceSum(Mul(g, g), 1, 2)
			}
			b := ReduceSum(d, 1)
			sq = Add(sq, ReduceSum(Mul(b, b), 1))
			if total == nil {
				total = sq
			} else {
				total = Add(total, sq)
			}
		}
		return append([]*Node{l, total}, grads[len(taps):]...)
	})
	if err != nil {
		return nil, err
	}
	lg.exec = exec
	return lg, nil
}

// run returns the per-sample losses and |∇ℓ_μ|², and the gradient summed
// over the samples (flattened, parameters in order).
func (lg *legacy) run(params []*tensors.Tensor, x, y []float32, n int) (ls, g2, sum []float64, err error) {
	D, K := lg.arch.InputSize(), lg.arch.Outputs
	for lo := 0; lo < n; lo += lg.chunk {
		hi := min(n, lo+lg.chunk)
		m := hi - lo
		args := make([]any, 0, len(params)+2)
		for _, p := range params {
			args = append(args, p)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(x[lo*D:hi*D], m, D), tensors.FromFlatDataAndDimensions(y[lo*K:hi*K], m, K))
		out, err := lg.exec.Exec(args...)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, v := range tensors.MustCopyFlatData[float32](out[0]) {
			ls = append(ls, float64(v))
		}
		for _, v := range tensors.MustCopyFlatData[float32](out[1]) {
			g2 = append(g2, float64(v))
		}
		var flat []float64
		for _, t := range out[2:] {
			for _, v := range tensors.MustCopyFlatData[float32](t) {
				flat = append(flat, float64(v))
			}
		}
		if sum == nil {
			sum = flat
		} else {
			for i := range sum {
				sum[i] += flat[i]
			}
		}
	}
	return ls, g2, sum, nil
}
