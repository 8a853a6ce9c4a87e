package barrier

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/exitchain"
	"github.com/sgdescape/sgdescape/pkg/minibatch"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// Config is one escape experiment: a data set, a batch size, a list of
// β = B/(ηh*) (η = B/(βh*) is chosen for each β from the data set's h*), and
// the number of independent runs per β, all started at θ*. The data set is
// drawn from Helix.Seed, the master seed; the runs use Helix.Seed + 1
// (rng.DynamicsOffset).
type Config struct {
	Model    string    `json:"model"` // "helix", the only model with a barrier
	Helix    Helix     `json:"helix"`
	B        int       `json:"B"`
	Betas    []float64 `json:"beta"`
	Runs     int       `json:"runs"`
	MaxSteps int64     `json:"max_steps"` // step budget per run; runs that have not escaped are censored
	Sampling string    `json:"sampling"`  // Epoch (paper) or IID
	Dynamics string    `json:"dynamics"`  // SGD, Gauss or GLD
	Grid     int       `json:"grid"`      // points of the 1-D grid of the exact predictions
	// ChainGrid is the number of grid points of the exact discrete chain
	// (pkg/exitchain); 0 chooses it from the step size (32 cells per
	// root-mean-square step).
	ChainGrid int `json:"chain_grid"`
}

// ModelHelix is the only model with a barrier.
const ModelHelix = "helix"

// PaperEscape is the notebook's and the CLI's default experiment: the
// issue's helix (n = 1, N = 1000, seed 1), B = 1, β ∈ {6, 7, 8, 9} and 300
// runs at quick scale; β ∈ {5, …, 11} and 1000 runs at paper scale.
func PaperEscape(scale run.Scale) Config {
	return Config{Model: ModelHelix, Helix: PaperHelix(), B: 1,
		Betas: run.Pick(scale, []float64{6, 7, 8, 9}, []float64{5, 6, 7, 8, 9, 10, 11}), Runs: run.Pick(scale, 300, 1000),
		MaxSteps: 100_000_000, Sampling: Epoch, Dynamics: SGD, Grid: 4001, ChainGrid: 0}
}

// Declare declares the experiment's parameters (pkg/param).
func (c *Config) Declare(s *param.Set) {
	param.Choice(s, &c.Model, "model", "model with a barrier", []string{ModelHelix})
	c.Helix.Declare(s)
	s.Uint64(&c.Helix.Seed, "seed", "master seed: the data set from seed, the runs from seed+1")
	s.Int(&c.B, "B", "mini-batch size B (1 ≤ B < N)", param.Min(1))
	s.Floats(&c.Betas, "beta", "β = B/(ηh*) values (η is chosen from β for the data set's h*)", param.Positive, param.Progression, param.MaxItems(1000))
	s.Int(&c.Runs, "runs", "independent runs per β, all started at θ*", param.Min(1), param.Max(maxRuns))
	s.Int64(&c.MaxSteps, "maxsteps", "steps per run before it is censored; runs that have not escaped by then give a bound on κ", param.Min(1))
	param.Choice(s, &c.Sampling, "sampling", "mini-batches: epoch (fresh permutation each epoch, the paper's) or iid", []string{Epoch, IID})
	param.Choice(s, &c.Dynamics, "dynamics", "sgd (real mini-batches), gauss (Gaussian steps of the exact variance, n = 1) or gld (Langevin, Eq. 5)", []string{SGD, Gauss, GLD})
	s.Int(&c.Grid, "grid", "grid points of the 1-D exact predictions", param.Min(101), param.Max(1_000_000))
	s.Int(&c.ChainGrid, "chain-grid", "grid points of the exact discrete chain (SGD with i.i.d. batches, n = 1)", param.Min(3), param.Max(exitchain.MaxPoints),
		param.Auto("32 cells per root-mean-square step"))
}

// maxRuns bounds the runs per β (their exit times are kept).
const maxRuns = 10_000_000

