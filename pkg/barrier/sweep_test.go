package barrier_test

import (
	"context"
	"io"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/barrier"
	"github.com/sgdescape/sgdescape/pkg/experiment"
	"github.com/sgdescape/sgdescape/pkg/registry"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/sweep"
)

// The Slurm route: a sweep of barrier-draws over single seeds (one array
// task per draw) run against a shared cache fills exactly the pieces the
// composite over every seed reads, so the composite then comes from the
// cache entirely.
func TestSweepOverSeedsFillsTheComposite(t *testing.T) {
	cache := run.Cache{Dir: t.TempDir()}
	spec, err := sweep.Parse([]byte(`{"experiment": "barrier-draws",
		"base": {"beta": "4,5", "runs": 30, "grid": 501, "beta-fix": 4, "ns": "1,2"},
		"axes": {"seeds": [1, 2]}}`))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := sweep.NewPlan(spec, registry.All(), 0)
	if err != nil {
		t.Fatal(err)
	}
	env := func(experiment.Entry) (run.Env, func(), error) { return run.Env{Cache: cache}, func() {}, nil }
	st := sweep.Store{Dir: t.TempDir()}
	for i := range plan.Tasks {
		if _, err := sweep.RunTask(context.Background(), plan, st, i, env, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	c := barrier.PaperDraws(run.Quick)
	c.Seeds, c.Betas, c.Runs, c.Grid, c.BetaFix, c.Ns = []int{1, 2}, []float64{4, 5}, 30, 501, 4, []int{1, 2}
	r, err := barrier.Draws(context.Background(), run.Env{Cache: cache}, c)
	if err != nil {
		t.Fatal(err)
	}
	if !r.FromCache {
		t.Error("the composite over both seeds recomputed pieces the single-seed tasks had cached")
	}
}
