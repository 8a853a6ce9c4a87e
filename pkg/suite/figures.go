package suite

// Figures is the paper suite: every notebook and the registered
// experiments its figures call (an experiment of a family as name/variant),
// in the notebook's order. A test (pkg/registry) checks that each is
// registered and that each notebook configures exactly these.
var Figures = []Figure{
	{"00_theory", []string{"theory-curves"}},
	{"01_decoupling", []string{"decoupling"}},
	{"02_noise", []string{"noise-panels"}},
	{"03_stationary", []string{"stationary-grid"}},
	{"04_escape", []string{"fpt-grid", "fpt-dynamics", "fpt/mlp", "fpt-draws"}},
	{"05_hessian", []string{"spectrum"}},
	{"06_barrier", []string{"barrier-lab", "barrier-draws", "ncrit"}},
	{"07_whatif", []string{"whatif"}},
	{"08_diagnose", []string{"diagnose"}},
}
