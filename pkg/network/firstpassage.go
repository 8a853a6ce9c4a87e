package network

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/passage"
	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

// FirstPassageVersion is the code version of the network first-passage experiment.
const FirstPassageVersion = "network-fpt/v3" // v3: runs above the divergence rule count as diverged; degeneracy warnings

// FirstPassageConfig is the experiment of section 5.3.2 (Fig. 3c): Runs SGD runs
// restarted from θ* with a new (η, B); first passages of c·L(θ*).
type FirstPassageConfig struct {
	Pretrain PretrainConfig `json:"pretrain"`
	Eta      float64        `json:"eta"`
	B        int            `json:"B"`
	Runs     int            `json:"runs"`
	C        []float64      `json:"c"`
	MaxSteps int64          `json:"max_steps"`
	Every    int64          `json:"every"` // the full-batch loss is checked every Every steps (time resolution Every·η)
	Seed     uint64         `json:"seed"`
	FitCMin  float64        `json:"fit_cmin"` // 0: every reliable threshold
	Boot     int            `json:"boot"`
	// FreeRuns are extra runs that never stop at a threshold, to show the
	// loss level after the restart (transient, plateau, drift) up to FreeSteps.
	FreeRuns  int   `json:"free_runs"`
	FreeSteps int64 `json:"free_steps"`
	// AllowNonStationary accepts a θ* whose pre-training had not converged.
	AllowNonStationary bool `json:"allow_nonstationary"`
}

// Validate checks the configuration: everything that can be refused
// before any work.
func (c FirstPassageConfig) Validate() error {
	if err := c.Pretrain.Validate(); err != nil {
		return err
	}
	if a := c.Pretrain.Run.Arch; a.Kind != MLP || len(a.Widths) != 1 || c.Pretrain.Run.Data.Targets != EvenOdd {
		return fmt.Errorf("widths = %v: the network first-passage experiment uses a one-hidden-layer MLP with even/odd targets (the paper's 784-10-1): give one width", a.Widths)
	}
	n := c.Pretrain.Run.Data.N
	switch {
	case !(c.Eta > 0) || math.IsInf(c.Eta, 0):
		return fmt.Errorf("eta = %v must be a positive number", c.Eta)
	case c.B < 1:
		return fmt.Errorf("B = %d must be ≥ 1", c.B)
	case c.B >= n:
		return fmt.Errorf("B = %d must be smaller than N = %d: B = N is full-batch gradient descent, which has no noise and never escapes", c.B, n)
	case c.Runs < passage.MinRuns:
		return fmt.Errorf("runs = %d: a threshold's mean first-passage time counts as reliable only with %d passages or more; use runs ≥ %d", c.Runs, passage.MinRuns, passage.MinRuns)
	case c.MaxSteps < 1:
		return fmt.Errorf("maxsteps = %d must be ≥ 1", c.MaxSteps)
	case c.Every < 1:
		return fmt.Errorf("every = %d must be ≥ 1", c.Every)
	case c.FreeRuns < 0 || c.FreeSteps < 0:
		return fmt.Errorf("free runs (%d) and free steps (%d) must be ≥ 0", c.FreeRuns, c.FreeSteps)
	case c.Boot < 0:
		return fmt.Errorf("boot = %d must be ≥ 0", c.Boot)
	case c.FitCMin < 0:
		return fmt.Errorf("fit-cmin = %v must be ≥ 0 (0: every threshold)", c.FitCMin)
	}
	if err := passage.CheckSlopeGrid(c.C, c.FitCMin); err != nil {
		return err
	}
	return estimate.CheckBoot(c.Boot, float64(c.Runs)*float64(len(c.C)), estimate.BootWorkFPT, "runs × thresholds")
}

// Estimator is a theory slope for one effective-dimension estimate.
type Estimator struct {
	Name  string  `json:"name"`
	N     float64 `json:"n"`
	Slope float64 `json:"slope_theory"` // B/(ηh*) + 1 − n/2
}

