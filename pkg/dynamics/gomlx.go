package dynamics

import (
	"context"
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph-building code reads best with dot import
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/minibatch"
)

// RunGoMLX runs opt.Runs discrete-SGD runs of the linear model in lockstep
// on a GoMLX backend: one graph advances all runs by k steps (unrolled) per
// execution, working in parameter space θ (not the eigenbasis), with the
// mini-batch indices drawn on the host from the same per-run streams as Run.
// Given the same seed it therefore follows the same trajectories as Run's
// native SGD up to floating-point rounding, which tests check. It exists so
// that the ensemble can run on an accelerator (GOMLX_BACKEND=xla:…); on a CPU
// the native loop of Run is one to two orders of magnitude faster.
//
// The observer sees every run after every step, as with Run (Loss, T and
// Steps are current; Z is refreshed once per execution, after its k steps);
// runs that have stopped keep being computed (lockstep) but are no longer
// observed.
func RunGoMLX(ctx context.Context, be backends.Backend, lr *data.LinRegProblem, q *Quadratic, cfg Config, opt Options, k int, obs Observer) (Summary, error) {
	if cfg.Kind != SGD {
		return Summary{}, fmt.Errorf("dynamics: the GoMLX engine runs discrete SGD only, not %q", cfg.Kind)
	}
	if err := cfg.Validate(q); err != nil {
		return Summary{}, err
	}
	if opt.Runs < 1 || opt.MaxSteps < 1 || k < 1 {
		return Summary{}, fmt.Errorf("dynamics: need runs ≥ 1, max steps ≥ 1 and k ≥ 1 steps per execution")
	}
	R, P, N, B := opt.Runs, q.P, q.N, cfg.B
	batchers := make([]*minibatch.Batcher, R)
	states := make([]*State, R)
	theta := make([]float64, R*P)
	for r := 0; r < R; r++ {
		s, err := newState(q, Config{Kind: SGD, Eta: cfg.Eta, B: B}, opt.Seed, r)
		if err != nil {
			return Summary{}, err
		}
		if opt.Init != nil {
			opt.Init(r, s.Z)
		}
		s.Loss = q.Loss(s.Z)
		states[r], batchers[r] = s, s.batch
		copy(theta[r*P:], q.Theta(s.Z))
	}
	stopped := make([]bool, R)
	active := R
	for r, s := range states {
		if obs.Observe(s) {
			stopped[r] = true
			active--
		}
	}
	hess := tensors.FromFlatDataAndDimensions(append([]float64(nil), lr.Hessian...), P, P)
	xs := tensors.FromFlatDataAndDimensions(append([]float64(nil), lr.X...), N, P)
	ys := tensors.FromFlatDataAndDimensions(append([]float64(nil), lr.Y...), N, 1)
	tstar := tensors.FromFlatDataAndDimensions(append([]float64(nil), lr.ThetaStar...), 1, P)
	eta, lstar := cfg.Eta, q.LStar
	exec, err := NewExec(be, func(th, x, y, ts, h, idx *Node) (*Node, *Node) {
		g := th.Graph()
		losses := make([]*Node, k)
		for step := 0; step < k; step++ {
			ids := Reshape(Slice(idx, AxisElem(step)), R, B, 1)
			xb := Gather(x, ids)                                      // [R,B,P]
			yb := Reshape(Gather(y, ids), R, B)                       // [R,B]
			f := ReduceSum(Mul(xb, InsertAxes(th, 1)), -1)            // [R,B]
			grad := ReduceSum(Mul(InsertAxes(Sub(f, yb), -1), xb), 1) // [R,P]
			th = Sub(th, MulScalar(grad, eta/float64(B)))
			d := Sub(th, ts)                            // [R,P]
			quad := ReduceSum(Mul(MatMul(d, h), d), -1) // [R]
			losses[step] = AddScalar(MulScalar(quad, 0.5), lstar)
		}
		_ = g
		return th, Stack(losses, 0) // [K,R]
	})
	if err != nil {
		return Summary{}, err
	}
	idxData := make([]int32, k*R*B)
	thT := tensors.FromFlatDataAndDimensions(theta, R, P)
	var total int64
	diverged := 0
	for steps := int64(0); steps < opt.MaxSteps && active > 0; steps += int64(k) {
		if ctx.Err() != nil {
			return Summary{}, ctx.Err()
		}
		for s := 0; s < k; s++ {
			for r := 0; r < R; r++ {
				copy(idxData[(s*R+r)*B:], batchers[r].Next())
			}
		}
		idxT := tensors.FromFlatDataAndDimensions(idxData, k, R, B)
		out, err := exec.Exec(thT, xs, ys, tstar, hess, idxT)
		if err != nil {
			return Summary{}, err
		}
		thT = out[0]
		ls := tensors.MustCopyFlatData[float64](out[1])
		var thNow []float64
		for s := 0; s < k && steps+int64(s) < opt.MaxSteps; s++ {
			for r := 0; r < R; r++ {
				if stopped[r] {
					continue
				}
				st := states[r]
				st.Steps++
				st.T += eta
				st.Loss = ls[s*R+r]
				total++
				if s == k-1 {
					if thNow == nil {
						thNow = tensors.MustCopyFlatData[float64](thT)
					}
					copy(st.Z, q.Z(thNow[r*P:(r+1)*P]))
				}
				if !(st.Loss < DivergenceFactor*lstar) || math.IsNaN(st.Loss) {
					st.Diverged = true
					obs.Observe(st)
					stopped[r] = true
					active--
					diverged++
					continue
				}
				if obs.Observe(st) {
					stopped[r] = true
					active--
				}
			}
		}
		opt.Progress.Report(R-active, R, fmt.Sprintf("%d steps", total))
	}
	return Summary{Runs: R, Diverged: diverged, TotalSteps: total}, nil
}
