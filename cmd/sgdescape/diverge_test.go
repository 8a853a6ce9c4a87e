package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/data"
)

// TestNetworkDivergenceIsFlagged runs every network command at a learning
// rate that blows training up and checks that the result says so, in JSON
// and in text, instead of reporting numbers.
func TestNetworkDivergenceIsFlagged(t *testing.T) {
	for _, set := range []string{data.MNIST, data.Fashion} {
		if !data.SetStatus(data.Dir(), set).Usable {
			t.Skipf("%s is not present (make data)", set)
		}
	}
	t.Setenv("SGDESCAPE_CACHE", t.TempDir())
	for _, c := range []struct {
		args []string
		key  string
	}{
		{[]string{"decoupling", "-data", "mnist", "-N", "100", "-widths", "10", "-eta", "3", "-B", "10", "-epochs", "0,2"}, "diverged"},
		{[]string{"decoupling", "-data", "mnist", "-N", "20", "-widths", "5", "-eta", "1000", "-B", "5", "-epochs", "0,2"}, "diverged"},
		{[]string{"noise", "-data", "fashion-mnist", "-widths", "10", "-N", "200", "-B", "10", "-epochs", "6", "-every", "1", "-eta", "100", "-loss", "ce"}, "diverged"},
		{[]string{"noise", "-data", "fashion-mnist", "-widths", "5", "-N", "20", "-B", "5", "-epochs", "5", "-every", "1", "-eta", "1000"}, "diverged"},
		{[]string{"spectrum", "-N", "20", "-widths", "5", "-pretrain-B", "5", "-pretrain-epochs", "5", "-check-every", "1", "-window", "2", "-pretrain-eta", "1000"}, "diverged"},
		{[]string{"fpt", "-model", "mlp", "-N", "20", "-widths", "2", "-pretrain-epochs", "5", "-check-every", "1", "-window", "2", "-pretrain-B", "5",
			"-pretrain-eta", "1000", "-allow-nonstationary", "-runs", "3", "-c", "1.5,2"}, "pretrain_diverged"},
		{[]string{"fpt", "-model", "mlp", "-N", "200", "-widths", "5", "-pretrain-B", "20", "-pretrain-epochs", "20", "-check-every", "5",
			"-allow-nonstationary", "-eta", "100", "-B", "1", "-runs", "4", "-c", "1.5,2"}, "diverged"},
	} {
		code, out, errs := call(append(c.args, "-json")...)
		var v map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", c.args, code, out, lastLine(errs))
			continue
		}
		if r, ok := v["result"].(map[string]any); ok { // {"result": …, "provenance": …}
			v = r
		}
		switch d := v[c.key].(type) {
		case bool:
			if !d {
				t.Errorf("%v: %s = false", c.args, c.key)
			}
		case float64:
			if d == 0 {
				t.Errorf("%v: %s = 0", c.args, c.key)
			}
		default:
			t.Errorf("%v: no %s in %q", c.args, c.key, out)
		}
		if code, out, _ := call(c.args...); code != 0 || !strings.Contains(out, "DIVERGED") || !strings.Contains(out, "zero-output loss") {
			t.Errorf("%v: text output not flagged with the rule: %q", c.args, out)
		}
	}
}

// TestTinyStepRefusedUpFront: an SDE step so small that the samples span
// no relaxation time is refused before work, naming dt.
func TestTinyStepRefusedUpFront(t *testing.T) {
	code, _, errs := call("stationary", "-dynamics", "sde4", "-dt", "1e-320", "-samples", "200")
	if code != 2 || !strings.Contains(errs, "dt = 1e-320") || !strings.Contains(errs, "relaxation times") {
		t.Errorf("exit %d, %q", code, lastLine(errs))
	}
}

// TestNoEstimateIsNullWithReason: a linear-regression run that diverges, or
// whose steps never move θ off the minimum, reports its estimates as null
// with the reason in JSON and in text — never a slope or φ of 0 [0, 0] and
// never an exit after the work.
func TestNoEstimateIsNullWithReason(t *testing.T) {
	t.Setenv("SGDESCAPE_CACHE", t.TempDir())
	for _, c := range []struct {
		args         []string
		null, reason string // a path that must be null, the member holding the reason
		text         string
	}{
		{[]string{"fpt", "-eta", "5", "-N", "100", "-runs", "5", "-boot", "10", "-maxsteps", "10000"}, "fit.loglog.slope", "fit_note", "DIVERGED"},
		{[]string{"stationary", "-dynamics", "gld", "-gld-hstar", "1e-320", "-samples", "200"}, "fit.phi_mle", "reason", "NO ESTIMATE"},
	} {
		code, out, errs := call(append(c.args, "-json")...)
		var v struct {
			Result    map[string]any `json:"result"`
			NonFinite []string       `json:"non_finite"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
			t.Errorf("%v: exit %d, stderr %q", c.args, code, lastLine(errs))
			continue
		}
		var x any = v.Result
		for _, k := range strings.Split(c.null, ".") {
			m, _ := x.(map[string]any)
			x = m[k]
		}
		if x != nil {
			t.Errorf("%v: %s = %v, want null", c.args, c.null, x)
		}
		if s, _ := v.Result[c.reason].(string); s == "" || !strings.Contains(strings.Join(v.NonFinite, " "), "result."+c.null) {
			t.Errorf("%v: no reason in %s (%q) or %s not listed in non_finite %v", c.args, c.reason, s, c.null, v.NonFinite)
		}
		if code, out, _ := call(c.args...); code != 0 || !strings.Contains(out, c.text) {
			t.Errorf("%v: exit %d, text not flagged %q: %q", c.args, code, c.text, out)
		}
	}
}
