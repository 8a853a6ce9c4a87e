package experiment

import (
	"github.com/sgdescape/sgdescape/pkg/linreg"
	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

// All returns every registered experiment, in the order help lists them.
// This list is the registry: a new experiment is one more line here.
func All() []Entry {
	return []Entry{
		Define(Def[theory.Inputs, theory.Summary]{Name: "theory", Summary: "evaluate Eq. 15, 16, 17 and the Arrhenius (GLD) rate for one configuration",
			Native: "closed form", Preset: theory.Example, Run: theory.Evaluate}),
		Define(Def[linreg.StationaryConfig, linreg.StationaryResult]{Name: "stationary",
			Summary: "stationary distribution of SGD on linear regression: fit φ in P(θ) ∝ L^−φ (Eq. 17, Fig. 3a)",
			Native:  linreg.Engine, Preset: linreg.PaperStationary, Run: linreg.Stationary, Lower: "N, P, samples, chains or bins"}),
		Define(Def[linreg.FPTConfig, linreg.FPTResult]{Name: "fpt", Variant: "linreg", Selector: "model",
			Summary: "mean first-passage time of L ≥ c·L* against c, linear regression (Eq. 15, Fig. 3b)",
			Native:  linreg.Engine, Preset: linreg.AutoFPT, Run: linreg.FPT, Lower: "runs, N or P"}),
		Define(Def[network.FirstPassageConfig, network.FirstPassageResult]{Name: "fpt", Variant: "mlp", Selector: "model",
			Summary: "mean first-passage time of L ≥ c·L* against c, MLP restarted from a pre-trained minimum (Eq. 15, Fig. 3c)",
			Preset:  network.PaperFirstPassage, Run: network.FirstPassage, Lower: "runs, N or widths"}),
		Define(Def[linreg.FPTOverPConfig, linreg.FPTSweepResult]{Name: "fpt-p",
			Summary: "fpt -model linreg at every P of a list: Fig. 3b's curves (Eq. 15)",
			Native:  linreg.Engine, Preset: linreg.PaperFPTOverP, Run: linreg.FPTOverP, Lower: "runs, N or Ps"}),
		Define(Def[linreg.FPTDynamicsConfig, linreg.FPTDynamicsResult]{Name: "fpt-dynamics",
			Summary: "first passages of SGD, Eq. 4, 12, 14 and GLD over the same thresholds, at every P of a list (Eq. 5, 15)",
			Native:  linreg.Engine, Preset: linreg.PaperFPTDynamics, Run: linreg.FPTDynamics, Lower: "runs, N or Ps"}),
		Define(Def[network.DecouplingConfig, network.DecouplingResult]{Name: "decoupling",
			Summary: "exact vs decoupled noise spectra along training (Eq. 7, section 5.1, Fig. 1)",
			Preset:  network.PaperDecoupling, Run: network.Decoupling, Lower: "N or widths"}),
		Define(Def[network.NoiseCurveConfig, network.NoiseCurve]{Name: "noise",
			Summary: "noise strength 𝒩 and Tr Σ against the loss along training (Eq. 6, 8, section 5.2, Fig. 2)",
			Preset:  network.PaperNoise, Run: network.Noise, Lower: "N, widths, channels, convs or epochs/every"}),
		Define(Def[network.NoisePanelsConfig, network.NoisePanelsResult]{Name: "noise-panels",
			Summary: "the four panels of Fig. 2 and appendix D: noise against loss for the MLP and the CNN, mean-square and cross-entropy",
			Preset:  network.PaperNoisePanels, Run: network.NoisePanels, Lower: "mlp-N, mlp-widths, cnn-N or cnn-channels"}),
		Define(Def[network.MinimumConfig, network.MinimumResult]{Name: "spectrum",
			Summary: "Gauss–Newton spectrum, effective dimension and exact Hessian at a pre-trained minimum (appendix E)",
			Preset:  network.PaperMinimum, Run: network.Minimum, Lower: "N, widths or lanczos"}),
	}
}

// Lookup returns the experiment called name (with variant, for families
// such as fpt -model linreg|mlp; "" picks the first variant).
func Lookup(name, variant string) (Entry, bool) {
	for _, e := range All() {
		if e.Name == name && (variant == "" || e.Variant == variant) {
			return e, true
		}
	}
	return Entry{}, false
}

// Variants returns the variants registered under name (nil for a plain experiment).
func Variants(name string) []string {
	var out []string
	for _, e := range All() {
		if e.Name == name && e.Variant != "" {
			out = append(out, e.Variant)
		}
	}
	return out
}

// Names returns the distinct experiment names in registry order.
func Names() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range All() {
		if !seen[e.Name] {
			seen[e.Name] = true
			out = append(out, e.Name)
		}
	}
	return out
}
