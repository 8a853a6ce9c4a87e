package linreg

import (
	"fmt"
	"math"

	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/passage"
)

// Declare declares the stationary experiment's parameters (pkg/param): the
// data (data.LinRegConfig), the dynamics (dynamics.Config) and the sampling.
func (c *StationaryConfig) Declare(s *param.Set) {
	c.Problem.Declare(s)
	c.Config.Declare(s)
	s.Int(&c.Samples, "samples", "samples of θ, in total over the chains", param.Min(10))
	s.Int(&c.Every, "every", "SGD steps between two samples", param.Min(1))
	s.Int64(&c.Burn, "burn", "burn-in steps before the first sample", param.Min(1), param.Auto("20/(h·λ_min), h = η or the SDE step dt"))
	s.Int(&c.Chains, "chains", "independent chains (the paper: 1)", param.Min(1))
	s.Int(&c.Bins, "bins", "histogram bins of the paper-style φ fit", param.Min(3))
	s.Int(&c.Boot, "boot", "bootstrap resamples of the φ intervals", param.Max(estimate.MaxBoot))
}

// Declare declares the first-passage experiment's parameters (pkg/param).
func (c *FPTConfig) Declare(s *param.Set) {
	c.Problem.Declare(s)
	c.Config.Declare(s)
	s.Int(&c.Runs, "runs", "independent runs from θ*", param.Min(passage.MinRuns))
	s.Floats(&c.C, "c", "threshold ratios c = L_th/L(θ*)", param.Above(1), param.MaxItems(1000), param.Auto("the paper's grid for P (PaperThresholds)"))
	s.Int64(&c.MaxSteps, "maxsteps", "steps per run before it is censored", param.Min(1))
	s.Float(&c.FitCMin, "fit-cmin", "fit the slope over thresholds c ≥ this", param.Above(1), param.Auto("1.5 × the mode of the stationary law of L/L*"))
	s.Int(&c.Boot, "boot", "bootstrap resamples over runs", param.Max(estimate.MaxBoot))
}

// minSamplesPerBin: the φ histogram fit drops bins with fewer than 5
// samples and needs 3 bins; 5 samples per bin on average is the least that
// gives it a chance.
const minSamplesPerBin = 5

// maxStationarySteps bounds the steps of a stationary run (all chains): at
// the measured 1.3·10⁷ steps/s of the native engine (P = 1), 10¹¹ steps are
// about two hours.
const maxStationarySteps = 1e11

// minRelaxations is the fewest relaxation times 1/λ_min the samples of a
// stationary chain must span.
const minRelaxations = 10

// checkRun refuses settings that pass the field checks but cannot give a
// result: L(θ*) = 0, B ≥ N (full-batch gradient descent has no noise and
// never leaves θ*).
func checkRun(p Problem, b int) error {
	if err := p.CheckNoisy(); err != nil {
		return err
	}
	if b >= p.N {
		return fmt.Errorf("B = %d must be smaller than N = %d: B = N is full-batch gradient descent, which has no noise and never leaves θ*", b, p.N)
	}
	return nil
}

// checkSampling refuses a stationary run that cannot fit φ or would take
// hours: too few samples per bin or per chain, or more than
// maxStationarySteps steps. The automatic burn-in 20/(η·λ_min) is
// estimated before the data exist by the Marchenko–Pastur edge
// xstd²·(1 − √(P/N))².
func (c StationaryConfig) checkSampling() error {
	if c.Samples < minSamplesPerBin*c.Bins {
		return fmt.Errorf("samples = %d is too few for bins = %d: the histogram fit needs about %d samples per bin; use samples ≥ %d or fewer bins", c.Samples, c.Bins, minSamplesPerBin, minSamplesPerBin*c.Bins)
	}
	if c.Chains > c.Samples/minSamplesPerBin {
		return fmt.Errorf("chains = %d leaves fewer than %d samples per chain (samples = %d); use fewer chains", c.Chains, minSamplesPerBin, c.Samples)
	}
	r := 1 - math.Sqrt(float64(c.P)/float64(c.N))
	lmin := c.XStd * c.XStd * r * r // λ_min's Marchenko–Pastur estimate
	b, how := float64(c.Burn), "burn"
	if c.Burn == 0 {
		how = "20/(h·λ_min), the automatic burn-in (h = η, or dt for an SDE)"
		b = 20 / (c.TimeStep() * lmin)
	}
	// The samples must span several relaxation times 1/λ_min, or they are
	// one correlated stretch of a chain and φ is a number without meaning.
	if w := math.Ceil(float64(c.Samples)/float64(c.Chains)) * float64(c.Every) * c.TimeStep(); w*lmin < minRelaxations {
		step := "eta" // the time step of SGD, and of an SDE by default
		if c.TimeStep() != c.Eta {
			step = "dt"
		}
		return fmt.Errorf("%s = %g, every = %d, samples = %d: the samples of a chain span %.3g time units, fewer than %d relaxation times 1/λ_min ≈ %.3g, so they are one correlated stretch and cannot give φ; raise %s, every or samples", step, c.TimeStep(), c.Every, c.Samples, w, minRelaxations, 1/lmin, step)
	}
	per := b + math.Ceil(float64(c.Samples)/float64(c.Chains))*float64(c.Every)
	if total := per * float64(c.Chains); !(total <= maxStationarySteps) {
		return fmt.Errorf("eta = %g, every = %d, samples = %d: the run needs about %.3g steps (a burn-in of %.3g from %s, then samples × every), more than %.0g (hours of work); raise eta (or dt) or lower every, samples or burn", c.Eta, c.Every, c.Samples, total, b, how, maxStationarySteps)
	}
	return estimate.CheckBoot(c.Boot, float64(c.Samples), estimate.BootWorkStationary, "samples")
}

// thresholds returns c.C, or the paper's grid for c.P when it is not set.
func (c FPTConfig) thresholds() []float64 {
	if len(c.C) == 0 {
		return PaperThresholds(c.P)
	}
	return c.C
}
