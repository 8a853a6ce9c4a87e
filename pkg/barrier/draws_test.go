package barrier

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/exitchain"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// The fifth prediction is pkg/exitchain's exact rate of the same chain
// (η = B/(βh*), the landscape's interval, start θ*), its slope is the
// least-squares slope of its ln κ, it is cached as its own piece, and it
// is missing — with the reason — where it is not defined (n > 1, the
// Gaussian and GLD controls). (exitchain's own tests check the chain
// against barrier's i.i.d. SGD simulation.)
func TestExactDiscreteIsTheChain(t *testing.T) {
	dir := t.TempDir()
	env := run.Env{Cache: run.Cache{Dir: dir}}
	c := PaperEscape("quick")
	c.Betas, c.Runs, c.Grid, c.Sampling = []float64{5, 6}, 20, 501, IID
	r, err := Escape(context.Background(), env, c)
	if err != nil {
		t.Fatal(err)
	}
	d, ls := draw(t, 1)
	var xs, ys []float64
	for _, p := range r.Result.Points {
		ch, err := Chain(d, ls, p.Eta, 1)
		if err != nil {
			t.Fatal(err)
		}
		e, err := ch.Rate(ls.ThetaStar, exitchain.Options{NoCheck: true})
		if err != nil {
			t.Fatal(err)
		}
		if float64(p.KappaDiscrete) != e.Kappa || p.Reasons["kappa_exact_discrete"] != "" {
			t.Errorf("β = %g: κ_exact %v, exitchain %v (reason %q)", p.Beta, p.KappaDiscrete, e.Kappa, p.Reasons["kappa_exact_discrete"])
		}
		xs, ys = append(xs, p.Beta), append(ys, math.Log(e.Kappa))
	}
	l, _ := estimate.WeightedLine(xs, ys, []float64{1, 1})
	if math.Abs(float64(r.Result.SlopeDiscrete)-l.Slope) > 1e-12 {
		t.Errorf("slope %v, want %v", r.Result.SlopeDiscrete, l.Slope)
	}
	if pieces, _ := filepath.Glob(filepath.Join(dir, "barrier_escape-exact-discrete", "*.json")); len(pieces) != 2 {
		t.Errorf("%d cached exact-discrete pieces, want one per β", len(pieces))
	}
	// The epoch sweep of the same data set reuses them.
	c.Sampling = Epoch
	r2, err := Escape(context.Background(), env, c)
	if err != nil || r2.Result.Points[1].KappaDiscrete != r.Result.Points[1].KappaDiscrete {
		t.Errorf("epoch sweep: %v, κ_exact %v", err, r2.Result.Points[1].KappaDiscrete)
	}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"n = 2", func(c *Config) { c.Helix.Dim = 2 }, "one-dimensional"},
		{"gauss", func(c *Config) { c.Dynamics = Gauss }, "another dynamics"},
		{"gld", func(c *Config) { c.Dynamics = GLD }, "another dynamics"},
	} {
		x := c
		x.Betas, x.Runs = []float64{6}, 5
		tc.mod(&x)
		r, err := Escape(context.Background(), run.Env{}, x)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		p := r.Result.Points[0]
		if !math.IsNaN(float64(p.KappaDiscrete)) || !strings.Contains(p.Reasons["kappa_exact_discrete"], tc.want) {
			t.Errorf("%s: κ_exact %v, reason %q", tc.name, p.KappaDiscrete, p.Reasons["kappa_exact_discrete"])
		}
	}
}

// A chain grid too coarse for the step is an input error of one line
// naming chain-grid, before any run is simulated.
func TestCoarseChainGridIsBadInput(t *testing.T) {
	c := PaperEscape("quick")
	c.Betas, c.Runs, c.Grid, c.ChainGrid = []float64{6}, 10, 501, 11
	_, err := Escape(context.Background(), run.Env{}, c)
	if err == nil || !run.IsBadInput(err) || !strings.Contains(err.Error(), "chain-grid = 11") || !strings.Contains(err.Error(), "too coarse") || strings.Contains(err.Error(), "\n") {
		t.Errorf("coarse chain grid: %v (bad input: %v)", err, run.IsBadInput(err))
	}
	c.ChainGrid = exitchain.MaxPoints + 1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "chain-grid") {
		t.Errorf("chain grid beyond the solver: %v", err)
	}
}

func smallDraws() DrawsConfig {
	c := PaperDraws("quick")
	c.Seeds, c.Betas, c.Runs, c.Grid, c.BetaFix, c.Ns = []int{1, 2}, []float64{4, 5}, 30, 501, 4, []int{1, 2}
	return c
}

