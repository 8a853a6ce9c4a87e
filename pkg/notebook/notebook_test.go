package notebook

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/linreg"
	"github.com/sgdescape/sgdescape/pkg/run"
)

func TestScale(t *testing.T) {
	for env, want := range map[string]string{"": Quick, "quick": Quick, "paper": Paper} {
		t.Setenv("SGDESCAPE_SCALE", env)
		if got, err := Scale(); err != nil || got != want {
			t.Errorf("SGDESCAPE_SCALE=%q: %q %v", env, got, err)
		}
	}
	t.Setenv("SGDESCAPE_SCALE", "huge")
	if _, err := Scale(); err == nil {
		t.Error("unknown scale accepted")
	}
}

// The overrides of SGDESCAPE_SET are checked against the registry: a scope
// must be an experiment, a name one of its parameters (or, unscoped, some
// experiment's); Config applies them with the parameters' own checks.
func TestSettingsFromTheRegistry(t *testing.T) {
	t.Setenv("SGDESCAPE_SCALE", "")
	t.Setenv(SetVar, "stationary-grid.eta-grid=0.05, 0.5; boot=17")
	st, err := Settings()
	if err != nil || len(st) != 2 {
		t.Fatal(st, err)
	}
	c := Config("stationary-grid", linreg.PaperStationarySweep(run.Quick))
	if len(c.Etas) != 2 || c.Etas[1] != 0.5 || c.Base.Boot != 17 {
		t.Errorf("overrides not applied: %v %v", c.Etas, c.Base.Boot)
	}
	for _, bad := range []string{"nosuch.eta=1", "stationary-grid.etaa=1", "etaa=1", "stationary-grid.eta-grid=0,1", "eta"} {
		t.Setenv(SetVar, bad)
		if _, err := Settings(); err == nil && bad != "stationary-grid.eta-grid=0,1" {
			t.Errorf("%q accepted", bad)
		}
	}
	t.Setenv(SetVar, "")
	if err := isPreset("stationary-grid", linreg.PaperStationarySweep(run.Paper)); err == nil {
		t.Error("a preset of the other scale is not the registry's preset at this scale")
	}
	if err := isPreset("stationary-grid", linreg.PaperStationarySweep(run.Quick)); err != nil {
		t.Error(err)
	}
}

func TestWriteKeyFigures(t *testing.T) {
	p := filepath.Join(t.TempDir(), "kf.json")
	t.Setenv(KeyFiguresEnv, p)
	t.Setenv("SGDESCAPE_SCALE", "")
	WriteKeyFigures(map[string]any{"x": 1.5})
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Provenance map[string]any `json:"provenance"`
		Figures    map[string]any `json:"figures"`
	}
	if err := json.Unmarshal(b, &got); err != nil || got.Figures["x"] != 1.5 || got.Provenance["scale"] != "quick" || got.Provenance["backend"] == "" {
		t.Errorf("key figures %s (%v)", b, err)
	}
	t.Setenv(KeyFiguresEnv, "")
	WriteKeyFigures(1) // no file, no error outside make report
}
