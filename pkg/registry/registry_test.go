package registry

import (
	"bytes"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/run"
)

var update = flag.Bool("update", false, "rewrite PARAMETERS.md")

// TestRegistry enumerates the registry: unique names, presets that pass
// their own checks at both scales, defaults that parse back to themselves.
func TestRegistry(t *testing.T) {
	ids := map[string]bool{}
	name := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*$`)
	for _, e := range All() {
		if ids[e.ID()] {
			t.Errorf("%s registered twice", e.ID())
		}
		ids[e.ID()] = true
		if e.Summary == "" || (e.Variant == "") != (e.Selector == "") {
			t.Errorf("%s: summary %q, variant %q, selector %q", e.ID(), e.Summary, e.Variant, e.Selector)
		}
		for _, scale := range []run.Scale{run.Quick, run.Paper} {
			in := e.New(scale)
			if err := in.Check(); err != nil {
				t.Errorf("%s at %s scale: the preset fails its own checks: %v", e.ID(), scale, err)
			}
			for _, p := range in.Params.Params() {
				if !name.MatchString(p.Name) {
					t.Errorf("%s: parameter name %q", e.ID(), p.Name)
				}
				if p.Help == "" {
					t.Errorf("%s -%s: no help", e.ID(), p.Name)
				}
				if err := p.Set(p.Default); err != nil || p.String() != p.Default {
					t.Errorf("%s -%s: default %q does not read back (%v, %q)", e.ID(), p.Name, p.Default, err, p.String())
				}
				if p.Name == "scale" || p.Name == "json" || p.Name == "nocache" || p.Name == "workers" || p.Name == e.Selector {
					t.Errorf("%s: parameter %q clashes with a run option", e.ID(), p.Name)
				}
			}
		}
	}
}

// conceptNames: one spelling per parameter — every parameter whose meaning
// starts with one of these phrases has the one name given (the old aliases
// LR_ETA, ESC_ETA, h, … are gone).
var conceptNames = []struct {
	help  *regexp.Regexp
	names []string
}{
	{regexp.MustCompile(`^learning rate η`), []string{"eta"}},
	{regexp.MustCompile(`^pre-training learning rate`), []string{"pretrain-eta"}},
	{regexp.MustCompile(`^mini-batch size`), []string{"B"}},
	{regexp.MustCompile(`^master seed`), []string{"seed"}},
	{regexp.MustCompile(`^h\*, the outlier`), []string{"hstar"}},
	{regexp.MustCompile(`^bootstrap resamples`), []string{"boot"}},
	{regexp.MustCompile(`^steps per (first-passage )?run before it is censored`), []string{"maxsteps"}},
}

func TestOneSpellingPerParameter(t *testing.T) {
	for _, e := range All() {
		for _, p := range e.Params(run.Quick).Params() {
			for _, c := range conceptNames {
				if c.help.MatchString(p.Help) && !contains(c.names, p.Name) {
					t.Errorf("%s -%s (%q): this concept is spelled %v everywhere", e.ID(), p.Name, p.Help, c.names)
				}
			}
		}
	}
}

// TestNoTwoSpellingsOfOneName: across the registry, two parameter names
// that differ only in "-" or "_" (maxsteps and max-steps) are one name
// spelled twice: a user who learnt one would be refused the other. (Case is
// meaning: N is the number of samples, n the number of outliers.)
func TestNoTwoSpellingsOfOneName(t *testing.T) {
	spell := map[string]map[string][]string{} // normalised → spelling → experiments
	for _, e := range All() {
		for _, p := range e.Params(run.Quick).Params() {
			k := strings.NewReplacer("-", "", "_", "").Replace(p.Name)
			if spell[k] == nil {
				spell[k] = map[string][]string{}
			}
			spell[k][p.Name] = append(spell[k][p.Name], e.ID())
		}
	}
	for k, m := range spell {
		if len(m) > 1 {
			t.Errorf("%s is spelled %d ways: %v", k, len(m), m)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestReferenceCurrent keeps PARAMETERS.md equal to the registry
// (go test ./pkg/registry -run Reference -update rewrites it).
func TestReferenceCurrent(t *testing.T) {
	var b bytes.Buffer
	if err := Reference(&b); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("PARAMETERS.md", b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("PARAMETERS.md")
	if err != nil || !bytes.Equal(got, b.Bytes()) {
		t.Errorf("PARAMETERS.md is not the registry's reference; run go test ./pkg/registry -run Reference -update")
	}
	for _, e := range All() {
		if !strings.Contains(b.String(), "## "+e.Name) {
			t.Errorf("reference misses %s", e.ID())
		}
	}
}
