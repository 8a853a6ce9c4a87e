package suite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/experiment"
	"github.com/sgdescape/sgdescape/pkg/linreg"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/registry"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/suite"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

// tiny is a two-notebook suite of cheap experiments.
var tiny = []suite.Figure{{"00_theory", []string{"theory-curves"}}, {"x", []string{"stationary"}}}

func items(t *testing.T, set string) []suite.Item {
	t.Helper()
	st, err := param.ParseSettings(set)
	if err != nil {
		t.Fatal(err)
	}
	its, err := suite.Items(registry.All(), tiny, run.Quick, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	return its
}

func envFor(experiment.Entry) (run.Env, func(), error) { return run.Env{}, func() {}, nil }

// The suite records every item, resumes without rerunning, and a record
// reads back as the experiment's own result (the same numbers as a direct
// run); a record of another configuration, an altered or a missing record
// is refused with a reason.
func TestSuiteRecordsAndResumes(t *testing.T) {
	dir := t.TempDir()
	set := "stationary.N=2000; stationary.samples=400; stationary.boot=20"
	its := items(t, set)
	var lines []string
	prog := func(k, n int, what, line string) { lines = append(lines, what+": "+line) }
	ran, err := suite.Run(context.Background(), its, dir, envFor, prog)
	if err != nil || ran != 2 {
		t.Fatalf("ran %d, %v", ran, err)
	}
	if ran, err = suite.Run(context.Background(), its, dir, envFor, prog); err != nil || ran != 0 {
		t.Errorf("second run: ran %d (%v), want 0: every record is present", ran, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		t.Error("no manifest")
	}
	rec, err := suite.Load(dir, its[1])
	if err != nil {
		t.Fatal(err)
	}
	var got linreg.StationaryResult
	if _, err := rec.Outcome(&got); err != nil {
		t.Fatal(err)
	}
	direct, err := linreg.Stationary(context.Background(), run.Env{}, *its[1].Instance.Config.(*linreg.StationaryConfig))
	if err != nil {
		t.Fatal(err)
	}
	if got.Fit.MLE != direct.Result.Fit.MLE || got.Fit.MLE == 0 {
		t.Errorf("recorded φ %v, direct %v", got.Fit.MLE, direct.Result.Fit.MLE)
	}
	var th theory.CurvesResult
	rec0, _ := suite.Load(dir, its[0])
	if _, err := rec0.Outcome(&th); err != nil || th.Summary.Phi != 11 {
		t.Errorf("theory record: φ = %v, %v", th.Summary.Phi, err)
	}
	// Another configuration: refused, naming what differs.
	other := items(t, set+"; stationary.eta=0.05")
	if _, err := suite.Load(dir, other[1]); !errors.Is(err, suite.ErrNoRecord) || !strings.Contains(err.Error(), "eta") {
		t.Errorf("another configuration: %v", err)
	}
	// Altered after it was written: refused.
	files, _ := filepath.Glob(filepath.Join(dir, "stationary", "*.json"))
	b, _ := os.ReadFile(files[0])
	os.WriteFile(files[0], []byte(strings.Replace(string(b), `"phi_theory"`, `"phi_theory_x"`, 1)), 0o644)
	if _, err := suite.Load(dir, its[1]); err == nil || !strings.Contains(err.Error(), "altered") {
		t.Errorf("altered record: %v", err)
	}
	// Damaged: refused, and the suite reruns it.
	os.WriteFile(files[0], b[:len(b)/2], 0o644)
	if _, err := suite.Load(dir, its[1]); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged record: %v", err)
	}
	if ran, err = suite.Run(context.Background(), its, dir, envFor, prog); err != nil || ran != 1 {
		t.Errorf("rerun after damage: ran %d, %v", ran, err)
	}
}

// Every experiment of the paper suite is registered, with a preset that
// passes its checks at both scales.
func TestFiguresRegistered(t *testing.T) {
	for _, s := range []run.Scale{run.Quick, run.Paper} {
		if _, err := suite.Items(registry.All(), suite.Figures, s, nil, nil); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := suite.Items(registry.All(), suite.Figures, run.Quick, nil, []string{"99_nothing"}); err == nil {
		t.Error("-only of an unknown notebook accepted")
	}
}
