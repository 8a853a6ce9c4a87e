package barrier

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// DrawsConfig repeats the barrier comparison over data draws: for every
// data seed of Seeds, SGD with the paper's epoch batches and with i.i.d.
// batches over the β of Config (each with the five predictions, the exact
// discrete rate among them), and SGD with epoch batches at BetaFix for
// every number of outliers n of Ns (κ(n)/κ(n₀) against Eq. 15). Every
// draw's parts are the barrier experiment itself (Escape: cached per β),
// so an interrupted sweep resumes from its finished pieces, and a Slurm
// sweep of `barrier-draws` over single seeds (or of `barrier` over seed)
// sharing the cache fills the same pieces this experiment then reads.
// Config's own seed, sampling and dynamics are not used: each draw sets
// them.
type DrawsConfig struct {
	Config
	Seeds   []int   `json:"seeds"`
	BetaFix float64 `json:"beta_fix"`
	Ns      []int   `json:"ns"`
}

// PaperDraws is the over-draws comparison of notebook 06. Quick: 8 data
// seeds, β ∈ {4, 5, 6, 7} with 1 000 runs each, n = 1…6 at β = 6 (β = 8
// would triple the cost: on the slowest of the 8 draws one β = 8 sweep is
// 2.7·10⁹ SGD steps). Paper: 32 seeds, β ∈ {5, …, 9} with 2 000 runs,
// n = 1…6 at β = 7.
//
// Runs per β come from the width the comparison needs. With exponential
// exit times (CV ≈ 1, measured 0.92–1.04) ln κ̂ has standard error
// CV/√runs, so the 95 % half-width of κ is δ = 1.96·CV/√runs (6.2 % at
// 1 000 runs) and that of the slope d ln κ/dβ over β with spread
// S_β = √Σ(β − β̄)² is δ/S_β: 0.028 at quick scale (S_β = √5), 0.014 at
// paper scale (2 000 runs, S_β = √10). The predictions' slopes differ from
// SGD's and from one another by 0.03–0.5 on one draw; the gap between the
// epoch and i.i.d. batches (≈ 0.02) is below one draw's resolution and is
// resolved by the mean over draws (standard error ≈ 0.028/(1.96·√8) =
// 0.005 at quick scale). compare.BarrierDraws reports the runs each gap
// needs from the measured CV.
func PaperDraws(scale run.Scale) DrawsConfig {
	c := PaperEscape(scale)
	c.Betas = run.Pick(scale, []float64{4, 5, 6, 7}, []float64{5, 6, 7, 8, 9})
	c.Runs = run.Pick(scale, 1000, 2000)
	seeds := make([]int, run.Pick(scale, 8, 32))
	for i := range seeds {
		seeds[i] = i + 1
	}
	return DrawsConfig{Config: c, Seeds: seeds, BetaFix: run.Pick(scale, 6.0, 7.0), Ns: []int{1, 2, 3, 4, 5, 6}}
}

// Declare declares the sweep's parameters (without seed, sampling,
// dynamics and n, which each draw and part set) and the draws' own.
func (c *DrawsConfig) Declare(s *param.Set) {
	s.Except(&c.Config, "seed", "sampling", "dynamics", "n")
	s.Ints(&c.Seeds, "seeds", "data seeds, one draw each (the data set from seed, the runs from seed+1)", param.Progression, param.MaxItems(10000))
	s.Float(&c.BetaFix, "beta-fix", "β of the comparison over n", param.Positive)
	s.Ints(&c.Ns, "ns", "outlier counts n compared at beta-fix (κ(n)/κ(n₀) against Eq. 15)", param.Min(1), param.MaxItems(20))
}

// The parts of a draw.
const (
	DrawSGD = "SGD, paper mini-batches"
	DrawIID = "SGD, i.i.d. mini-batches"
)

// parts returns the Escapes of the draw of seed, in the order they run.
func (c DrawsConfig) parts(seed int) []part[Draw] {
	with := func(mod func(*Config)) Config {
		x := c.Config
		x.Betas = append([]float64(nil), c.Betas...)
		x.Helix.Seed, x.Sampling, x.Dynamics = uint64(seed), Epoch, SGD
		mod(&x)
		return x
	}
	ps := []part[Draw]{
		{DrawSGD, with(func(*Config) {}), func(d *Draw, r Result) { d.SGD = r }},
		{DrawIID, with(func(x *Config) { x.Sampling = IID }), func(d *Draw, r Result) { d.IID = r }},
	}
	for _, n := range c.Ns {
		ps = append(ps, part[Draw]{fmt.Sprintf("n = %d", n), with(func(x *Config) { x.Helix.Dim, x.Betas = n, []float64{c.BetaFix} }),
			func(d *Draw, r Result) { d.AtN[n] = r }})
	}
	return ps
}

