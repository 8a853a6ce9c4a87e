package linreg

import (
	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// The paper's configurations (section 5.3.1), as used by the notebooks, the
// CLI defaults and the tests. A caller overrides fields of the returned
// value; it never re-types a configuration.

// PaperProblem is the paper's regression data: N samples with P Gaussian
// inputs of unit variance and i.i.d. N(0, 1) labels, drawn from seed 1.
func PaperProblem(P, N int) Problem {
	return Problem{P: P, N: N, XStd: 1, Labels: data.LabelsGaussian, Seed: 1}
}

// PaperStationary is the Fig. 3a experiment at one (η, B): P = 1, one SGD
// chain sampled every 100 steps (N = 10⁵ data points and 10⁴ samples at
// paper scale; 2·10⁴ and 5 000 at quick scale), η = 0.1, B = 1.
func PaperStationary(scale run.Scale) StationaryConfig {
	return StationaryConfig{
		Problem: PaperProblem(1, run.Pick(scale, 20000, 100000)),
		Config:  dynamics.Config{Kind: dynamics.SGD, Eta: 0.1, B: 1},
		Samples: run.Pick(scale, 5000, 10000), Every: 100, Chains: 1, Bins: 40, Boot: 200,
	}
}

// PaperStationarySweep is the grid of Fig. 3a: η ∈ {0.01, 0.1, 1} (1 is the
// paper's largest) against B ∈ {1, 2, 4, 8, 16}, with the Eq. 4 check at η = 0.01.
func PaperStationarySweep(scale run.Scale) StationarySweepConfig {
	return StationarySweepConfig{Base: PaperStationary(scale), Etas: []float64{0.01, 0.1, 1}, Bs: []int{1, 2, 4, 8, 16}, CheckEta: 0.01}
}

// PaperThresholds returns the threshold grid c = L_th/L(θ*) used for P
// parameters: it starts above the bulk of the stationary law of L/L*, whose
// mode moves out with P (1.2, 1.5, 2, 3 for a P without its own grid).
func PaperThresholds(P int) []float64 {
	switch P {
	case 1:
		return []float64{1.1, 1.2, 1.35, 1.5, 1.75, 2}
	case 2:
		return []float64{1.2, 1.35, 1.5, 1.75, 2, 2.5}
	case 5:
		return []float64{1.35, 1.5, 2, 2.5, 3, 4}
	case 10:
		return []float64{1.5, 2, 3, 4, 5, 6, 8}
	}
	return []float64{1.2, 1.5, 2, 3}
}

// PaperFPT is the Fig. 3b experiment for P parameters: N = 10⁴, η = 0.1,
// B = 1, 100 SGD runs from θ*, thresholds PaperThresholds(P), at most 5·10⁶
// steps per run; 300 bootstrap resamples at quick scale, 2 000 at paper scale.
func PaperFPT(P int, scale run.Scale) FPTConfig {
	return FPTConfig{
		Problem: PaperProblem(P, 10000),
		Config:  dynamics.Config{Kind: dynamics.SGD, Eta: 0.1, B: 1}, Runs: 100, C: PaperThresholds(P),
		MaxSteps: 5000000, Boot: run.Pick(scale, 300, 2000),
	}
}

// DynamicsComparison runs base for every dynamics of dynamics.Kinds, in that
// order, with WithKind's restriction for GLD.
func DynamicsComparison(base FPTConfig) FPTSweepConfig {
	var out FPTSweepConfig
	for _, k := range dynamics.Kinds {
		out.Configs = append(out.Configs, base.WithKind(k))
	}
	return out
}

// WithKind returns c for dynamics k. GLD at P > 2 keeps only the thresholds
// c ≤ 2 and at most 10⁶ steps: its Arrhenius law exp(ΔL/D) passes larger
// thresholds only after astronomically long times.
func (c FPTConfig) WithKind(k dynamics.Kind) FPTConfig {
	c.Kind = k
	if k == dynamics.GLD && c.P > 2 {
		var grid []float64
		for _, v := range c.C {
			if v <= 2 {
				grid = append(grid, v)
			}
		}
		c.C = grid
		c.MaxSteps = min(c.MaxSteps, 1000000)
	}
	return c
}

// AutoFPT is PaperFPT(1, scale) with the thresholds left to the paper's grid
// of whatever P is set (the registry's preset of `fpt`, whose P is a parameter).
func AutoFPT(scale run.Scale) FPTConfig {
	c := PaperFPT(1, scale)
	c.C = nil
	return c
}
