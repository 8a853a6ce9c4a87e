package network

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/gomlx/gomlx/backends"

	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/noise"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/spectrum"
	"github.com/sgdescape/sgdescape/pkg/train"
)

// DecouplingVersion is the code version of the decoupling measurement.
const DecouplingVersion = "decoupling/v1"

// DecouplingConfig is the experiment of section 5.1 (Fig. 1).
type DecouplingConfig struct {
	Run    RunSpec `json:"run"`
	Epochs []int   `json:"epochs"` // stages at which the spectra are measured (paper: 0, 50, 500)
	TopK   int     `json:"top_k"`  // top eigenvalues compared (20)
	// Cutoff: eigenvalues below Cutoff·λ_max(decoupled) are left out of the
	// distribution distances (the paper: the two agree "except for
	// exponentially small eigenvalues").
	Cutoff float64 `json:"cutoff"`
}

// Validate checks the configuration: everything that can be refused
// before any work.
func (c DecouplingConfig) Validate() error {
	if err := c.Run.check("eta", "B"); err != nil {
		return err
	}
	if c.Run.Data.Targets != EvenOdd {
		return fmt.Errorf("decoupling: the spectra need a single-output network (targets %q)", EvenOdd)
	}
	if c.Run.Arch.Kind != MLP {
		return fmt.Errorf("decoupling: the Gram route needs an MLP, got %q", c.Run.Arch.Kind)
	}
	if c.Run.Train.Loss != model.MSE {
		return fmt.Errorf("decoupling: the decoupling approximation is a statement about the mean-square loss")
	}
	if len(c.Epochs) == 0 {
		return fmt.Errorf("epochs: give at least one stage")
	}
	prev := -1
	for _, e := range c.Epochs {
		if e < 0 || e <= prev {
			return fmt.Errorf("epochs = %v: the stages must be non-negative and increasing", c.Epochs)
		}
		prev = e
	}
	switch {
	case c.TopK < 1:
		return fmt.Errorf("topk = %d must be ≥ 1", c.TopK)
	case !(c.Cutoff > 0 && c.Cutoff < 1):
		return fmt.Errorf("cutoff = %v: eigenvalues below cutoff·λ_max are dropped, so it must lie between 0 and 1", c.Cutoff)
	case c.Run.Data.N > 20000:
		n := float64(c.Run.Data.N)
		return fmt.Errorf("N = %d needs a %d×%d dense eigendecomposition (over %.3g GiB); use N ≤ 20000", c.Run.Data.N, c.Run.Data.N, c.Run.Data.N, n*n*8*3/(1<<30))
	}
	return nil
}

// Stage is the measurement at one epoch.
type Stage struct {
	Epoch     int                `json:"epoch"`
	Loss      float64            `json:"loss"`
	Accuracy  float64            `json:"accuracy"`
	Exact     []float64          `json:"exact"`     // eigenvalues of (1/N)Σℓ_μC_μ, decreasing
	Decoupled []float64          `json:"decoupled"` // eigenvalues of L·(1/N)ΣC_μ
	Agreement spectrum.Agreement `json:"agreement"`
	Seconds   float64            `json:"seconds"`
	// Diverged: the loss met the divergence rule (RunSpec.Diverged); the
	// spectra and the agreement are then not measured (left empty).
	Diverged bool `json:"diverged,omitempty"`
}

// DecouplingResult holds the measurement at every stage, in epoch order.
type DecouplingResult struct {
	Stages []Stage `json:"stages"`
	// Diverged is set when a stage met the divergence rule (RunSpec.Diverged),
	// which DivergenceRule then states.
	Diverged       bool   `json:"diverged"`
	DivergenceRule string `json:"divergence_rule,omitempty"`
}

