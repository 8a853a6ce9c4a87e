// Package exitchain computes exact first-exit statistics of discrete
// one-dimensional Markov chains: the mean number of steps a random-step
// chain
//
//	θ ← θ − (η/B) Σ_{k=1..B} g_{μ_k}(θ),  μ_k i.i.d. uniform on {1, …, N},
//
// needs to leave an interval (Lo, Hi). For B = 1 this is SGD with one sample
// per step on a data set of N per-sample gradients g_μ(θ); the mean exit time
// solves
//
//	T(θ) = 1 + (1/N) Σ_μ T(θ − η g_μ(θ)) inside (Lo, Hi),  T = 0 outside.
//
// No diffusion limit, Kramers asymptotics or large-deviation ansatz is made:
// T is discretised on a uniform grid over [Lo, Hi] with linear interpolation
// between grid points (the grid values at the ends are T's limits from
// inside, since a discrete chain started next to the boundary does not leave
// at once) and the linear system (I − P)T = 1 is solved directly. It is the
// number every escape-rate approximation of the paper (Eq. 5, Eq. 15, the
// exact-variance diffusion, the large-deviation quasi-potential) tries to
// reach for the finite learning rate at hand.
//
// The chain knows nothing of any model: it takes the per-sample gradients as
// a function. pkg/barrier's helix data set is one source
// (Chain{Grads: data.SampleGrads, N: data.N, …}, see the package example).
package exitchain