// Validate checks the lists and every part of the first draw (the parts of
// other draws differ only in their seed).
func (c DrawsConfig) Validate() error {
	switch {
	case len(c.Seeds) == 0:
		return fmt.Errorf("seeds: give at least one data seed")
	case c.Helix.Dim != 1:
		return fmt.Errorf("n = %d: the sweep over β is one-dimensional (the exact discrete rate needs n = 1); compare n through ns", c.Helix.Dim)
	case len(c.Betas) < 2:
		return fmt.Errorf("beta = %v: a slope d ln κ/dβ needs at least two β values", c.Betas)
	case !(c.BetaFix > 0) || math.IsInf(c.BetaFix, 0):
		return fmt.Errorf("beta-fix = %v must be positive and finite", c.BetaFix)
	case len(c.Ns) == 0:
		return fmt.Errorf("ns: give at least one outlier count n")
	}
	for name, list := range map[string][]int{"seeds": c.Seeds, "ns": c.Ns} {
		seen := map[int]bool{}
		for _, v := range list {
			if v < 0 {
				return fmt.Errorf("%s = %v: %d is negative", name, list, v)
			}
			if seen[v] {
				return fmt.Errorf("%s = %v: %d is listed twice", name, list, v)
			}
			seen[v] = true
		}
	}
	for _, p := range c.parts(c.Seeds[0]) {
		if err := p.cfg.Validate(); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return nil
}

// MemoryBytes is the largest part's (they run one after another).
func (c DrawsConfig) MemoryBytes() float64 { return largestMemory(c.parts(0)) }

// Draw is one data draw: the β sweep with epoch and with i.i.d. batches,
// and epoch batches at BetaFix keyed by n. The exit times are left out
// (the cached pieces keep them).
type Draw struct {
	Seed uint64         `json:"seed"`
	SGD  Result         `json:"sgd"`
	IID  Result         `json:"iid"`
	AtN  map[int]Result `json:"at_n"`
}

// SortedNs returns the outlier counts of AtN in increasing order.
func (d Draw) SortedNs() []int { return keys(d.AtN) }

// DrawsResult holds the draws in the order of Seeds.
type DrawsResult struct {
	Draws   []Draw  `json:"draws"`
	BetaFix float64 `json:"beta_fix"`
	Runs    int     `json:"runs"`
}

// Draw returns the draw of a data seed (false when it was not drawn).
func (r DrawsResult) Draw(seed uint64) (Draw, bool) {
	return run.Find(r.Draws, func(d Draw) bool { return d.Seed == seed })
}

// Seeds returns the data seeds in the order drawn.
func (r DrawsResult) Seeds() []uint64 {
	out := make([]uint64, len(r.Draws))
	for i, d := range r.Draws {
		out[i] = d.Seed
	}
	return out
}

// DrawsVersion is the code version of the composite: its own, with those
// of the barrier experiment and of the exact discrete rate, so that a
// record of another version of any of them is refused (pkg/suite).
const DrawsVersion = "barrier-draws/1+" + CodeVersion + "+" + DiscreteVersion

// Draws runs every draw: each part through Escape (cached per β), in seed
// order. A draw whose data set has no barrier is an input error naming its
// seed.
func Draws(ctx context.Context, env run.Env, cfg DrawsConfig) (run.Result[DrawsResult], error) {
	if err := cfg.Validate(); err != nil {
		return run.Result[DrawsResult]{}, run.BadInput(err)
	}
	start := time.Now()
	env = env.Native(Engine)
	out := DrawsResult{BetaFix: cfg.BetaFix, Runs: cfg.Runs}
	all := true
	for i, seed := range cfg.Seeds {
		d := Draw{Seed: uint64(seed), AtN: map[int]Result{}}
		ps := cfg.parts(seed)
		for j, p := range ps {
			penv := env
			if env.Progress != nil {
				penv.Progress = func(done, total int, note string) {
					env.Progress(done, total, fmt.Sprintf("draw %d of %d (seed %d), part %d of %d, %s: %s", i+1, len(cfg.Seeds), seed, j+1, len(ps), p.name, note))
				}
			}
			r, err := Escape(ctx, penv, p.cfg)
			if err != nil {
				return run.Result[DrawsResult]{}, fmt.Errorf("seed %d, %s: %w", seed, p.name, err)
			}
			all = all && r.FromCache
			res := r.Result
			res.Points = append([]Point(nil), res.Points...)
			for k := range res.Points {
				res.Points[k].Times = nil
			}
			p.store(&d, res)
		}
		out.Draws = append(out.Draws, d)
	}
	return run.Compose(env.Spec("barrier/draws", DrawsVersion, cfg, uint64(cfg.Seeds[0])), start, all, out)
}
