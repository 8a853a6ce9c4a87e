package linreg

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// FPTGridConfig is Fig. 3b: the first-passage experiment Base at every
// number of parameters P of Ps (n = P), each with the paper's threshold
// grid for its P (PaperThresholds) unless Base.C is set.
type FPTGridConfig struct {
	Base FPTConfig `json:"base"`
	Ps   []int     `json:"Ps"`
}

// FPTDynamicsConfig compares the dynamics over the same thresholds and
// protocol: Base for every dynamics of dynamics.Kinds (SGD, Eq. 4, 12, 14
// and GLD, with WithKind's restriction for GLD) at every P of Ps.
type FPTDynamicsConfig struct {
	Base FPTConfig `json:"base"`
	Ps   []int     `json:"Ps"`
}

// declarePs declares the base's parameters with the list Ps in place of P.
func declarePs(s *param.Set, base *FPTConfig, ps *[]int, except ...string) {
	s.Except(base, append([]string{"P"}, except...)...)
	s.Ints(ps, "Ps", "numbers of parameters P (n = P), one experiment each", param.Min(1), param.MaxItems(100))
}

// Declare declares the base experiment's parameters with Ps instead of P.
func (c *FPTGridConfig) Declare(s *param.Set) { declarePs(s, &c.Base, &c.Ps) }

// Declare declares the base experiment's parameters with Ps instead of P
// (and without -dynamics: every dynamics runs).
func (c *FPTDynamicsConfig) Declare(s *param.Set) { declarePs(s, &c.Base, &c.Ps, "dynamics") }

// at returns base for P parameters, with the paper's thresholds for P
// unless base.C is set.
func at(base FPTConfig, P int) FPTConfig {
	base.P = P
	if len(base.C) == 0 {
		base.C = PaperThresholds(P)
	}
	return base
}

// checkPs refuses an empty list or a P listed twice.
func checkPs(ps []int) error {
	if len(ps) == 0 {
		return fmt.Errorf("Ps: give at least one number of parameters P")
	}
	seen := map[int]bool{}
	for _, p := range ps {
		if seen[p] {
			return fmt.Errorf("Ps = %v lists P = %d twice", ps, p)
		}
		seen[p] = true
	}
	return nil
}

// Sweep returns the experiments in order: one per P.
func (c FPTGridConfig) Sweep() FPTSweepConfig {
	var out FPTSweepConfig
	for _, p := range c.Ps {
		out.Configs = append(out.Configs, at(c.Base, p))
	}
	return out
}

// Sweep returns the experiments of one P: every dynamics.
func (c FPTDynamicsConfig) Sweep(P int) FPTSweepConfig { return DynamicsComparison(at(c.Base, P)) }

// Validate checks every experiment of the grid.
func (c FPTGridConfig) Validate() error {
	if err := checkPs(c.Ps); err != nil {
		return err
	}
	return c.Sweep().Validate()
}

// Validate checks every experiment of the grid.
func (c FPTDynamicsConfig) Validate() error {
	if err := checkPs(c.Ps); err != nil {
		return err
	}
	for _, p := range c.Ps {
		if err := c.Sweep(p).Validate(); err != nil {
			return err
		}
	}
	return nil
}

// MemoryBytes is the largest experiment's: they run one after the other.
func (c FPTGridConfig) MemoryBytes() float64 { return c.Sweep().MemoryBytes() }

// MemoryBytes is the largest experiment's: they run one after the other.
func (c FPTDynamicsConfig) MemoryBytes() float64 {
	m := 0.0
	for _, p := range c.Ps {
		m = max(m, c.Sweep(p).MemoryBytes())
	}
	return m
}

// MemoryBytes is the largest experiment's: they run one after the other.
func (c FPTSweepConfig) MemoryBytes() float64 {
	m := 0.0
	for _, f := range c.Configs {
		m = max(m, f.MemoryBytes())
	}
	return m
}

// FPTGrid runs Fig. 3b: FPT at every P (each cached). The results are in
// the order of Ps; FPTSweepResult.ByP finds one.
func FPTGrid(ctx context.Context, env run.Env, c FPTGridConfig) (run.Result[FPTSweepResult], error) {
	if err := c.Validate(); err != nil {
		return run.Result[FPTSweepResult]{}, err
	}
	return FPTSweep(ctx, env, c.Sweep())
}

// FPTDynamicsResult holds the comparison of the dynamics at every P, in the
// order of Ps; At finds the one of a P.
type FPTDynamicsResult struct {
	ByP []FPTSweepResult `json:"by_P"`
}

// At returns the comparison at P parameters.
func (r FPTDynamicsResult) At(P int) (FPTSweepResult, bool) {
	for _, sw := range r.ByP {
		if len(sw.Results) > 0 && sw.Results[0].NOutliers == P { // every dynamics of a comparison has the same P
			return sw, true
		}
	}
	return FPTSweepResult{}, false
}

// FPTDynamics runs every dynamics at every P (each experiment cached).
func FPTDynamics(ctx context.Context, env run.Env, c FPTDynamicsConfig) (run.Result[FPTDynamicsResult], error) {
	if err := c.Validate(); err != nil {
		return run.Result[FPTDynamicsResult]{}, err
	}
	start, all := time.Now(), true
	var out FPTDynamicsResult
	for _, p := range c.Ps {
		r, err := FPTSweep(ctx, env, c.Sweep(p))
		if err != nil {
			return run.Result[FPTDynamicsResult]{}, fmt.Errorf("P = %d: %w", p, err)
		}
		all = all && r.FromCache
		out.ByP = append(out.ByP, r.Result)
	}
	return run.Compose(env.Native(Engine).Spec("linreg/fpt-dynamics", FPTVersion, c, c.Base.Seed), start, all, out)
}

// ByP returns the result at P parameters (the first, when several).
func (r FPTSweepResult) ByP(P int) (FPTResult, bool) {
	for _, x := range r.Results {
		if x.NOutliers == P {
			return x, true
		}
	}
	return FPTResult{}, false
}

// WriteText prints every experiment's table under its P and dynamics.
func (r FPTSweepResult) WriteText(w io.Writer) error {
	for _, x := range r.Results {
		fmt.Fprintf(w, "== P = %d, %s\n", x.NOutliers, x.Dynamics)
		if err := x.WriteText(w); err != nil {
			return err
		}
	}
	return nil
}

// WriteText prints the comparison at every P.
func (r FPTDynamicsResult) WriteText(w io.Writer) error {
	for _, sw := range r.ByP {
		if err := sw.WriteText(w); err != nil {
			return err
		}
	}
	return nil
}

// PaperFPTGrid is Fig. 3b's grid: PaperFPT at P ∈ {1, 2, 5, 10} (the
// paper's values of P were not recovered), each with its threshold grid.
func PaperFPTGrid(scale run.Scale) FPTGridConfig {
	return FPTGridConfig{Base: AutoFPT(scale), Ps: []int{1, 2, 5, 10}}
}

// PaperFPTDynamics compares the dynamics at P ∈ {1, 10}: the smallest and
// the largest P of Fig. 3b.
func PaperFPTDynamics(scale run.Scale) FPTDynamicsConfig {
	return FPTDynamicsConfig{Base: AutoFPT(scale), Ps: []int{1, 10}}
}