import (
	"errors"
	"fmt"
	"math"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// GradFunc writes the N per-sample gradients g_μ(θ) at θ into g (len(g) = N).
type GradFunc func(theta float64, g []float64)

// Chain is the random-step chain θ ← θ − (η/B) Σ_k g_{μ_k}(θ) with B samples
// drawn independently and uniformly with replacement each step (the i.i.d.
// sampling of pkg/barrier's IID mode), absorbed when θ leaves the open
// interval (Lo, Hi).
type Chain struct {
	Grads GradFunc
	N     int     // number of per-sample gradients
	Eta   float64 // learning rate η
	B     int     // batch size (samples per step, with replacement)
	Lo    float64 // escape interval (Lo, Hi)
	Hi    float64
}

// Limits on the problem size.
const (
	// MaxPoints bounds the grid: the dense solve stores two M×M matrices
	// (M = 16 000: 4 GB) and costs (2/3)M³ flops.
	MaxPoints = 16_000
	// MaxB bounds the batch size of the convolution (B > 1): each grid
	// point's distribution of the mean of B gradients is an FFT whose length
	// grows like B (and the grid like √B at fixed η), so the cost grows like
	// B^{3/2} log B.
	MaxB = 256
	// MaxLattice bounds the FFT length of one grid point's B-fold
	// convolution.
	MaxLattice = 1 << 21
	// DefaultCellsPerStep is the grid spacing the automatic grid chooses: the
	// smallest root-mean-square step η·√(mean² + var/B) over the interval
	// spans this many cells. Linear interpolation adds a variance of about
	// h²/6 per step, here 1/6000 of the step's; the error in κ is second
	// order in h. On the barrier helix (seeds 1 and 3, β = 7 and 11) halving
	// the spacing from this grid changes κ by 0.06–0.11 % and doubling it by
	// 0.2–0.5 % (TestGridConvergenceHelix); at 16 cells per step doubling
	// changes it by 0.7–1.5 %.
	DefaultCellsPerStep = 32
	// MinCellsPerStep: a grid on which the smallest root-mean-square step
	// spans less than one cell is refused. Interpolation then smears each step
	// over a cell wider than the step itself and the chain solved is a
	// different one (its added variance h²/6 exceeds a sixth of the step's).
	MinCellsPerStep = 1.0
	// MaxResidual: a solve whose residual bound on the relative error of T
	// (Solution.Residual) exceeds this fails; it happens when T approaches
	// 1e13 steps, where float64 cannot hold T to better accuracy.
	MaxResidual = 1e-3
)

// Options controls the discretisation.
type Options struct {
	// Points is the number M of grid points over [Lo, Hi] (ends included).
	// 0 chooses M (odd, at least 201) so that the smallest root-mean-square
	// step spans DefaultCellsPerStep cells.
	Points int
	// Solver is SolverAuto (""), SolverLU or SolverGMRES. Both solvers give
	// the same T (to 1e-8 and better, TestSolversAgree; both are exact on the
	// lattice chains). On the helix at the default grid (M ≈ 1700–2700)
	// GMRES is 2–4 times faster than LU (BenchmarkHelixRate) and its cost
	// grows like M² instead of M³; LU is direct and cannot run out of
	// iterations. SolverAuto uses GMRES and falls back to LU if GMRES does
	// not converge.
	Solver string
	// NoCheck skips the second solve on the half grid (GridChange is then NaN).
	NoCheck bool
	// Progress, when set, receives reports while the transition rows are
	// built (the long phase for B > 1) and when the solve starts.
	Progress run.Progress
}

// Solvers of the linear system (I − P)T = 1.
const (
	SolverAuto  = ""      // GMRES, LU when GMRES does not converge
	SolverLU    = "lu"    // dense LU with partial pivoting (gonum mat) and iterative refinement
	SolverGMRES = "gmres" // unrestarted GMRES on the sparse rows (for grids too large for the dense solve)
)

// Solution is the mean exit time on the grid. Its methods are not safe for
// concurrent use (they share a scratch buffer).
type Solution struct {
	Chain Chain
	X     []float64 // grid over [Lo, Hi]
	T     []float64 // mean exit time in steps at X (limits from inside at the ends)
	H     float64   // spacing
	// CellsPerStep is the smallest root-mean-square step over the grid in
	// units of H.
	CellsPerStep float64
	// Residual is max_i |1 − ((I − P)T)_i| after the solve. Since
	// (I − P)⁻¹ is entrywise nonnegative and (I − P)⁻¹1 = T, the error the
	// solve leaves in every T_i is at most Residual·T_i: it is a bound on the
	// relative error of the linear algebra (not of the grid). Its floor is
	// float64 rounding of T itself, about 1e-16·max T.
	Residual float64
	// Solver used (SolverLU or SolverGMRES) and its iterations: GMRES's
	// Krylov steps, or LU's refinement steps.
	Solver     string
	Iterations int
	g          []float64 // scratch for At
}

// ErrNoExit is returned when some part of the interval never leads out: the
// chain has a closed set of states inside (Lo, Hi) (for example a point where
// every per-sample gradient vanishes) and T is infinite there.
var ErrNoExit = errors.New("exitchain: the chain cannot leave the interval from some states (I − P is singular): the mean exit time is infinite")

// Validate checks the chain's numbers (not its gradients, which Solve checks
// at every grid point).
func (c Chain) Validate() error {
	fin := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case c.Grads == nil:
		return fmt.Errorf("exitchain: no per-sample gradient function (Chain.Grads is nil)")
	case c.N < 1:
		return fmt.Errorf("exitchain: the data set needs at least one sample, got N = %d", c.N)
	case !(c.Eta > 0) || !fin(c.Eta):
		return fmt.Errorf("exitchain: the learning rate η must be positive and finite, got %v", c.Eta)
	case c.B < 1:
		return fmt.Errorf("exitchain: the batch size B must be ≥ 1, got %d", c.B)
	case c.B > MaxB:
		return fmt.Errorf("exitchain: B = %d is beyond the exact solver (at most %d): the lattice of the mean of B gradients grows like B^{3/2}; use the diffusion or large-deviation predictions", c.B, MaxB)
	case !fin(c.Lo) || !fin(c.Hi):
		return fmt.Errorf("exitchain: the escape interval (%v, %v) must have finite ends", c.Lo, c.Hi)
	case !(c.Hi > c.Lo):
		return fmt.Errorf("exitchain: the escape interval (%v, %v) is empty (need Lo < Hi): there is no barrier to escape over", c.Lo, c.Hi)
	}
	return nil
}

// Kappa is the escape rate per unit time t = η·steps (the convention of
// pkg/barrier and the paper): κ = 1/(η T(θ0)).
func (s *Solution) Kappa(theta0 float64) (float64, error) {
	t, err := s.At(theta0)
	if err != nil {
		return 0, err
	}
	return 1 / (s.Chain.Eta * t), nil
}