// Trajectory is the mean and spread of the loss of the free runs at a time.
type Trajectory struct {
	T    []float64 `json:"t"`
	Mean []float64 `json:"mean_loss"`
	Lo   []float64 `json:"q10"`
	Hi   []float64 `json:"q90"`
}

// FirstPassageResult is the outcome of the network first-passage experiment.
type FirstPassageResult struct {
	// Pretrained and Spectrum describe θ*; both are absent when pre-training
	// diverged (PretrainDiverged), Pretrained is then the history up to the
	// blow-up when there is one.
	Pretrained *Pretrained      `json:"pretrained,omitempty"`
	Spectrum   *MinimumSpectrum `json:"spectrum,omitempty"`
	LStar      float64          `json:"L_star"`
	HStar      float64          `json:"h_star"`
	Fit        passage.Result   `json:"fit"`
	Estimators []Estimator      `json:"estimators"`
	ImpliedN   float64          `json:"implied_n"`
	Censored   []int            `json:"censored"`
	Diverged   int              `json:"diverged"`
	TotalSteps int64            `json:"total_steps"`
	TimeStep   float64          `json:"time_resolution"` // Every·η
	// FPTCV is the coefficient of variation (sd/mean) of the first-passage
	// times at each threshold among runs that crossed: about 1 for escapes
	// from a quasi-stationary state (exponential times), well below 1 when
	// they come from a deterministic transient after the restart.
	FPTCV []run.Float `json:"fpt_cv"`
	Free  Trajectory  `json:"free_runs"`
	// Warnings name first-passage estimates that are degenerate (passages
	// at the time resolution, zero spread; passage.Tracker.Degeneracies):
	// the slope is not a measurement of the escape rate when present.
	Warnings []string `json:"warnings,omitempty"`
	// PretrainDiverged: pre-training met the divergence rule (DivergenceRule,
	// Note say which and where), so there is no minimum to restart from and
	// no statistics; Diverged counts continuation runs that met the rule
	// (DivergenceRule then too). Either way the fit and implied n are
	// undefined (NaN, null in JSON).
	// Undetermined says why the slope is undefined (null) when too many runs
	// are censored; SlowerThanBudget flags such a point: the escape is
	// slower than the step budget, a result, not a failure.
	Undetermined     string `json:"undetermined,omitempty"`
	SlowerThanBudget bool   `json:"slower_than_budget,omitempty"`
	PretrainDiverged bool   `json:"pretrain_diverged,omitempty"`
	DivergenceRule   string `json:"divergence_rule,omitempty"`
	Note             string `json:"note,omitempty"`
}

// ErrNotStationary is the input error (wrapped) of a θ* whose pre-training
// had not converged, unless AllowNonStationary accepts it.
var ErrNotStationary = errors.New("pre-training has not converged, so θ* is not a minimum")

