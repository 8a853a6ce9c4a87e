package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/registry"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/suite"
	"github.com/sgdescape/sgdescape/pkg/sweep"
)

// TestFrontEndsFromRegistry enumerates the registry and checks that every
// front end takes its parameters from it, one spelling each: the command's
// flags are exactly the declared parameters (and the run options); every
// parameter is a sweep axis planned by the same declarations, and a name
// that is not one is refused; the notebooks configure only registered
// experiments, exactly those the paper suite lists for them, and read no
// parameter any other way.
func TestFrontEndsFromRegistry(t *testing.T) {
	t.Setenv("SGDESCAPE_CACHE", t.TempDir())
	flagLine := regexp.MustCompile(`^  -([A-Za-z][A-Za-z0-9-]*) `)
	runOptions := []string{"json", "nocache", "scale", "workers"}
	dir := t.TempDir()
	for _, e := range registry.All() {
		args := []string{e.Name}
		if e.Selector != "" {
			args = append(args, "-"+e.Selector, e.Variant)
		}
		code, _, help := call(append(args, "-h")...)
		if code != 0 {
			t.Fatalf("%s -h: exit %d", e.ID(), code)
		}
		var flags []string
		for _, l := range strings.Split(help, "\n") {
			if m := flagLine.FindStringSubmatch(l); m != nil {
				flags = append(flags, m[1])
			}
		}
		want := append(e.Params(run.Quick).Names(), runOptions...)
		if e.Selector != "" {
			want = append(want, e.Selector)
		}
		sort.Strings(flags)
		sort.Strings(want)
		if strings.Join(flags, " ") != strings.Join(want, " ") {
			t.Errorf("%s: flags %v, parameters and run options %v", e.ID(), flags, want)
		}
		// Every parameter, at its default, is a valid sweep axis value.
		base := map[string]any{}
		if e.Selector != "" {
			base[e.Selector] = e.Variant
		}
		axes := map[string]any{}
		for _, p := range e.Params(run.Quick).Params() {
			axes[p.Name] = []string{p.Default}
		}
		spec, _ := json.Marshal(map[string]any{"experiment": e.Name, "base": base, "axes": axes})
		s, err := sweep.Parse(spec)
		if err == nil {
			_, err = sweep.NewPlan(s, registry.All(), 0)
		}
		if err != nil {
			t.Errorf("%s: its own parameters at their defaults as sweep axes: %v", e.ID(), err)
		}
		bad, _ := json.Marshal(map[string]any{"experiment": e.Name, "base": base, "axes": map[string]any{"not-a-parameter": []int{1}}})
		if s, err := sweep.Parse(bad); err == nil {
			if _, err := sweep.NewPlan(s, registry.All(), 0); err == nil {
				t.Errorf("%s: a sweep axis that is not a parameter was accepted", e.ID())
			}
		}
	}
	_ = dir
	// The notebooks.
	figs := map[string][]string{}
	for _, f := range suite.Figures {
		figs[f.Notebook] = f.Experiments
	}
	nbs, _ := filepath.Glob("../../notebooks/[0-9][0-9]_*.ipynb")
	if len(nbs) < 8 {
		t.Fatalf("found %d notebooks", len(nbs))
	}
	config := regexp.MustCompile(`notebook\.Config\("([^"]+)"`)
	forbidden := regexp.MustCompile(`os\.Getenv|os\.LookupEnv|notebook\.(Float|Int|Floats|Ints)\(`)
	for _, p := range nbs {
		name := strings.TrimSuffix(filepath.Base(p), ".ipynb")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var nb struct {
			Cells []struct {
				Type   string          `json:"cell_type"`
				Source json.RawMessage `json:"source"`
			} `json:"cells"`
		}
		if err := json.Unmarshal(b, &nb); err != nil {
			t.Fatal(err)
		}
		var used []string
		for _, c := range nb.Cells {
			if c.Type != "code" {
				continue
			}
			var lines []string
			if json.Unmarshal(c.Source, &lines) != nil {
				var one string
				json.Unmarshal(c.Source, &one)
				lines = []string{one}
			}
			src := strings.Join(lines, "")
			if m := forbidden.FindString(src); m != "" {
				t.Errorf("%s reads a parameter outside the registry (%s)", name, m)
			}
			for _, m := range config.FindAllStringSubmatch(src, -1) {
				if _, ok := registry.Lookup(m[1], ""); !ok {
					t.Errorf("%s configures %q, which is not registered", name, m[1])
				}
				used = append(used, m[1])
			}
		}
		var listed []string
		for _, id := range figs[name] {
			n, _, _ := strings.Cut(id, "/")
			listed = append(listed, n)
		}
		sort.Strings(used)
		sort.Strings(listed)
		if strings.Join(dedup(used), " ") != strings.Join(dedup(listed), " ") {
			t.Errorf("%s configures %v, the suite lists %v for it (pkg/suite/figures.go)", name, dedup(used), dedup(listed))
		}
	}
}

func dedup(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
