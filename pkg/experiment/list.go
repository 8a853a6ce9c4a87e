package experiment

import (
	"github.com/sgdescape/sgdescape/pkg/linreg"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

// All returns every registered experiment, in the order help lists them.
// This list is the registry: a new experiment is one more line here.
func All() []Entry {
	return []Entry{
		Define(Def[theory.Inputs, theory.Summary]{Name: "theory", Summary: "evaluate Eq. 15, 16, 17 and the Arrhenius (GLD) rate for one configuration",
			Native: "closed form", Preset: theory.Example, Run: theory.Evaluate}),
		Define(Def[theory.Curves, theory.CurvesResult]{Name: "theory-curves", Summary: "the closed forms drawn: Eq. 15 against the loss ratio for several n and B/η, against Arrhenius (Eq. 5), and the map of Eq. 16 (notebook 00)",
			Native: "closed form", Preset: theory.PaperCurves, Run: theory.EvaluateCurves}),
		Define(Def[linreg.StationaryConfig, linreg.StationaryResult]{Name: "stationary",
			Summary: "stationary distribution of SGD on linear regression: fit φ in P(θ) ∝ L^−φ (Eq. 17, Fig. 3a)",
			Native:  linreg.Engine, Preset: linreg.PaperStationary, Run: linreg.Stationary, Lower: "N, P, samples, chains or bins"}),
		Define(Def[linreg.StationarySweepConfig, linreg.StationarySweepResult]{Name: "stationary-grid",
			Summary: "Fig. 3a: the stationary experiment over a grid of η and B, each point cached on its own",
			Native:  linreg.Engine, Preset: linreg.PaperStationarySweep, Run: linreg.StationarySweep, Lower: "N, samples or the grid"}),
		Define(Def[linreg.FPTConfig, linreg.FPTResult]{Name: "fpt", Variant: "linreg", Selector: "model",
			Summary: "mean first-passage time of L ≥ c·L* against c, linear regression (Eq. 15, Fig. 3b)",
			Native:  linreg.Engine, Preset: linreg.AutoFPT, Run: linreg.FPT, Lower: "runs, N or P"}),
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