// Validate checks the configuration (and the data-set description); its
// errors name the parameters with their values.
func (c Config) Validate() error {
	if c.Model != ModelHelix {
		return fmt.Errorf("model = %q: the only model with a barrier is %s", c.Model, ModelHelix)
	}
	if err := c.Helix.Validate(); err != nil {
		return err
	}
	switch {
	case c.B < 1 || c.B > c.Helix.N:
		return fmt.Errorf("B = %d: the batch size must satisfy 1 ≤ B ≤ N = %d", c.B, c.Helix.N)
	case c.B == c.Helix.N && c.Dynamics != GLD:
		return fmt.Errorf("B = %d must be smaller than N = %d: B = N is gradient descent, which has no noise and never escapes", c.B, c.Helix.N)
	case len(c.Betas) == 0:
		return fmt.Errorf("beta: no β values given")
	case c.Runs < 1 || c.Runs > maxRuns:
		return fmt.Errorf("runs = %d must be between 1 and %d (the exit times are kept)", c.Runs, maxRuns)
	case c.MaxSteps < 1:
		return fmt.Errorf("maxsteps = %d: the step budget per run must be ≥ 1", c.MaxSteps)
	case c.Sampling != Epoch && c.Sampling != IID:
		return fmt.Errorf("sampling = %q must be %q or %q", c.Sampling, Epoch, IID)
	case c.Dynamics != SGD && c.Dynamics != Gauss && c.Dynamics != GLD:
		return fmt.Errorf("dynamics = %q must be %q, %q or %q", c.Dynamics, SGD, Gauss, GLD)
	case c.Dynamics == Gauss && c.Helix.Dim != 1:
		return fmt.Errorf("dynamics = gauss is the 1-D exact-variance control and needs n = 1 (got n = %d); use sgd or gld", c.Helix.Dim)
	case c.Grid < 101 || c.Grid > 1_000_000:
		return fmt.Errorf("grid = %d: the 1-D grid must have 101 to 10⁶ points", c.Grid)
	case c.ChainGrid != 0 && (c.ChainGrid < 3 || c.ChainGrid > exitchain.MaxPoints):
		return fmt.Errorf("chain-grid = %d: the exact discrete chain's grid needs 3 to %d points (0: automatic)", c.ChainGrid, exitchain.MaxPoints)
	}
	if w := float64(c.Runs) * float64(len(c.Betas)) * float64(c.MaxSteps); w > maxWork {
		return fmt.Errorf("runs = %d × %d β values × maxsteps = %d = %.3g steps if no run escapes, more than %.0g (days at 5·10⁷ steps/s); lower maxsteps or runs", c.Runs, len(c.Betas), c.MaxSteps, w, maxWork)
	}
	for i, b := range c.Betas {
		switch {
		case !(b > 0) || math.IsInf(b, 0):
			return fmt.Errorf("beta = %v (item %d): β must be positive and finite", b, i+1)
		case math.IsInf(float64(c.B)/b, 0) || float64(c.B)/b > maxJump:
			// ηh* = B/β: beyond 10¹⁵ every run leaves θ* in its first step and
			// the exit time η·steps is not a number worth reporting (it
			// overflows float64 around β = 10⁻³⁰⁸).
			return fmt.Errorf("beta = %v (item %d): ηh* = B/β = %.3g: every run would jump out of θ* in its first step; use β ≥ %.0g (β ≤ B/2 = %g already makes gradient descent itself unstable at θ*)", b, i+1, float64(c.B)/b, float64(c.B)/maxJump, float64(c.B)/2)
		}
	}
	return nil
}

// maxJump bounds ηh* = B/β.
const maxJump = 1e15

// maxWork bounds the steps of the worst case, every run censored (10¹³ is
// about two days at 5·10⁷ steps/s; the presets' worst case is 1.2·10¹¹ at
// quick scale, 7·10¹¹ at paper scale).
const maxWork = 1e13

