// Package linreg runs the linear-regression experiments of section 5.3.1:
// the stationary distribution of SGD (Fig. 3a, Eq. 17) and the mean
// first-passage time against the threshold ratio c (Fig. 3b, Eq. 15), for
// discrete SGD and for the paper's continuous-time models. Results are cached
// through pkg/run, keyed by the full configuration.
//
// Seeds: the data (x, y) are drawn from Seed, the dynamics (mini-batches and
// Gaussian noise) from Seed+rng.DynamicsOffset with one independent stream per
// run, the bootstrap from Seed+rng.BootstrapOffset (see pkg/rng).
package linreg

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

// Problem describes the regression data: it is data.LinRegConfig (N, P, the
// data seed, x's standard deviation, the label model and its noise).
type Problem = data.LinRegConfig

// build draws the problem and its quadratic form.
func build(p Problem) (*data.LinRegProblem, *dynamics.Quadratic, error) {
	lr, err := data.NewLinReg(p)
	if err != nil {
		return nil, nil, err
	}
	q, err := dynamics.NewQuadratic(lr)
	if err != nil {
		return nil, nil, err
	}
	return lr, q, nil
}

// Spectrum summarises the Hessian of the problem.
type Spectrum struct {
	HMean     float64 `json:"h_mean"` // Tr H / P: the paper's h* for linear regression
	HMax      float64 `json:"h_max"`  // λ_max
	HMin      float64 `json:"h_min"`
	LStar     float64 `json:"L_star"`
	NOutliers int     `json:"n"` // the effective dimension n: P (every eigenvalue is an outlier)
}

func spectrum(q *dynamics.Quadratic) Spectrum {
	return Spectrum{HMean: q.MeanEigenvalue(), HMax: q.Lambda[0], HMin: q.Lambda[q.P-1], LStar: q.LStar, NOutliers: q.P}
}

// phiTheory returns 1 + B/(ηh) for a given h.
func phiTheory(eta float64, b int, h float64) float64 {
	v, _ := theory.Phi(theory.SGD{Eta: eta, B: float64(b), HStar: h})
	return v
}

// slopeTheory returns B/(ηh) + 1 − n/2.
func slopeTheory(eta float64, b int, h float64, n int) float64 {
	v, _ := theory.EscapeExponent(theory.SGD{Eta: eta, B: float64(b), HStar: h}, float64(n))
	return v
}

// Engine names the compute engine of these experiments in provenance
// records and cache keys: the native Go loop of dynamics.Run (the GoMLX
// lockstep engine, dynamics.RunGoMLX, follows the same trajectories and is
// used for accelerators and benchmarks).
const Engine = "native-go"

// StationarySweepConfig is the grid of Fig. 3a: Base run at every (η, B).
type StationarySweepConfig struct {
	Base StationaryConfig `json:"base"`
	Etas []float64        `json:"etas"`
	Bs   []int            `json:"Bs"`
	// CheckEta is the small η of the implementation check against the
	// exact density of Eq. 4 (CheckConfig); it is not part of the grid.
	CheckEta float64 `json:"check_eta,omitempty"`
}

// Declare declares the grid's parameters (pkg/param): the base
// experiment's, except η and B, which the grid sets.
func (c *StationarySweepConfig) Declare(s *param.Set) {
	s.Except(&c.Base, "eta", "B")
	s.Floats(&c.Etas, "eta-grid", "learning rates η of the grid (Fig. 3a)", param.Positive, param.MaxItems(100))
	s.Ints(&c.Bs, "B-grid", "batch sizes B of the grid (Fig. 3a)", param.Min(1), param.MaxItems(100))
	s.Float(&c.CheckEta, "check-eta", "small η of the implementation check against the exact density of Eq. 4 (B = 1)", param.Positive)
}

// CheckConfig is the implementation check: the base at η = CheckEta, B = 1.
func (c StationarySweepConfig) CheckConfig() StationaryConfig {
	s := c.Base
	s.Eta, s.B = c.CheckEta, 1
	return s
}

// Validate checks the grid and every configuration in it.
func (c StationarySweepConfig) Validate() error {
	if len(c.Etas) == 0 || len(c.Bs) == 0 {
		return fmt.Errorf("linreg: the sweep needs at least one η and one B")
	}
	if c.CheckEta > 0 {
		if err := c.CheckConfig().Validate(); err != nil {
			return fmt.Errorf("the Eq. 4 check at check-eta = %g: %w", c.CheckEta, err)
		}
	}
	for _, eta := range c.Etas {
		for _, b := range c.Bs {
			s := c.Base
			s.Eta, s.B = eta, b
			if err := s.Validate(); err != nil {
				return fmt.Errorf("η=%g, B=%d: %w", eta, b, err)
			}
		}
	}
	return nil
}

// StationaryPoint is one (η, B) of the sweep with its result.
type StationaryPoint struct {
	Eta    float64          `json:"eta"`
	B      int              `json:"B"`
	Result StationaryResult `json:"result"`
}

