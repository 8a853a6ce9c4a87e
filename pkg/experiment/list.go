package experiment

import (
	"github.com/sgdescape/sgdescape/pkg/barrier"
	"github.com/sgdescape/sgdescape/pkg/linreg"
	"github.com/sgdescape/sgdescape/pkg/ncrit"
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
		Define(Def[barrier.Config, barrier.Result]{Name: "barrier",
			Summary: "escape over a real barrier (helix regression): SGD's κ against β with four predictions (Eq. 15, Eq. 5, exact diffusion, large deviations)",
			Native:  barrier.Engine, Preset: barrier.PaperEscape, Run: barrier.Escape, Lower: "runs, beta, N, n or grid"}),
		Define(Def[barrier.LabConfig, barrier.LabResult]{Name: "barrier-lab",
			Summary: "notebook 06's barrier laboratory: the β sweep with i.i.d., Gaussian (exact variance) and GLD controls, and κ over B and n at one β (Eq. 15, Eq. 5)",
			Native:  barrier.Engine, Preset: barrier.PaperLab, Run: barrier.Lab, Lower: "runs, beta, N, n or grid"}),
		Define(Def[ncrit.Config, ncrit.Result]{Name: "ncrit",
			Summary: "the n > n_c instability (Eq. 16) on linear regression: tail index of L/L* against P with theory and Kesten predictions",
			Native:  ncrit.Engine, Preset: ncrit.PaperNcrit, Run: ncrit.Sweep, Lower: "P, chains, steps or N"}),
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
