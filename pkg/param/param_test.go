package param

import (
	"encoding/json"
	"flag"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
)

type kind string

type cfg struct {
	Eta    float64
	B      int
	Steps  int64
	Seed   uint64
	On     bool
	Set    string
	Dyn    kind
	Betas  []float64
	Widths []int
	C      []float64
	Burn   int64
	Inner  inner
}

type inner struct{ Eta float64 }

func (c *inner) Declare(s *Set) { s.Float(&c.Eta, "eta", "inner η", Positive) }

func (c *cfg) Declare(s *Set) {
	s.Float(&c.Eta, "eta", "learning rate η", Positive)
	s.Int(&c.B, "B", "batch size", Min(1), Max(1000))
	s.Int64(&c.Steps, "steps", "steps", Min(1))
	s.Uint64(&c.Seed, "seed", "seed")
	s.Bool(&c.On, "on", "switch")
	s.Text(&c.Set, "data", "data set")
	Choice(s, &c.Dyn, "dynamics", "dynamics", []kind{"sgd", "gld"})
	s.Floats(&c.Betas, "beta", "β values", Positive, Progression)
	s.Ints(&c.Widths, "widths", "widths", Min(1))
	s.Floats(&c.C, "c", "thresholds", Above(1), Auto("the paper's grid"))
	s.Int64(&c.Burn, "burn", "burn-in", Min(10), Auto("20/(η·λ_min)"))
	s.Prefixed("pre-", &c.Inner)
}

func newCfg() *cfg {
	return &cfg{Eta: 0.1, B: 1, Steps: 10, Seed: 1, Set: "mnist", Dyn: "sgd", Betas: []float64{7, 8}, Widths: []int{10}}
}

func TestSetAndCanonical(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		check          func(c *cfg) bool
	}{
		{"eta", "0.10", "0.1", func(c *cfg) bool { return c.Eta == 0.1 }},
		{"eta", " 1e-3 ", "0.001", nil},
		{"eta", "1e-320", "1e-320", nil}, // a denormal is positive and finite
		{"B", "1e2", "100", func(c *cfg) bool { return c.B == 100 }},
		{"B", "1_000", "1000", nil},
		{"steps", "5.0", "5", nil},
		{"seed", "18446744073709551615", "18446744073709551615", func(c *cfg) bool { return c.Seed == math.MaxUint64 }},
		{"on", "true", "true", func(c *cfg) bool { return c.On }},
		{"dynamics", "gld", "gld", func(c *cfg) bool { return c.Dyn == "gld" }},
		{"beta", "5, 6,...,8", "5,6,7,8", func(c *cfg) bool { return reflect.DeepEqual(c.Betas, []float64{5, 6, 7, 8}) }},
		{"beta", "0.10,0.2", "0.1,0.2", nil},
		{"widths", "10,10", "10,10", nil},
		{"c", "auto", "auto", func(c *cfg) bool { return c.C == nil }},
		{"c", "1.5,2", "1.5,2", nil},
		{"burn", "0", "0", nil}, // Auto lets 0 through the bounds
		{"burn", "auto", "0", nil},
		{"pre-eta", "0.5", "0.5", func(c *cfg) bool { return c.Inner.Eta == 0.5 }},
	} {
		c := newCfg()
		s := Declare(c)
		p, ok := s.Lookup(tc.name)
		if !ok {
			t.Fatalf("no parameter %q", tc.name)
		}
		if err := p.Set(tc.in); err != nil {
			t.Errorf("%s=%q: %v", tc.name, tc.in, err)
			continue
		}
		if got := p.String(); got != tc.want {
			t.Errorf("%s=%q: canonical %q, want %q", tc.name, tc.in, got, tc.want)
		}
		if tc.check != nil && !tc.check(c) {
			t.Errorf("%s=%q: field not set: %+v", tc.name, tc.in, *c)
		}
	}
}