// MemoryBytes estimates the memory of the experiment: the data set and its
// moments, the 1-D grid, one permutation per worker, the exit times and,
// when the exact discrete chain is solved, its dense fallback (two M×M
// matrices; M from chain-grid, or 5 000 for the automatic grid, which
// stays below that at β ≤ 11).
func (c Config) MemoryBytes() float64 {
	d := float64(c.Helix.Dim + 3)
	n := float64(c.Helix.N)
	m := 8*n*d + 8*d*d + 8*9*float64(c.Grid) + 8*n*16 + 4*n*64 + 64*float64(c.Runs)*float64(len(c.Betas))
	if c.Helix.Dim == 1 && c.Dynamics == SGD {
		pts := float64(c.ChainGrid)
		if pts == 0 {
			pts = 5000
		}
		m += 16 * pts * pts
	}
	return m
}

// seed is the dynamics' master seed.
func (c Config) seed() uint64 { return c.Helix.Seed + rng.DynamicsOffset }

// Point is the measurement and the four predictions at one β. A number that
// cannot be given is NaN (null in JSON) and Reasons, keyed by its JSON name,
// says why.
type Point struct {
	Beta float64 `json:"beta"`
	Eta  float64 `json:"eta"`
	// Kappa is the censoring-aware rate estimate: escaped runs divided by the
	// total observed time of all runs (estimate.CensoredRate, the
	// maximum-likelihood rate of exponential exit times under censoring;
	// 1/mean exit time when nothing is censored). NaN when no run escaped
	// (KappaUpper bounds it) or every run diverged.
	Kappa   run.Float    `json:"kappa"`
	KappaSE run.Float    `json:"kappa_se"` // κ/√escaped
	KappaCI run.Interval `json:"kappa_ci"` // κ·exp(∓1.96/√escaped); [0, KappaUpper] when none escaped
	// KappaUpper is the exact one-sided 95 % upper bound of κ from the
	// escapes and the total time (3.0/T when none escaped: "escape slower than").
	KappaUpper run.Float `json:"kappa_upper_95"`
	// Status is "escaped" (every run), "censored" (some runs reached
	// maxsteps: κ is the censored estimate), "slower" (none escaped: only
	// the bound) or "diverged" (every run).
	Status       string  `json:"status"`
	Escaped      int     `json:"escaped"`
	Censored     int     `json:"censored"`
	CensoredFrac float64 `json:"censored_fraction"`
	Diverged     int     `json:"diverged"`
	ExitHigh     int     `json:"exits_high"` // runs that left through the upper end
	ExitLow      int     `json:"exits_low"`
	// MeanExit is the plain mean of the escaped runs' exit times (biased
	// low when runs are censored).
	MeanExit run.Float `json:"mean_exit_time"`
	CV       run.Float `json:"cv"`         // std/mean of escaped exit times (1 for an exponential law)
	KSp      run.Float `json:"ks_p"`       // KS p-value of exit times against exponential(κ) (NaN when censored)
	Times    []float64 `json:"exit_times"` // sorted exit times of the escaped runs (t = η·steps)
	Steps    int64     `json:"steps"`      // SGD steps simulated at this β

	KappaPowerLaw     run.Float `json:"kappa_powerlaw"`
	KappaArrhenius    run.Float `json:"kappa_arrhenius"`
	KappaExact        run.Float `json:"kappa_exact_diffusion"`
	KappaLD           run.Float `json:"kappa_large_deviation"`
	KappaLDGaussTrunc run.Float `json:"kappa_ld_gaussian_truncation"`
	// KappaDiscrete is the exact rate of the discrete chain: SGD with B
	// samples drawn i.i.d. per step at this η (pkg/exitchain; n = 1 and
	// dynamics = sgd only). It is the exact answer for i.i.d. batches; for
	// the paper's epoch batches (not Markov in θ) it is a prediction.
	KappaDiscrete run.Float `json:"kappa_exact_discrete"`
	// DeltaW is W(θˢ) − W(θ*) of the quasi-potential: ln κ_LD ≈ const − (B/η)ΔW.
	DeltaW run.Float `json:"delta_W"`
	// Reasons says, for each number that is NaN, why (keyed by its JSON name).
	Reasons map[string]string `json:"reasons,omitempty"`
}

