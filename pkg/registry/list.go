// Package registry is the list of sgdescape's experiments: each one
// registered once, in All, with its name, typed configuration (whose
// parameters the configuration declares, pkg/param), presets and function
// (pkg/experiment defines the entry). Every front end works from this
// list: the command line, the notebooks' overrides, sweeps, the paper suite
// and the generated parameter reference (PARAMETERS.md).
//
// A new experiment is one more line in All.
package registry

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/sgdescape/sgdescape/pkg/barrier"
	"github.com/sgdescape/sgdescape/pkg/diagnose"
	"github.com/sgdescape/sgdescape/pkg/experiment"
	"github.com/sgdescape/sgdescape/pkg/linreg"
	"github.com/sgdescape/sgdescape/pkg/ncrit"
	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/sweep/validity"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

// Registry is a list of experiments with lookups by name.
type Registry []experiment.Entry

// All returns every registered experiment, in the order help lists them.
// This list is the registry: a new experiment is one more line here.
func All() Registry {
	return Registry{
		experiment.Define(experiment.Def[theory.Inputs, theory.Summary]{Name: "theory", Summary: "evaluate Eq. 15, 16, 17 and the Arrhenius (GLD) rate for one configuration",
			Native: "closed form", Preset: theory.Example, Run: theory.Evaluate}),
		experiment.Define(experiment.Def[theory.Curves, theory.CurvesResult]{Name: "theory-curves", Summary: "the closed forms drawn: Eq. 15 against the loss ratio for several n and B/η, against Arrhenius (Eq. 5), and the map of Eq. 16 (notebook 00)",
			Native: "closed form", Preset: theory.PaperCurves, Run: theory.EvaluateCurves}),
		experiment.Define(experiment.Def[linreg.StationaryConfig, linreg.StationaryResult]{Name: "stationary",
			Summary: "stationary distribution of SGD on linear regression: fit φ in P(θ) ∝ L^−φ (Eq. 17, Fig. 3a)",
			Native:  linreg.Engine, Preset: linreg.PaperStationary, Run: linreg.Stationary, Lower: "N, P, samples, chains or bins"}),
		experiment.Define(experiment.Def[linreg.StationarySweepConfig, linreg.StationarySweepResult]{Name: "stationary-grid",
			Summary: "Fig. 3a: the stationary experiment over a grid of η and B, each point cached on its own",
			Native:  linreg.Engine, Preset: linreg.PaperStationarySweep, Run: linreg.StationarySweep, Lower: "N, samples or the grid"}),
		experiment.Define(experiment.Def[linreg.FPTConfig, linreg.FPTResult]{Name: "fpt", Variant: "linreg", Selector: "model",
			Summary: "mean first-passage time of L ≥ c·L* against c, linear regression (Eq. 15, Fig. 3b)",
			Native:  linreg.Engine, Preset: linreg.AutoFPT, Run: linreg.FPT, Lower: "runs, N or P"}),
		experiment.Define(experiment.Def[barrier.Config, barrier.Result]{Name: "barrier",
			Summary: "escape over a real barrier (helix regression): SGD's κ against β with four predictions (Eq. 15, Eq. 5, exact diffusion, large deviations)",
			Native:  barrier.Engine, Preset: barrier.PaperEscape, Run: barrier.Escape, Lower: "runs, beta, N, n or grid", Version: barrier.CodeVersion}),
		experiment.Define(experiment.Def[barrier.LabConfig, barrier.LabResult]{Name: "barrier-lab",
			Summary: "notebook 06's barrier laboratory: the β sweep with i.i.d., Gaussian (exact variance) and GLD controls, and κ over B and n at one β (Eq. 15, Eq. 5)",
			Native:  barrier.Engine, Preset: barrier.PaperLab, Run: barrier.Lab, Lower: "runs, beta, N, n or grid", Version: barrier.LabVersion}),
		experiment.Define(experiment.Def[barrier.DrawsConfig, barrier.DrawsResult]{Name: "barrier-draws",
			Summary: "the barrier comparison over data draws: per data seed, SGD's d ln κ/dβ (epoch and i.i.d. batches) against Eq. 15, Eq. 5, exact diffusion, large deviations and the exact discrete chain, and κ(n)/κ(n₀) against Eq. 15",
			Native:  barrier.Engine, Preset: barrier.PaperDraws, Run: barrier.Draws, Lower: "runs, seeds, beta or ns", Version: barrier.DrawsVersion}),
		experiment.Define(experiment.Def[ncrit.Config, ncrit.Result]{Name: "ncrit",
			Summary: "the n > n_c instability (Eq. 16) on linear regression: tail index of L/L* against P with theory and Kesten predictions",
			Native:  ncrit.Engine, Preset: ncrit.PaperNcrit, Run: ncrit.Sweep, Lower: "P, chains, steps or N"}),
		experiment.Define(experiment.Def[network.FirstPassageConfig, network.FirstPassageResult]{Name: "fpt", Variant: "mlp", Selector: "model",
			Summary: "mean first-passage time of L ≥ c·L* against c, MLP restarted from a pre-trained minimum (Eq. 15, Fig. 3c)",
			Preset:  network.PaperFirstPassage, Run: network.FirstPassage, Lower: "runs, N or widths", Version: network.FirstPassageVersion}),
		experiment.Define(experiment.Def[network.FirstPassageDrawsConfig, network.FirstPassageDrawsResult]{Name: "fpt-draws",
			Summary: "Fig. 3c over pre-training seeds: fpt -model mlp from the minimum θ* of each seed, the implied n against the effective-dimension estimators at each θ* (Eq. 15)",
			Preset:  network.PaperFirstPassageDraws, Run: network.FirstPassageDraws, Lower: "runs, N, widths or pretrain-seeds", Version: network.FirstPassageDrawsVersion}),
		experiment.Define(experiment.Def[linreg.FPTGridConfig, linreg.FPTSweepResult]{Name: "fpt-grid",
			Summary: "Fig. 3b: fpt -model linreg at every P of a list, each with the paper's thresholds for its P (Eq. 15)",
			Native:  linreg.Engine, Preset: linreg.PaperFPTGrid, Run: linreg.FPTGrid, Lower: "runs, N or Ps"}),
		experiment.Define(experiment.Def[linreg.FPTDynamicsConfig, linreg.FPTDynamicsResult]{Name: "fpt-dynamics",
			Summary: "first passages of SGD, Eq. 4, 12, 14 and GLD over the same thresholds, at every P of a list (Eq. 5, 15)",
			Native:  linreg.Engine, Preset: linreg.PaperFPTDynamics, Run: linreg.FPTDynamics, Lower: "runs, N or Ps"}),
		experiment.Define(experiment.Def[network.DecouplingConfig, network.DecouplingResult]{Name: "decoupling",
			Summary: "exact vs decoupled noise spectra along training (Eq. 7, section 5.1, Fig. 1)",
			Preset:  network.PaperDecoupling, Run: network.Decoupling, Lower: "N or widths"}),
		experiment.Define(experiment.Def[network.NoiseCurveConfig, network.NoiseCurve]{Name: "noise",
			Summary: "noise strength 𝒩 and Tr Σ against the loss along training (Eq. 6, 8, section 5.2, Fig. 2)",
			Preset:  network.PaperNoise, Run: network.Noise, Lower: "N, widths, channels, convs or epochs/every"}),
		experiment.Define(experiment.Def[network.NoisePanelsConfig, network.NoisePanelsResult]{Name: "noise-panels",
			Summary: "the four panels of Fig. 2 and appendix D: noise against loss for the MLP and the CNN, mean-square and cross-entropy",
			Preset:  network.PaperNoisePanels, Run: network.NoisePanels, Lower: "mlp-N, mlp-widths, cnn-N or cnn-channels"}),
		experiment.Define(experiment.Def[network.MinimumConfig, network.MinimumResult]{Name: "spectrum",
			Summary: "Gauss–Newton spectrum, effective dimension and exact Hessian at a pre-trained minimum (appendix E)",
			Preset:  network.PaperMinimum, Run: network.Minimum, Lower: "N, widths or lanczos"}),
		experiment.Define(experiment.Def[diagnose.Config, diagnose.Result]{Name: "diagnose",
			Summary: "diagnose your own network (ONNX): L, 𝒩 and Tr Σ (Eq. 8), the decoupled prediction (Eq. 9), Hessian and Gauss–Newton spectra, h* and n, φ (Eq. 17), n_c and stability (Eq. 16), the escape exponent (Eq. 15) against Arrhenius",
			Preset:  diagnose.PaperFixture, Run: diagnose.Diagnose, Lower: "the data (N) or the model"}),
		experiment.Define(experiment.Def[validity.Grids, validity.GridsResult]{Name: "whatif",
			Summary: "what-if maps of where the theory holds: φ (Eq. 17) and the escape slope (Eq. 15) over grids of η, B and P, each point a sweep task (notebook 07)",
			Native:  "native", Preset: validity.PaperGrids,
			Run: func(ctx context.Context, env run.Env, g validity.Grids) (run.Result[validity.GridsResult], error) {
				return validity.RunGrids(ctx, env, g, All())
			}}),
	}
}