func TestSetRefuses(t *testing.T) {
	for _, tc := range []struct{ name, in, wantErr string }{
		{"eta", "NaN", "not a finite number"},
		{"eta", "+Inf", "not a finite number"},
		{"eta", "1e400", "too large"},
		{"eta", "0", "must be > 0"},
		{"eta", "-1", "must be > 0"},
		{"eta", "", "empty value"},
		{"eta", "abc", "not a number"},
		{"B", "0", "must be ≥ 1"},
		{"B", "1001", "≤ 1000"},
		{"B", "1.5", "not a whole number"},
		{"B", "1e300", "out of range"},
		{"B", "-3", "must be ≥ 1"},
		{"steps", "-1", "must be ≥ 1"},
		{"seed", "-1", "must be ≥ 0"},
		{"on", "maybe", "not true or false"},
		{"dynamics", "sde", "not one of sgd, gld"},
		{"beta", "5,,6", "item 2 of \"5,,6\" is empty"},
		{"beta", "5,6,", "is empty"},
		{"beta", "", "empty list"},
		{"beta", "5,NaN", "not a finite number"},
		{"beta", "0,1", "item 1: 0 is out of range"},
		{"beta", "1,...,5", "needs two numbers before it"},
		{"beta", "1,2,...,1e9", "at most 10000 items"},
		{"beta", "2,1,...,5", "a < b ≤ c"},
		{"widths", "10,0", "item 2: 0 is out of range"},
		{"widths", "10,1.5", "not a whole number"},
		{"widths", "1,2,...,4", "ranges are not accepted"},
		{"c", "1,2", "item 1: 1 is out of range: must be > 1"},
		{"burn", "5", "must be ≥ 10 (or 0: 20/(η·λ_min))"},
		{"data", "a\nb", "line break"},
	} {
		c := newCfg()
		p, _ := Declare(c).Lookup(tc.name)
		before := *c
		err := p.Set(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s=%q: error %v, want it to contain %q", tc.name, tc.in, err, tc.wantErr)
		}
		if !reflect.DeepEqual(before, *c) {
			t.Errorf("%s=%q: a refused value changed the configuration", tc.name, tc.in)
		}
	}
}

func TestSetJSON(t *testing.T) {
	for _, tc := range []struct{ name, raw, want, wantErr string }{
		{"eta", `0.10`, "0.1", ""},
		{"eta", `"0.10"`, "0.1", ""},
		{"B", `5.0`, "5", ""},
		{"beta", `[7, 8.0, 9]`, "7,8,9", ""},
		{"beta", `"7,8,...,10"`, "7,8,9,10", ""},
		{"on", `true`, "true", ""},
		{"eta", `[1]`, "", "a list is not a value"},
		{"eta", `null`, "", "null"},
		{"eta", `{}`, "", "object"},
		{"beta", `[]`, "", "empty list"},
		{"beta", `["a"]`, "", "not a number"},
	} {
		p, _ := Declare(newCfg()).Lookup(tc.name)
		err := p.SetJSON(json.RawMessage(tc.raw))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s=%s: error %v, want %q", tc.name, tc.raw, err, tc.wantErr)
			}
			continue
		}
		if err != nil || p.String() != tc.want {
			t.Errorf("%s=%s: %q, %v; want %q", tc.name, tc.raw, p.String(), err, tc.want)
		}
	}
}

func TestDefaultsAndDuplicates(t *testing.T) {
	s := Declare(newCfg())
	p, _ := s.Lookup("beta")
	if p.Default != "7,8" {
		t.Errorf("default %q", p.Default)
	}
	if p, _ := s.Lookup("c"); p.Default != "auto" {
		t.Errorf("auto list default %q", p.Default)
	}
	defer func() {
		if recover() == nil {
			t.Error("a name declared twice must panic (a programming error)")
		}
	}()
	var x float64
	s.Float(&x, "eta", "again")
}

func TestFlags(t *testing.T) {
	c := newCfg()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	Declare(c).Flags(fs)
	if err := fs.Parse([]string{"-eta=0.5", "-on", "-beta", "1,2", "-pre-eta", "3"}); err != nil {
		t.Fatal(err)
	}
	if c.Eta != 0.5 || !c.On || !reflect.DeepEqual(c.Betas, []float64{1, 2}) || c.Inner.Eta != 3 {
		t.Errorf("flags not applied: %+v", *c)
	}
	if err := fs.Parse([]string{"-eta=NaN"}); err == nil || !strings.Contains(err.Error(), "finite") {
		t.Errorf("NaN flag: %v", err)
	}
}

func TestSettings(t *testing.T) {
	st, err := ParseSettings("eta=0.2; fpt.B=4\nother.x=1;;")
	if err != nil {
		t.Fatal(err)
	}
	c := newCfg()
	applied, err := Declare(c).Apply(st, "fpt")
	if err != nil || len(applied) != 2 || c.Eta != 0.2 || c.B != 4 {
		t.Errorf("applied %v, err %v, cfg %+v", applied, err, *c)
	}
	for _, tc := range []struct{ in, wantErr string }{
		{"eta", "name=value"},
		{"=1", "name=value"},
		{"eta=", "empty value"},
		{".eta=1", "experiment.name=value"},
		{"eta=1;eta=2", "set twice"},
	} {
		if _, err := ParseSettings(tc.in); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.wantErr)
		}
	}
	st, _ = ParseSettings("fpt.etaa=1")
	if _, err := Declare(newCfg()).Apply(st, "fpt"); err == nil || !strings.Contains(err.Error(), `no parameter "etaa"`) {
		t.Errorf("unknown scoped name: %v", err)
	}
	st, _ = ParseSettings("fpt.eta=-1")
	if _, err := Declare(newCfg()).Apply(st, "fpt"); err == nil || !strings.Contains(err.Error(), "fpt.eta=-1") {
		t.Errorf("bad value: %v", err)
	}
}