// The statuses of a Point.
const (
	StatusEscaped  = "escaped"
	StatusCensored = "censored"
	StatusSlower   = "slower"
	StatusDiverged = "diverged"
)

// set stores v as the number called name, or NaN with a reason when it is
// not a finite number or err says why there is none.
func set(reasons *map[string]string, name string, v float64, err error) run.Float {
	why := ""
	switch {
	case err != nil:
		why = err.Error()
	case math.IsInf(v, 1):
		why = "overflows float64 (+Inf)"
	case math.IsNaN(v) || math.IsInf(v, 0):
		why = fmt.Sprintf("not a number (%v)", v)
	default:
		return run.Float(v)
	}
	if *reasons == nil {
		*reasons = map[string]string{}
	}
	(*reasons)[name] = why
	return nan
}

// value returns the setter of p's number called name (see set).
func (p *Point) value(name string) func(float64, error) run.Float {
	return func(v float64, err error) run.Float { return set(&p.Reasons, name, v, err) }
}

// Result is the experiment's outcome.
type Result struct {
	Landscape Landscape `json:"landscape"`
	B         int       `json:"B"`
	Dynamics  string    `json:"dynamics"`
	Sampling  string    `json:"sampling"`
	MaxSteps  int64     `json:"max_steps"`
	Points    []Point   `json:"points"`
	// Slopes d ln κ/dβ: SGD's weighted fit (weights = escaped runs, the
	// inverse variance of ln κ̂) with a 95 % interval, and each prediction's
	// least-squares slope over the same β.
	SlopeFit      run.Float    `json:"slope_fit"`
	SlopeCI       run.Interval `json:"slope_ci"`
	SlopeChi2     run.Float    `json:"slope_chi2"` // χ² of the weighted fit (≈ points − 2 when a straight line fits)
	SlopePowerLaw run.Float    `json:"slope_powerlaw"`
	SlopeArrh     run.Float    `json:"slope_arrhenius"`
	SlopeExact    run.Float    `json:"slope_exact_diffusion"`
	SlopeLD       run.Float    `json:"slope_large_deviation"`
	SlopeDiscrete run.Float    `json:"slope_exact_discrete"`
	// Reasons says why a slope is NaN (keyed by its JSON name).
	Reasons     map[string]string `json:"reasons,omitempty"`
	Warnings    []string          `json:"warnings,omitempty"`
	StepsPerSec float64           `json:"steps_per_second"`
}

// At returns the point at β (false when β was not measured).
func (r Result) At(beta float64) (Point, bool) {
	return run.Find(r.Points, func(p Point) bool { return p.Beta == beta })
}

// Experiment names the cached experiment; CodeVersion changes with its numbers.
const (
	Experiment = "barrier/escape"
	// CodeVersion 3: censoring flags and bounds, reasons for undefined
	// numbers, the exit-time integral accumulated from both ends (the exact
	// and large-deviation predictions change in their last digits), one
	// master seed. 4: the exact discrete rate (kappa_exact_discrete,
	// slope_exact_discrete) and chain-grid; the other numbers are unchanged.
	CodeVersion = "4"
	// Engine names the native Go engine in provenance.
	Engine = "native-go"
)

// Escape runs the experiment (cached by configuration, each β a cached piece).
func Escape(ctx context.Context, env run.Env, cfg Config) (run.Result[Result], error) {
	return run.Checked(ctx, env, Engine, Experiment, CodeVersion, cfg, cfg.Helix.Seed, func(ctx context.Context, env run.Env) (Result, error) {
		return escape(ctx, env, cfg)
	})
}

