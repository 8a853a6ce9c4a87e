package linreg

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/passage"
	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// FPTVersion is the code version of the first-passage experiment (part of the cache key).
const FPTVersion = "linreg-fpt/v3"

// FPTConfig is one first-passage experiment (Fig. 3b): Runs runs start at
// θ*; for each threshold c the first time t (= η·steps for SGD) with
// L ≥ c·L* is recorded; runs still below the largest threshold after
// MaxSteps steps are censored.
type FPTConfig struct {
	Problem
	// Config is the dynamics (kind, η, B, SDE step, GLD's h*).
	dynamics.Config
	Runs     int       `json:"runs"`
	C        []float64 `json:"c"`
	MaxSteps int64     `json:"max_steps"`
	// FitCMin: thresholds c ≥ FitCMin enter the slope fit. 0 means 1.5 × the
	// mode of the stationary law of L/L*, φ/(φ − n/2 + 1) (at least the
	// smallest c), so that the fit stays clear of the bulk.
	FitCMin float64 `json:"fit_cmin"`
	Boot    int     `json:"boot"`
}

// Validate checks the configuration and says what to change.
func (c FPTConfig) Validate() error {
	if err := c.Problem.Validate(); err != nil {
		return err
	}
	if err := c.Config.ValidateFor(c.N); err != nil {
		return err
	}
	switch {
	case c.Runs < 1:
		return fmt.Errorf("runs must be ≥ 1, got %d", c.Runs)
	case c.MaxSteps < 1:
		return fmt.Errorf("maxsteps must be ≥ 1, got %d", c.MaxSteps)
	case c.Boot < 0:
		return fmt.Errorf("boot must be ≥ 0, got %d", c.Boot)
	case c.FitCMin < 0:
		return fmt.Errorf("fit-cmin must be ≥ 0 (0 = automatic), got %v", c.FitCMin)
	case c.Runs < passage.MinRuns:
		return fmt.Errorf("runs = %d: a threshold's mean first-passage time counts as reliable only with %d passages or more; use runs ≥ %d", c.Runs, passage.MinRuns, passage.MinRuns)
	}
	if err := checkRun(c.Problem, c.B); err != nil {
		return err
	}
	cs := c.thresholds()
	if err := passage.CheckSlopeGrid(cs, c.FitCMin); err != nil {
		return err
	}
	return estimate.CheckBoot(c.Boot, float64(c.Runs)*float64(len(cs)), estimate.BootWorkFPT, "runs × thresholds")
}

// FPTResult is the outcome of FPT.
type FPTResult struct {
	Dynamics dynamics.Kind `json:"dynamics"`
	Eta      float64       `json:"eta"`
	B        int           `json:"B"`
	Spectrum
	Fit       passage.Result `json:"fit"`
	ModeRatio float64        `json:"mode_ratio"`       // mode of L/L* in the stationary law, φ/(φ−n/2+1)
	FitCMin   float64        `json:"fit_cmin"`         // the threshold from which the slope is fitted
	SlopeMean float64        `json:"slope_theory"`     // B/(ηh*) + 1 − n/2 with h* = mean eigenvalue
	SlopeMax  float64        `json:"slope_theory_max"` // with h* = λ_max
	GLDD      float64        `json:"gld_D"`            // D = ηL*h*/B (used by GLD)
	ArrSlope  float64        `json:"arrhenius_loglin_slope"`
	FitNote   string         `json:"fit_note,omitempty"` // set when the automatic fit range had to be widened
	// Undetermined says why the slope is undefined (null) when too many runs
	// are censored: the point is "slower than" the step budget, not a failure.
	Undetermined string `json:"undetermined,omitempty"`
	// SlowerThanBudget flags such a point in tables and validity maps.
	SlowerThanBudget bool   `json:"slower_than_budget"`
	Censored         []int  `json:"censored"`
	Diverged         int    `json:"diverged"`
	TotalSteps       int64  `json:"total_steps"`
	TimeUnit         string `json:"time_unit"`
	// Warnings name degenerate first-passage estimates (passages at the
	// time resolution, zero spread; passage.Tracker.Degeneracies).
	Warnings []string `json:"warnings,omitempty"`
}

type fptObserver struct {
	tr *passage.Tracker
	mu sync.Mutex
}

func (o *fptObserver) Observe(s *dynamics.State) bool {
	if s.Diverged {
		o.mu.Lock()
		o.tr.MarkDiverged(s.Run)
		o.mu.Unlock()
		return true
	}
	return o.tr.Record(s.Run, s.T, s.Loss)
}

// never is an observer that lets runs go on until their step cap.
type never struct{}

func (never) Observe(*dynamics.State) bool { return false }

