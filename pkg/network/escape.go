package network

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/gomlx/gomlx/backends"

	"github.com/sgdescape/sgdescape/pkg/escape"
	"github.com/sgdescape/sgdescape/pkg/hessian"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/noise"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/spectrum"
	"github.com/sgdescape/sgdescape/pkg/theory"
	"github.com/sgdescape/sgdescape/pkg/train"
)

// PretrainVersion is the code version of pre-training (part of its cache key).
const PretrainVersion = "pretrain/v2"

// PretrainConfig describes how θ* is found (section 5.3.2): SGD for a fixed
// number of epochs, or until the full-batch loss is stationary. The loss is
// checked every CheckEvery epochs. Stationarity compares the means of the
// last two windows of Window checks: the loss counts as still falling when
// the later mean is lower by more than Tol (relative) *and* by more than
// twice the standard error of the difference (SGD makes the loss fluctuate
// from check to check, so a smaller difference is noise, not a trend).
type PretrainConfig struct {
	Run             RunSpec `json:"run"`
	Epochs          int     `json:"epochs"` // fixed length, or the maximum with UntilStationary
	UntilStationary bool    `json:"until_stationary"`
	CheckEvery      int     `json:"check_every"`
	Window          int     `json:"window"`
	Tol             float64 `json:"tol"`
}

// Validate checks the configuration.
func (c PretrainConfig) Validate() error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("pretrain: epochs must be ≥ 1, got %d", c.Epochs)
	case c.CheckEvery < 1 || c.Window < 2:
		return fmt.Errorf("pretrain: check-every must be ≥ 1 and the window ≥ 2 checks")
	case !(c.Tol > 0):
		return fmt.Errorf("pretrain: the stationarity tolerance must be positive, got %v", c.Tol)
	case c.Run.Train.Loss != model.MSE:
		return fmt.Errorf("pretrain: the escape experiment uses the mean-square loss")
	}
	return nil
}

// LossPoint is the full-batch loss at an epoch.
type LossPoint struct {
	Epoch int     `json:"epoch"`
	Loss  float64 `json:"loss"`
}

// Pretrained is θ* (in the training run's checkpoint at Epoch) and its history.
type Pretrained struct {
	Epoch      int         `json:"epoch"`
	LStar      float64     `json:"L_star"` // full-batch loss at θ*
	History    []LossPoint `json:"history"`
	Drift      float64     `json:"drift"` // relative difference of the last two window means
	Stationary bool        `json:"stationary"`
	Note       string      `json:"note"`
}

// windowDrift returns the relative decrease of the last window mean against
// the previous one, and its standard error (from the spread within windows).
func windowDrift(h []LossPoint, w int) (drift, se float64, ok bool) {
	if len(h) < 2*w || w < 2 {
		return math.NaN(), math.NaN(), false
	}
	stats := func(ps []LossPoint) (float64, float64) {
		s, ss := 0.0, 0.0
		for _, p := range ps {
			s += p.Loss
			ss += p.Loss * p.Loss
		}
		m := s / float64(len(ps))
		v := math.Max(ss/float64(len(ps))-m*m, 0) * float64(len(ps)) / float64(len(ps)-1)
		return m, v / float64(len(ps))
	}
	last, vl := stats(h[len(h)-w:])
	prev, vp := stats(h[len(h)-2*w : len(h)-w])
	return (prev - last) / prev, math.Sqrt(vl+vp) / prev, true
}

// stillFalling applies the stationarity criterion.
func stillFalling(drift, se, tol float64) bool { return drift > tol && drift > 2*se }

// Pretrain runs (or loads) the pre-training and returns the session at θ*.
func Pretrain(ctx context.Context, be backends.Backend, backendName string, cache run.Cache, c PretrainConfig, progress run.Progress) (*Session, Pretrained, error) {
	if err := c.Validate(); err != nil {
		return nil, Pretrained{}, err
	}
	sess, err := Open(be, backendName, cache, c.Run)
	if err != nil {
		return nil, Pretrained{}, err
	}
	sess.CheckpointEvery = c.CheckEvery // a checkpoint at every loss check: the history can be re-measured without retraining
	sess.KeepAll = true                 // (small networks: a few MB in all)
	ev, err := noise.NewEvaluator(be, sess.Arch, model.MSE, false)
	if err != nil {
		return nil, Pretrained{}, err
	}
	spec := run.Spec{Experiment: "network/pretrain", CodeVersion: PretrainVersion, Config: c, Seed: c.Run.Train.Seed, Backend: backendName}
	res, err := run.Do(ctx, cache, spec, func(ctx context.Context) (Pretrained, error) {
		var p Pretrained
		for ep := 0; ep <= c.Epochs; ep += c.CheckEvery {
			if err := sess.Advance(ctx, ep, nil, nil); err != nil {
				return p, err
			}
			st, err := ev.Stats(sess.Params(), sess.Data.X, sess.Data.Y, sess.Data.N())
			if err != nil {
				return p, err
			}
			p.History = append(p.History, LossPoint{ep, st.Loss})
			progress.Report(ep, c.Epochs, fmt.Sprintf("pre-training: epoch %d, L = %.5g", ep, st.Loss))
			d, se, ok := windowDrift(p.History, c.Window)
			if ok && c.UntilStationary && !stillFalling(d, se, c.Tol) {
				break
			}
		}
		last := p.History[len(p.History)-1]
		p.Epoch, p.LStar = last.Epoch, last.Loss
		var se float64
		p.Drift, se, _ = windowDrift(p.History, c.Window)
		if math.IsNaN(p.Drift) {
			p.Note = fmt.Sprintf("too few loss checks (%d) for two windows of %d", len(p.History), c.Window)
			p.Drift = 0
		} else {
			p.Stationary = !stillFalling(p.Drift, se, c.Tol)
			p.Note = fmt.Sprintf("the mean full-batch loss of the last %d checks is %.2f %% below the previous %d (standard error %.2f %%; still falling means more than %.2f %% and more than two standard errors)",
				c.Window, 100*p.Drift, c.Window, 100*se, 100*c.Tol)
		}
		return p, nil
	})
	if err != nil {
		return nil, Pretrained{}, err
	}
	if sess.Trainer.Epoch() != res.Result.Epoch {
		if err := sess.Advance(ctx, res.Result.Epoch, nil, nil); err != nil {
			return nil, Pretrained{}, err
		}
	}
	return sess, res.Result, nil
}

