package network

import (
	"context"
	"fmt"
	"time"

	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/noise"
	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// NoiseCurveVersion is the code version of the per-epoch noise measurement.
const NoiseCurveVersion = "noisecurve/v1"

// NoiseCurveConfig is the experiment of section 5.2 (Fig. 2) and appendix D:
// SGD training with the noise strength measured along the way.
type NoiseCurveConfig struct {
	Run    RunSpec `json:"run"`
	Epochs int     `json:"epochs"`
	Every  int     `json:"every"` // measure at epoch 0 and every Every epochs (1: every epoch, as the paper)
	// Decoupled adds the decoupled prediction 2L·(1/N)Σ|∇f_μ|² (one extra
	// backward pass per output); only meaningful for the mean-square loss.
	Decoupled bool `json:"decoupled"`
	Boot      int  `json:"boot"`
}

// Validate checks the configuration.
func (c NoiseCurveConfig) Validate() error {
	switch {
	case c.Epochs < 2:
		return fmt.Errorf("noise: need at least 2 epochs, got %d", c.Epochs)
	case c.Every < 1 || c.Every > c.Epochs:
		return fmt.Errorf("noise: every must be between 1 and the number of epochs, got %d", c.Every)
	case c.Boot < 0:
		return fmt.Errorf("noise: boot must be ≥ 0")
	case c.Run.Train.Loss != model.MSE && c.Run.Train.Loss != model.CE:
		return fmt.Errorf("noise: unknown loss %q (use mse or ce)", c.Run.Train.Loss)
	}
	return nil
}

// Point is the measurement at one epoch.
type Point struct {
	Epoch      int     `json:"epoch"`
	Loss       float64 `json:"loss"`
	Accuracy   float64 `json:"accuracy"`
	Noise      float64 `json:"noise"`       // 𝒩
	TraceSigma float64 `json:"trace_sigma"` // Tr Σ = (1/B)(N−B)/(N−1)𝒩 (Eq. 8)
	Decoupled  float64 `json:"decoupled"`   // 2L·(1/N)Σ|∇f|² (0 when not measured)
	MeanJac2   float64 `json:"mean_jac2"`
	GradNorm2  float64 `json:"grad_norm2"`
}

// NoiseCurve is the outcome of the experiment.
type NoiseCurve struct {
	Arch   string  `json:"arch"`
	Params int     `json:"params"`
	Points []Point `json:"points"`
	// LateSlope is the least-squares slope of log 𝒩 against log L over the
	// last half of the measured epochs (the paper's "later stage"), with a
	// bootstrap 95 % interval over those epochs; EarlySlope the same over the
	// first half, for contrast.
	LateSlope   float64      `json:"late_slope"`
	LateSlopeCI run.Interval `json:"late_slope_ci"`
	EarlySlope  float64      `json:"early_slope"`
	LateFrom    int          `json:"late_from_epoch"`
}

// Noise trains and measures the noise strength along training (section
// 5.2, Fig. 2); each measured epoch is cached, and training is
// checkpointed, so an interrupted run resumes.
func Noise(ctx context.Context, env run.Env, c NoiseCurveConfig) (run.Result[NoiseCurve], error) {
	start := time.Now()
	out, all, err := noiseCurve(ctx, env, c)
	if err != nil {
		return run.Result[NoiseCurve]{}, err
	}
	return run.Compose(env.Spec("network/noise", NoiseCurveVersion, c, c.Run.Train.Seed), start, all, out)
}

func noiseCurve(ctx context.Context, env run.Env, c NoiseCurveConfig) (NoiseCurve, bool, error) {
	if err := c.Validate(); err != nil {
		return NoiseCurve{}, false, err
	}
	be, progress := env.Backend, env.Progress
	sess, err := Open(be, env.BackendName, env.Cache, c.Run)
	if err != nil {
		return NoiseCurve{}, false, err
	}
	ev, err := noise.NewEvaluator(be, sess.Arch, c.Run.Train.Loss, c.Decoupled)
	if err != nil {
		return NoiseCurve{}, false, err
	}
	all := true
	out := NoiseCurve{Arch: sess.Arch.Name, Params: sess.Arch.NumParams()}
	var epochs []int
	for e := 0; e <= c.Epochs; e += c.Every {
		epochs = append(epochs, e)
	}
	if epochs[len(epochs)-1] != c.Epochs {
		epochs = append(epochs, c.Epochs)
	}
	for i, ep := range epochs {
		spec := run.Spec{Experiment: "network/noisecurve", CodeVersion: NoiseCurveVersion,
			Config: struct {
				Run       RunSpec `json:"run"`
				Decoupled bool    `json:"decoupled"`
				Epoch     int     `json:"epoch"`
			}{c.Run, c.Decoupled, ep}, Seed: c.Run.Train.Seed, Backend: env.BackendName, Plugin: env.Plugin}
		r, err := run.Do(ctx, env.Cache, spec, func(ctx context.Context) (Point, error) {
			if sess.Trainer.Epoch() > ep {
				return Point{}, fmt.Errorf("internal: the run passed epoch %d", ep)
			}
			if err := sess.Advance(ctx, ep, nil, nil); err != nil {
				return Point{}, err
			}
			st, err := ev.Stats(sess.Params(), sess.Data.X, sess.Data.Y, sess.Data.N())
			if err != nil {
				return Point{}, err
			}
			return Point{Epoch: ep, Loss: st.Loss, Accuracy: st.Accuracy, Noise: st.Noise, TraceSigma: st.TraceSigma(c.Run.Train.B),
				Decoupled: st.Decoupled, MeanJac2: st.MeanJac2, GradNorm2: st.GradNorm2}, nil
		})
		if err != nil {
			return out, false, fmt.Errorf("epoch %d: %w", ep, err)
		}
		all = all && r.FromCache
		out.Points = append(out.Points, r.Result)
		progress.Report(i+1, len(epochs), fmt.Sprintf("epoch %d: L = %.4g, 𝒩 = %.4g", ep, r.Result.Loss, r.Result.Noise))
	}
	n := len(out.Points)
	late := out.Points[n/2:]
	early := out.Points[:n/2]
	out.LateFrom = late[0].Epoch
	var err2 error
	out.LateSlope, out.LateSlopeCI, err2 = logSlope(late, c.Boot, c.Run.Train.Seed)
	if err2 != nil {
		return out, false, fmt.Errorf("late-training slope: %w", err2)
	}
	out.EarlySlope, _, _ = logSlope(early, 0, 0)
	return out, all, nil
}

// logSlope fits log 𝒩 = a + s·log L by least squares and bootstraps the
// pairs for a 95 % interval.
func logSlope(ps []Point, boot int, seed uint64) (float64, run.Interval, error) {
	x, y := make([]float64, len(ps)), make([]float64, len(ps))
	for i, p := range ps {
		x[i], y[i] = p.Loss, p.Noise
	}
	return estimate.LogLogSlope(x, y, boot, rng.New(seed, rng.NoiseSlopeBootstrap))
}