// Each draw is the barrier experiment itself for its seed (the same
// numbers as Escape), addressed by seed and n; the exit times are left out
// of the composite; a second run comes from the cache, also after the
// composite's own pieces of one draw are gone.
func TestDrawsArePiecesOfEscape(t *testing.T) {
	dir := t.TempDir()
	env := run.Env{Cache: run.Cache{Dir: dir}}
	c := smallDraws()
	r, err := Draws(context.Background(), env, c)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Result.Seeds(); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("seeds %v", got)
	}
	d2, ok := r.Result.Draw(2)
	if !ok || len(d2.AtN) != 2 || d2.SortedNs()[1] != 2 {
		t.Fatalf("draw 2: %v %+v", ok, d2.AtN)
	}
	x := c.Config
	x.Helix.Seed, x.Sampling = 2, IID
	e, err := Escape(context.Background(), run.Env{}, x)
	if err != nil {
		t.Fatal(err)
	}
	if !e.FromCache && (e.Result.SlopeFit != d2.IID.SlopeFit || e.Result.Points[1].Kappa != d2.IID.Points[1].Kappa || e.Result.SlopeDiscrete != d2.IID.SlopeDiscrete) {
		t.Errorf("draw 2's i.i.d. sweep differs from barrier -seed 2 -sampling iid: %v vs %v", d2.IID.SlopeFit, e.Result.SlopeFit)
	}
	if len(d2.SGD.Points[0].Times) != 0 || d2.AtN[2].Landscape.N != 2 {
		t.Errorf("exit times kept (%d) or n = 2 part wrong (%d)", len(d2.SGD.Points[0].Times), d2.AtN[2].Landscape.N)
	}
	if _, ok := r.Result.Draw(3); ok {
		t.Error("seed 3 was not drawn")
	}
	whole, _ := filepath.Glob(filepath.Join(dir, "barrier_escape", "*.json"))
	if len(whole) != 2*(2+2) {
		t.Errorf("%d cached parts, want 8 (2 seeds × (epoch, i.i.d., n = 1, n = 2))", len(whole))
	}
	for _, f := range whole[:3] {
		os.Remove(f)
	}
	r2, err := Draws(context.Background(), env, c)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := r2.Result.Draw(1); d.SGD.SlopeFit != r.Result.Draws[0].SGD.SlopeFit || d.AtN[2].Points[0].Kappa != r.Result.Draws[0].AtN[2].Points[0].Kappa {
		t.Error("the resumed composite differs")
	}
	r3, _ := Draws(context.Background(), env, c)
	if !r3.FromCache {
		t.Error("a third run should come from the cache entirely")
	}
}

func TestDrawsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*DrawsConfig)
		want string
	}{
		{"no seeds", func(c *DrawsConfig) { c.Seeds = nil }, "seeds"},
		{"seed twice", func(c *DrawsConfig) { c.Seeds = []int{1, 2, 1} }, "listed twice"},
		{"negative seed", func(c *DrawsConfig) { c.Seeds = []int{-1} }, "negative"},
		{"one beta", func(c *DrawsConfig) { c.Betas = []float64{6} }, "two β"},
		{"n twice", func(c *DrawsConfig) { c.Ns = []int{1, 1} }, "listed twice"},
		{"no ns", func(c *DrawsConfig) { c.Ns = nil }, "ns"},
		{"beta-fix", func(c *DrawsConfig) { c.BetaFix = math.Inf(1) }, "beta-fix"},
		{"n > 1 sweep", func(c *DrawsConfig) { c.Helix.Dim = 2 }, "one-dimensional"},
		{"part invalid", func(c *DrawsConfig) { c.Ns = []int{1, 2000} }, "n = 2000"},
		{"runs", func(c *DrawsConfig) { c.Runs = 0 }, "runs"},
	} {
		c := smallDraws()
		tc.mod(&c)
		_, err := Draws(context.Background(), run.Env{}, c)
		if err == nil || !run.IsBadInput(err) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v (want one line with %q)", tc.name, err, tc.want)
		}
	}
	// A draw whose data set has no barrier names its seed.
	c := smallDraws()
	c.Helix.C = 3
	if _, err := Draws(context.Background(), run.Env{}, c); err == nil || !run.IsBadInput(err) || !strings.Contains(err.Error(), "seed 1") || !strings.Contains(err.Error(), "no saddle") {
		t.Errorf("no barrier: %v", err)
	}
}
