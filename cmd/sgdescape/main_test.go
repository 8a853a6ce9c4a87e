package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// call runs the CLI in-process and returns exit status, stdout and stderr.
func call(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := runMain(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestTheoryJSON(t *testing.T) {
	code, out, errs := call("theory", "-B", "1", "-eta", "0.1", "-hstar", "1", "-hs", "1", "-n", "10", "-Lstar", "0.5", "-Ls", "1", "-json")
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
	got := env.Result
	want := map[string]float64{
		"phi": 11, "n_c": 22, "exponent": 6,
		"kappa_powerlaw":  1 / (128 * math.Pi),
		"kappa_arrhenius": math.Exp(-10) / (2 * math.Pi),
	}
	for k, v := range want {
		g, ok := got[k].(float64)
		if !ok || math.Abs(g-v) > 1e-12*math.Max(1, v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for _, k := range []string{"config", "git_revision", "wall_seconds", "cache_key"} {
		if _, ok := env.Provenance[k]; !ok {
			t.Errorf("no %s in the provenance", k)
		}
	}
}

func TestBadInputIsOneLineAndNonZero(t *testing.T) {
	for _, args := range [][]string{
		{"theory", "-eta", "0"},
		{"theory", "-eta", "-1"},
		{"theory", "-B", "0.5"},
		{"theory", "-n", "0"},
		{"theory", "-Lstar", "0"},
		{"theory", "-Lstar", "1", "-Ls", "0.5"},
		{"theory", "-bogus"},
		{"theory", "stray"},
		{"data", "-sets", "imagenet"},
		{"stationary", "-eta", "0"},
		{"stationary", "-every", "0"},
		{"stationary", "-B", "200", "-N", "100"},
		{"fpt", "-c", "1,2"},
		{"fpt", "-c", "0.5"},
		{"fpt", "-P", "0"},
		{"fpt", "-runs", "0"},
		{"fpt", "-dynamics", "heun"},
		{"fpt", "-model", "resnet"},
		{"decoupling", "-epochs", "5,1"},
		{"decoupling", "-data", "imagenet"},
		{"decoupling", "-B", "0"},
		{"noise", "-arch", "transformer"},
		{"noise", "-loss", "hinge"},
		{"noise", "-arch", "cnn", "-data", "mnist"},
		{"noise", "-B", "5000", "-N", "100"},
		{"noise", "-widths", "10,x"},
		{"nosuchcommand"},
	} {
		code, out, errs := call(args...)
		if code == 0 {
			t.Errorf("%v: exit 0", args)
		}
		if out != "" && !strings.HasPrefix(args[0], "data") {
			t.Errorf("%v: printed a result: %q", args, out)
		}
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "sgdescape") {
			t.Errorf("%v: error line %q", args, last)
		}
	}
}

func TestDataStatusExitCode(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := call("data", "-dir", dir, "-sets", "linreg", "-json")
	if code != 0 || !strings.Contains(out, `"usable": true`) {
		t.Errorf("linreg: exit %d, %s", code, out)
	}
	code, out, errs := call("data", "-dir", dir, "-sets", "mnist", "-json")
	if code == 0 || !strings.Contains(out, `"usable": false`) || !strings.Contains(errs, "make data") {
		t.Errorf("missing mnist: exit %d, %s %s", code, out, errs)
	}
}

// Every experiment command prints the same envelope with -json.
func TestEveryCommandHasTheSameEnvelope(t *testing.T) {
	t.Setenv("SGDESCAPE_CACHE", t.TempDir())
	for _, args := range [][]string{
		{"theory", "-json"},
		{"stationary", "-N", "200", "-samples", "400", "-every", "5", "-boot", "0", "-bins", "5", "-json"},
		{"fpt", "-N", "200", "-runs", "4", "-c", "1.2,1.5", "-maxsteps", "20000", "-boot", "10", "-json"},
	} {
		code, out, errs := call(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		_, nf := got["non_finite"] // present when the result has undefined numbers
		if len(got) != 2+map[bool]int{true: 1}[nf] || got["result"] == nil || got["provenance"] == nil {
			t.Errorf("%v: top-level keys %v", args, keys(got))
		}
		var prov map[string]any
		json.Unmarshal(got["provenance"], &prov)
		for _, k := range []string{"experiment", "code_version", "config", "seed", "backend", "plugin", "git_revision", "wall_seconds", "cache_key", "from_cache"} {
			if _, ok := prov[k]; !ok {
				t.Errorf("%v: provenance lacks %s", args, k)
			}
		}
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Flag defaults come from the presets at the chosen scale.
func TestDefaultsComeFromPresets(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"decoupling", "-h"}, "[0,50,500]"}, // quick scale uses the paper's stages
		{[]string{"noise", "-h"}, "[200,200,200 (paper: 2000,2000,2000)]"},
		{[]string{"noise", "-scale=paper", "-h"}, "(paper: 2000,2000,2000)"},
		{[]string{"spectrum", "-scale", "paper", "-h"}, "[2750]"},
		{[]string{"spectrum", "-h"}, "[10]"}, // -lanczos: notebook 05's preset
		{[]string{"fpt", "-model", "mlp", "-h"}, "[2.5,3,4,5,6]"},
		{[]string{"noise-panels", "-h"}, "[8,16,32 (paper: 64,128,256)]"},
	} {
		code, _, errs := call(c.args...)
		if code != 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, help lacks %s", c.args, code, c.want)
		}
	}
}