// At returns T(θ0) in steps by one application of the exit equation to the
// grid solution (Nyström interpolation: T(θ0) = 1 + E[T(θ0 − step)]), which
// is as accurate as the grid values themselves.
func (s *Solution) At(theta0 float64) (float64, error) {
	c := s.Chain
	if !(theta0 > c.Lo && theta0 < c.Hi) {
		return 0, fmt.Errorf("exitchain: start θ = %v is not inside the escape interval (%v, %v)", theta0, c.Lo, c.Hi)
	}
	if s.g == nil {
		s.g = make([]float64, c.N)
	}
	k := newKernel(c, len(s.X))
	row, err := k.row(theta0, s.g)
	if err != nil {
		return 0, err
	}
	t := 1.0
	for _, e := range row.entries {
		t += e.p * s.T[e.j]
	}
	return t, nil
}

// Solve discretises the chain on the grid of opts and solves (I − P)T = 1.
func (c Chain) Solve(opts Options) (*Solution, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m, err := c.points(opts)
	if err != nil {
		return nil, err
	}
	return c.solveOn(m, opts)
}

// points returns the grid size of opts (the automatic choice when 0).
func (c Chain) points(opts Options) (int, error) {
	switch {
	case opts.Solver != SolverAuto && opts.Solver != SolverLU && opts.Solver != SolverGMRES:
		return 0, fmt.Errorf("exitchain: solver must be %q, %q or %q (auto), got %q", SolverLU, SolverGMRES, SolverAuto, opts.Solver)
	case opts.Points < 0 || opts.Points == 1 || opts.Points == 2:
		return 0, fmt.Errorf("exitchain: the grid needs at least 3 points, got %d (0 chooses it from the step size)", opts.Points)
	case opts.Points > MaxPoints:
		return 0, fmt.Errorf("exitchain: %d grid points exceed the dense solver's limit %d (memory 16·M² bytes); use fewer points", opts.Points, MaxPoints)
	case opts.Points > 0:
		return opts.Points, nil
	}
	// Scan the smallest root-mean-square step on a coarse grid.
	const scan = 201
	g := make([]float64, c.N)
	minRMS := math.Inf(1)
	for i := 0; i < scan; i++ {
		x := c.Lo + (c.Hi-c.Lo)*float64(i)/(scan-1)
		rms, err := c.moments(x, g)
		if err != nil {
			return 0, err
		}
		minRMS = math.Min(minRMS, rms)
	}
	if !(minRMS > 0) {
		return 0, fmt.Errorf("exitchain: the chain does not move at some point of the interval (every per-sample gradient is 0 there), so it can never leave; the mean exit time is infinite")
	}
	// Odd, so that the half grid (every other point) has exactly twice the spacing.
	need := DefaultCellsPerStep*(c.Hi-c.Lo)/minRMS + 1
	if !(need <= MaxPoints) {
		return 0, fmt.Errorf("exitchain: the smallest root-mean-square step η·√(mean g²) = %.3g is %.3g of the interval (%v, %v): resolving it needs %.3g grid points (more than %d); the chain barely moves there — check η and the interval", minRMS, minRMS/(c.Hi-c.Lo), c.Lo, c.Hi, need, MaxPoints)
	}
	m := max(201, int(math.Ceil(need)))
	if m%2 == 0 {
		m++
	}
	return min(m, MaxPoints-1), nil
}

