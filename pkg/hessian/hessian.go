// Package hessian measures the curvature of a network at a point: exact
// Hessian-vector products of the full-batch loss (the gradient of ⟨∇L, v⟩,
// in float64), so that pkg/spectrum's Lanczos, Hutchinson and SLQ apply to
// the true Hessian; and the Gauss–Newton matrix (1/N)Σ_μ∇f_μ∇f_μᵀ of Eq. 44
// (summed over outputs), whose dense spectrum is computed through the P×P or
// the N×N (Gram) form, whichever is smaller, after checking that it fits in
// memory.
package hessian

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph-building code reads best with dot import
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"gonum.org/v1/gonum/mat"

	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/noise"
	"github.com/sgdescape/sgdescape/pkg/spectrum"
)

// To64 converts float32 tensors to float64 copies.
func To64(ts []*tensors.Tensor) []*tensors.Tensor {
	out := make([]*tensors.Tensor, len(ts))
	for i, t := range ts {
		v := tensors.MustCopyFlatData[float32](t)
		w := make([]float64, len(v))
		for j, x := range v {
			w[j] = float64(x)
		}
		out[i] = tensors.FromFlatDataAndDimensions(w, t.Shape().Dimensions...)
	}
	return out
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// HVP is the Hessian of the full-batch loss L = (1/N)Σℓ_μ at fixed
// parameters, as a spectrum.Operator on flattened parameter vectors (order
// of model.Arch.Params).
type HVP struct {
	arch   model.Arch
	params []*tensors.Tensor // float64
	x, y   []float64
	n      int
	chunk  int
	exec   *Exec
	grad   *Exec
	sizes  []int
}

// NewHVP prepares Hessian-vector products at params (float32, as trained).
func NewHVP(be backends.Backend, a model.Arch, loss string, params []*tensors.Tensor, x, y []float32, n int) (*HVP, error) {
	if loss != model.MSE && loss != model.CE {
		return nil, fmt.Errorf("hessian: unknown loss %q", loss)
	}
	h := &HVP{arch: a, params: To64(params), x: f64(x), y: f64(y), n: n, chunk: noise.ChunkSize(a, 1024)}
	for _, p := range a.Params() {
		s := 1
		for _, d := range p.Shape {
			s *= d
		}
		h.sizes = append(h.sizes, s)
	}
	np := len(params)
	var err error
	// lossSum is Σ_μ ℓ_μ over a chunk (the loss was checked above, and the
	// parameter count matches the architecture, so the errors cannot occur).
	lossSum := func(ps []*Node, xx, yy *Node) *Node {
		f, err := a.Apply(ps, xx)
		if err != nil {
			panic(err)
		}
		l, err := model.PerSampleLoss(loss, f, yy)
		if err != nil {
			panic(err)
		}
		return ReduceAllSum(l)
	}
	h.exec, err = NewExec(be, func(in []*Node) []*Node {
		ps, vs, xx, yy := in[:np], in[np:2*np], in[2*np], in[2*np+1]
		g := Gradient(lossSum(ps, xx, yy), ps...)
		var s *Node
		for i := range g {
			t := ReduceAllSum(Mul(g[i], vs[i]))
			if s == nil {
				s = t
			} else {
				s = Add(s, t)
			}
		}
		return Gradient(s, ps...)
	})
	if err != nil {
		return nil, err
	}
	h.grad, err = NewExec(be, func(in []*Node) []*Node {
		ps, xx, yy := in[:np], in[np], in[np+1]
		l := lossSum(ps, xx, yy)
		return append(Gradient(l, ps...), l)
	})
	return h, err
}

// Dim is P.
func (h *HVP) Dim() int {
	s := 0
	for _, v := range h.sizes {
		s += v
	}
	return s
}

func (h *HVP) split(v []float64) []*tensors.Tensor {
	out := make([]*tensors.Tensor, len(h.sizes))
	off := 0
	for i, p := range h.arch.Params() {
		out[i] = tensors.FromFlatDataAndDimensions(append([]float64(nil), v[off:off+h.sizes[i]]...), p.Shape...)
		off += h.sizes[i]
	}
	return out
}

// run sums a per-chunk executable's parameter-shaped outputs over the data
// and divides by N; extra holds the remaining outputs summed.
func (h *HVP) run(exec *Exec, params []*tensors.Tensor, extraArgs []*tensors.Tensor, out []float64) (float64, error) {
	for i := range out {
		out[i] = 0
	}
	D, K := h.arch.InputSize(), h.arch.Outputs
	extra := 0.0
	for lo := 0; lo < h.n; lo += h.chunk {
		hi := min(h.n, lo+h.chunk)
		m := hi - lo
		args := make([]any, 0, 2*len(params)+2)
		for _, p := range params {
			args = append(args, p)
		}
		for _, p := range extraArgs {
			args = append(args, p)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(h.x[lo*D:hi*D], m, D), tensors.FromFlatDataAndDimensions(h.y[lo*K:hi*K], m, K))
		res, err := exec.Exec(args...)
		if err != nil {
			return 0, err
		}
		off := 0
		for i := range h.sizes {
			for j, x := range tensors.MustCopyFlatData[float64](res[i]) {
				out[off+j] += x
			}
			off += h.sizes[i]
		}
		if len(res) > len(h.sizes) {
			extra += tensors.ToScalar[float64](res[len(h.sizes)])
		}
	}
	inv := 1 / float64(h.n)
	for i := range out {
		out[i] *= inv
	}
	return extra * inv, nil
}

// Apply computes H·v.
func (h *HVP) Apply(v, out []float64) error {
	if len(v) != h.Dim() || len(out) != h.Dim() {
		return fmt.Errorf("hessian: vectors must have length P = %d", h.Dim())
	}
	_, err := h.run(h.exec, h.params, h.split(v), out)
	return err
}

// GradientAt returns ∇L and L at flattened parameters theta (float64).
func (h *HVP) GradientAt(theta []float64) ([]float64, float64, error) {
	g := make([]float64, h.Dim())
	l, err := h.run(h.grad, h.split(theta), nil, g)
	return g, l, err
}

// Flat returns the parameters as one float64 vector.
func (h *HVP) Flat() []float64 {
	var v []float64
	for _, p := range h.params {
		v = append(v, tensors.MustCopyFlatData[float64](p)...)
	}
	return v
}

// DenseFD returns the Hessian by central finite differences of the exact
// gradient, H[:,j] = (∇L(θ+εe_j) − ∇L(θ−εe_j))/2ε, symmetrised: an
// independent reference for small networks (P² memory, 2P gradients).
func (h *HVP) DenseFD(eps float64) (*mat.SymDense, error) {
	P := h.Dim()
	if P > 5000 {
		return nil, fmt.Errorf("hessian: a finite-difference Hessian of P = %d parameters is a reference for small networks only", P)
	}
	theta := h.Flat()
	cols := mat.NewDense(P, P, nil)
	for j := 0; j < P; j++ {
		orig := theta[j]
		theta[j] = orig + eps
		gp, _, err := h.GradientAt(theta)
		if err != nil {
			return nil, err
		}
		theta[j] = orig - eps
		gm, _, err := h.GradientAt(theta)
		if err != nil {
			return nil, err
		}
		theta[j] = orig
		for i := 0; i < P; i++ {
			cols.Set(i, j, (gp[i]-gm[i])/(2*eps))
		}
	}
	s := mat.NewSymDense(P, nil)
	for i := 0; i < P; i++ {
		for j := i; j < P; j++ {
			s.SetSym(i, j, 0.5*(cols.At(i, j)+cols.At(j, i)))
		}
	}
	return s, nil
}

// AvailableMemory returns the bytes the kernel reports as available
// (MemAvailable), or 8 GiB when it cannot be read.
func AvailableMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "MemAvailable:") {
				f := strings.Fields(line)
				if len(f) >= 2 {
					if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
						return kb * 1024
					}
				}
			}
		}
	}
	return 8 << 30
}

