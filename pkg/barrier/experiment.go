package barrier

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync/atomic"

	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// Config is one escape experiment: a data set, a batch size, a list of
// β = B/(ηh*) (η = B/(βh*) is chosen for each β from the data set's h*), and
// the number of independent runs per β, all started at θ*.
type Config struct {
	Helix    Helix     `json:"helix"`
	B        int       `json:"B"`
	Betas    []float64 `json:"beta"`
	Runs     int       `json:"runs"`
	MaxSteps int64     `json:"max_steps"` // step budget per run; runs that have not escaped are censored
	Sampling string    `json:"sampling"`  // Epoch (paper) or IID
	Dynamics string    `json:"dynamics"`  // SGD, Gauss or GLD
	Grid     int       `json:"grid"`      // points of the 1-D grid of the exact predictions
	Seed     uint64    `json:"seed"`      // seed of the dynamics (the data set has Helix.Seed)
	Workers  int       `json:"-"`         // parallel runs (GOMAXPROCS when ≤ 0); results do not depend on it
}

// PaperEscape is the notebook's and the CLI's default experiment: the
// issue's helix (n = 1, N = 1000), B = 1, β ∈ {6, 7, 8, 9} and 300 runs at
// quick scale; β ∈ {5, …, 11} and 1000 runs at paper scale.
func PaperEscape(scale string) Config {
	c := Config{Helix: PaperHelix(), B: 1, Betas: []float64{6, 7, 8, 9}, Runs: 300, MaxSteps: 100_000_000,
		Sampling: Epoch, Dynamics: SGD, Grid: 4001, Seed: 2}
	if scale == "paper" {
		c.Betas = []float64{5, 6, 7, 8, 9, 10, 11}
		c.Runs = 1000
	}
	return c
}

// Validate checks the configuration (and the data-set description).
func (c Config) Validate() error {
	if err := c.Helix.Validate(); err != nil {
		return err
	}
	switch {
	case c.B < 1 || c.B > c.Helix.N:
		return fmt.Errorf("barrier: batch size B = %d must satisfy 1 ≤ B ≤ N = %d", c.B, c.Helix.N)
	case c.B == c.Helix.N && c.Dynamics != GLD:
		return fmt.Errorf("barrier: B = N is gradient descent: no noise, nothing escapes; use B < N")
	case len(c.Betas) == 0:
		return fmt.Errorf("barrier: no β values given")
	case c.Runs < 1:
		return fmt.Errorf("barrier: runs must be ≥ 1, got %d", c.Runs)
	case c.Runs > 10_000_000:
		return fmt.Errorf("barrier: runs = %d exceeds 10⁷ (memory for exit times)", c.Runs)
	case c.MaxSteps < 1:
		return fmt.Errorf("barrier: the step budget per run must be ≥ 1, got %d", c.MaxSteps)
	case c.Sampling != Epoch && c.Sampling != IID:
		return fmt.Errorf("barrier: sampling must be %q or %q, got %q", Epoch, IID, c.Sampling)
	case c.Dynamics != SGD && c.Dynamics != Gauss && c.Dynamics != GLD:
		return fmt.Errorf("barrier: dynamics must be %q, %q or %q, got %q", SGD, Gauss, GLD, c.Dynamics)
	case c.Dynamics == Gauss && c.Helix.Dim != 1:
		return fmt.Errorf("barrier: -dynamics gauss is the 1-D exact-variance control and needs n = 1 (got n = %d); use sgd or gld", c.Helix.Dim)
	case c.Grid < 101 || c.Grid > 1_000_000:
		return fmt.Errorf("barrier: the 1-D grid must have 101 to 10⁶ points, got %d", c.Grid)
	}
	for i, b := range c.Betas {
		if !(b > 0) || math.IsInf(b, 0) {
			return fmt.Errorf("barrier: β must be positive and finite, got β[%d] = %v", i, b)
		}
	}
	return nil
}

