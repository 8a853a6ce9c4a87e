package network

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/noise"
	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/train"
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

// Validate checks the configuration: everything that can be refused
// before any work.
func (c NoiseCurveConfig) Validate() error {
	if err := c.Run.check("eta", "B"); err != nil {
		return err
	}
	if c.Run.Arch.Kind == CNN && c.Run.Data.Set != data.CIFAR10 {
		return fmt.Errorf("arch = cnn needs data = %s (the CNN is built for 32×32 colour images)", data.CIFAR10)
	}
	switch {
	case c.Epochs < 2:
		return fmt.Errorf("epochs = %d: need at least 2 epochs", c.Epochs)
	case c.Every < 1 || c.Every > c.Epochs:
		return fmt.Errorf("every = %d must be between 1 and epochs = %d", c.Every, c.Epochs)
	case c.Measurements() < MinNoiseMeasurements:
		return fmt.Errorf("epochs = %d with every = %d gives %d measurements; the early and late slopes need at least %d (2 in each half): use epochs ≥ %d × every", c.Epochs, c.Every, c.Measurements(), MinNoiseMeasurements, MinNoiseMeasurements-1)
	case c.Boot < 0:
		return fmt.Errorf("boot = %d must be ≥ 0", c.Boot)
	}
	return estimate.CheckBoot(c.Boot, float64(c.Measurements()), estimate.BootWorkFewPoints, "epochs/every")
}

// effective returns the configuration as it runs: the architecture's own
// fields only, and the decoupled prediction only with the mean-square loss
// (it is a statement about that loss).
func (c NoiseCurveConfig) effective() NoiseCurveConfig {
	c.Run.Arch = c.Run.Arch.only()
	c.Decoupled = c.Decoupled && c.Run.Train.Loss == model.MSE
	return c
}

// MinNoiseMeasurements is the fewest measured epochs that give both slopes
// (two points for each line). The late slope's bootstrap interval needs at
// least three late points; with two it is reported as unavailable (NaN).
const MinNoiseMeasurements = 4

// Measurements is the number of measured epochs: 0, Every, 2·Every, … and
// the last epoch.
func (c NoiseCurveConfig) Measurements() int {
	if c.Every < 1 {
		return 0
	}
	n := c.Epochs/c.Every + 1
	if c.Epochs%c.Every != 0 {
		n++
	}
	return n
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
	// Diverged is set when a measured loss meets the divergence rule
	// (RunSpec.Diverged); DivergedAt is the first such epoch. The slopes
	// are then NaN (not fitted): they would describe the blow-up.
	Diverged       bool   `json:"diverged"`
	DivergedAt     int    `json:"diverged_at_epoch"`
	DivergenceRule string `json:"divergence_rule,omitempty"`
}