// Route names the dense route of a Gauss–Newton spectrum.
type Route string

// Routes.
const (
	RouteP    Route = "PxP" // (1/N)JᵀJ, P×P
	RouteGram Route = "NxN" // (1/N)JJᵀ, N×N
)

// GNSpectrum is the dense Gauss–Newton spectrum.
type GNSpectrum struct {
	Eigenvalues []float64 `json:"eigenvalues"` // decreasing; the non-zero part (min(P, N·K) values)
	Route       Route     `json:"route"`
	P, N        int
}

// GaussNewton computes the dense spectrum of (1/N)Σ_μΣ_k∇f_μk∇f_μkᵀ at params
// on n samples, by the smaller of the P×P and N×N routes (the N×N route
// needs a single-output dense network; otherwise the P×P route is used).
// It refuses, with advice, when the route needs more memory than available.
func GaussNewton(be backends.Backend, a model.Arch, params []*tensors.Tensor, x []float32, n int, force Route) (GNSpectrum, error) {
	P := a.NumParams()
	rows := n * a.Outputs
	gramOK := a.Outputs == 1 && a.DenseOnly()
	route := RouteP
	if gramOK && rows < P {
		route = RouteGram
	}
	if force != "" {
		route = force
	}
	if route == RouteGram && !gramOK {
		return GNSpectrum{}, fmt.Errorf("hessian: the N×N route needs a single-output dense network")
	}
	dim := P
	need := int64(3)*int64(P)*int64(P)*8 + int64(min(n, 4096))*int64(P)*8
	if route == RouteGram {
		dim = n
		need = int64(4) * int64(n) * int64(n) * 8
		for _, p := range a.Params() {
			if !p.Bias {
				need += int64(n) * int64(p.Shape[0]+p.Shape[1]) * 8
			}
		}
	}
	if avail := AvailableMemory(); need > avail*8/10 {
		return GNSpectrum{}, fmt.Errorf("hessian: the dense %s Gauss–Newton spectrum (dimension %d) needs about %.1f GiB, more than the %.1f GiB available; use Lanczos for the top eigenvalues (TopK) or SLQ for the density, or fewer samples N",
			route, dim, float64(need)/(1<<30), float64(avail)/(1<<30))
	}
	out := GNSpectrum{Route: route, P: P, N: n}
	var sym *mat.SymDense
	if route == RouteGram {
		fs, err := noise.GramFactors(be, a, params, x, n)
		if err != nil {
			return out, err
		}
		g := fs.Gram()
		ones := make([]float64, n)
		for i := range ones {
			ones[i] = 1
		}
		if sym, err = spectrum.WeightedGram(g, ones, 1/float64(n)); err != nil {
			return out, err
		}
	} else {
		var err error
		if sym, err = jtj(be, a, params, x, n); err != nil {
			return out, err
		}
	}
	ev, err := spectrum.Eigenvalues(sym)
	if err != nil {
		return out, err
	}
	for i := range ev {
		if ev[i] < 0 {
			ev[i] = 0 // rounding below zero of a positive semi-definite matrix
		}
	}
	out.Eigenvalues = ev
	return out, nil
}

