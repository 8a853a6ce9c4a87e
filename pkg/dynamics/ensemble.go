package dynamics

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// Walker is one run of an ensemble. Step advances it by one step; when
// observe is true it also returns the run's time t (η·steps for SGD), its
// loss and whether that loss means the run blew up. Observation may be
// costly (a network's exact full-batch loss is a pass over the data), so the
// driver asks for it only at observation points; a walker whose loss comes
// for free (the quadratic dynamics) may return it always.
type Walker interface {
	Step(observe bool) (t, loss float64, diverged bool)
	// Observe returns the time and loss without stepping (the start).
	Observe() (t, loss float64)
}

// Advancer is a Walker that takes many steps in one call and stops by
// itself at an absorbing state (a run leaving the escape interval of
// pkg/barrier). Simulate hands it whole stretches between observations
// instead of one step at a time, so that its hot loop stays one tight loop.
type Advancer interface {
	Walker
	// Advance takes up to n ≥ 1 steps and returns how many it took, and
	// whether it stopped early because the run was absorbed or diverged.
	Advance(n int64) (steps int64, absorbed, diverged bool)
}

// advanceChunk bounds the steps of one Advance call, so that a cancelled
// context stops an Advancer within milliseconds.
const advanceChunk = 1 << 16

// Ensemble makes the R independent runs of a simulation: the quadratic
// dynamics of this package (SGD, Eq. 4, 12, 14, GLD) and the network
// continuation of pkg/network are two. Run r must draw all its randomness
// from its own stream (RunRNG(seed, r)), so that results do not depend on
// the number of workers.
type Ensemble interface {
	Walker(r int, seed uint64) (Walker, error)
}

// Visitor sees run r at step 0, every Every steps and after the last step,
// with the walker and its observed time and loss, and returns true to stop
// the run. A run whose loss diverged is shown once more with diverged = true
// and stopped. Visitors are called concurrently for different runs and must
// only touch per-run data.
type Visitor func(r int, steps int64, w Walker, t, loss float64, diverged bool) (stop bool)

// Schedule says how long and how often.
type Schedule struct {
	Runs     int
	Seed     uint64
	MaxSteps int64 // steps per run before it is stopped (censored)
	Every    int64 // observation interval in steps (0: every step)
	Workers  int   // parallelism cap (0: GOMAXPROCS)
	// Progress receives the number of finished runs.
	Progress run.Progress
}

// Simulate advances the ensemble's runs — in parallel, each with its own
// stream — until the visitor stops them, they diverge or they reach
// MaxSteps. This is the one driver of the first-passage and stationary
// machinery: a new model or a new SDE plugs in as an Ensemble.
func Simulate(ctx context.Context, e Ensemble, s Schedule, visit Visitor) (Summary, error) {
	if s.Runs < 1 {
		return Summary{}, fmt.Errorf("dynamics: runs must be ≥ 1, got %d", s.Runs)
	}
	if s.MaxSteps < 1 {
		return Summary{}, fmt.Errorf("dynamics: max steps must be ≥ 1, got %d", s.MaxSteps)
	}
	if s.Every < 0 {
		return Summary{}, fmt.Errorf("dynamics: the observation interval must be ≥ 1 step, got %d", s.Every)
	}
	every := max(s.Every, 1)
	var diverged, total atomic.Int64
	err := run.Parallel(ctx, s.Runs, s.Workers, s.Progress, func() string { return fmt.Sprintf("%d steps", total.Load()) },
		func(ctx context.Context, r int) error {
			w, err := e.Walker(r, s.Seed)
			if err != nil {
				return err
			}
			t, l := w.Observe()
			if visit(r, 0, w, t, l, false) {
				return nil
			}
			var div bool
			if a, ok := w.(Advancer); ok {
				div, err = advance(ctx, a, r, s.MaxSteps, every, visit, &total)
			} else {
				div, err = step(ctx, w, r, s.MaxSteps, every, visit, &total)
			}
			if div {
				diverged.Add(1)
			}
			return err
		})
	if err != nil {
		return Summary{}, err
	}
	return Summary{Runs: s.Runs, Diverged: int(diverged.Load()), TotalSteps: total.Load()}, nil
}

// step drives a plain Walker one step at a time, observing every every
// steps and after the last, and counts its steps into total; it returns
// whether the run diverged.
func step(ctx context.Context, w Walker, r int, maxSteps, every int64, visit Visitor, total *atomic.Int64) (bool, error) {
	var n int64
	defer func() { total.Add(n & 0x3ff) }()
	next := min(every, maxSteps) // the next observation
	for stop := false; !stop && n < maxSteps; {
		n++
		obs := n == next
		t, l, div := w.Step(obs)
		if obs {
			next = min(next+every, maxSteps)
			if div {
				visit(r, n, w, t, l, true)
				return true, nil
			}
			stop = visit(r, n, w, t, l, false)
		}
		if n&0x3ff == 0 {
			total.Add(0x400)
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

// advance drives an Advancer in stretches up to the next observation (at
// most advanceChunk steps each); an absorbed run is shown to the visitor
// and stopped.
func advance(ctx context.Context, a Advancer, r int, maxSteps, every int64, visit Visitor, total *atomic.Int64) (bool, error) {
	var n int64
	next := min(every, maxSteps)
	for stop := false; !stop && n < maxSteps; {
		k, absorbed, div := a.Advance(min(next-n, advanceChunk))
		n += k
		total.Add(k)
		if div || absorbed || n == next {
			t, l := a.Observe()
			if div {
				visit(r, n, a, t, l, true)
				return true, nil
			}
			stop = visit(r, n, a, t, l, false) || absorbed
			if n == next {
				next = min(next+every, maxSteps)
			}
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
	}
	return false, nil
}
