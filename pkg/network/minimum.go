package network

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sgdescape/sgdescape/pkg/hessian"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/spectrum"
	"github.com/sgdescape/sgdescape/pkg/train"
)

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

// Spectrum computes (or loads) the dense Gauss–Newton spectrum at the
// minimum θ* that c's pre-training reaches (pre-training first when needed).
func Spectrum(ctx context.Context, env run.Env, c PretrainConfig) (run.Result[MinimumSpectrum], error) {
	return spectrumAt(ctx, env, c, func() (*Session, error) {
		s, _, err := PretrainSession(ctx, env, c)
		return s, err
	})
}

// spectrumAt is Spectrum with the session opened by open, only when the
// result is not cached.
func spectrumAt(ctx context.Context, env run.Env, c PretrainConfig, open func() (*Session, error)) (run.Result[MinimumSpectrum], error) {
	if err := c.Validate(); err != nil {
		return run.Result[MinimumSpectrum]{}, err
	}
	spec := env.Spec("network/spectrum", SpectrumVersion, c, c.Run.Train.Seed)
	return run.Do(ctx, env.Cache, spec, func(ctx context.Context) (MinimumSpectrum, error) {
		sess, err := open()
		if err != nil {
			return MinimumSpectrum{}, err
		}
		gn, err := hessian.GaussNewton(env.Backend, sess.Arch, sess.Params(), sess.Data.X, sess.Data.N(), "")
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
}

// ExactHessianVersion is the code version of the exact-Hessian experiment.
const ExactHessianVersion = "exact-hessian/v2"

// ExactHessianConfig asks for the exact Hessian of the mean-square loss at
// the pre-trained minimum, through Hessian-vector products: its K largest
// eigenvalues by Lanczos and its trace by Hutchinson's estimator with Probes
// Rademacher probes (appendix E: beside the Gauss–Newton matrix).
type ExactHessianConfig struct {
	Pretrain PretrainConfig `json:"pretrain"`
	K        int            `json:"lanczos_k"`         // 0: no Lanczos
	Probes   int            `json:"hutchinson_probes"` // 0: no trace estimate
}

// Validate checks the configuration (K ≤ P is checked when the network is known).
func (c ExactHessianConfig) Validate() error {
	if err := c.Pretrain.Validate(); err != nil {
		return err
	}
	switch {
	case c.K < 0 || c.Probes < 0:
		return fmt.Errorf("exact Hessian: the Lanczos k and the number of probes must be ≥ 0, got %d and %d", c.K, c.Probes)
	case c.K == 0 && c.Probes == 0:
		return fmt.Errorf("exact Hessian: ask for Lanczos eigenvalues (k ≥ 1), Hutchinson probes (≥ 1) or both")
	}
	return nil
}

// ExactHessianResult holds the exact-Hessian estimates; Trace and TraceSE
// are NaN (null in JSON) without probes.
type ExactHessianResult struct {
	Top     []float64 `json:"top"`
	Trace   run.Float `json:"trace"`
	TraceSE run.Float `json:"trace_se"`
}

// ExactHessian computes (or loads) the exact-Hessian estimates at θ*. One
// random stream (rng.ExactHessian from the pre-training seed) draws the
// Lanczos start vector and then the probes.
func ExactHessian(ctx context.Context, env run.Env, c ExactHessianConfig) (run.Result[ExactHessianResult], error) {
	return exactHessianAt(ctx, env, c, func() (*Session, error) {
		s, _, err := PretrainSession(ctx, env, c.Pretrain)
		return s, err
	})
}

func exactHessianAt(ctx context.Context, env run.Env, c ExactHessianConfig, open func() (*Session, error)) (run.Result[ExactHessianResult], error) {
	if err := c.Validate(); err != nil {
		return run.Result[ExactHessianResult]{}, err
	}
	spec := env.Spec("network/exact-hessian", ExactHessianVersion, c, c.Pretrain.Run.Train.Seed)
	return run.Do(ctx, env.Cache, spec, func(ctx context.Context) (ExactHessianResult, error) {
		out := ExactHessianResult{Trace: run.Float(math.NaN()), TraceSE: run.Float(math.NaN())}
		sess, err := open()
		if err != nil {
			return out, err
		}
		if p := sess.Arch.NumParams(); c.K > p {
			return out, fmt.Errorf("exact Hessian: Lanczos k = %d exceeds the number of parameters P = %d; for the whole spectrum use the dense Gauss–Newton result", c.K, p)
		}
		h, err := hessian.NewHVP(env.Backend, sess.Arch, model.MSE, sess.Params(), sess.Data.X, sess.Data.Y, sess.Data.N())
		if err != nil {
			return out, err
		}
		r := rng.New(c.Pretrain.Run.Train.Seed, rng.ExactHessian)
		if c.K > 0 {
			if out.Top, err = spectrum.TopK(h, c.K, 0, r); err != nil {
				return out, err
			}
		}
		if c.Probes > 0 {
			tr, se, err := spectrum.Hutchinson(h, c.Probes, r)
			if err != nil {
				return out, err
			}
			out.Trace, out.TraceSE = run.Float(tr), run.Float(se)
		}
		return out, nil
	})
}

// MinimumConfig is the appendix-E study of the pre-trained minimum: the
// pre-training, the Gauss–Newton spectrum and, when K or Probes is set, the
// exact Hessian.
type MinimumConfig struct {
	Pretrain PretrainConfig `json:"pretrain"`
	K        int            `json:"lanczos_k"`
	Probes   int            `json:"hutchinson_probes"`
}

// Validate checks the configuration: everything that can be refused
// before any work (the number of parameters P comes from the architecture,
// without loading the data).
func (c MinimumConfig) Validate() error {
	if c.K < 0 || c.Probes < 0 {
		return fmt.Errorf("lanczos = %d and hutchinson = %d must be ≥ 0", c.K, c.Probes)
	}
	if err := c.Pretrain.Validate(); err != nil {
		return err
	}
	if p := c.Pretrain.Run.Params(); float64(c.K) > p {
		return fmt.Errorf("lanczos = %d must be between 0 and P = %.0f (the number of parameters); for the whole spectrum use the dense Gauss–Newton result", c.K, p)
	}
	if c.Probes > MaxProbes {
		return fmt.Errorf("hutchinson = %d is more than %d: the trace estimate's standard error falls as 1/√probes; 100–1000 probes suffice", c.Probes, MaxProbes)
	}
	return nil
}

// MinimumResult is the outcome of Minimum. When pre-training diverged
// (Diverged, with the rule and the reason) there is no minimum: Spectrum
// and Exact are absent, and Pretrained too when training stopped on a
// non-finite loss before its history was recorded.
type MinimumResult struct {
	Pretrained     *Pretrained         `json:"pretrained,omitempty"`
	Spectrum       *MinimumSpectrum    `json:"spectrum,omitempty"`
	Exact          *ExactHessianResult `json:"exact_hessian,omitempty"`
	Diverged       bool                `json:"diverged,omitempty"`
	DivergenceRule string              `json:"divergence_rule,omitempty"`
	Note           string              `json:"note,omitempty"`
}

// Minimum pre-trains, then measures the Gauss–Newton spectrum and (when
// asked) the exact Hessian at θ*; each piece is cached on its own, shared
// with Pretrain, Spectrum, ExactHessian and FirstPassage of the same
// pre-training. A pre-training that diverges gives a flagged result.
func Minimum(ctx context.Context, env run.Env, c MinimumConfig) (run.Result[MinimumResult], error) {
	if err := c.Validate(); err != nil {
		return run.Result[MinimumResult]{}, err
	}
	start := time.Now()
	spec := env.Spec("network/minimum", SpectrumVersion, c, c.Pretrain.Run.Train.Seed)
	sess, pre, bad, err := pretrainOrDiverged(ctx, env, c.Pretrain)
	if err != nil {
		return run.Result[MinimumResult]{}, err
	}
	if bad != nil {
		return run.Compose(spec, start, false, MinimumResult{Pretrained: bad.Pretrained, Diverged: true, DivergenceRule: bad.Rule, Note: bad.Note})
	}
	open := func() (*Session, error) { return sess, nil }
	quiet := env
	quiet.Progress = nil
	ms, err := spectrumAt(ctx, quiet, c.Pretrain, open)
	if err != nil {
		return run.Result[MinimumResult]{}, err
	}
	out := MinimumResult{Pretrained: &pre.Result, Spectrum: &ms.Result}
	all := pre.FromCache && ms.FromCache
	if c.K > 0 || c.Probes > 0 {
		ex, err := exactHessianAt(ctx, quiet, ExactHessianConfig{Pretrain: c.Pretrain, K: c.K, Probes: c.Probes}, open)
		if err != nil {
			return run.Result[MinimumResult]{}, err
		}
		out.Exact = &ex.Result
		all = all && ex.FromCache
	}
	return run.Compose(spec, start, all, out)
}

// PretrainDivergence describes a pre-training that met the divergence rule:
// there is no minimum θ*.
type PretrainDivergence struct {
	// Pretrained is the history up to the blow-up (nil when training
	// stopped on a non-finite loss before a history was recorded).
	Pretrained *Pretrained
	Rule, Note string
}

// pretrainOrDiverged runs (or loads) the pre-training; a pre-training that
// diverged (training stopped on a non-finite loss, or a checked loss met
// the divergence rule) is returned as bad, not as an error.
func pretrainOrDiverged(ctx context.Context, env run.Env, c PretrainConfig) (*Session, run.Result[Pretrained], *PretrainDivergence, error) {
	sess, pre, err := PretrainSession(ctx, env, c)
	if errors.Is(err, train.ErrDiverged) {
		return nil, pre, &PretrainDivergence{Rule: c.Run.DivergenceRule(), Note: err.Error()}, nil
	}
	if err != nil {
		return nil, pre, nil, err
	}
	if p, bad := c.Run.FirstDiverged(pre.Result.History); bad {
		return nil, pre, &PretrainDivergence{Pretrained: &pre.Result, Rule: c.Run.DivergenceRule(),
			Note: fmt.Sprintf("pre-training diverged at epoch %d (full-batch loss %.4g)", p.Epoch, p.Loss)}, nil
	}
	return sess, pre, nil, nil
}

// MemoryBytes of the appendix-E study: pre-training and the dense spectrum,
// and Lanczos's k + 2 Krylov vectors of P values (full reorthogonalisation).
func (c MinimumConfig) MemoryBytes() float64 {
	return c.Pretrain.MemoryBytes() + 8*float64(c.K+2)*c.Pretrain.Run.Params()
}

// NoMinimum returns why there is no minimum θ* (pre-training diverged), or
// nil when there is one; a notebook stops there with the reason.
func (m MinimumResult) NoMinimum() error {
	return noMinimum(m.Diverged, m.Note, m.DivergenceRule)
}

func noMinimum(diverged bool, note, rule string) error {
	if !diverged {
		return nil
	}
	return fmt.Errorf("pre-training diverged (%s; rule: %s): there is no minimum θ*; lower pretrain-eta", note, rule)
}
