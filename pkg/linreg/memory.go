package linreg

import "github.com/sgdescape/sgdescape/pkg/dynamics"

// Memory estimates (bytes, float64 so that absurd sizes saturate instead of
// overflowing an int), for checking a configuration against the machine
// before anything is allocated (see pkg/memcheck).

// MemoryBytes of the problem: the N×P inputs (and their rotated copy), the
// labels, the Hessian and its eigenvectors, and the noise moments up to
// P⁴ that the exact-noise dynamics (SDE4) and the P = 1 density need.
func problemBytes(p Problem, kind dynamics.Kind) float64 {
	n, q := float64(p.N), float64(p.P)
	b := 8 * (2*n*q + 2*n + 4*q*q)
	if kind == dynamics.SDE4 || p.P == 1 {
		b += 8 * (q*q*q*q + q*q*q + 2*q*q)
	}
	return b
}

// MemoryBytes of the stationary experiment: the problem, one state per
// chain, the samples of L/L* (and of θ for P = 1) with the fit's copies, and
// the histogram.
func (c StationaryConfig) MemoryBytes() float64 {
	q := float64(c.P)
	state := 8 * (4*q + 2*q*q)
	return problemBytes(c.Problem, c.Kind) + float64(c.Chains)*state + 8*6*float64(c.Samples) + 8*2*float64(c.Bins)
}

// MemoryBytes of the first-passage experiment: the problem, one state per
// run and the passage times of every run at every threshold (with the
// bootstrap's copies).
func (c FPTConfig) MemoryBytes() float64 {
	q := float64(c.P)
	state := 8 * (4*q + 2*q*q)
	return problemBytes(c.Problem, c.Kind) + float64(c.Runs)*(state+8*4*float64(len(c.thresholds())+2))
}

// timeResolution is the time between two loss checks of a run: η for SGD,
// the SDE step otherwise (0, unknown, for GLD, whose real-time step varies
// with the loss).
func timeResolution(c FPTConfig) float64 {
	if c.Kind == dynamics.GLD {
		return 0
	}
	return c.TimeStep()
}

// MemoryBytes of the grid: its points run one after another, so the largest
// is what must fit.
func (c StationarySweepConfig) MemoryBytes() float64 { return c.Base.MemoryBytes() }
