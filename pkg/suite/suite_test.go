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

// A record made by another code version of an experiment that declares its
// version (experiment.Def.Version) is refused in one line naming both
// versions, and the suite recomputes it; without a declared version the
// record is read as before.
func TestRecordOfAnotherCodeVersionIsRefused(t *testing.T) {
	entry := func(version string) experiment.Entry {
		return experiment.Define(experiment.Def[theory.Inputs, theory.Summary]{Name: "theory", Summary: "closed forms", Native: "closed form", Preset: theory.Example, Version: version,
			Run: func(ctx context.Context, env run.Env, in theory.Inputs) (run.Result[theory.Summary], error) {
				r, err := theory.Evaluate(ctx, env, in)
				r.CodeVersion = "v1"
				return r, err
			}})
	}
	item := func(e experiment.Entry) []suite.Item {
		return []suite.Item{{Notebook: "00_theory", Instance: e.New(run.Quick)}}
	}
	dir := t.TempDir()
	quiet := func(int, int, string, string) {}
	if ran, err := suite.Run(context.Background(), item(entry("v1")), dir, envFor, quiet); err != nil || ran != 1 {
		t.Fatalf("ran %d, %v", ran, err)
	}
	if _, err := suite.Load(dir, item(entry("v1"))[0]); err != nil {
		t.Errorf("same version: %v", err)
	}
	if _, err := suite.Load(dir, item(entry(""))[0]); err != nil {
		t.Errorf("no declared version: %v", err)
	}
	_, err := suite.Load(dir, item(entry("v2"))[0])
	if err == nil || !strings.Contains(err.Error(), `code version "v1"`) || !strings.Contains(err.Error(), `"v2"`) || strings.Contains(err.Error(), "\n") {
		t.Errorf("another code version: %v", err)
	}
	if ran, err := suite.Run(context.Background(), item(entry("v2")), dir, envFor, quiet); err != nil || ran != 1 {
		t.Errorf("the suite did not recompute the stale record: ran %d, %v", ran, err)
	}
}

// -only keeps exactly the notebooks and experiments it names.
func TestOnly(t *testing.T) {
	for _, c := range []struct {
		only []string
		want string
	}{{[]string{"ncrit"}, "ncrit"}, {[]string{"theory-curves", "whatif"}, "theory-curves whatif"}, {[]string{"04_escape"}, "fpt-grid fpt-dynamics fpt fpt-draws"}} {
		its, err := suite.Items(registry.All(), suite.Figures, run.Quick, nil, c.only)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range its {
			got = append(got, it.Name())
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("-only %v: %v, want %s", c.only, got, c.want)
		}
	}
}

// TestUnknownSettingsRefused: a -set naming no experiment, or a parameter
// no experiment declares, is refused before any work (a typo never silently
// does nothing); a known one is accepted.
func TestUnknownSettingsRefused(t *testing.T) {
	for _, c := range []struct {
		set, want string
	}{
		{"x=1", `no experiment has a parameter "x"`},
		{"bogus.eta=1", `no experiment "bogus"`},
		{"fpt.etaa=1", `fpt has no parameter "etaa"`},
		{"fpt.eta=0.05", ""},
	} {
		var out, errs strings.Builder
		err := suite.Command(context.Background(), registry.All(), suite.Options{Out: t.TempDir(), List: true, Set: c.set, Scale: run.Quick}, envFor, &out, &errs)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("-set %s: %v", c.set, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !run.IsBadInput(err)):
			t.Errorf("-set %s: error %v, want a bad-input error containing %q", c.set, err, c.want)
		}
	}
}

// TestBadOutAndItemRefusedUpFront: -out naming a file and an -item out of
// range are refused before anything runs, with -list too.
func TestBadOutAndItemRefusedUpFront(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, []byte("x"), 0o644)
	for _, o := range []suite.Options{
		{Out: file, List: true}, {Out: file, Only: "00_theory"},
		{Out: t.TempDir(), List: true, Item: "abc"}, {Out: t.TempDir(), List: true, Item: "-1"}, {Out: t.TempDir(), Item: "99"},
	} {
		o.Scale = run.Quick
		var out, errs strings.Builder
		if err := suite.Command(context.Background(), registry.All(), o, envFor, &out, &errs); err == nil || !run.IsBadInput(err) {
			t.Errorf("%+v: %v, want a bad-input error", o, err)
		}
	}
}
