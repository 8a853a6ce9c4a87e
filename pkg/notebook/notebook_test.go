package notebook

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
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

func TestParameters(t *testing.T) {
	t.Setenv("SGDESCAPE_ETA", " 0.25 ")
	t.Setenv("SGDESCAPE_BS", "1, 2,4")
	t.Setenv("SGDESCAPE_CS", "1.5,2")
	if Float("ETA", 1) != 0.25 || Float("UNSET", 3) != 3 || Int("UNSET", 7) != 7 {
		t.Error("scalar parameters")
	}
	if v := Ints("BS", nil); len(v) != 3 || v[2] != 4 {
		t.Errorf("Ints: %v", v)
	}
	if v := Floats("CS", nil); len(v) != 2 || v[0] != 1.5 {
		t.Errorf("Floats: %v", v)
	}
	for _, bad := range []string{"", "1,x", ","} {
		if _, err := ParseFloats(bad); err == nil {
			t.Errorf("ParseFloats(%q) accepted", bad)
		}
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