// Point is the measurement and the four predictions at one β.
type Point struct {
	Beta float64 `json:"beta"`
	Eta  float64 `json:"eta"`
	// Kappa is the censoring-aware rate estimate: escaped runs divided by the
	// total observed time of all runs (the maximum-likelihood rate of
	// exponential exit times under censoring; 1/mean exit time when nothing
	// is censored). NaN when no run escaped.
	Kappa    run.Float    `json:"kappa"`
	KappaSE  run.Float    `json:"kappa_se"` // κ/√escaped
	KappaCI  run.Interval `json:"kappa_ci"` // κ·exp(∓1.96/√escaped)
	Escaped  int          `json:"escaped"`
	Censored int          `json:"censored"`
	Diverged int          `json:"diverged"`
	ExitHigh int          `json:"exits_high"` // runs that left through the upper end
	ExitLow  int          `json:"exits_low"`
	// MeanExit is the plain mean of the escaped runs' exit times (biased
	// low when runs are censored).
	MeanExit float64   `json:"mean_exit_time"`
	CV       run.Float `json:"cv"`         // std/mean of escaped exit times (1 for an exponential law)
	KSp      run.Float `json:"ks_p"`       // KS p-value of exit times against exponential(κ) (NaN when censored)
	Times    []float64 `json:"exit_times"` // sorted exit times of the escaped runs (t = η·steps)
	Steps    int64     `json:"steps"`      // SGD steps simulated at this β

	KappaPowerLaw     float64   `json:"kappa_powerlaw"`
	KappaArrhenius    float64   `json:"kappa_arrhenius"`
	KappaExact        run.Float `json:"kappa_exact_diffusion"`
	KappaLD           run.Float `json:"kappa_large_deviation"`
	KappaLDGaussTrunc run.Float `json:"kappa_ld_gaussian_truncation"`
	// DeltaW is W(θˢ) − W(θ*) of the quasi-potential: ln κ_LD ≈ const − (B/η)ΔW.
	DeltaW float64 `json:"delta_W"`
}

// Result is the experiment's outcome.
type Result struct {
	Landscape Landscape `json:"landscape"`
	B         int       `json:"B"`
	Dynamics  string    `json:"dynamics"`
	Sampling  string    `json:"sampling"`
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
	Warnings      []string     `json:"warnings,omitempty"`
	StepsPerSec   float64      `json:"steps_per_second"`
}

// Experiment names the cached experiment; CodeVersion changes with its numbers.
const (
	Experiment  = "barrier/escape"
	CodeVersion = "2"
)

// Escape runs the experiment (cached by configuration).
func Escape(ctx context.Context, env run.Env, cfg Config) (run.Result[Result], error) {
	if err := cfg.Validate(); err != nil {
		return run.Result[Result]{}, err
	}
	spec := run.Spec{Experiment: Experiment, CodeVersion: CodeVersion, Config: cfg, Seed: cfg.Seed, Backend: "native"}
	return run.Do(ctx, env.Cache, spec, func(ctx context.Context) (Result, error) { return escapeRun(ctx, env, cfg) })
}

// Prepare draws the data set and computes its landscape and 1-D profile.
func Prepare(ctx context.Context, cfg Config) (*Data, Landscape, *Profile1D, error) {
	d, err := cfg.Helix.Draw()
	if err != nil {
		return nil, Landscape{}, nil, err
	}
	ls, err := FindLandscape(d)
	if err != nil {
		return d, ls, nil, err
	}
	prof, err := ls.Grid(ctx, d, cfg.Grid, cfg.Workers)
	return d, ls, prof, err
}

