package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stationaryPhi runs a small stationary experiment and returns φ (MLE) and
// whether it came from the cache.
func stationaryPhi(t *testing.T, extra ...string) (float64, bool, string) {
	t.Helper()
	code, out, errs := call(append([]string{"stationary", "-N", "1000", "-samples", "400", "-every", "10", "-boot", "10", "-json"}, extra...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var v struct {
		Phi  float64 `json:"phi_fit"`
		Prov struct {
			FromCache bool `json:"from_cache"`
		} `json:"provenance"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	return v.Phi, v.Prov.FromCache, errs
}

func TestNocacheRecomputesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SGDESCAPE_CACHE", dir)
	phi, cached, _ := stationaryPhi(t)
	if cached {
		t.Fatal("first run from cache")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "linreg_stationary", "*.json"))
	if len(files) != 1 {
		t.Fatalf("cache entries: %v", files)
	}
	// a forged entry holding only the key is not trusted
	key := strings.TrimSuffix(filepath.Base(files[0]), ".json")
	if err := os.WriteFile(files[0], []byte(`{"cache_key":"`+key+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, cached, _ := stationaryPhi(t); cached || p != phi {
		t.Errorf("forged entry: φ %v (cached %v), want %v recomputed", p, cached, phi)
	}
	// -nocache recomputes and its result replaces the entry
	if p, cached, _ := stationaryPhi(t, "-nocache"); cached || p != phi {
		t.Errorf("-nocache: φ %v cached %v", p, cached)
	}
	if p, cached, _ := stationaryPhi(t); !cached || p != phi {
		t.Errorf("after -nocache: φ %v cached %v, want the stored recomputed value", p, cached)
	}
}

func TestUnwritableCacheStillPrintsTheResult(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SGDESCAPE_CACHE", file) // a folder that cannot be created
	_, cached, errs := stationaryPhi(t)
	if cached || !strings.Contains(errs, "cannot be written") {
		t.Errorf("no warning about the cache: %q", errs)
	}
}
