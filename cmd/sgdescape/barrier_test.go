package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// barrierJSON runs a barrier-family command with -json and decodes its
// result; it fails the test on a non-zero exit.
func barrierJSON(t *testing.T, args ...string) (map[string]any, []string, string) {
	t.Helper()
	code, out, errs := call(append(args, "-json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errs)
	}
	var env struct {
		Result     map[string]any `json:"result"`
		Provenance map[string]any `json:"provenance"`
		NonFinite  []string       `json:"non_finite"`
	}
	if err := json.Unmarshal([]byte(out), &env); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if env.Provenance["cache_key"] == nil || env.Provenance["backend"] != "native-go" {
		t.Errorf("%v: provenance incomplete: %v", args, env.Provenance)
	}
	return env.Result, env.NonFinite, errs
}

func TestBarrierJSONHasTheIssueFields(t *testing.T) {
	t.Setenv("SGDESCAPE_CACHE", t.TempDir())
	got, _, _ := barrierJSON(t, "barrier", "-model", "helix", "-n", "1", "-N", "1000", "-seed", "1", "-B", "1", "-beta", "5,6", "-runs", "30", "-grid", "501")
	for _, k := range []string{"landscape", "points", "slope_fit", "slope_ci", "slope_powerlaw", "slope_arrhenius", "slope_exact_diffusion", "slope_large_deviation", "slope_exact_discrete"} {
		if _, ok := got[k]; !ok {
			t.Errorf("missing %q", k)
		}
	}
	ls := got["landscape"].(map[string]any)
	for _, k := range []string{"theta_star", "theta_saddle", "L_star", "L_saddle", "h_star", "h_saddle"} {
		if _, ok := ls[k].(float64); !ok {
			t.Errorf("landscape.%s missing", k)
		}
	}
	pts := got["points"].([]any)
	if len(pts) != 2 {
		t.Fatalf("%d points", len(pts))
	}
	for _, k := range []string{"beta", "eta", "kappa", "kappa_se", "kappa_ci", "kappa_upper_95", "status", "cv", "kappa_powerlaw", "kappa_arrhenius",
		"kappa_exact_diffusion", "kappa_large_deviation", "kappa_exact_discrete", "escaped", "censored", "censored_fraction", "diverged"} {
		if _, ok := pts[0].(map[string]any)[k]; !ok {
			t.Errorf("points[0] misses %q", k)
		}
	}
	if ci := got["slope_ci"].([]any); len(ci) != 2 || ci[0] == nil {
		t.Errorf("slope_ci %v", ci)
	}
}

func TestNcritJSON(t *testing.T) {
	t.Setenv("SGDESCAPE_CACHE", t.TempDir())
	got, _, _ := barrierJSON(t, "ncrit", "-P", "2,30", "-N", "2000", "-chains", "2", "-steps", "20000", "-every", "2")
	pts := got["points"].([]any)
	if len(pts) != 2 {
		t.Fatalf("%v", got)
	}
	for _, k := range []string{"tail_index", "tail_ci", "tail_theory", "tail_kesten", "exceed_1e2", "exceed_1e4", "diverged"} {
		if _, ok := pts[0].(map[string]any)[k]; !ok {
			t.Errorf("missing %q", k)
		}
	}
	hi := pts[1].(map[string]any)
	if hi["diverged"].(float64) != 2 || hi["tail_index"] != nil || hi["reasons"].(map[string]any)["tail_index"] == nil {
		t.Errorf("P = 30 should diverge in both chains and give no tail index, with a reason: %v", hi)
	}
}

// Finding 6 and the class behind it: settings that cannot give a result are
// refused before any work (exit 2, one line naming the parameter); the
// others give a result, never an exit 1 after the work.
func TestBarrierAndNcritBadInput(t *testing.T) {
	t.Setenv("SGDESCAPE_CACHE", t.TempDir())
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"barrier", "-beta", "0"}, "beta"},
		{[]string{"barrier", "-beta", "-3"}, "beta"},
		{[]string{"barrier", "-beta", "7,,9"}, "beta"},
		{[]string{"barrier", "-beta", "7,"}, "beta"},
		{[]string{"barrier", "-beta", "NaN"}, "beta"},
		{[]string{"barrier", "-beta", "Inf"}, "beta"},
		{[]string{"barrier", "-beta", "x"}, "beta"},
		{[]string{"barrier", "-beta", "1e-320"}, "beta"},
		{[]string{"barrier", "-runs", "0"}, "runs"},
		{[]string{"barrier", "-n", "0"}, "n"},
		{[]string{"barrier", "-B", "0"}, "B"},
		{[]string{"barrier", "-B", "1000"}, "B"},
		{[]string{"barrier", "-N", "3"}, "N"},
		{[]string{"barrier", "-N", "1000000000000"}, "N"},
		{[]string{"barrier", "-sigma", "NaN"}, "sigma"},
		{[]string{"barrier", "-R", "0"}, "R"},
		{[]string{"barrier", "-c", "-Inf"}, "c"},
		{[]string{"barrier", "-c", "3", "-grid", "501"}, ""}, // no saddle: found after drawing the data, still an input error
		{[]string{"barrier", "-model", "mlp"}, "model"},
		{[]string{"barrier", "-sampling", "sobol"}, "sampling"},
		{[]string{"barrier", "-dynamics", "heun"}, "dynamics"},
		{[]string{"barrier", "-dynamics", "gauss", "-n", "2"}, "n"},
		{[]string{"barrier", "-maxsteps", "0"}, "maxsteps"},
		{[]string{"barrier", "-maxsteps", "1000000000000"}, "maxsteps"},
		{[]string{"barrier", "-chain-grid", "2"}, "chain-grid"},
		{[]string{"barrier", "-chain-grid", "11", "-beta", "6,7", "-runs", "5", "-grid", "501"}, "chain-grid"}, // too coarse for the step: found by the exact chain, before any run
		{[]string{"barrier-draws", "-seeds", "1,1"}, "seeds"},
		{[]string{"barrier-draws", "-seeds", ""}, "seeds"},
		{[]string{"barrier-draws", "-beta", "6"}, "beta"},
		{[]string{"barrier-draws", "-ns", "1,2000"}, "n"},
		{[]string{"barrier-draws", "-c", "3", "-grid", "501", "-seeds", "4", "-runs", "5"}, "seed"}, // no saddle on draw 4
		{[]string{"fpt-draws", "-pretrain-seeds", "1,1"}, "pretrain-seeds"},
		{[]string{"barrier-lab", "-Bs", "1,1"}, "Bs"},
		{[]string{"barrier-lab", "-dynamics", "gld"}, "dynamics"},
		{[]string{"ncrit", "-eta", "0"}, "eta"},
		{[]string{"ncrit", "-eta", "NaN"}, "eta"},
		{[]string{"ncrit", "-eta", "Inf"}, "eta"},
		{[]string{"ncrit", "-eta", "1e-320"}, "eta"},
		{[]string{"ncrit", "-P", "4", "-N", "50", "-B", "50"}, "B"},
		{[]string{"ncrit", "-P", "4", "-N", "4"}, "N"},
		{[]string{"ncrit", "-P", "4,,8"}, "P"},
		{[]string{"ncrit", "-P", "4.5"}, "P"},
		{[]string{"ncrit", "-P", "0"}, "P"},
		{[]string{"ncrit", "-chains", "1"}, "chains"},
		{[]string{"ncrit", "-tail-frac", "0.7"}, "tail-frac"},
		{[]string{"ncrit", "-steps", "1000000000000000"}, "steps"},
		{[]string{"ncrit", "-burn", "1000000000000"}, "burn"},
		{[]string{"ncrit", "-B", "0"}, "B"},
	} {
		assertRefused(t, tc.args, tc.flag)
	}
}

