package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

type cfg struct {
	N    int
	Rate float64
}

func TestKeyDependsOnEverything(t *testing.T) {
	base := Spec{Experiment: "e", CodeVersion: "v1", Config: cfg{1, 0.1}, Seed: 1, Backend: "go"}
	k0, _, err := base.Key()
	if err != nil {
		t.Fatal(err)
	}
	variants := []Spec{
		{Experiment: "f", CodeVersion: "v1", Config: cfg{1, 0.1}, Seed: 1, Backend: "go"},
		{Experiment: "e", CodeVersion: "v2", Config: cfg{1, 0.1}, Seed: 1, Backend: "go"},
		{Experiment: "e", CodeVersion: "v1", Config: cfg{2, 0.1}, Seed: 1, Backend: "go"},
		{Experiment: "e", CodeVersion: "v1", Config: cfg{1, 0.2}, Seed: 1, Backend: "go"},
		{Experiment: "e", CodeVersion: "v1", Config: cfg{1, 0.1}, Seed: 2, Backend: "go"},
		{Experiment: "e", CodeVersion: "v1", Config: cfg{1, 0.1}, Seed: 1, Backend: "xla"},
	}
	for i, v := range variants {
		k, _, _ := v.Key()
		if k == k0 {
			t.Errorf("variant %d has the same key", i)
		}
	}
	k1, _, _ := base.Key()
	if k1 != k0 {
		t.Error("key is not deterministic")
	}
	if _, _, err := (Spec{Config: func() {}}).Key(); err == nil {
		t.Error("unserialisable config accepted")
	}
}

func TestDoCachesResultsButNotErrors(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	spec := Spec{Experiment: "x/y", CodeVersion: "v1", Config: cfg{3, 0.5}, Seed: 7, Backend: "go"}
	calls := 0
	fn := func(context.Context) (float64, error) { calls++; return 42.5, nil }
	r1, err := Do(context.Background(), c, spec, fn)
	if err != nil || r1.Result != 42.5 || r1.FromCache {
		t.Fatalf("first run: %+v %v", r1, err)
	}
	r2, err := Do(context.Background(), c, spec, fn)
	if err != nil || r2.Result != 42.5 || !r2.FromCache || calls != 1 {
		t.Fatalf("second run should come from cache: %+v %v calls=%d", r2, err, calls)
	}
	var back cfg
	if err := json.Unmarshal(r2.Config, &back); err != nil || back != (cfg{3, 0.5}) || r2.Seed != 7 || r2.Backend != "go" {
		t.Errorf("envelope incomplete: %+v", r2.Envelope)
	}
	bad := spec
	bad.Seed = 8
	_, err = Do(context.Background(), c, bad, func(context.Context) (float64, error) { return 0, errors.New("boom") })
	if err == nil {
		t.Fatal("error swallowed")
	}
	ok := false
	_, err = Do(context.Background(), c, bad, func(context.Context) (float64, error) { ok = true; return 1, nil })
	if err != nil || !ok {
		t.Fatal("an error was cached")
	}
}