// jtj accumulates (1/N)JᵀJ in chunks of Jacobian rows (one per sample and output).
func jtj(be backends.Backend, a model.Arch, params []*tensors.Tensor, x []float32, n int) (*mat.SymDense, error) {
	P := a.NumParams()
	acc := mat.NewSymDense(P, nil)
	K := a.Outputs
	chunk := max(1, min(2048, (1<<27)/max(P*K, 1)))
	D := a.InputSize()
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		m := hi - lo
		for k := 0; k < K; k++ {
			// Rows of ∇f_μk: the gradient of ½(f_k − y)² with the residual set to 1 on output k only.
			rows, err := outputRows(be, a, params, x[lo*D:hi*D], m, k)
			if err != nil {
				return nil, err
			}
			spectrum.SymRankK(acc, 1/float64(n), rows)
		}
	}
	return acc, nil
}

// outputRows returns the m×P Jacobian rows of output k.
func outputRows(be backends.Backend, a model.Arch, params []*tensors.Tensor, x []float32, m, k int) (*mat.Dense, error) {
	if a.Outputs == 1 {
		return noise.Rows(be, a, model.MSE, noise.OutputGradient, params, x, make([]float32, m), m)
	}
	// For several outputs, ∇ℓ of ½|f − y|² with y = f − e_k equals ∇f_k; the
	// network outputs are computed first to build those targets.
	f, err := outputs(be, a, params, x, m)
	if err != nil {
		return nil, err
	}
	K := a.Outputs
	y := make([]float32, m*K)
	for i := 0; i < m; i++ {
		for j := 0; j < K; j++ {
			y[i*K+j] = f[i*K+j]
		}
		y[i*K+k] -= 1
	}
	return noise.Rows(be, a, model.MSE, noise.LossGradient, params, x, y, m)
}

func outputs(be backends.Backend, a model.Arch, params []*tensors.Tensor, x []float32, m int) ([]float32, error) {
	np := len(params)
	exec, err := NewExec(be, func(in []*Node) *Node {
		f, err := a.Apply(in[:np], in[np])
		if err != nil {
			panic(err)
		}
		return f
	})
	if err != nil {
		return nil, err
	}
	args := make([]any, 0, np+1)
	for _, p := range params {
		args = append(args, p)
	}
	args = append(args, tensors.FromFlatDataAndDimensions(x, m, a.InputSize()))
	res, err := exec.Exec(args...)
	if err != nil {
		return nil, err
	}
	return tensors.MustCopyFlatData[float32](res[0]), nil
}