// SpectrumVersion is the code version of the spectrum at θ*.
const SpectrumVersion = "gn-spectrum/v1"

// MinimumSpectrum describes the Gauss–Newton matrix at θ* (appendix E).
type MinimumSpectrum struct {
	Route      hessian.Route               `json:"route"`
	P          int                         `json:"P"`
	N          int                         `json:"N"`
	Top        []float64                   `json:"top"` // the 100 largest eigenvalues
	All        []float64                   `json:"all"` // every eigenvalue (for histograms)
	HStar      float64                     `json:"h_star"`
	Trace      float64                     `json:"trace"`
	Estimators spectrum.EffectiveDimension `json:"estimators"`
}

// Spectrum computes (or loads) the dense Gauss–Newton spectrum at θ*.
func Spectrum(ctx context.Context, be backends.Backend, backendName string, cache run.Cache, c PretrainConfig, sess *Session) (MinimumSpectrum, error) {
	spec := run.Spec{Experiment: "network/spectrum", CodeVersion: SpectrumVersion, Config: c, Seed: c.Run.Train.Seed, Backend: backendName}
	r, err := run.Do(ctx, cache, spec, func(ctx context.Context) (MinimumSpectrum, error) {
		gn, err := hessian.GaussNewton(be, sess.Arch, sess.Params(), sess.Data.X, sess.Data.N(), "")
		if err != nil {
			return MinimumSpectrum{}, err
		}
		ms := MinimumSpectrum{Route: gn.Route, P: gn.P, N: gn.N, All: gn.Eigenvalues, HStar: gn.Eigenvalues[0]}
		ms.Top = gn.Eigenvalues[:min(100, len(gn.Eigenvalues))]
		for _, v := range gn.Eigenvalues {
			ms.Trace += v
		}
		ms.Estimators, err = spectrum.Estimate(gn.Eigenvalues)
		return ms, err
	})
	return r.Result, err
}

// EscapeVersion is the code version of the network first-passage experiment.
const EscapeVersion = "network-fpt/v2" // v2: runs above the divergence rule count as diverged; degeneracy warnings