// StationarySweepResult holds the grid η-major (every B of the first η, then the next η).
type StationarySweepResult struct {
	Points []StationaryPoint `json:"points"`
	// Check is the implementation check at η = CheckEta, B = 1 (nil without one).
	Check *StationaryResult `json:"check,omitempty"`
}

// At returns the point of the grid nearest to (η, B) in log distance.
func (r StationarySweepResult) At(eta float64, b int) StationaryPoint {
	best, bestD := StationaryPoint{}, math.Inf(1)
	for _, p := range r.Points {
		if d := math.Abs(math.Log(p.Eta/eta)) + math.Abs(math.Log(float64(p.B)/float64(b))); d < bestD {
			best, bestD = p, d
		}
	}
	return best
}

// Config returns the configuration of point p of the sweep c.
func (c StationarySweepConfig) Config(p StationaryPoint) StationaryConfig {
	s := c.Base
	s.Eta, s.B = p.Eta, p.B
	return s
}

// StationarySweep runs Stationary for every (η, B) pair of the grid, in
// order, reporting progress per configuration; finished configurations are
// cached one by one, so an interrupted sweep resumes where it stopped.
func StationarySweep(ctx context.Context, env run.Env, c StationarySweepConfig) (run.Result[StationarySweepResult], error) {
	if err := c.Validate(); err != nil {
		return run.Result[StationarySweepResult]{}, err
	}
	start, all := time.Now(), true
	var out StationarySweepResult
	total := len(c.Etas) * len(c.Bs)
	inner := env
	inner.Progress = nil
	for _, eta := range c.Etas {
		for _, b := range c.Bs {
			s := c.Base
			s.Eta, s.B = eta, b
			env.Progress.Report(len(out.Points), total, fmt.Sprintf("η=%g B=%d", eta, b))
			r, err := Stationary(ctx, inner, s)
			if err != nil {
				return run.Result[StationarySweepResult]{}, fmt.Errorf("η=%g, B=%d: %w", eta, b, err)
			}
			all = all && r.FromCache
			out.Points = append(out.Points, StationaryPoint{Eta: eta, B: b, Result: r.Result})
		}
	}
	if c.CheckEta > 0 {
		env.Progress.Report(total, total, fmt.Sprintf("the Eq. 4 check at η=%g", c.CheckEta))
		r, err := Stationary(ctx, inner, c.CheckConfig())
		if err != nil {
			return run.Result[StationarySweepResult]{}, fmt.Errorf("the Eq. 4 check at η=%g: %w", c.CheckEta, err)
		}
		all = all && r.FromCache
		out.Check = &r.Result
	}
	env.Progress.Report(total, total, "done")
	return run.Compose(env.Native(Engine).Spec("linreg/stationary-sweep", StationaryVersion, c, c.Base.Seed), start, all, out)
}

// FPTSweepConfig is a list of first-passage experiments run in order.
type FPTSweepConfig struct {
	Configs []FPTConfig `json:"configs"`
}

// Validate checks every configuration.
func (c FPTSweepConfig) Validate() error {
	if len(c.Configs) == 0 {
		return fmt.Errorf("linreg: the sweep needs at least one configuration")
	}
	for _, f := range c.Configs {
		if err := f.Validate(); err != nil {
			return fmt.Errorf("%s P=%d: %w", f.Kind, f.P, err)
		}
	}
	return nil
}

// FPTSweepResult holds one result per configuration, in order.
type FPTSweepResult struct {
	Results []FPTResult `json:"results"`
}

// ByKind returns the result for dynamics k (the first one, when several).
func (r FPTSweepResult) ByKind(k dynamics.Kind) (FPTResult, bool) {
	for _, x := range r.Results {
		if x.Dynamics == k {
			return x, true
		}
	}
	return FPTResult{}, false
}

// FPTSweep runs FPT for each configuration in order, cached one by one.
func FPTSweep(ctx context.Context, env run.Env, c FPTSweepConfig) (run.Result[FPTSweepResult], error) {
	if err := c.Validate(); err != nil {
		return run.Result[FPTSweepResult]{}, err
	}
	start, all := time.Now(), true
	var out FPTSweepResult
	inner := env
	inner.Progress = nil
	for i, f := range c.Configs {
		env.Progress.Report(i, len(c.Configs), fmt.Sprintf("%s P=%d η=%g B=%d", f.Kind, f.P, f.Eta, f.B))
		r, err := FPT(ctx, inner, f)
		if err != nil {
			return run.Result[FPTSweepResult]{}, fmt.Errorf("%s P=%d: %w", f.Kind, f.P, err)
		}
		all = all && r.FromCache
		out.Results = append(out.Results, r.Result)
	}
	env.Progress.Report(len(c.Configs), len(c.Configs), "done")
	seed := uint64(0)
	if len(c.Configs) > 0 {
		seed = c.Configs[0].Seed
	}
	return run.Compose(env.Native(Engine).Spec("linreg/fpt-sweep", FPTVersion, c, seed), start, all, out)
}