// FirstPassage pre-trains (cached), measures the spectrum at θ* (cached) and
// runs the continuation experiment of section 5.3.2 (Fig. 3c).
func FirstPassage(ctx context.Context, env run.Env, c FirstPassageConfig) (run.Result[FirstPassageResult], error) {
	c.FreeSteps = min(c.FreeSteps, c.MaxSteps) // the free runs never outlast the others
	if err := c.Validate(); err != nil {
		return run.Result[FirstPassageResult]{}, err
	}
	start := time.Now()
	sess, pre, bad, err := pretrainOrDiverged(ctx, env, c.Pretrain)
	if err != nil {
		return run.Result[FirstPassageResult]{}, err
	}
	spec := env.Spec("network/fpt", FirstPassageVersion, c, c.Seed)
	if bad != nil {
		res := FirstPassageResult{Pretrained: bad.Pretrained, PretrainDiverged: true, DivergenceRule: bad.Rule, Note: bad.Note,
			LStar: math.NaN(), HStar: math.NaN()}
		undefined(&res)
		return run.Compose(spec, start, false, res)
	}
	if !pre.Result.Stationary && !c.AllowNonStationary {
		return run.Result[FirstPassageResult]{}, run.BadInput(fmt.Errorf("%w: %s; train longer (more pretrain-epochs, or until-stationary) or raise stationary-tol (allow-nonstationary accepts it)", ErrNotStationary, pre.Result.Note))
	}
	ms, err := spectrumAt(ctx, env, c.Pretrain, func() (*Session, error) { return sess, nil })
	if err != nil {
		return run.Result[FirstPassageResult]{}, err
	}
	r, err := run.Do(ctx, env.Cache, spec, func(ctx context.Context) (FirstPassageResult, error) {
		return continuation(ctx, sess, pre.Result, ms.Result, c, env.Progress)
	})
	if err == nil && r.Result.Diverged > 0 {
		// After the cache, so that results cached before this rule are flagged the same way.
		r.Result.DivergenceRule = c.Pretrain.Run.DivergenceRule()
		undefined(&r.Result)
	}
	return r, err
}

// undefined marks the estimates of a diverged result as undefined (NaN):
// a diverged experiment reports no slope, never 0 [0, 0].
func undefined(res *FirstPassageResult) {
	est := res.Fit.Estimates
	res.Fit = passage.Undefined(res.Diverged)
	res.Fit.Estimates, res.ImpliedN = est, math.NaN()
}