// Lookup returns the experiment called name (with variant, for families
// such as fpt -model linreg|mlp; "" picks the first variant).
func (r Registry) Lookup(name, variant string) (experiment.Entry, bool) {
	for _, e := range r {
		if e.Name == name && (variant == "" || e.Variant == variant) {
			return e, true
		}
	}
	return experiment.Entry{}, false
}

// Variants returns the variants registered under name (nil for a plain experiment).
func (r Registry) Variants(name string) []string {
	var out []string
	for _, e := range r {
		if e.Name == name && e.Variant != "" {
			out = append(out, e.Variant)
		}
	}
	return out
}

// CheckSetting checks an override (SGDESCAPE_SET, suite -set) against the
// registry: a scope must be a registered experiment and a name one of its
// parameters (or, unscoped, a parameter of some experiment), so that a typo
// is refused instead of silently doing nothing.
func (r Registry) CheckSetting(s param.Setting) error {
	var scopes []string
	for _, e := range r {
		if s.Scope != "" && e.Name != s.Scope {
			continue
		}
		if _, ok := e.Params(run.Quick).Lookup(s.Name); ok {
			return nil
		}
		scopes = append(scopes, e.Name)
	}
	if s.Scope != "" && len(scopes) == 0 {
		return fmt.Errorf("%s: no experiment %q (experiments: %s)", s, s.Scope, strings.Join(r.Names(), ", "))
	}
	if s.Scope != "" {
		return fmt.Errorf("%s: %s has no parameter %q (sgdescape %s -h lists them)", s, s.Scope, s.Name, s.Scope)
	}
	return fmt.Errorf("%s: no experiment has a parameter %q (sgdescape help params lists them)", s, s.Name)
}

// Names returns the distinct experiment names in registry order.
func (r Registry) Names() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range r {
		if !seen[e.Name] {
			seen[e.Name] = true
			out = append(out, e.Name)
		}
	}
	return out
}

// ByConfig returns the experiment called name whose configuration is t.
func (r Registry) ByConfig(name string, t reflect.Type) (experiment.Entry, bool) {
	for _, e := range r {
		if e.Name == name && e.ConfigType() == t {
			return e, true
		}
	}
	return experiment.Entry{}, false
}

// Lookup, Variants and Names on All().
func Lookup(name, variant string) (experiment.Entry, bool) { return All().Lookup(name, variant) }
func Variants(name string) []string                        { return All().Variants(name) }
func Names() []string                                      { return All().Names() }