// FPT runs the experiment, or returns its cached result. It runs the
// native Go engine: env.Backend is not used, and provenance names Engine.
func FPT(ctx context.Context, env run.Env, c FPTConfig) (run.Result[FPTResult], error) {
	if c.Kind == "" {
		c.Kind = dynamics.SGD
	}
	c.C = c.thresholds()
	r, err := run.Checked(ctx, env, Engine, "linreg/fpt", FPTVersion, c, c.Seed, func(ctx context.Context, env run.Env) (FPTResult, error) {
		return fpt(ctx, c, env.Progress)
	})
	if err == nil && r.Result.Diverged > 0 {
		// After the cache, so that results cached before this rule read the same:
		// a diverged experiment has no fit (null), never a slope 0 [0, 0].
		r.Result.Fit = passage.Undefined(r.Result.Diverged)
	}
	return r, err
}

func fpt(ctx context.Context, c FPTConfig, progress run.Progress) (FPTResult, error) {
	_, q, err := build(c.Problem)
	if err != nil {
		return FPTResult{}, err
	}
	res := FPTResult{Dynamics: c.Kind, Eta: c.Eta, B: c.B, Spectrum: spectrum(q), TimeUnit: "t = η·steps (SGD) or SDE time"}
	res.SlopeMean = slopeTheory(c.Eta, c.B, res.HMean, q.P)
	res.SlopeMax = slopeTheory(c.Eta, c.B, res.HMax, q.P)
	phi := phiTheory(c.Eta, c.B, res.HMean)
	res.ModeRatio = math.Max(1, phi/(phi-float64(q.P)/2+1))
	dcfg := c.Config
	res.GLDD = dynamics.GLDDiffusion(q, dcfg)
	res.ArrSlope = q.LStar / res.GLDD
	tr, err := passage.NewTracker(c.Runs, c.C, q.LStar)
	if err != nil {
		return res, err
	}
	res.FitCMin = c.FitCMin
	if res.FitCMin == 0 {
		res.FitCMin = math.Max(tr.C[0], 1.5*res.ModeRatio)
	}
	// Stability probe: first passages stop a run as soon as it crosses the
	// largest threshold, which an exploding run does within a few steps, so
	// divergence is checked separately on runs that do not stop early.
	probeSteps := min(c.MaxSteps, max(2000, int64(math.Ceil(50/(c.Eta*res.HMin)))))
	probe, err := dynamics.Run(ctx, q, dcfg, dynamics.Options{Runs: min(c.Runs, 8), Seed: c.Seed + rng.ProbeOffset, MaxSteps: probeSteps}, never{})
	if err != nil {
		return res, err
	}
	if probe.Diverged > 0 {
		res.Diverged = probe.Diverged
		res.FitNote = fmt.Sprintf("%d of %d probe runs diverged within %d steps (loss non-finite or above %g·L*): no first-passage statistics", probe.Diverged, probe.Runs, probeSteps, dynamics.DivergenceFactor)
		return res, nil
	}
	sum, err := dynamics.Run(ctx, q, dcfg, dynamics.Options{Runs: c.Runs, Seed: c.Seed + rng.DynamicsOffset, MaxSteps: c.MaxSteps, Progress: progress}, &fptObserver{tr: tr})
	if err != nil {
		return res, err
	}
	res.TotalSteps = sum.TotalSteps
	res.Diverged = sum.Diverged
	if sum.Diverged > 0 {
		// Never analyse a configuration in which runs blow up: report it.
		return res, nil
	}
	res.Fit, err = tr.Analyze(res.FitCMin, c.Boot, c.Seed+rng.BootstrapOffset)
	if err != nil && c.FitCMin == 0 {
		// Automatic range too narrow for this grid: widen it to the thresholds
		// above the stationary mode, then to every threshold, and say so.
		for _, lo := range []float64{res.ModeRatio, tr.C[0]} {
			if res.Fit, err = tr.Analyze(lo, c.Boot, c.Seed+rng.BootstrapOffset); err == nil {
				res.FitNote = fmt.Sprintf("fewer than two thresholds lie beyond 1.5 × the stationary mode (c ≥ %.3g); the slope is fitted over c ≥ %.3g, closer to the bulk, where the power law is not yet asymptotic — add larger thresholds", res.FitCMin, lo)
				res.FitCMin = lo
				break
			}
		}
	}
	for _, e := range res.Fit.Estimates {
		res.Censored = append(res.Censored, e.Censored)
	}
	if errors.Is(err, passage.ErrTooFewReliable) {
		// Censored is data: the runs did not pass enough thresholds within
		// MaxSteps. The estimates (with their restricted means, lower bounds
		// of the mean passage time) are the result; the slope is undefined.
		res.Undetermined = fmt.Sprintf("slower than the step budget: fewer than two thresholds were passed by most of the %d runs within maxsteps = %d steps; the mean first-passage times exceed the restricted means shown and the slope is undefined (raise maxsteps)", c.Runs, c.MaxSteps)
		res.SlowerThanBudget, err = true, nil
	}
	if err != nil {
		return res, err
	}
	res.Warnings = tr.Degeneracies(timeResolution(c))
	return res, nil
}
