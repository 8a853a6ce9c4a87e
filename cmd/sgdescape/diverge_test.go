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