func TestDamagedEntryIsRecomputed(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	spec := Spec{Experiment: "d", CodeVersion: "v1", Config: cfg{1, 1}}
	key, _, _ := spec.Key()
	if err := os.MkdirAll(filepath.Join(c.Dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.path("d", key), []byte("{trunc"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Do(context.Background(), c, spec, func(context.Context) (int, error) { return 5, nil })
	if err != nil || r.Result != 5 || r.FromCache {
		t.Fatalf("damaged entry not recomputed: %+v %v", r, err)
	}
}

func TestWriteFileAtomicLeavesNoTemporaries(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a", "b.json")
	for i := 0; i < 3; i++ {
		if err := WriteFileAtomic(p, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("left %d files, want 1", len(ents))
	}
}

func TestTextProgress(t *testing.T) {
	var buf bytes.Buffer
	p := TextProgress(&buf, "steps", 0)
	p.Report(5, 10, "half")
	p.Report(10, 10, "")
	var nilP Progress
	nilP.Report(1, 2, "ignored")
	out := buf.String()
	if !strings.Contains(out, "[steps] 5/10 (50%)") || !strings.Contains(out, "half") || !strings.Contains(out, "10/10 (100%)") {
		t.Errorf("unexpected progress output %q", out)
	}
}

func TestParallel(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	var reports int
	err := Parallel(context.Background(), 50, 3, func(done, total int, note string) {
		mu.Lock()
		reports++
		mu.Unlock()
	}, func() string { return "n" }, func(_ context.Context, i int) error {
		mu.Lock()
		seen[i]++
		mu.Unlock()
		return nil
	})
	if err != nil || len(seen) != 50 || reports == 0 {
		t.Fatalf("err %v, %d items, %d reports", err, len(seen), reports)
	}
	for i, k := range seen {
		if k != 1 {
			t.Errorf("item %d ran %d times", i, k)
		}
	}
	boom := errors.New("boom")
	err = Parallel(context.Background(), 1000, 2, nil, nil, func(_ context.Context, i int) error {
		if i == 5 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("error lost: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Parallel(ctx, 10, 2, nil, nil, func(context.Context, int) error { return nil }); err == nil {
		t.Error("cancelled context not reported")
	}
}

func TestParseFloatsStrict(t *testing.T) {
	if v, err := ParseFloats(" 1.5, 2 ,3"); err != nil || len(v) != 3 || v[1] != 2 {
		t.Errorf("good list: %v, %v", v, err)
	}
	for _, bad := range []string{"", " ", ",", "10,,10", "1,2,", ",1", "1,x", "NaN", "1,Inf", "-inf", "1e400"} {
		if v, err := ParseFloats(bad); err == nil {
			t.Errorf("ParseFloats(%q) = %v, want an error", bad, v)
		}
	}
}

func TestForgedOrStaleEntryIsRecomputed(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	spec := Spec{Experiment: "f", CodeVersion: "v2", Config: cfg{1, 1}}
	key, _, _ := spec.Key()
	type payload struct {
		A float64 `json:"a"`
		B struct {
			C []int `json:"c"`
		} `json:"b"`
		D string `json:"d,omitempty"`
	}
	full := func() payload { p := payload{A: 3}; p.B.C = []int{1}; return p }
	for name, entry := range map[string]string{
		"key only":      `{"cache_key":"` + key + `"}`,
		"no payload":    `{"experiment":"f","code_version":"v2","config":{},"seed":0,"backend":"","git_revision":"","go_version":"","cpus":1,"started_at":"2026-01-01T00:00:00Z","wall_seconds":1,"cache_key":"` + key + `","from_cache":false}`,
		"half payload":  `{"experiment":"f","code_version":"v2","config":{},"seed":0,"backend":"","git_revision":"","go_version":"","cpus":1,"started_at":"2026-01-01T00:00:00Z","wall_seconds":1,"cache_key":"` + key + `","from_cache":false,"result":{"a":7}}`,
		"nested gone":   `{"experiment":"f","code_version":"v2","config":{},"seed":0,"backend":"","git_revision":"","go_version":"","cpus":1,"started_at":"2026-01-01T00:00:00Z","wall_seconds":1,"cache_key":"` + key + `","from_cache":false,"result":{"a":7,"b":null}}`,
		"other version": `{"experiment":"f","code_version":"v1","config":{},"seed":0,"backend":"","git_revision":"","go_version":"","cpus":1,"started_at":"2026-01-01T00:00:00Z","wall_seconds":1,"cache_key":"` + key + `","from_cache":false,"result":{"a":7,"b":{"c":null}}}`,
	} {
		if err := WriteFileAtomic(c.path("f", key), []byte(entry)); err != nil {
			t.Fatal(err)
		}
		r, err := Do(context.Background(), c, spec, func(context.Context) (payload, error) { return full(), nil })
		if err != nil || r.FromCache || r.Result.A != 3 {
			t.Errorf("%s: trusted (%+v, %v)", name, r, err)
		}
	}
	// the entry written last is complete and is reused
	r, err := Do(context.Background(), c, spec, func(context.Context) (payload, error) { return payload{}, errors.New("recomputed") })
	if err != nil || !r.FromCache || r.Result.A != 3 {
		t.Errorf("complete entry not reused: %+v %v", r, err)
	}
}

func TestRefreshRecomputesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	spec := Spec{Experiment: "r", CodeVersion: "v1", Config: cfg{1, 1}}
	if _, err := Do(context.Background(), Cache{Dir: dir}, spec, func(context.Context) (int, error) { return 1, nil }); err != nil {
		t.Fatal(err)
	}
	r, err := Do(context.Background(), Cache{Dir: dir, Refresh: true}, spec, func(context.Context) (int, error) { return 2, nil })
	if err != nil || r.FromCache || r.Result != 2 {
		t.Fatalf("refresh: %+v %v", r, err)
	}
	r, err = Do(context.Background(), Cache{Dir: dir}, spec, func(context.Context) (int, error) { return 3, nil })
	if err != nil || !r.FromCache || r.Result != 2 {
		t.Fatalf("the refreshed value did not replace the entry: %+v %v", r, err)
	}
}

func TestStoreFailureKeepsTheResult(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	spec := Spec{Experiment: "s", CodeVersion: "v1", Config: cfg{1, 1}}
	fn := func(context.Context) (int, error) { return 9, nil }
	if _, err := Do(context.Background(), Cache{Dir: file}, spec, fn); err == nil {
		t.Error("a store failure without OnStoreError was not reported")
	}
	var warned error
	r, err := Do(context.Background(), Cache{Dir: file, OnStoreError: func(e error) { warned = e }}, spec, fn)
	if err != nil || r.Result != 9 || warned == nil {
		t.Errorf("result %+v, err %v, warning %v", r, err, warned)
	}
	r, err = Do(context.Background(), Cache{Dir: file, ReadOnly: true}, spec, fn)
	if err != nil || r.Result != 9 {
		t.Errorf("read-only cache: %+v %v", r, err)
	}
}

func TestAlteredPayloadIsRecomputed(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	spec := Spec{Experiment: "a", CodeVersion: "v1", Config: cfg{1, 1}}
	key, _, _ := spec.Key()
	type payload struct {
		Phi float64 `json:"phi"`
	}
	if _, err := Do(context.Background(), c, spec, func(context.Context) (payload, error) { return payload{9.1}, nil }); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(c.path("a", key))
	if err != nil || !bytes.Contains(b, []byte(checksumKey)) {
		t.Fatalf("no checksum in the entry: %s %v", b, err)
	}
	if err := os.WriteFile(c.path("a", key), bytes.Replace(b, []byte("9.1"), []byte("123"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Do(context.Background(), c, spec, func(context.Context) (payload, error) { return payload{9.1}, nil })
	if err != nil || r.FromCache || r.Result.Phi != 9.1 {
		t.Errorf("altered entry trusted: %+v %v", r, err)
	}
	r, err = Do(context.Background(), c, spec, func(context.Context) (payload, error) { return payload{}, errors.New("recomputed") })
	if err != nil || !r.FromCache || r.Result.Phi != 9.1 {
		t.Errorf("rewritten entry not reused: %+v %v", r, err)
	}
}