// Finding 1: an unwritable cache (here a file where the folder should be;
// a read-only folder is the same case for any user but root) gives a
// warning and the result all the same.
func TestBarrierUnwritableCacheStillPrintsTheResult(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file} {
		t.Setenv("SGDESCAPE_CACHE", dir)
		for _, args := range [][]string{
			{"barrier", "-beta", "5", "-runs", "5", "-grid", "501"},
			{"ncrit", "-P", "2", "-N", "500", "-chains", "2", "-steps", "20000", "-burn", "100"},
		} {
			code, out, errs := call(args...)
			if code != 0 || out == "" || !strings.Contains(errs, "cache") {
				t.Errorf("%v with cache %s: exit %d, stdout %q, stderr %q", args, dir, code, out, errs)
			}
		}
	}
}

// Finding 4: the 1-D grid phase (minutes for a fine grid on a large data
// set) reports its progress.
func TestBarrierGridPhaseReportsProgress(t *testing.T) {
	t.Setenv("SGDESCAPE_CACHE", t.TempDir())
	code, _, errs := call("barrier", "-grid", "2001", "-runs", "1", "-maxsteps", "1", "-beta", "5,6")
	if code != 0 || !strings.Contains(errs, "1-D grid of 2001 points") {
		t.Errorf("exit %d, progress %q", code, errs)
	}
}

// Findings 5 and 7: an undefined number is null in JSON, named on stderr
// and under "non_finite", and carries a reason; a point where no run
// escapes within maxsteps is a result (status "slower", a bound on κ),
// shown as "< bound" in the table.
func TestBarrierUndefinedNumbersAndCensoredPoints(t *testing.T) {
	t.Setenv("SGDESCAPE_CACHE", t.TempDir())
	args := []string{"barrier", "-N", "50", "-runs", "3", "-maxsteps", "1000", "-beta", "12,14,16,20", "-grid", "1001"}
	got, nonFinite, errs := barrierJSON(t, args...)
	if !strings.Contains(errs, "not a finite number") || !strings.Contains(strings.Join(nonFinite, " "), "result.points[1].kappa") {
		t.Errorf("undefined numbers not named: stderr %q, non_finite %v", errs, nonFinite)
	}
	for i, p := range got["points"].([]any) {
		pt := p.(map[string]any)
		reasons, _ := pt["reasons"].(map[string]any)
		if pt["status"] != "slower" || pt["kappa"] != nil || reasons["kappa"] == nil || !(pt["kappa_upper_95"].(float64) > 0) {
			t.Errorf("point %d: %v", i, pt)
		}
		if pt["kappa_large_deviation"] == nil && reasons["kappa_large_deviation"] == nil {
			t.Errorf("point %d: κ_LD null without a reason", i)
		}
	}
	code, out, _ := call(args...)
	if code != 0 || !strings.Contains(out, "none escaped") || !strings.Contains(out, "note: β = 12: kappa: no run escaped") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
}