// EscapeConfig is the experiment of section 5.3.2 (Fig. 3c): Runs SGD runs
// restarted from θ* with a new (η, B); first passages of c·L(θ*).
type EscapeConfig struct {
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

// Validate checks the configuration.
func (c EscapeConfig) Validate() error {
	if err := c.Pretrain.Validate(); err != nil {
		return err
	}
	switch {
	case !(c.Eta > 0):
		return fmt.Errorf("fpt: η must be positive, got %v", c.Eta)
	case c.B < 1 || c.B > c.Pretrain.Run.Data.N:
		return fmt.Errorf("fpt: batch size B=%d must satisfy 1 ≤ B ≤ N=%d", c.B, c.Pretrain.Run.Data.N)
	case c.Runs < 1:
		return fmt.Errorf("fpt: runs must be ≥ 1")
	case c.MaxSteps < 1 || c.Every < 1:
		return fmt.Errorf("fpt: max steps and every must be ≥ 1")
	case len(c.C) == 0:
		return fmt.Errorf("fpt: give thresholds c > 1")
	case c.FreeRuns < 0 || c.FreeSteps < 0:
		return fmt.Errorf("fpt: free runs and steps must be ≥ 0")
	}
	for _, v := range c.C {
		if !(v > 1) || math.IsInf(v, 0) {
			return fmt.Errorf("fpt: threshold ratio c = %v must be > 1 (c = L_th/L(θ*))", v)
		}
	}
	if c.Pretrain.Run.Arch.Kind != "mlp" || len(c.Pretrain.Run.Arch.Widths) != 1 || c.Pretrain.Run.Data.Targets != EvenOdd {
		return fmt.Errorf("fpt: the network escape experiment needs a one-hidden-layer MLP with even/odd targets (the paper's 784-10-1)")
	}
	return nil
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

// EscapeResult is the outcome of the network first-passage experiment.
type EscapeResult struct {
	Pretrained Pretrained      `json:"pretrained"`
	Spectrum   MinimumSpectrum `json:"spectrum"`
	LStar      float64         `json:"L_star"`
	HStar      float64         `json:"h_star"`
	Fit        escape.Result   `json:"fit"`
	Estimators []Estimator     `json:"estimators"`
	ImpliedN   float64         `json:"implied_n"`
	Censored   []int           `json:"censored"`
	Diverged   int             `json:"diverged"`
	TotalSteps int64           `json:"total_steps"`
	TimeStep   float64         `json:"time_resolution"` // Every·η
	// FPTCV is the coefficient of variation (sd/mean) of the first-passage
	// times at each threshold among runs that crossed: about 1 for escapes
	// from a quasi-stationary state (exponential times), well below 1 when
	// they come from a deterministic transient after the restart.
	FPTCV []run.Float `json:"fpt_cv"`
	Free  Trajectory  `json:"free_runs"`
	// Warnings name first-passage estimates that are degenerate (passages
	// at the time resolution, zero spread; escape.Tracker.Degeneracies):
	// the slope is not a measurement of the escape rate when present.
	Warnings []string `json:"warnings,omitempty"`
}

// RunEscape pre-trains (cached), measures the spectrum at θ* (cached) and
// runs the continuation experiment.
func RunEscape(ctx context.Context, be backends.Backend, backendName string, cache run.Cache, c EscapeConfig, progress run.Progress) (run.Result[EscapeResult], error) {
	if err := c.Validate(); err != nil {
		return run.Result[EscapeResult]{}, err
	}
	sess, pre, err := Pretrain(ctx, be, backendName, cache, c.Pretrain, progress)
	if err != nil {
		return run.Result[EscapeResult]{}, err
	}
	if p, bad := c.Pretrain.Run.FirstDiverged(pre.History); bad {
		return run.Result[EscapeResult]{}, fmt.Errorf("fpt: pre-training diverged at epoch %d (full-batch loss %.4g, above %g × the zero-output loss %.3g): %w", p.Epoch, p.Loss, float64(DivergenceFactor), c.Pretrain.Run.ReferenceLoss(), train.ErrDiverged)
	}
	if !pre.Stationary && !c.AllowNonStationary {
		return run.Result[EscapeResult]{}, fmt.Errorf("fpt: pre-training has not converged, so θ* is not a minimum: %s; train longer (more pre-training epochs or until stationary) or raise the tolerance", pre.Note)
	}
	ms, err := Spectrum(ctx, be, backendName, cache, c.Pretrain, sess)
	if err != nil {
		return run.Result[EscapeResult]{}, err
	}
	spec := run.Spec{Experiment: "network/fpt", CodeVersion: EscapeVersion, Config: c, Seed: c.Seed, Backend: backendName}
	return run.Do(ctx, cache, spec, func(ctx context.Context) (EscapeResult, error) {
		return continuation(ctx, sess, pre, ms, c, progress)
	})
}

func continuation(ctx context.Context, sess *Session, pre Pretrained, ms MinimumSpectrum, c EscapeConfig, progress run.Progress) (EscapeResult, error) {
	res := EscapeResult{Pretrained: pre, Spectrum: ms, LStar: pre.LStar, HStar: ms.HStar, TimeStep: float64(c.Every) * c.Eta}
	net, err := ShallowFromParams(sess.Arch, sess.Params())
	if err != nil {
		return res, err
	}
	cont, err := NewContinuation(net, sess.Data.X, sess.Data.Y, sess.Data.N(), c.Eta, c.B)
	if err != nil {
		return res, err
	}
	tr, err := escape.NewTracker(c.Runs, c.C, pre.LStar)
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
	res.Fit, err = tr.Analyze(fitMin, c.Boot, c.Seed+2)
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
		res.FPTCV = append(res.FPTCV, run.Float(cv(ts)))
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
	res.ImpliedN, err = theory.ImpliedDim(s, res.Fit.LogLog.Slope)
	if err != nil {
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

func cv(v []float64) float64 {
	if len(v) < 2 {
		return math.NaN()
	}
	var s, ss float64
	for _, x := range v {
		s += x
		ss += x * x
	}
	m := s / float64(len(v))
	return math.Sqrt(math.Max(ss/float64(len(v))-m*m, 0)) / m
}

// freeRuns records the loss of runs that never stop, at about 60
// log-spaced times, and returns the mean and the 10 %/90 % quantiles.
func freeRuns(ctx context.Context, cont *Continuation, c EscapeConfig) (Trajectory, error) {
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
	_, _, err := cont.Run(ctx, c.FreeRuns, c.Seed+7, c.FreeSteps, 1, func(_ int, steps int64, _, l float64) bool {
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
		tj.Lo = append(tj.Lo, escape.Percentile(v, 0.1))
		tj.Hi = append(tj.Hi, escape.Percentile(v, 0.9))
	}
	return tj, nil
}