func continuation(ctx context.Context, sess *Session, pre Pretrained, ms MinimumSpectrum, c FirstPassageConfig, progress run.Progress) (FirstPassageResult, error) {
	res := FirstPassageResult{Pretrained: &pre, Spectrum: &ms, LStar: pre.LStar, HStar: ms.HStar, TimeStep: float64(c.Every) * c.Eta}
	net, err := ShallowFromParams(sess.Arch, sess.Params())
	if err != nil {
		return res, err
	}
	cont, err := NewContinuation(net, sess.Data.X, sess.Data.Y, sess.Data.N(), c.Eta, c.B)
	if err != nil {
		return res, err
	}
	tr, err := passage.NewTracker(c.Runs, c.C, pre.LStar)
	if err != nil {
		return res, err
	}
	var blown atomic.Int64 // runs whose loss met the divergence rule (RunSpec.Diverged)
	div, total, err := cont.Run(ctx, c.Runs, c.Seed, c.MaxSteps, c.Every, func(r int, _ int64, t, l float64) bool {
		if c.Pretrain.Run.Diverged(l) {
			blown.Add(1)
			return true
		}
		return tr.Record(r, t, l)
	}, progress)
	if err != nil {
		return res, err
	}
	res.Diverged, res.TotalSteps = div+int(blown.Load()), total
	if res.Diverged > 0 {
		return res, nil
	}
	fitMin := c.FitCMin
	if fitMin == 0 {
		fitMin = tr.C[0]
	}
	res.Fit, err = tr.Analyze(fitMin, c.Boot, c.Seed+rng.BootstrapOffset)
	res.Warnings = tr.Degeneracies(res.TimeStep)
	for _, e := range res.Fit.Estimates {
		res.Censored = append(res.Censored, e.Censored)
	}
	for k := range tr.C {
		var ts []float64
		for r := range tr.Times {
			if !math.IsNaN(tr.Times[r][k]) {
				ts = append(ts, tr.Times[r][k])
			}
		}
		res.FPTCV = append(res.FPTCV, run.Float(estimate.CV(ts)))
	}
	if errors.Is(err, passage.ErrTooFewReliable) {
		// Censored is data: most runs did not pass two thresholds within
		// maxsteps. The estimates (restricted means: lower bounds) are the
		// result; the slope and the implied n are undefined.
		res.Undetermined = fmt.Sprintf("slower than the step budget: fewer than two thresholds were passed by most of the %d runs within maxsteps = %d steps; the mean first-passage times exceed the restricted means shown and the slope is undefined (raise maxsteps)", c.Runs, c.MaxSteps)
		res.SlowerThanBudget, err = true, nil
	}
	if err != nil {
		return res, err
	}
	s := theory.SGD{Eta: c.Eta, B: float64(c.B), HStar: ms.HStar}
	e := ms.Estimators
	for _, est := range []struct {
		name string
		n    float64
	}{{"trace ratio Σλ/λ1", e.TraceRatio}, {"participation (Σλ)²/Σλ²", e.Participation}, {"entropy exp(−Σw ln w)", e.Entropy}, {"count above λ1/10", float64(e.AboveTenth)}} {
		sl, err := theory.EscapeExponent(s, math.Max(est.n, 1))
		if err != nil {
			return res, err
		}
		res.Estimators = append(res.Estimators, Estimator{Name: est.name, N: est.n, Slope: sl})
	}
	if res.SlowerThanBudget {
		res.ImpliedN = math.NaN()
	} else if res.ImpliedN, err = theory.ImpliedDim(s, res.Fit.LogLog.Slope); err != nil {
		return res, err
	}
	if c.FreeRuns > 0 && c.FreeSteps > 0 {
		res.Free, err = freeRuns(ctx, cont, c)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// freeRuns records the loss of runs that never stop, at about 60
// log-spaced times, and returns the mean and the 10 %/90 % quantiles.
func freeRuns(ctx context.Context, cont *Continuation, c FirstPassageConfig) (Trajectory, error) {
	var marks []int64
	for s := int64(1); s <= c.FreeSteps; s = int64(math.Ceil(float64(s) * 1.15)) {
		if len(marks) == 0 || marks[len(marks)-1] != s {
			marks = append(marks, s)
		}
	}
	idx := map[int64]int{}
	for i, m := range marks {
		idx[m] = i
	}
	vals := make([][]float64, len(marks))
	var mu sync.Mutex
	_, _, err := cont.Run(ctx, c.FreeRuns, c.Seed+rng.FreeRunsOffset, c.FreeSteps, 1, func(_ int, steps int64, _, l float64) bool {
		if i, ok := idx[steps]; ok {
			mu.Lock()
			vals[i] = append(vals[i], l)
			mu.Unlock()
		}
		return false
	}, nil)
	if err != nil {
		return Trajectory{}, err
	}
	var tj Trajectory
	for i, m := range marks {
		v := vals[i]
		if len(v) == 0 {
			continue
		}
		sort.Float64s(v)
		s := 0.0
		for _, x := range v {
			s += x
		}
		tj.T = append(tj.T, float64(m)*c.Eta)
		tj.Mean = append(tj.Mean, s/float64(len(v)))
		tj.Lo = append(tj.Lo, estimate.Percentile(v, 0.1))
		tj.Hi = append(tj.Hi, estimate.Percentile(v, 0.9))
	}
	return tj, nil
}

// Estimator returns the estimator called name.
func (r FirstPassageResult) Estimator(name string) (Estimator, bool) {
	for _, e := range r.Estimators {
		if e.Name == name {
			return e, true
		}
	}
	return Estimator{}, false
}

// ClosestEstimator is the estimator whose n is nearest the implied n (the
// first on ties; the zero Estimator when there is none).
func (r FirstPassageResult) ClosestEstimator() Estimator {
	best, bestD := Estimator{}, math.Inf(1)
	for _, e := range r.Estimators {
		if d := math.Abs(e.N - r.ImpliedN); d < bestD {
			best, bestD = e, d
		}
	}
	return best
}

// NoMinimum returns why there is no minimum θ* to restart from
// (pre-training diverged), or nil when there is one.
func (r FirstPassageResult) NoMinimum() error {
	return noMinimum(r.PretrainDiverged, r.Note, r.DivergenceRule)
}
