package noise

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"gonum.org/v1/gonum/mat"

	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/spectrum"
)

// Factors holds, for every dense layer, the layer inputs U_l (N×k) and the
// output gradients δ_l = ∂(Σ_μ f_μ)/∂A_l (N×c) of a single-output network,
// so that ∇f_μ·∇f_ν = Σ_l (U_l[μ]·U_l[ν] + 1)(δ_l[μ]·δ_l[ν]) (weights and
// biases): the N×N Gram matrix of the Jacobian without forming the N×P
// Jacobian.
type Factors struct {
	U, D []*mat.Dense
	F    []float64 // network outputs f_μ
}

// GramFactors computes the Factors of a dense single-output network on n samples.
func GramFactors(be backends.Backend, a model.Arch, params []*tensors.Tensor, x []float32, n int) (*Factors, error) {
	if a.Outputs != 1 {
		return nil, fmt.Errorf("noise: the Gram route needs a single-output network; %s has %d outputs", a.Name, a.Outputs)
	}
	if !a.DenseOnly() {
		return nil, fmt.Errorf("noise: the Gram route handles dense layers only; %s has convolutions (use Rows)", a.Name)
	}
	np := len(params)
	exec, err := NewExec(be, func(in []*Node) []*Node {
		ps, xx := in[:np], in[np]
		f, taps, err := a.Forward(ps, xx)
		if err != nil {
			panic(err)
		}
		as := make([]*Node, len(taps))
		for i, t := range taps {
			as[i] = t.A
		}
		deltas := Gradient(ReduceAllSum(f), as...)
		out := []*Node{ConvertDType(Reshape(f, -1), dtypes.Float64)}
		for l, t := range taps {
			m := t.U.Shape().Dimensions[0]
			out = append(out, ConvertDType(Reshape(t.U, m, -1), dtypes.Float64), ConvertDType(Reshape(deltas[l], m, -1), dtypes.Float64))
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	fs := &Factors{F: make([]float64, 0, n)}
	D := a.InputSize()
	chunk, err := ChunkSizeOn(be, a, 2048)
	if err != nil {
		return nil, err
	}
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		m := hi - lo
		args := make([]any, 0, np+1)
		for _, p := range params {
			args = append(args, p)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(x[lo*D:hi*D], m, D))
		out, err := exec.Exec(args...)
		if err != nil {
			return nil, err
		}
		fs.F = append(fs.F, tensors.MustCopyFlatData[float64](out[0])...)
		for i, t := range out[1:] {
			l := i / 2
			v := tensors.MustCopyFlatData[float64](t)
			w := len(v) / m
			dst := &fs.U
			if i%2 == 1 {
				dst = &fs.D
			}
			if len(*dst) <= l {
				*dst = append(*dst, mat.NewDense(n, w, nil))
			}
			for r := 0; r < m; r++ {
				copy((*dst)[l].RawRowView(lo+r), v[r*w:(r+1)*w])
			}
		}
	}
	return fs, nil
}

// Gram returns G with G[μ][ν] = ∇f_μ·∇f_ν (N×N, symmetric; upper triangle
// stored).
func (fs *Factors) Gram() *mat.SymDense {
	n, _ := fs.U[0].Dims()
	g := mat.NewSymDense(n, nil)
	uu := mat.NewSymDense(n, nil)
	dd := mat.NewSymDense(n, nil)
	graw, uraw, draw := g.RawSymmetric(), uu.RawSymmetric(), dd.RawSymmetric()
	for l := range fs.U {
		for i := range uraw.Data {
			uraw.Data[i], draw.Data[i] = 0, 0
		}
		spectrum.SymOuter(uu, 1, fs.U[l])
		spectrum.SymOuter(dd, 1, fs.D[l])
		for i := 0; i < n; i++ {
			gr := graw.Data[i*graw.Stride+i : i*graw.Stride+n]
			ur := uraw.Data[i*uraw.Stride+i : i*uraw.Stride+n]
			dr := draw.Data[i*draw.Stride+i : i*draw.Stride+n]
			for j := range gr {
				gr[j] += (ur[j] + 1) * dr[j]
			}
		}
	}
	return g
}