// Prepare draws the data set and computes its landscape and 1-D profile,
// reporting the grid's progress. A data set without a barrier (no minimum,
// no saddle, no basin beyond it) and a chain-grid too coarse for the step
// at some β are input errors (run.BadInput), found before the profile.
func Prepare(ctx context.Context, cfg Config, workers int, progress run.Progress) (*Data, Landscape, *Profile1D, error) {
	d, err := cfg.Helix.Draw()
	if err != nil {
		return nil, Landscape{}, nil, run.BadInput(err)
	}
	ls, err := FindLandscape(d)
	if err != nil {
		return d, ls, nil, run.BadInput(err)
	}
	if err := checkChainGrid(d, ls, cfg); err != nil {
		return d, ls, nil, err
	}
	prof, err := ls.Grid(ctx, d, cfg.Grid, workers, progress)
	return d, ls, prof, err
}

func escape(ctx context.Context, env run.Env, cfg Config) (Result, error) {
	d, ls, prof, err := Prepare(ctx, cfg, env.Workers, env.Progress)
	if err != nil {
		return Result{}, err
	}
	res := Result{Landscape: ls, B: cfg.B, Dynamics: cfg.Dynamics, Sampling: cfg.Sampling, MaxSteps: cfg.MaxSteps}
	res.Points, res.Warnings, err = predict(ctx, env, d, ls, prof, cfg)
	if err != nil {
		return res, err
	}
	var steps int64
	var seconds float64
	for i := range res.Points {
		r, err := run.Do(ctx, env.Cache, env.Spec(Experiment+"-point", CodeVersion, pointKey{cfg, i}, cfg.Helix.Seed),
			func(ctx context.Context) (Point, error) {
				return simulate(ctx, env, d, ls, prof, cfg, i, res.Points[i])
			})
		if err != nil {
			return Result{}, err
		}
		res.Points[i] = r.Result
		if !r.FromCache {
			steps += r.Result.Steps
			seconds += r.WallSeconds
		}
	}
	if seconds > 0 {
		res.StepsPerSec = float64(steps) / seconds
	}
	res.slopes()
	return res, nil
}

// pointKey identifies the cached piece of one β.
type pointKey struct {
	Config Config `json:"config"`
	Index  int    `json:"index"`
}

// predict returns the points with η and the five predictions, and the
// warnings about β where gradient descent itself is unstable.
func predict(ctx context.Context, env run.Env, d *Data, ls Landscape, prof *Profile1D, cfg Config) ([]Point, []string, error) {
	progress := env.Progress
	var pts []Point
	var warn []string
	wStar, wSad := interp(prof.X, prof.W, ls.ThetaStar), interp(prof.X, prof.W, ls.ThetaSaddle)
	last := time.Now()
	for i, beta := range cfg.Betas {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if time.Since(last) > time.Second {
			progress.Report(i, len(cfg.Betas), "exact and large-deviation predictions")
			last = time.Now()
		}
		eta := float64(cfg.B) / (beta * ls.HStar)
		if math.IsInf(eta, 0) || math.IsInf(eta*float64(cfg.MaxSteps), 0) {
			return nil, nil, run.BadInput(fmt.Errorf("beta = %v gives η = B/(βh*) = %v for this data set's h* = %.4g, and times η·steps beyond float64; use a larger β", beta, eta, ls.HStar))
		}
		p := Point{Beta: beta, Eta: eta}
		p.KappaPowerLaw = p.value("kappa_powerlaw")(ls.KappaPowerLaw(beta))
		p.KappaArrhenius = p.value("kappa_arrhenius")(ls.KappaArrhenius(beta))
		p.KappaExact = p.value("kappa_exact_diffusion")(prof.KappaExact(ls, eta, cfg.B, d.N))
		p.KappaLD = p.value("kappa_large_deviation")(prof.KappaLD(ls, eta, cfg.B, false))
		p.KappaLDGaussTrunc = p.value("kappa_ld_gaussian_truncation")(prof.KappaLD(ls, eta, cfg.B, true))
		var noRoot error
		if prof.NoRoot != "" {
			noRoot = fmt.Errorf("%s", prof.NoRoot)
		}
		p.DeltaW = p.value("delta_W")(wSad-wStar, noRoot)
		k, why, err := kappaDiscrete(ctx, env, d, ls, cfg, p)
		if err != nil {
			return nil, nil, err
		}
		if why == nil {
			why = ctx.Err()
		}
		p.KappaDiscrete = p.value("kappa_exact_discrete")(k, why)
		if eta*ls.HStar >= 2 {
			warn = append(warn, fmt.Sprintf("β = %g: ηh* = %.3g ≥ 2, gradient descent itself is unstable at θ*; the rate measures a jump, not an escape", beta, eta*ls.HStar))
		}
		pts = append(pts, p)
	}
	return pts, warn, nil
}

