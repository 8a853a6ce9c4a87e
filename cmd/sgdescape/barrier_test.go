package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func callBJ(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := runMain(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestBarrierJSONHasTheIssueFields(t *testing.T) {
	code, out, errs := callBJ("barrier", "-n", "1", "-N", "1000", "-seed", "1", "-B", "1", "-beta", "5,6", "-runs", "30", "-grid", "501", "-nocache", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var env struct {
		Result     map[string]any `json:"result"`
		Provenance map[string]any `json:"provenance"`
	}
	if err := json.Unmarshal([]byte(out), &env); err != nil {
		t.Fatal(err)
	}
	if env.Provenance["cache_key"] == nil || env.Provenance["backend"] == nil {
		t.Errorf("provenance incomplete: %v", env.Provenance)
	}
	got := env.Result
	for _, k := range []string{"landscape", "beta", "eta", "kappa", "kappa_se", "cv", "kappa_powerlaw", "kappa_arrhenius",
		"kappa_exact_diffusion", "kappa_large_deviation", "slope_fit", "slope_ci", "slope_powerlaw", "slope_arrhenius",
		"slope_exact_diffusion", "slope_large_deviation", "censored", "diverged"} {
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
	if k := got["kappa"].([]any); len(k) != 2 {
		t.Errorf("kappa has %d entries", len(k))
	}
	if ci := got["slope_ci"].([]any); len(ci) != 2 || ci[0] == nil {
		t.Errorf("slope_ci %v", ci)
	}
}

func TestNcritJSON(t *testing.T) {
	code, out, errs := callBJ("ncrit", "-P", "2,30", "-N", "2000", "-chains", "2", "-steps", "20000", "-every", "2", "-nocache", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Result struct {
			Points []map[string]any `json:"points"`
		} `json:"result"`
		Prov map[string]any `json:"provenance"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Result.Points) != 2 || got.Prov == nil {
		t.Fatalf("%s", out)
	}
	for _, k := range []string{"tail_index", "tail_ci", "tail_theory", "tail_kesten", "exceed_1e2", "exceed_1e4", "diverged"} {
		if _, ok := got.Result.Points[0][k]; !ok {
			t.Errorf("missing %q", k)
		}
	}
	if got.Result.Points[1]["diverged"].(float64) != 2 {
		t.Errorf("P = 30 should diverge in both chains: %v", got.Result.Points[1])
	}
}

func TestBarrierAndNcritBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"barrier", "-beta", "0"}, "-beta"},
		{[]string{"barrier", "-beta", "-3"}, "-beta"},
		{[]string{"barrier", "-beta", "7,,9"}, "empty"},
		{[]string{"barrier", "-beta", "7,"}, "empty"},
		{[]string{"barrier", "-beta", "NaN"}, "-beta"},
		{[]string{"barrier", "-beta", "Inf"}, "-beta"},
		{[]string{"barrier", "-beta", "x"}, "not a number"},
		{[]string{"barrier", "-runs", "0"}, "-runs"},
		{[]string{"barrier", "-n", "0"}, "-n"},
		{[]string{"barrier", "-B", "0"}, "-B"},
		{[]string{"barrier", "-N", "3"}, "N = 3"},
		{[]string{"barrier", "-N", "1000000000000"}, "memory"},
		{[]string{"barrier", "-sigma", "NaN"}, "-sigma"},
		{[]string{"barrier", "-R", "0"}, "-R"},
		{[]string{"barrier", "-c", "-Inf"}, "-c"},
		{[]string{"barrier", "-c", "3"}, "no saddle"},
		{[]string{"barrier", "-model", "mlp"}, "-model"},
		{[]string{"barrier", "-sampling", "sobol"}, "sampling"},
		{[]string{"barrier", "-dynamics", "heun"}, "dynamics"},
		{[]string{"barrier", "-dynamics", "gauss", "-n", "2"}, "n = 1"},
		{[]string{"barrier", "-max-steps", "0"}, "-max-steps"},
		{[]string{"ncrit", "-eta", "0"}, "-eta"},
		{[]string{"ncrit", "-eta", "NaN"}, "-eta"},
		{[]string{"ncrit", "-eta", "Inf"}, "-eta"},
		{[]string{"ncrit", "-P", "4,,8"}, "empty"},
		{[]string{"ncrit", "-P", "4.5"}, "integer"},
		{[]string{"ncrit", "-P", "0"}, "integer"},
		{[]string{"ncrit", "-chains", "1"}, "chains"},
		{[]string{"ncrit", "-tail-frac", "0.7"}, "-tail-frac"},
		{[]string{"ncrit", "-steps", "1000000000000000"}, "exceeds"},
		{[]string{"ncrit", "-B", "0"}, "batch"},
	} {
		code, out, errs := callBJ(tc.args...)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		last := lines[len(lines)-1]
		if code != 2 || out != "" || !strings.HasPrefix(last, "sgdescape") || !strings.Contains(last, tc.want) {
			t.Errorf("%v: exit %d, out %q, last error line %q (want %q)", tc.args, code, out, last, tc.want)
		}
	}
}
