package network

import (
	"context"
	"fmt"
	"math"

	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/noise"
	"github.com/sgdescape/sgdescape/pkg/run"
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

// Validate checks the configuration: everything that can be refused
// before any work.
func (c PretrainConfig) Validate() error {
	if err := c.Run.check("pretrain-eta", "pretrain-B"); err != nil {
		return err
	}
	switch {
	case c.Run.Train.Loss != model.MSE:
		return fmt.Errorf("pretrain: the escape experiment uses the mean-square loss")
	case c.Epochs < 1:
		return fmt.Errorf("pretrain-epochs = %d must be ≥ 1", c.Epochs)
	case c.CheckEvery < 1:
		return fmt.Errorf("check-every = %d must be ≥ 1", c.CheckEvery)
	case c.Window < 2:
		return fmt.Errorf("window = %d: the stationarity test compares two windows of at least 2 loss checks each", c.Window)
	case !(c.Tol > 0) || math.IsInf(c.Tol, 0):
		return fmt.Errorf("stationary-tol = %v must be a positive number", c.Tol)
	case c.Epochs < c.CheckEvery:
		return fmt.Errorf("pretrain-epochs = %d is below check-every = %d: the loss would be checked at epoch 0 only and θ* would be the untrained initialisation", c.Epochs, c.CheckEvery)
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

// Pretrain runs (or loads) the pre-training: the loss history and θ*'s
// loss. PretrainSession also returns the training run at θ*.
func Pretrain(ctx context.Context, env run.Env, c PretrainConfig) (run.Result[Pretrained], error) {
	_, r, err := PretrainSession(ctx, env, c)
	return r, err
}

// PretrainSession runs (or loads) the pre-training and returns the session at θ*.
func PretrainSession(ctx context.Context, env run.Env, c PretrainConfig) (*Session, run.Result[Pretrained], error) {
	fail := func(err error) (*Session, run.Result[Pretrained], error) { return nil, run.Result[Pretrained]{}, err }
	if err := c.Validate(); err != nil {
		return fail(err)
	}
	be, progress := env.Backend, env.Progress
	sess, err := Open(be, env.BackendName, env.Cache, c.Run)
	if err != nil {
		return fail(err)
	}
	sess.CheckpointEvery = c.CheckEvery // a checkpoint at every loss check: the history can be re-measured without retraining
	sess.KeepAll = true                 // (small networks: a few MB in all)
	ev, err := noise.NewEvaluator(be, sess.Arch, model.MSE, false)
	if err != nil {
		return fail(err)
	}
	spec := env.Spec("network/pretrain", PretrainVersion, c, c.Run.Train.Seed)
	res, err := run.Do(ctx, env.Cache, spec, func(ctx context.Context) (Pretrained, error) {
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
		return fail(err)
	}
	if sess.Trainer.Epoch() != res.Result.Epoch {
		if err := sess.Advance(ctx, res.Result.Epoch, nil, nil); err != nil {
			return fail(err)
		}
	}
	return sess, res, nil
}