func (c Chain) solveOn(m int, opts Options) (*Solution, error) {
	rows, cells, err := c.buildRows(m, opts.Progress)
	if err != nil {
		return nil, err
	}
	h := (c.Hi - c.Lo) / float64(m-1)
	if i := rows.closed(); i >= 0 {
		return nil, fmt.Errorf("%w (first at θ = %.6g)", ErrNoExit, c.Lo+float64(i)*h)
	}
	if cells < MinCellsPerStep {
		return nil, fmt.Errorf("exitchain: grid too coarse for the step size: the smallest root-mean-square step spans %.3g cells of h = %.3g (need ≥ %g; interpolation would smear each step over a wider cell); use at least %d points or Points = 0",
			cells, h, MinCellsPerStep, int(math.Ceil(MinCellsPerStep*(c.Hi-c.Lo)/(cells*h)))+1)
	}
	opts.Progress.Report(m, m, fmt.Sprintf("exit chain: solving %d×%d (%s)", m, m, opts.Solver))
	t, res, it, solver, err := rows.solve(opts.Solver)
	if err != nil {
		return nil, err
	}
	for i, v := range t {
		if !(v >= 1-1e-9) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("exitchain: the solve gave T = %v steps at θ = %.6g (must be ≥ 1 and finite; residual %.3g): the exit time is beyond float64 accuracy", v, c.Lo+float64(i)*h, res)
		}
	}
	if res > MaxResidual {
		return nil, fmt.Errorf("exitchain: the solve left a residual of %.3g steps (a relative error of up to %.2g %% in T, more than %.2g %%): the exit time (up to %.3g steps) is beyond float64 accuracy; lower β (raise η) or the barrier", res, 100*res, 100*MaxResidual, floatsMax(t))
	}
	x := make([]float64, m)
	for i := range x {
		x[i] = c.Lo + float64(i)*h
	}
	x[m-1] = c.Hi
	return &Solution{Chain: c, X: x, T: t, H: h, CellsPerStep: cells, Residual: res, Iterations: it, Solver: solver}, nil
}

func floatsMax(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// Estimate is the escape rate of a chain from one start with its grid
// uncertainty.
type Estimate struct {
	Start float64 `json:"start"`
	Steps float64 `json:"steps"` // mean exit time T(start) in steps
	Kappa float64 `json:"kappa"` // 1/(η·Steps): rate per unit time t = η·steps
	// KappaHalf is κ on the grid with twice the spacing (every other
	// point); GridChange = |κ/KappaHalf − 1| bounds the discretisation error
	// of KappaHalf (and, the error being second order in the spacing, that of
	// Kappa by about a quarter of it). NaN when Options.NoCheck is set or the
	// half grid is too coarse.
	KappaHalf    float64 `json:"kappa_half_grid"`
	GridChange   float64 `json:"grid_change"`
	Points       int     `json:"points"`
	CellsPerStep float64 `json:"cells_per_step"`
	Residual     float64 `json:"residual"`
	Iterations   int     `json:"iterations"`
	Solver       string  `json:"solver"`
}

// Rate solves the chain and returns the escape rate from start, with the
// same solve on the half grid as a convergence check (it costs an eighth of
// the LU solve).
func (c Chain) Rate(start float64, opts Options) (Estimate, error) {
	if err := c.Validate(); err != nil {
		return Estimate{}, err
	}
	if !(start > c.Lo && start < c.Hi) {
		return Estimate{}, fmt.Errorf("exitchain: start θ = %v is not inside the escape interval (%v, %v); start at the minimum the chain escapes from", start, c.Lo, c.Hi)
	}
	m, err := c.points(opts)
	if err != nil {
		return Estimate{}, err
	}
	sol, err := c.solveOn(m, opts)
	if err != nil {
		return Estimate{}, err
	}
	t, err := sol.At(start)
	if err != nil {
		return Estimate{}, err
	}
	e := Estimate{Start: start, Steps: t, Kappa: 1 / (c.Eta * t), KappaHalf: math.NaN(), GridChange: math.NaN(), Points: m,
		CellsPerStep: sol.CellsPerStep, Residual: sol.Residual, Iterations: sol.Iterations, Solver: sol.Solver}
	if opts.NoCheck || m%2 == 0 || m < 7 || sol.CellsPerStep < 2*MinCellsPerStep {
		return e, nil
	}
	half, err := c.solveOn((m+1)/2, opts)
	if err != nil {
		return Estimate{}, fmt.Errorf("exitchain: the half-grid check: %w", err)
	}
	th, err := half.At(start)
	if err != nil {
		return Estimate{}, err
	}
	e.KappaHalf = 1 / (c.Eta * th)
	e.GridChange = math.Abs(e.Kappa/e.KappaHalf - 1)
	return e, nil
}
