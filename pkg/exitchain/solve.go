package exitchain

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// sparse holds the rows of P on the grid in compressed form, with each
// row's exit probability; (I − P)x is evaluated as
// exit_i·x_i + Σ_{j≠i} P_ij (x_i − x_j), which keeps the tiny leak 1/T of a
// long exit time free of the cancellation in 1 − Σ_j P_ij.
type sparse struct {
	m     int
	start []int // row i is idx/p[start[i]:start[i+1]]
	idx   []int32
	p     []float64
	exit  []float64
	diag  []float64 // exit_i + Σ_{j≠i} P_ij: the diagonal of I − P
}

// apply writes (I − P)x into y.
func (s *sparse) apply(x, y []float64) {
	for i := 0; i < s.m; i++ {
		xi := x[i]
		v := s.exit[i] * xi
		for k := s.start[i]; k < s.start[i+1]; k++ {
			v += s.p[k] * (xi - x[s.idx[k]])
		}
		y[i] = v
	}
}

// buildRows discretises the chain on m points; it also returns the smallest
// root-mean-square step in cells.
func (c Chain) buildRows(m int, progress run.Progress) (*sparse, float64, error) {
	k := newKernel(c, m)
	g := make([]float64, c.N)
	s := &sparse{m: m, start: make([]int, m+1), exit: make([]float64, m), diag: make([]float64, m)}
	minRMS := math.Inf(1)
	for i := 0; i < m; i++ {
		if i%256 == 0 {
			progress.Report(i, m, "exit chain: transition rows")
		}
		x := c.Lo + float64(i)*k.h
		if i == m-1 {
			x = c.Hi
		}
		r, err := k.row(x, g)
		if err != nil {
			return nil, 0, err
		}
		minRMS = math.Min(minRMS, r.rms)
		s.exit[i] = r.exit
		d := r.exit
		for _, e := range r.entries {
			if e.j == i || e.p == 0 {
				continue
			}
			s.idx = append(s.idx, int32(e.j))
			s.p = append(s.p, e.p)
			d += e.p
		}
		s.diag[i] = d
		s.start[i+1] = len(s.p)
	}
	return s, minRMS / k.h, nil
}

// closed returns the index of a grid state from which the exit cannot be
// reached (−1 when every state leads out): a breadth-first search backwards
// from the states that exit in one step.
func (s *sparse) closed() int {
	// Reverse adjacency: who can jump to j.
	cnt := make([]int, s.m+1)
	for _, j := range s.idx {
		cnt[j+1]++
	}
	for j := 0; j < s.m; j++ {
		cnt[j+1] += cnt[j]
	}
	from := make([]int32, len(s.idx))
	pos := append([]int(nil), cnt[:s.m]...)
	for i := 0; i < s.m; i++ {
		for k := s.start[i]; k < s.start[i+1]; k++ {
			j := s.idx[k]
			from[pos[j]] = int32(i)
			pos[j]++
		}
	}
	ok := make([]bool, s.m)
	var queue []int
	for i, e := range s.exit {
		if e > 0 {
			ok[i] = true
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		j := queue[0]
		queue = queue[1:]
		for _, i := range from[cnt[j]:cnt[j+1]] {
			if !ok[i] {
				ok[i] = true
				queue = append(queue, int(i))
			}
		}
	}
	for i, v := range ok {
		if !v {
			return i
		}
	}
	return -1
}

// solve runs the named solver (SolverAuto: GMRES, then LU if GMRES does
// not converge) and returns T, its residual, the iterations and the solver
// used.
func (s *sparse) solve(name string) ([]float64, float64, int, string, error) {
	switch name {
	case SolverLU:
		t, res, it, err := s.solveLU()
		return t, res, it, SolverLU, err
	case SolverGMRES:
		t, res, it, err := s.solveGMRES()
		return t, res, it, SolverGMRES, err
	case SolverAuto:
		t, res, it, err := s.solveGMRES()
		if err == nil && res <= MaxResidual {
			return t, res, it, SolverGMRES, nil
		}
		t, res, it, err = s.solveLU()
		return t, res, it, SolverLU, err
	}
	return nil, 0, 0, "", fmt.Errorf("exitchain: solver must be %q, %q or %q (auto), got %q", SolverLU, SolverGMRES, SolverAuto, name)
}

// residual writes r = 1 − (I − P)x and returns max |r|.
func (s *sparse) residual(x, r []float64) float64 {
	s.apply(x, r)
	worst := 0.0
	for i := range r {
		r[i] = 1 - r[i]
		worst = math.Max(worst, math.Abs(r[i]))
	}
	return worst
}

// solveLU solves (I − P)T = 1 by dense LU with partial pivoting (gonum,
// LAPACK's dgetrf algorithm) followed by iterative refinement with the
// residual evaluated from the sparse rows.
func (s *sparse) solveLU() ([]float64, float64, int, error) {
	m := s.m
	a := mat.NewDense(m, m, nil)
	raw := a.RawMatrix()
	for i := 0; i < m; i++ {
		row := raw.Data[i*raw.Stride : i*raw.Stride+m]
		row[i] = s.diag[i]
		for k := s.start[i]; k < s.start[i+1]; k++ {
			row[s.idx[k]] -= s.p[k]
		}
	}
	var lu mat.LU
	lu.Factorize(a)
	a = nil
	ones := make([]float64, m)
	for i := range ones {
		ones[i] = 1
	}
	x := mat.NewVecDense(m, nil)
	if err := lu.SolveVecTo(x, false, mat.NewVecDense(m, ones)); err != nil {
		if _, ok := err.(mat.Condition); !ok {
			return nil, 0, 0, fmt.Errorf("exitchain: LU solve: %w", err)
		}
	}
	t := x.RawVector().Data
	r := make([]float64, m)
	res := s.residual(t, r)
	steps := 0
	d := mat.NewVecDense(m, nil)
	for ; steps < 5 && res > 1e-9; steps++ {
		if err := lu.SolveVecTo(d, false, mat.NewVecDense(m, r)); err != nil {
			if _, ok := err.(mat.Condition); !ok {
				return nil, 0, 0, fmt.Errorf("exitchain: LU refinement: %w", err)
			}
		}
		prev := append([]float64(nil), t...)
		for i, v := range d.RawVector().Data {
			t[i] += v
		}
		next := s.residual(t, r)
		if !(next < res) { // at the rounding floor: keep the better iterate
			copy(t, prev)
			s.residual(t, r)
			break
		}
		res = next
	}
	return t, res, steps, nil
}