// Decoupling trains to every stage and compares the exact and decoupled
// spectra there. Stages are cached one by one.
func Decoupling(ctx context.Context, env run.Env, c DecouplingConfig) (run.Result[DecouplingResult], error) {
	if err := c.Validate(); err != nil {
		return run.Result[DecouplingResult]{}, err
	}
	start, all := time.Now(), true
	var out DecouplingResult
	var sess *Session
	for i, ep := range c.Epochs {
		spec := env.Spec("network/decoupling", DecouplingVersion, struct {
			DecouplingConfig
			Stage int `json:"stage"`
		}{c, ep}, c.Run.Train.Seed)
		r, err := run.Do(ctx, env.Cache, spec, func(ctx context.Context) (Stage, error) {
			if sess == nil {
				var err error
				if sess, err = Open(env.Backend, env.BackendName, env.Cache, c.Run); err != nil {
					return Stage{}, err
				}
			}
			if err := sess.Advance(ctx, ep, nil, progressStage(env.Progress, i, len(c.Epochs), ep)); err != nil {
				return Stage{}, err
			}
			return measureDecoupling(env.Backend, sess, c)
		})
		if errors.Is(err, train.ErrDiverged) {
			// Training blew up on the way to this stage: this and every later
			// stage are reported as diverged (not cached: nothing was measured).
			for _, e := range c.Epochs[i:] {
				out.Stages = append(out.Stages, Stage{Epoch: e, Loss: math.Inf(1), Diverged: true})
			}
			all = false
			break
		}
		if err != nil {
			return run.Result[DecouplingResult]{}, fmt.Errorf("decoupling at epoch %d: %w", ep, err)
		}
		all = all && r.FromCache
		out.Stages = append(out.Stages, r.Result)
	}
	// The divergence rule is applied to every stage's loss here, after the
	// cache, so that stages cached before the rule existed are flagged too.
	for i, s := range out.Stages {
		if s.Diverged || c.Run.Diverged(s.Loss) {
			out.Stages[i].Diverged, out.Diverged = true, true
		}
	}
	if out.Diverged {
		out.DivergenceRule = c.Run.DivergenceRule()
	}
	return run.Compose(env.Spec("network/decoupling", DecouplingVersion, c, c.Run.Train.Seed), start, all, out)
}

func progressStage(p run.Progress, i, n, ep int) run.Progress {
	if p == nil {
		return nil
	}
	return func(done, total int, note string) {
		p(done, total, fmt.Sprintf("stage %d/%d (epoch %d): %s", i+1, n, ep, note))
	}
}

func measureDecoupling(be backends.Backend, s *Session, c DecouplingConfig) (Stage, error) {
	st := Stage{Epoch: s.Trainer.Epoch()}
	ev, err := noise.NewEvaluator(be, s.Arch, model.MSE, false)
	if err != nil {
		return st, err
	}
	stats, err := ev.Stats(s.Params(), s.Data.X, s.Data.Y, s.Data.N())
	if err != nil {
		return st, err
	}
	st.Loss, st.Accuracy = stats.Loss, stats.Accuracy
	if c.Run.Diverged(st.Loss) {
		// A blown-up run (see DivergenceFactor): its spectra describe the
		// explosion, not the decoupling approximation; none are measured.
		st.Diverged = true
		return st, nil
	}
	fs, err := noise.GramFactors(be, s.Arch, s.Params(), s.Data.X, s.Data.N())
	if err != nil {
		return st, err
	}
	g := fs.Gram()
	n := float64(s.Data.N())
	exact, err := spectrum.WeightedGram(g, stats.PerSampleL, 1/n)
	if err != nil {
		return st, err
	}
	if st.Exact, err = spectrum.Eigenvalues(exact); err != nil {
		return st, err
	}
	ones := make([]float64, s.Data.N())
	for i := range ones {
		ones[i] = 1
	}
	dec, _ := spectrum.WeightedGram(g, ones, st.Loss/n)
	if st.Decoupled, err = spectrum.Eigenvalues(dec); err != nil {
		return st, err
	}
	for _, v := range [][]float64{st.Exact, st.Decoupled} {
		for i, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return st, fmt.Errorf("non-finite eigenvalue %d (%v): training diverged", i, x)
			}
			if x < 0 { // rounding below zero for a positive semi-definite matrix
				v[i] = 0
			}
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(v)))
	}
	st.Agreement, err = spectrum.Compare(st.Exact, st.Decoupled, c.TopK, c.Cutoff)
	return st, err
}

// CountBelow returns how many of the eigenvalues v are ≤ lo (those a
// logarithmic histogram from lo leaves out).
func CountBelow(v []float64, lo float64) int {
	n := 0
	for _, x := range v {
		if x <= lo {
			n++
		}
	}
	return n
}

// Ranked returns the first k values of v (a decreasing spectrum) against
// their rank 1…k, floored at 1e-300 for log axes.
func Ranked(v []float64, k int) (rank, value []float64) {
	for i := 0; i < min(k, len(v)); i++ {
		rank, value = append(rank, float64(i+1)), append(value, math.Max(v[i], 1e-300))
	}
	return
}
