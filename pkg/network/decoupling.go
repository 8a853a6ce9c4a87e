package network

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

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

// Validate checks the configuration.
func (c DecouplingConfig) Validate() error {
	if c.Run.Data.Targets != EvenOdd {
		return fmt.Errorf("decoupling: the spectra need a single-output network (targets %q)", EvenOdd)
	}
	if c.Run.Arch.Kind != "mlp" {
		return fmt.Errorf("decoupling: the Gram route needs an MLP, got %q", c.Run.Arch.Kind)
	}
	if c.Run.Train.Loss != model.MSE {
		return fmt.Errorf("decoupling: the decoupling approximation is a statement about the mean-square loss")
	}
	if len(c.Epochs) == 0 {
		return fmt.Errorf("decoupling: give at least one epoch")
	}
	prev := -1
	for _, e := range c.Epochs {
		if e < 0 || e <= prev {
			return fmt.Errorf("decoupling: epochs must be non-negative and increasing, got %v", c.Epochs)
		}
		prev = e
	}
	if c.TopK < 1 || c.Cutoff <= 0 || c.Cutoff >= 1 {
		return fmt.Errorf("decoupling: need top_k ≥ 1 and 0 < cutoff < 1")
	}
	if c.Run.Data.N > 20000 {
		n := float64(c.Run.Data.N)
		return fmt.Errorf("decoupling: N = %d needs a %d×%d dense eigendecomposition (over %.3g GiB); use N ≤ 20000", c.Run.Data.N, c.Run.Data.N, c.Run.Data.N, n*n*8*3/(1<<30))
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

// Decoupling trains to every stage and compares the exact and decoupled
// spectra there. Stages are cached one by one.
func Decoupling(ctx context.Context, be backends.Backend, backendName string, cache run.Cache, c DecouplingConfig, progress run.Progress) ([]run.Result[Stage], error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var out []run.Result[Stage]
	var sess *Session
	for i, ep := range c.Epochs {
		spec := run.Spec{Experiment: "network/decoupling", CodeVersion: DecouplingVersion,
			Config: struct {
				DecouplingConfig
				Stage int `json:"stage"`
			}{c, ep}, Seed: c.Run.Train.Seed, Backend: backendName}
		r, err := run.Do(ctx, cache, spec, func(ctx context.Context) (Stage, error) {
			if sess == nil {
				var err error
				if sess, err = Open(be, backendName, cache, c.Run); err != nil {
					return Stage{}, err
				}
			}
			if err := sess.Advance(ctx, ep, nil, progressStage(progress, i, len(c.Epochs), ep)); err != nil {
				return Stage{}, err
			}
			return measureDecoupling(be, sess, c)
		})
		if errors.Is(err, train.ErrDiverged) {
			// Training blew up on the way to this stage: this and every later
			// stage are reported as diverged (not cached: nothing was measured).
			for _, e := range c.Epochs[i:] {
				out = append(out, run.Result[Stage]{Result: Stage{Epoch: e, Loss: math.Inf(1), Diverged: true}})
			}
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("decoupling at epoch %d: %w", ep, err)
		}
		out = append(out, r)
	}
	return out, nil
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