func escapeRun(ctx context.Context, env run.Env, cfg Config) (Result, error) {
	d, ls, prof, err := Prepare(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	res := Result{Landscape: ls, B: cfg.B, Dynamics: cfg.Dynamics, Sampling: cfg.Sampling}
	// Predictions.
	wStar := interp(prof.X, prof.W, ls.ThetaStar)
	wSad := interp(prof.X, prof.W, ls.ThetaSaddle)
	for _, beta := range cfg.Betas {
		eta := float64(cfg.B) / (beta * ls.HStar)
		p := Point{Beta: beta, Eta: eta, KappaPowerLaw: ls.KappaPowerLaw(beta), KappaArrhenius: ls.KappaArrhenius(beta), DeltaW: wSad - wStar}
		p.KappaExact, p.KappaLD, p.KappaLDGaussTrunc = nan, nan, nan
		if k, err := prof.KappaExact(ls, eta, cfg.B, d.N); err == nil {
			p.KappaExact = run.Float(k)
		}
		if k, err := prof.KappaLD(ls, eta, cfg.B, false); err == nil {
			p.KappaLD = run.Float(k)
		}
		if k, err := prof.KappaLD(ls, eta, cfg.B, true); err == nil {
			p.KappaLDGaussTrunc = run.Float(k)
		}
		if eta*ls.HStar >= 2 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("β = %g: ηh* = %.3g ≥ 2, gradient descent itself is unstable at θ*; the rate measures a jump, not an escape", beta, eta*ls.HStar))
		}
		res.Points = append(res.Points, p)
	}
	// Simulation, one cached piece per β (an interrupted sweep resumes from
	// its finished β). Every (β, run) has its own random stream, fixed by
	// (seed, β index, run), so results do not depend on the worker count.
	start := d.Theta(ls.ThetaStar)
	var steps int64
	var seconds float64
	for i := range res.Points {
		pred := res.Points[i]
		sim := &simulator{d: d, eta: pred.Eta, b: cfg.B, lo: ls.A, hi: ls.B, start: start, maxSteps: cfg.MaxSteps,
			sampling: cfg.Sampling, dynamics: cfg.Dynamics, prof: prof,
			dGLD:       pred.Eta * ls.LStar * ls.HStar / float64(cfg.B),
			sigmaScale: float64(d.N-cfg.B) / (float64(cfg.B) * float64(d.N-1))}
		spec := run.Spec{Experiment: Experiment + "-point", CodeVersion: CodeVersion, Seed: cfg.Seed, Backend: "native",
			Config: struct {
				Config Config `json:"config"`
				Index  int    `json:"index"`
			}{cfg, i}}
		r, err := run.Do(ctx, env.Cache, spec, func(ctx context.Context) (Point, error) {
			outs := make([]outcome, cfg.Runs)
			var done atomic.Int64
			note := func() string {
				return fmt.Sprintf("β = %g (%d of %d), %.3g steps", pred.Beta, i+1, len(res.Points), float64(done.Load()))
			}
			err := run.Parallel(ctx, cfg.Runs, cfg.Workers, env.Progress, note, func(ctx context.Context, r int) error {
				outs[r] = sim.run(cfg.Seed, uint64(i)<<40|uint64(r))
				done.Add(outs[r].Steps)
				return ctx.Err()
			})
			p := pred
			summarise(&p, outs)
			return p, err
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
	// Slopes.
	var xs, ys, ws []float64
	for _, p := range res.Points {
		if p.Escaped > 0 {
			xs, ys, ws = append(xs, p.Beta), append(ys, math.Log(float64(p.Kappa))), append(ws, float64(p.Escaped))
		}
	}
	res.SlopeFit, res.SlopeCI, res.SlopeChi2 = nan, run.Interval{nan, nan}, nan
	if len(xs) >= 2 {
		s, se, chi2 := wls(xs, ys, ws)
		res.SlopeFit, res.SlopeCI, res.SlopeChi2 = run.Float(s), run.NewInterval(s-1.96*se, s+1.96*se), run.Float(chi2)
	}
	pred := func(f func(Point) float64) run.Float {
		var x, y, w []float64
		for _, p := range res.Points {
			v := f(p)
			if v > 0 && !math.IsInf(v, 0) {
				x, y, w = append(x, p.Beta), append(y, math.Log(v)), append(w, 1)
			}
		}
		if len(x) < 2 || len(x) < len(res.Points) {
			return nan
		}
		s, _, _ := wls(x, y, w)
		return run.Float(s)
	}
	res.SlopePowerLaw = pred(func(p Point) float64 { return p.KappaPowerLaw })
	res.SlopeArrh = pred(func(p Point) float64 { return p.KappaArrhenius })
	res.SlopeExact = pred(func(p Point) float64 { return float64(p.KappaExact) })
	res.SlopeLD = pred(func(p Point) float64 { return float64(p.KappaLD) })
	return res, nil
}

var nan = run.Float(math.NaN())

func summarise(p *Point, outs []outcome) {
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
	p.Kappa, p.KappaSE, p.KappaCI, p.CV, p.KSp = nan, nan, run.Interval{nan, nan}, nan, nan
	if p.Escaped == 0 || total == 0 {
		return
	}
	k := float64(p.Escaped) / total
	p.Kappa = run.Float(k)
	p.KappaSE = run.Float(k / math.Sqrt(float64(p.Escaped)))
	z := 1.96 / math.Sqrt(float64(p.Escaped))
	p.KappaCI = run.NewInterval(k*math.Exp(-z), k*math.Exp(z))
	m, v := 0.0, 0.0
	for _, t := range times {
		m += t
	}
	m /= float64(len(times))
	for _, t := range times {
		v += (t - m) * (t - m)
	}
	p.MeanExit = m
	if len(times) > 1 {
		p.CV = run.Float(math.Sqrt(v/float64(len(times)-1)) / m)
	}
	if p.Censored == 0 && len(times) >= 5 {
		if ks, err := estimate.KSTest(times, func(t float64) float64 { return -math.Expm1(-k * t) }, 1); err == nil {
			p.KSp = run.Float(ks.PValue)
		}
	}
}

// wls fits y = a + s·x with weights w (inverse variances) and returns the
// slope, its standard error (known variances) and the χ² of the fit.
func wls(x, y, w []float64) (slope, se, chi2 float64) {
	var sw, sx, sy float64
	for i := range x {
		sw += w[i]
		sx += w[i] * x[i]
		sy += w[i] * y[i]
	}
	mx, my := sx/sw, sy/sw
	var sxx, sxy float64
	for i := range x {
		sxx += w[i] * (x[i] - mx) * (x[i] - mx)
		sxy += w[i] * (x[i] - mx) * (y[i] - my)
	}
	slope = sxy / sxx
	se = math.Sqrt(1 / sxx)
	a := my - slope*mx
	for i := range x {
		r := y[i] - a - slope*x[i]
		chi2 += w[i] * r * r
	}
	return
}