// simulate runs the runs of point i (prediction p) through dynamics.Simulate
// and summarises them. Every run has its own stream, fixed by (seed, β
// index, run), so results do not depend on the worker count.
func simulate(ctx context.Context, env run.Env, d *Data, ls Landscape, prof *Profile1D, cfg Config, i int, p Point) (Point, error) {
	e := &ensemble{d: d, eta: p.Eta, b: cfg.B, lo: ls.A, hi: ls.B, start: d.Theta(ls.ThetaStar),
		sampling: minibatch.Sampling(cfg.Sampling), dynamics: cfg.Dynamics, prof: prof, index: i,
		dGLD: p.Eta * ls.LStar * ls.HStar / float64(cfg.B), sigmaScale: batchVariance(cfg.B, d.N)}
	outs := make([]outcome, cfg.Runs)
	progress := env.Progress
	if progress != nil {
		progress = func(done, total int, note string) {
			env.Progress(done, total, fmt.Sprintf("β = %g (%d of %d), %s", p.Beta, i+1, len(cfg.Betas), note))
		}
	}
	_, err := dynamics.Simulate(ctx, e, dynamics.Schedule{Runs: cfg.Runs, Seed: cfg.seed(), MaxSteps: cfg.MaxSteps, Every: cfg.MaxSteps,
		Workers: env.Workers, Progress: progress},
		func(r int, steps int64, w dynamics.Walker, t, _ float64, div bool) bool {
			hw := w.(*walker)
			outs[r] = outcome{T: t, Steps: steps, Escaped: hw.escaped, Diverged: div || hw.diverged, High: hw.escaped && hw.th[0] >= ls.B}
			return false
		})
	if err != nil {
		return p, err
	}
	summarise(&p, outs, cfg.MaxSteps)
	return p, nil
}

// outcome of one run.
type outcome struct {
	T        float64 // exit time t = η·steps (or the censoring time)
	Steps    int64
	Escaped  bool
	Diverged bool
	High     bool // left through the upper end B
}

var nan = run.Float(math.NaN())