// Noise trains and measures the noise strength along training (section
// 5.2, Fig. 2); each measured epoch is cached, and training is
// checkpointed, so an interrupted run resumes.
func Noise(ctx context.Context, env run.Env, c NoiseCurveConfig) (run.Result[NoiseCurve], error) {
	c = c.effective()
	start := time.Now()
	out, all, err := noiseCurve(ctx, env, c)
	if err != nil {
		return run.Result[NoiseCurve]{}, err
	}
	if out.Diverged {
		out.DivergenceRule = c.Run.DivergenceRule()
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
		if errors.Is(err, train.ErrDiverged) && len(out.Points) > 0 {
			// The loss became non-finite during training: a diverged curve,
			// reported with the points measured before (no slopes).
			out.Diverged, out.DivergedAt = true, sess.Trainer.Epoch()
			for _, p := range out.Points {
				if c.Run.Diverged(p.Loss) {
					out.DivergedAt = p.Epoch // the first measured epoch past the rule
					break
				}
			}
			out.LateSlope, out.EarlySlope = math.NaN(), math.NaN()
			out.LateSlopeCI = run.NewInterval(math.NaN(), math.NaN())
			return out, false, nil
		}
		if err != nil {
			return out, false, fmt.Errorf("epoch %d: %w", ep, err)
		}
		all = all && r.FromCache
		out.Points = append(out.Points, r.Result)
		progress.Report(i+1, len(epochs), fmt.Sprintf("epoch %d: L = %.4g, 𝒩 = %.4g", ep, r.Result.Loss, r.Result.Noise))
	}
	n := len(out.Points)
	for _, p := range out.Points {
		if c.Run.Diverged(p.Loss) {
			out.Diverged, out.DivergedAt = true, p.Epoch
			out.LateSlope, out.EarlySlope = math.NaN(), math.NaN()
			out.LateSlopeCI = run.NewInterval(math.NaN(), math.NaN())
			out.LateFrom = out.Points[n/2].Epoch
			return out, all, nil
		}
	}
	late := out.Points[n/2:]
	early := out.Points[:n/2]
	out.LateFrom = late[0].Epoch
	var err2 error
	boot := c.Boot
	if len(late) < 3 {
		boot = 0 // two points: every resample gives the same line or none; no interval
	}
	out.LateSlope, out.LateSlopeCI, err2 = logSlope(late, boot, c.Run.Train.Seed)
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

// LateDecoupledRatio is the mean of decoupled/𝒩 over the last half of the
// measured epochs (0 when the decoupled prediction was not measured): how
// well 2L·(1/N)Σ|∇f|² (Eq. 9) predicts the noise strength late in training.
func (c NoiseCurve) LateDecoupledRatio() float64 {
	s, k := 0.0, 0
	for _, pt := range c.Points[len(c.Points)/2:] {
		if pt.Noise > 0 && pt.Decoupled > 0 {
			s += pt.Decoupled / pt.Noise
			k++
		}
	}
	if k == 0 {
		return 0
	}
	return s / float64(k)
}

// LogLog returns the points with L > 0 and 𝒩 > 0 (for log axes), and the
// losses of the late half (index ≥ len/2) in the same filter.
func (c NoiseCurve) LogLog() (loss, noise, lateLoss []float64) {
	for i, pt := range c.Points {
		if !(pt.Loss > 0) || !(pt.Noise > 0) {
			continue
		}
		loss, noise = append(loss, pt.Loss), append(noise, pt.Noise)
		if i >= len(c.Points)/2 {
			lateLoss = append(lateLoss, pt.Loss)
		}
	}
	return
}

// LateFitLine returns the ends of the late-training fit for a figure: the
// line of slope LateSlope through the centroid of the late points (log–log),
// from the last late loss to the first. ok is false with fewer than two late
// points or no slope.
func (c NoiseCurve) LateFitLine() (x, y []float64, ok bool) {
	var ll, ln []float64
	for _, pt := range c.Points[len(c.Points)/2:] {
		if pt.Loss > 0 && pt.Noise > 0 {
			ll, ln = append(ll, pt.Loss), append(ln, pt.Noise)
		}
	}
	if len(ll) < 2 || math.IsNaN(c.LateSlope) {
		return nil, nil, false
	}
	x = []float64{ll[len(ll)-1], ll[0]}
	y0, y1, ok := estimate.LineThrough(ll, ln, c.LateSlope, x[0], x[1])
	return x, []float64{y0, y1}, ok
}

// SlopeOne returns the ends of a slope-1 guide through the last point
// (loss, noise), spanning the range of the losses: 𝒩 ∝ L (Eq. 6).
func SlopeOne(loss, noise []float64) (x, y []float64) {
	if len(loss) == 0 {
		return nil, nil
	}
	lo, hi := math.Inf(1), 0.0
	for _, v := range loss {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	lastL, lastN := loss[len(loss)-1], noise[len(noise)-1]
	return []float64{lo, hi}, []float64{lastN * lo / lastL, lastN * hi / lastL}
}

// DecoupledPoints returns (L, decoupled prediction) at the epochs where L,
// 𝒩 and the prediction are positive (for log axes).
func (c NoiseCurve) DecoupledPoints() (loss, decoupled []float64) {
	for _, pt := range c.Points {
		if pt.Loss > 0 && pt.Noise > 0 && pt.Decoupled > 0 {
			loss, decoupled = append(loss, pt.Loss), append(decoupled, pt.Decoupled)
		}
	}
	return
}
