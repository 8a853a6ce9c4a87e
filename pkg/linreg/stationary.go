package linreg

import (
	"context"
	"fmt"
	"math"

	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// StationaryVersion is the code version of the stationary experiment (part of the cache key).
const StationaryVersion = "linreg-stationary/v4" // v4: a diverged run has an undefined (null) fit and a reason

// StationaryConfig is one stationary-distribution experiment (Fig. 3a).
type StationaryConfig struct {
	Problem
	// Config is the dynamics (kind, η, B, SDE step, GLD's h*).
	dynamics.Config
	Samples int   `json:"samples"` // samples in total (split over Chains)
	Every   int   `json:"every"`   // steps between samples
	Burn    int64 `json:"burn"`    // steps discarded first (0: 20/(h·λ_min), h = η or the SDE step)
	Chains  int   `json:"chains"`  // independent chains (1 as in the paper)
	Bins    int   `json:"bins"`    // histogram bins of the paper-style fit
	Boot    int   `json:"boot"`    // bootstrap resamples
}

// Validate checks the configuration and says what to change.
func (c StationaryConfig) Validate() error {
	if err := c.Problem.Validate(); err != nil {
		return err
	}
	if err := c.Config.ValidateFor(c.N); err != nil {
		return err
	}
	switch {
	case c.Samples < 10:
		return fmt.Errorf("samples must be ≥ 10, got %d", c.Samples)
	case c.Every < 1:
		return fmt.Errorf("every must be ≥ 1 step, got %d", c.Every)
	case c.Chains < 1 || c.Chains > c.Samples:
		return fmt.Errorf("chains must be between 1 and the number of samples, got %d", c.Chains)
	case c.Burn < 0:
		return fmt.Errorf("burn-in must be ≥ 0 steps, got %d", c.Burn)
	case c.Bins < 3:
		return fmt.Errorf("bins must be ≥ 3, got %d", c.Bins)
	case c.Boot < 0:
		return fmt.Errorf("boot must be ≥ 0, got %d", c.Boot)
	}
	if err := checkRun(c.Problem, c.B); err != nil {
		return err
	}
	return c.checkSampling()
}

// StationaryResult is the outcome of Stationary.
type StationaryResult struct {
	Spectrum
	Fit      estimate.PhiFit `json:"fit"`
	PhiMean  float64         `json:"phi_theory"`     // 1 + B/(ηh*) with h* = mean eigenvalue
	PhiMax   float64         `json:"phi_theory_max"` // with h* = λ_max
	Burn     int64           `json:"burn"`
	Diverged bool            `json:"diverged"`
	// Reason says why the fit is undefined (null) when it is.
	Reason string `json:"reason,omitempty"`
	// Ell are the samples L/L* (chain after chain), Z the eigen-coordinate
	// of each sample when P = 1 (for histograms of θ − θ*).
	Ell []float64 `json:"ell"`
	Z   []float64 `json:"z,omitempty"`
	// Eq4 compares with the exact stationary density of Eq. 4 (P = 1 only).
	Eq4 *Eq4Comparison `json:"eq4,omitempty"`
	// KestenPhi is the tail φ of discrete SGD for P = 1 with Gaussian inputs,
	// (α+1)/2 with E|1 − ηs|^α = 1 (dynamics.KestenExponent): a finite-η
	// prediction independent of the SDE picture. 0 when not applicable.
	KestenPhi float64 `json:"kesten_phi,omitempty"`
}

// Eq4Comparison holds the P = 1 check against the closed-form density of the
// Eq.-4 diffusion with the exact noise of Eq. 8.
type Eq4Comparison struct {
	PhiEquivalent float64     `json:"phi_equivalent"` // φ with the density's E[log ℓ]
	TailPhi       float64     `json:"tail_phi"`       // φ of its power-law tail
	KS            estimate.KS `json:"ks"`             // samples of z against its CDF
	RelDiff       float64     `json:"rel_diff"`       // fitted φ / φ-equivalent − 1
}

// Estimated reports whether φ was fitted: false when the chains diverged
// or never left the minimum (Reason says which).
func (r StationaryResult) Estimated() bool { return !r.Diverged && r.Reason == "" }

type sampler struct {
	burn, every int64
	per         int
	ell, z      [][]float64
	lstar       float64
}

func (s *sampler) Observe(st *dynamics.State) bool {
	if st.Diverged {
		return true
	}
	if st.Steps >= s.burn && (st.Steps-s.burn)%s.every == 0 {
		s.ell[st.Run] = append(s.ell[st.Run], st.Loss/s.lstar)
		if s.z != nil {
			s.z[st.Run] = append(s.z[st.Run], st.Z[0])
		}
	}
	return len(s.ell[st.Run]) >= s.per
}

// Stationary runs the experiment, or returns its cached result. It runs the
// native Go engine: env.Backend is not used, and provenance names Engine.
func Stationary(ctx context.Context, env run.Env, c StationaryConfig) (run.Result[StationaryResult], error) {
	if c.Kind == "" {
		c.Kind = dynamics.SGD
	}
	return run.Checked(ctx, env, Engine, "linreg/stationary", StationaryVersion, c, c.Seed, func(ctx context.Context, env run.Env) (StationaryResult, error) {
		return stationary(ctx, c, env.Progress)
	})
}

func stationary(ctx context.Context, c StationaryConfig, progress run.Progress) (StationaryResult, error) {
	_, q, err := build(c.Problem)
	if err != nil {
		return StationaryResult{}, err
	}
	res := StationaryResult{Spectrum: spectrum(q)}
	res.PhiMean = phiTheory(c.Eta, c.B, res.HMean)
	res.PhiMax = phiTheory(c.Eta, c.B, res.HMax)
	burn := c.Burn
	if burn == 0 {
		burn = int64(math.Ceil(20 / (c.TimeStep() * res.HMin)))
	}
	res.Burn = burn
	per := (c.Samples + c.Chains - 1) / c.Chains
	s := &sampler{burn: burn, every: int64(c.Every), per: per, ell: make([][]float64, c.Chains), lstar: q.LStar}
	if q.P == 1 {
		s.z = make([][]float64, c.Chains)
	}
	maxSteps := burn + int64(per)*int64(c.Every)
	sum, err := dynamics.Run(ctx, q, c.Config,
		dynamics.Options{Runs: c.Chains, Seed: c.Seed + rng.DynamicsOffset, MaxSteps: maxSteps, Progress: progress}, s)
	if err != nil {
		return res, err
	}
	if sum.Diverged > 0 {
		res.Diverged = true
		res.Fit = estimate.UndefinedPhiFit(float64(q.P) / 2)
		res.Reason = fmt.Sprintf("%d of %d chains diverged (loss non-finite or above %g·L*): SGD at η = %g, B = %d has no stationary distribution here, so φ is undefined (null), not 0", sum.Diverged, c.Chains, dynamics.DivergenceFactor, c.Eta, c.B)
		return res, nil
	}
	for i, ch := range s.ell {
		res.Ell = append(res.Ell, ch...)
		if s.z != nil {
			res.Z = append(res.Z, s.z[i]...)
		}
	}
	if at := atMinimum(res.Ell); at > 0 {
		// Samples at θ* in float64 (a step or noise so small that θ + step
		// rounds back to θ*): log(L/L*) is −∞ there and the law of Eq. 17
		// cannot be fitted.
		res.Fit = estimate.UndefinedPhiFit(float64(q.P) / 2)
		what := "the chains never leave the minimum"
		if at < len(res.Ell) {
			what = "near θ* the steps round back to θ* exactly"
		}
		res.Reason = fmt.Sprintf("%d of %d samples have L = L* to float64 precision: %s (%s, η = %g, time step %g), where log(L/L*) = −∞, so φ is undefined (null); raise the step, dt or the noise (gld-hstar)", at, len(res.Ell), what, c.Kind, c.Eta, c.TimeStep())
		return res, nil
	}
	res.Fit, err = estimate.FitPhi(s.ell, float64(q.P)/2, c.Bins, c.Boot, c.Seed+rng.BootstrapOffset)
	if err != nil {
		return res, fmt.Errorf("fitting φ: %w", err)
	}
	if q.P == 1 && c.Kind == dynamics.SGD {
		if a, err := dynamics.KestenExponent(c.Eta, c.B, c.XStd*c.XStd); err == nil && !math.IsInf(a, 0) {
			res.KestenPhi = (a + 1) / 2
		}
	}
	if q.P == 1 && (c.Kind == dynamics.SGD || c.Kind == dynamics.SDE4) {
		d, err := dynamics.Stationary1D(q, c.Eta, c.B)
		if err != nil {
			return res, err
		}
		eq := &Eq4Comparison{TailPhi: d.TailPhi}
		eq.PhiEquivalent, err = estimate.PhiFromMeanLog(d.MeanLogEll(), 0.5)
		if err != nil {
			return res, err
		}
		eq.KS, err = estimate.KSTest(res.Z, d.CDFAt, res.Fit.TauInt)
		if err != nil {
			return res, err
		}
		eq.RelDiff = res.Fit.MLE/eq.PhiEquivalent - 1
		res.Eq4 = eq
	}
	return res, nil
}

// Eq4Density returns the exact stationary density of the Eq.-4 diffusion
// with SGD's noise (dynamics.Stationary1D) for the problem and (η, B) of c,
// which must have P = 1: the reference curve of the Fig. 3a histograms.
func Eq4Density(c StationaryConfig) (*dynamics.Density1D, error) {
	if c.P != 1 {
		return nil, fmt.Errorf("linreg: the Eq.-4 density is known in closed form for P = 1 only, got P = %d", c.P)
	}
	_, q, err := build(c.Problem)
	if err != nil {
		return nil, err
	}
	return dynamics.Stationary1D(q, c.Eta, c.B)
}

// Densities evaluates at the points z the fitted power law of Eq. 17, the
// best Gibbs law and the exact Eq.-4 density of c's problem (P = 1): the
// curves over the histogram of θ − θ* in Fig. 3a. The Gibbs and Eq.-4
// densities are floored at 1e-300 for log axes.
func Densities(c StationaryConfig, res StationaryResult, z []float64) (powerLaw, gibbs, eq4 []float64, err error) {
	d, err := Eq4Density(c)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, x := range z {
		powerLaw = append(powerLaw, estimate.PowerLawPDF(x, res.HMean, res.LStar, res.Fit.MLE))
		gibbs = append(gibbs, math.Max(estimate.GibbsPDF(x, res.HMean, res.Fit.GibbsT*res.LStar), 1e-300))
		eq4 = append(eq4, math.Max(d.PDFAt(x), 1e-300))
	}
	return powerLaw, gibbs, eq4, nil
}

// atMinimum counts the samples of L/L* that are not above 1: a chain that
// sits at the minimum to float64 precision.
func atMinimum(ell []float64) int {
	n := 0
	for _, l := range ell {
		if !(l > 1) {
			n++
		}
	}
	return n
}