// summarise fills the measurement of p from its runs' outcomes: the
// censoring-aware rate, its interval and bound, the exit-time statistics
// and the status.
func summarise(p *Point, outs []outcome, maxSteps int64) {
	total := 0.0
	var times []float64
	for _, o := range outs {
		p.Steps += o.Steps
		switch {
		case o.Diverged:
			p.Diverged++
			continue // a diverged run has no exit time; counted, not averaged
		case o.Escaped:
			p.Escaped++
			times = append(times, o.T)
			if o.High {
				p.ExitHigh++
			} else {
				p.ExitLow++
			}
		default:
			p.Censored++
		}
		total += o.T
	}
	sort.Float64s(times)
	p.Times = times
	p.CensoredFrac = float64(p.Censored) / float64(len(outs))
	p.Kappa, p.KappaSE, p.KappaCI, p.KappaUpper, p.CV, p.KSp, p.MeanExit = nan, nan, run.Interval{nan, nan}, nan, nan, nan, nan
	r := &p.Reasons
	rate, err := estimate.CensoredRate(p.Escaped, total)
	switch {
	case p.Diverged == len(outs):
		p.Status = StatusDiverged
		p.Kappa = set(r, "kappa", 0, fmt.Errorf("every run diverged (θ became NaN): no rate"))
		return
	case err != nil:
		p.Status = StatusDiverged
		p.Kappa = set(r, "kappa", 0, fmt.Errorf("no rate: %v", err))
		return
	}
	p.KappaUpper = run.Float(rate.Upper)
	if p.Escaped == 0 {
		p.Status = StatusSlower
		p.KappaCI = rate.CI
		p.Kappa = set(r, "kappa", 0, fmt.Errorf("no run escaped within maxsteps = %d (t = %.3g): escape is slower than that, κ < %.3g (95 %%)", maxSteps, p.Eta*float64(maxSteps), rate.Upper))
		return
	}
	p.Status = StatusEscaped
	if p.Censored > 0 {
		p.Status = StatusCensored
	}
	p.Kappa, p.KappaSE, p.KappaCI = run.Float(rate.Rate), run.Float(rate.SE), rate.CI
	m, cv := estimate.MeanCV(times)
	p.MeanExit, p.CV = run.Float(m), run.Float(cv)
	if p.Censored == 0 && len(times) >= 5 {
		k := rate.Rate
		if ks, err := estimate.KSTest(times, func(t float64) float64 { return -math.Expm1(-k * t) }, 1); err == nil {
			p.KSp = run.Float(ks.PValue)
		}
	}
}

// slopes fits d ln κ/dβ: SGD's weighted line over the β where runs
// escaped, and each prediction's line over every β (NaN, with a reason,
// when a prediction is missing at some β).
func (res *Result) slopes() {
	var xs, ys, ws []float64
	for _, p := range res.Points {
		if p.Escaped > 0 && p.Kappa > 0 {
			xs, ys, ws = append(xs, p.Beta), append(ys, math.Log(float64(p.Kappa))), append(ws, float64(p.Escaped))
		}
	}
	r := &res.Reasons
	res.SlopeFit, res.SlopeCI, res.SlopeChi2 = nan, run.Interval{nan, nan}, nan
	if l, err := estimate.WeightedLine(xs, ys, ws); err != nil {
		res.SlopeFit = set(r, "slope_fit", 0, fmt.Errorf("needs at least two β values with escaped runs, got %d", len(xs)))
	} else {
		res.SlopeFit, res.SlopeCI, res.SlopeChi2 = run.Float(l.Slope), run.NewInterval(l.Slope-1.96*l.SlopeSE, l.Slope+1.96*l.SlopeSE), run.Float(l.Chi2)
	}
	pred := func(name string, f func(Point) run.Float) run.Float {
		if len(res.Points) < 2 {
			return set(r, name, 0, fmt.Errorf("a slope needs at least two β values"))
		}
		var x, y, w []float64
		for _, p := range res.Points {
			if v := float64(f(p)); v > 0 && !math.IsInf(v, 0) {
				x, y, w = append(x, p.Beta), append(y, math.Log(v)), append(w, 1)
			}
		}
		if len(x) < len(res.Points) {
			return set(r, name, 0, fmt.Errorf("the prediction is missing at %d of %d β", len(res.Points)-len(x), len(res.Points)))
		}
		l, err := estimate.WeightedLine(x, y, w)
		return set(r, name, l.Slope, err)
	}
	res.SlopePowerLaw = pred("slope_powerlaw", func(p Point) run.Float { return p.KappaPowerLaw })
	res.SlopeArrh = pred("slope_arrhenius", func(p Point) run.Float { return p.KappaArrhenius })
	res.SlopeExact = pred("slope_exact_diffusion", func(p Point) run.Float { return p.KappaExact })
	res.SlopeLD = pred("slope_large_deviation", func(p Point) run.Float { return p.KappaLD })
	res.SlopeDiscrete = pred("slope_exact_discrete", func(p Point) run.Float { return p.KappaDiscrete })
}
