package barrier

import (
	"context"
	"errors"
	"fmt"

	"github.com/sgdescape/sgdescape/pkg/exitchain"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// The fifth prediction: the exact mean exit time of discrete SGD with B
// samples drawn i.i.d. (with replacement) each step, from pkg/exitchain.
// It makes no diffusion, Kramers or large-deviation approximation: it is the
// exact answer, up to the grid's interpolation (< 0.2 % at the automatic
// grid), for SGD with i.i.d. batches on the drawn data set at the finite
// learning rate. It is one-dimensional (n = 1: with spectators the chain
// lives in n dimensions), and it is not the exact answer for the paper's
// epoch batches: a random permutation per epoch makes the batches of one
// epoch dependent, so SGD with epoch batches is not a Markov chain in θ.

// DiscreteVersion is the code version of the cached exact discrete rate
// (one piece per data set, B and β).
const DiscreteVersion = "barrier-exact-discrete/1"

// Chain is SGD on the data set d as an exitchain.Chain: B samples drawn
// i.i.d. per step at learning rate η, escaping the landscape's interval
// (A, B) of θ₁. It needs n = 1.
func Chain(d *Data, ls Landscape, eta float64, b int) (exitchain.Chain, error) {
	if d.Dim != 1 {
		return exitchain.Chain{}, fmt.Errorf("the exact discrete chain is one-dimensional: with n = %d outliers SGD is a chain in %d dimensions", d.Dim, d.Dim)
	}
	return exitchain.Chain{Grads: d.SampleGrads, N: d.N, Eta: eta, B: b, Lo: ls.A, Hi: ls.B}, nil
}

// checkChainGrid refuses, before any other work, a chain-grid too coarse
// for the step at some β (exitchain.ErrCoarseGrid, as run.BadInput); the
// automatic grid, and the parts where the exact rate is not computed, pass.
func checkChainGrid(d *Data, ls Landscape, cfg Config) error {
	if cfg.ChainGrid == 0 || cfg.Dynamics != SGD || d.Dim != 1 {
		return nil
	}
	for _, beta := range cfg.Betas {
		c, err := Chain(d, ls, float64(cfg.B)/(beta*ls.HStar), cfg.B)
		if err != nil {
			return nil
		}
		if err := c.CheckGrid(cfg.ChainGrid); errors.Is(err, exitchain.ErrCoarseGrid) {
			return run.BadInput(fmt.Errorf("chain-grid = %d at β = %g: %w", cfg.ChainGrid, beta, err))
		}
	}
	return nil
}

// discreteKey identifies the cached exact rate of one β.
type discreteKey struct {
	Helix  Helix   `json:"helix"`
	B      int     `json:"B"`
	Beta   float64 `json:"beta"`
	Points int     `json:"chain_grid"`
}

// errNotSGD is the reason the exact discrete rate is left out of the
// Gaussian and GLD controls.
var errNotSGD = errors.New("the exact discrete rate is SGD's (i.i.d. batches); this run simulates another dynamics")

// kappaDiscrete returns the exact discrete rate κ = 1/(η·T(θ*)) at point p,
// cached as its own piece (the SGD sweep and its i.i.d. control share it).
// A grid the user chose too coarse for the step is an input error
// (run.BadInput); every other failure (n > 1, B beyond the solver, an exit
// time beyond float64) is returned as the reason the number is missing.
func kappaDiscrete(ctx context.Context, env run.Env, d *Data, ls Landscape, cfg Config, p Point) (float64, error, error) {
	if cfg.Dynamics != SGD {
		return 0, errNotSGD, nil
	}
	c, err := Chain(d, ls, p.Eta, cfg.B)
	if err != nil {
		return 0, err, nil
	}
	if err := c.Validate(); err != nil {
		return 0, err, nil
	}
	progress := env.Progress
	if progress != nil {
		progress = func(done, total int, note string) {
			env.Progress(done, total, fmt.Sprintf("β = %g, %s", p.Beta, note))
		}
	}
	key := discreteKey{Helix: d.Helix, B: cfg.B, Beta: p.Beta, Points: cfg.ChainGrid}
	r, err := run.Do(ctx, env.Cache, env.Spec(Experiment+"-exact-discrete", DiscreteVersion, key, d.Seed), func(ctx context.Context) (exitchain.Estimate, error) {
		return c.Rate(ls.ThetaStar, exitchain.Options{Points: cfg.ChainGrid, NoCheck: true, Progress: progress})
	})
	switch {
	case errors.Is(err, exitchain.ErrCoarseGrid):
		return 0, nil, run.BadInput(fmt.Errorf("chain-grid = %d at β = %g: %w", cfg.ChainGrid, p.Beta, err))
	case err != nil:
		return 0, err, nil
	}
	return r.Result.Kappa, nil, nil
}
