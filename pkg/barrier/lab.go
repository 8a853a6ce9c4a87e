package barrier

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// LabConfig is notebook 06's laboratory as one experiment: the SGD sweep
// over β of Config (the paper's mini-batches), its controls at the same β
// (i.i.d. mini-batches, Gaussian steps of the exact variance) and GLD at its
// own β, and at one β (BetaFix) the batch sizes Bs and the outlier counts
// Ns. Every part is a cached Escape.
type LabConfig struct {
	Config
	BetaFix  float64   `json:"beta_fix"`
	Bs       []int     `json:"Bs"`
	Ns       []int     `json:"ns"`
	GLDBetas []float64 `json:"gld_beta"`
	GLDRuns  int       `json:"gld_runs"`
}

// PaperLab is notebook 06's laboratory: PaperEscape's sweep; B = 1, 2, 4 and
// n = 1, 2, 4 at β = 7; GLD at β = 4, 5 with 100 runs (Arrhenius rates are
// slow).
func PaperLab(scale run.Scale) LabConfig {
	return LabConfig{Config: PaperEscape(scale), BetaFix: 7, Bs: []int{1, 2, 4}, Ns: []int{1, 2, 4}, GLDBetas: []float64{4, 5}, GLDRuns: 100}
}

// Declare declares the laboratory's parameters: the sweep's and its own.
func (c *LabConfig) Declare(s *param.Set) {
	c.Config.Declare(s)
	s.Float(&c.BetaFix, "beta-fix", "β of the comparisons over B and n", param.Positive)
	s.Ints(&c.Bs, "Bs", "batch sizes compared at beta-fix (η = B/(βh*))", param.Min(1), param.MaxItems(20))
	s.Ints(&c.Ns, "ns", "outlier counts n compared at beta-fix", param.Min(1), param.MaxItems(20))
	s.Floats(&c.GLDBetas, "gld-beta", "β of the GLD control (Eq. 5)", param.Positive, param.Progression, param.MaxItems(100))
	s.Int(&c.GLDRuns, "gld-runs", "runs per β of the GLD control", param.Min(1), param.Max(maxRuns))
}

// The parts of the laboratory.
const (
	PartSGD   = "SGD, paper mini-batches"
	PartIID   = "SGD, i.i.d. mini-batches"
	PartGauss = "Gaussian steps of the exact variance"
	PartGLD   = "GLD (Eq. 5)"
)

// part is one Escape of a composite (the laboratory, a data draw) and where
// its result goes in the composite's result R.
type part[R any] struct {
	name  string
	cfg   Config
	store func(*R, Result)
}

// largestMemory is the largest part's memory (parts run one after another).
func largestMemory[R any](ps []part[R]) float64 {
	m := 0.0
	for _, p := range ps {
		m = math.Max(m, p.cfg.MemoryBytes())
	}
	return m
}

// parts returns every Escape of the laboratory, in the order they run.
func (c LabConfig) parts() []part[LabResult] {
	with := func(mod func(*Config)) Config {
		x := c.Config
		x.Betas = append([]float64(nil), c.Betas...)
		mod(&x)
		return x
	}
	ps := []part[LabResult]{
		{PartSGD, c.Config, func(l *LabResult, r Result) { l.SGD = r }},
		{PartIID, with(func(x *Config) { x.Sampling = IID }), func(l *LabResult, r Result) { l.IID = r }},
		{PartGauss, with(func(x *Config) { x.Dynamics = Gauss }), func(l *LabResult, r Result) { l.Gauss = r }},
		{PartGLD, with(func(x *Config) { x.Dynamics, x.Betas, x.Runs = GLD, c.GLDBetas, c.GLDRuns }), func(l *LabResult, r Result) { l.GLD = r }},
	}
	for _, b := range c.Bs {
		ps = append(ps, part[LabResult]{fmt.Sprintf("B = %d", b), with(func(x *Config) { x.B, x.Betas = b, []float64{c.BetaFix} }),
			func(l *LabResult, r Result) { l.AtB[b] = r }})
	}
	for _, n := range c.Ns {
		ps = append(ps, part[LabResult]{fmt.Sprintf("n = %d", n), with(func(x *Config) { x.Helix.Dim, x.Betas = n, []float64{c.BetaFix} }),
			func(l *LabResult, r Result) { l.AtN[n] = r }})
	}
	return ps
}

