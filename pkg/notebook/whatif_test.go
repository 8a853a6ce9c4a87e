package notebook

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestKnobMapsPositionsToValues(t *testing.T) {
	lin := Knob{Label: "x", Min: -1, Max: 3, Steps: 4}
	logk := Knob{Label: "B/η", Min: 1, Max: 1000, Steps: 3, Log: true}
	intk := Knob{Label: "n", Min: 1, Max: 30, Steps: 29, Integer: true}
	opts := Knob{Label: "η", Options: []string{"0.01", "0.1", "1"}}
	cases := []struct {
		k    Knob
		pos  int
		want float64
	}{
		{lin, 0, -1}, {lin, 1, 0}, {lin, 4, 3},
		{lin, -7, -1}, {lin, 1 << 40, 3}, // clamped, as a browser may send anything
		{logk, 0, 1}, {logk, 1, 10}, {logk, 2, 100}, {logk, 3, 1000}, {logk, 99, 1000},
		{intk, 0, 1}, {intk, 9, 10}, {intk, 29, 30}, {intk, 31, 30},
		{opts, 2, 2}, {opts, -1, 0}, {opts, 5, 2},
	}
	for _, c := range cases {
		if got := c.k.At(c.pos); math.Abs(got-c.want) > 1e-9*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s.At(%d) = %v, want %v", c.k.Label, c.pos, got, c.want)
		}
	}
	// Position inverts At and clamps values outside the range, NaN and ±Inf included.
	for _, k := range []Knob{lin, logk, intk, opts} {
		for p := 0; p <= k.Positions(); p++ {
			if got := k.Position(k.At(p)); got != p {
				t.Errorf("%s: Position(At(%d)) = %d", k.Label, p, got)
			}
		}
		for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1e300, 1e300} {
			if p := k.Position(v); p < 0 || p > k.Positions() {
				t.Errorf("%s: Position(%v) = %d outside [0, %d]", k.Label, v, p, k.Positions())
			}
		}
	}
	if got := opts.Show(7); got != "1" {
		t.Errorf("option label at a clamped position = %q, want %q", got, "1")
	}
	if got := (Knob{Min: 0, Max: 1}).Positions(); got != 100 {
		t.Errorf("default positions = %d, want 100", got)
	}
}

func TestKnobValidate(t *testing.T) {
	bad := map[string]Knob{
		"empty":    {Label: "a", Min: 1, Max: 1},
		"reversed": {Label: "a", Min: 2, Max: 1},
		"nan":      {Label: "a", Min: math.NaN(), Max: 1},
		"inf":      {Label: "a", Min: 0, Max: math.Inf(1)},
		"log-zero": {Label: "a", Min: 0, Max: 1, Log: true},
		"steps":    {Label: "a", Min: 0, Max: 1, Steps: -1},
	}
	for name, k := range bad {
		if err := k.Validate(); err == nil || !strings.Contains(err.Error(), `"a"`) {
			t.Errorf("%s: Validate() = %v, want an error naming the knob", name, err)
		}
	}
	if err := (Knob{Label: "ok", Min: 0.1, Max: 10, Log: true}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestPanelFailuresAreShownNotFatal(t *testing.T) {
	boom := func([]float64) (string, error) { panic("index out of range") }
	if out := safeDraw(boom, []float64{1}); !strings.Contains(out, "index out of range") {
		t.Errorf("a panicking panel gave %q", out)
	}
	fails := func([]float64) (string, error) { return "", errors.New("n ≥ n_c <unstable>") }
	if out := safeDraw(fails, nil); !strings.Contains(out, "n ≥ n_c &lt;unstable&gt;") {
		t.Errorf("an error is not shown escaped: %q", out)
	}
}

func TestWhatIfOutsideAKernelDrawsTheDefaults(t *testing.T) {
	t.Setenv(HeadlessEnv, "1")
	if Live() {
		t.Fatal("Live() with the headless runner's variable set")
	}
	var got []float64
	WhatIf("t", []Knob{{Label: "x", Min: 0, Max: 10, Value: 4, Steps: 10}, {Label: "c", Options: []string{"a", "b"}, Value: 9}},
		func(v []float64) (string, error) { got = v; return "<b>ok</b>", nil })
	if len(got) != 2 || got[0] != 4 || got[1] != 1 {
		t.Errorf("panel drawn at %v, want the starting values [4 1] (the second clamped)", got)
	}
}