// Validate checks the sweep and every part before any work.
func (c LabConfig) Validate() error {
	if c.Dynamics != SGD || c.Sampling != Epoch {
		return fmt.Errorf("dynamics = %s, sampling = %s: the laboratory's sweep is SGD with the paper's mini-batches (its controls vary them); run the barrier experiment for other settings", c.Dynamics, c.Sampling)
	}
	if c.Helix.Dim != 1 {
		return fmt.Errorf("n = %d: the laboratory's sweep and its Gaussian control are one-dimensional; compare n through ns", c.Helix.Dim)
	}
	if !(c.BetaFix > 0) || math.IsInf(c.BetaFix, 0) {
		return fmt.Errorf("beta-fix = %v must be positive and finite", c.BetaFix)
	}
	if len(c.GLDBetas) == 0 {
		return fmt.Errorf("gld-beta: no β values given")
	}
	for name, list := range map[string][]int{"Bs": c.Bs, "ns": c.Ns} {
		seen := map[int]bool{}
		for _, v := range list {
			if seen[v] {
				return fmt.Errorf("%s = %v: %d is listed twice", name, list, v)
			}
			seen[v] = true
		}
	}
	for _, p := range c.parts() {
		if err := p.cfg.Validate(); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return nil
}

// MemoryBytes is the largest part's (they run one after another).
func (c LabConfig) MemoryBytes() float64 { return largestMemory(c.parts()) }

// LabResult holds the laboratory's parts by name, the comparisons over B
// and n keyed by B and n, and the curves of the data set's landscape.
type LabResult struct {
	SGD   Result         `json:"sgd"`
	IID   Result         `json:"iid"`
	Gauss Result         `json:"gauss"`
	GLD   Result         `json:"gld"`
	AtB   map[int]Result `json:"at_B"`
	AtN   map[int]Result `json:"at_n"`
	// BetaFix is the β of AtB and AtN.
	BetaFix float64 `json:"beta_fix"`
	Curves  Curves  `json:"curves"`
}

// Named is a part of the laboratory with its name.
type Named struct {
	Name   string
	Result Result
}

// Parts returns the parts in the order they ran: the sweep, its controls,
// then B and n at BetaFix in increasing order.
func (r LabResult) Parts() []Named {
	out := []Named{{PartSGD, r.SGD}, {PartIID, r.IID}, {PartGauss, r.Gauss}, {PartGLD, r.GLD}}
	for _, b := range r.Bs() {
		out = append(out, Named{fmt.Sprintf("β = %g, B = %d", r.BetaFix, b), r.AtB[b]})
	}
	for _, n := range r.Ns() {
		out = append(out, Named{fmt.Sprintf("β = %g, n = %d", r.BetaFix, n), r.AtN[n]})
	}
	return out
}

// Bs returns the batch sizes of AtB in increasing order.
func (r LabResult) Bs() []int { return keys(r.AtB) }

// Ns returns the outlier counts of AtN in increasing order.
func (r LabResult) Ns() []int { return keys(r.AtN) }

func keys(m map[int]Result) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// LabVersion is the code version of the laboratory: its own, with those of
// the barrier experiment and the exact discrete rate, so that a suite
// record made by an older version of any of them is refused.
const LabVersion = "barrier-lab/2+" + CodeVersion + "+" + DiscreteVersion

// CurvesVersion is the code version of the laboratory's curves.
const CurvesVersion = "barrier-lab/1"

// Lab runs the laboratory: every part through Escape (each cached), then
// the curves of the sweep's data set.
func Lab(ctx context.Context, env run.Env, cfg LabConfig) (run.Result[LabResult], error) {
	if err := cfg.Validate(); err != nil {
		return run.Result[LabResult]{}, run.BadInput(err)
	}
	start := time.Now()
	env = env.Native(Engine)
	out := LabResult{AtB: map[int]Result{}, AtN: map[int]Result{}, BetaFix: cfg.BetaFix}
	all := true
	ps := cfg.parts()
	for i, p := range ps {
		penv := env
		if env.Progress != nil {
			penv.Progress = func(done, total int, note string) {
				env.Progress(done, total, fmt.Sprintf("part %d of %d, %s: %s", i+1, len(ps), p.name, note))
			}
		}
		r, err := Escape(ctx, penv, p.cfg)
		if err != nil {
			return run.Result[LabResult]{}, fmt.Errorf("%s: %w", p.name, err)
		}
		all = all && r.FromCache
		p.store(&out, r.Result)
	}
	c, err := run.Do(ctx, env.Cache, env.Spec("barrier/curves", CurvesVersion, cfg.Config, cfg.Helix.Seed), func(ctx context.Context) (Curves, error) {
		return curves(ctx, env, cfg.Config)
	})
	if err != nil {
		return run.Result[LabResult]{}, err
	}
	out.Curves = c.Result
	all = all && c.FromCache
	return run.Compose(env.Spec("barrier/lab", LabVersion, cfg, cfg.Helix.Seed), start, all, out)
}

// Curves are the landscape of a data set for figures: the loss over the
// search interval, and along the escape interval (every 10th point of the
// 1-D grid) the per-sample gradient variance C(θ), the decoupled noise of
// Eq. 6, 2L(θ)·GN(θ*), and the large-deviation quasi-potential W(θ).
type Curves struct {
	Theta     []float64   `json:"theta"`
	Loss      []float64   `json:"loss"`
	X         []float64   `json:"x"`
	C         []float64   `json:"C"`
	Decoupled []float64   `json:"decoupled"`
	W         []run.Float `json:"W"` // NaN where the large-deviation root is missing (Profile1D.NoRoot)
}

func curves(ctx context.Context, env run.Env, cfg Config) (Curves, error) {
	d, ls, prof, err := Prepare(ctx, cfg, env.Workers, env.Progress)
	if err != nil {
		return Curves{}, err
	}
	var c Curves
	for i := 0; i <= 2000; i++ {
		t := d.SearchLo + (d.SearchHi-d.SearchLo)*float64(i)/2000
		l, _, _, _ := d.Profile(t)
		c.Theta, c.Loss = append(c.Theta, t), append(c.Loss, l)
	}
	for i := 0; i < len(prof.X); i += 10 {
		c.X, c.C = append(c.X, prof.X[i]), append(c.C, prof.C[i])
		c.Decoupled = append(c.Decoupled, 2*prof.L[i]*ls.GNStar)
		c.W = append(c.W, run.Float(prof.W[i]))
	}
	return c, nil
}
