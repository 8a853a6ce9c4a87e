// Package run gives every experiment the same life cycle: a validated
// configuration, a seeded run that reports progress, and a result wrapped in an
// Envelope that records how to reproduce it (configuration, seed, backend, git
// revision, code version, wall time). Results are cached on disk under a key
// made from the experiment name, its code version and the full configuration,
// and written atomically, so an interrupted sweep resumes from its finished
// pieces.
package run

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Envelope is the provenance attached to every result.
type Envelope struct {
	Experiment  string          `json:"experiment"`
	CodeVersion string          `json:"code_version"`
	Config      json.RawMessage `json:"config"`
	Seed        uint64          `json:"seed"`
	Backend     string          `json:"backend"`
	GitRevision string          `json:"git_revision"`
	GoVersion   string          `json:"go_version"`
	CPUs        int             `json:"cpus"`
	StartedAt   time.Time       `json:"started_at"`
	WallSeconds float64         `json:"wall_seconds"`
	CacheKey    string          `json:"cache_key"`
	FromCache   bool            `json:"from_cache"`
}

// Result is a payload of type T with its Envelope.
type Result[T any] struct {
	Envelope
	Result T `json:"result"`
}

// Spec names an experiment and fixes what identifies one of its runs.
type Spec struct {
	// Experiment is a stable name such as "linreg/stationary".
	Experiment string
	// CodeVersion changes whenever the experiment's code changes its numbers;
	// it is part of the cache key, so old results are not reused.
	CodeVersion string
	// Config is the full configuration (a plain struct); it is hashed into the
	// cache key and stored in the Envelope.
	Config any
	// Seed is the master seed of the run (also expected inside Config).
	Seed uint64
	// Backend names the compute backend; it is part of the cache key because
	// different backends may give different floating-point results.
	Backend string
}

// Key returns the cache key: a hash of the experiment, code version, backend
// and canonical JSON of the configuration.
func (s Spec) Key() (string, []byte, error) {
	cfg, err := json.Marshal(s.Config)
	if err != nil {
		return "", nil, fmt.Errorf("run: configuration of %s is not serialisable: %w", s.Experiment, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00", s.Experiment, s.CodeVersion, s.Backend, s.Seed)
	h.Write(cfg)
	return hex.EncodeToString(h.Sum(nil))[:24], cfg, nil
}

// Cache stores results as JSON files in Dir. The zero value (Dir == "")
// disables caching.
type Cache struct {
	Dir string
}

// DefaultCache returns the cache in $SGDESCAPE_CACHE, or data/cache under the
// repository root when running inside the repository, or the user's cache
// directory otherwise.
func DefaultCache() Cache {
	if d := os.Getenv("SGDESCAPE_CACHE"); d != "" {
		return Cache{Dir: d}
	}
	if root, ok := RepoRoot(); ok {
		return Cache{Dir: filepath.Join(root, "data", "cache")}
	}
	if d, err := os.UserCacheDir(); err == nil {
		return Cache{Dir: filepath.Join(d, "sgdescape")}
	}
	return Cache{}
}

func (c Cache) path(experiment, key string) string {
	safe := strings.NewReplacer("/", "_", " ", "_", "\\", "_").Replace(experiment)
	return filepath.Join(c.Dir, safe, key+".json")
}

// Load reads a cached value into out; found is false when there is none.
func (c Cache) Load(experiment, key string, out any) (found bool, err error) {
	if c.Dir == "" {
		return false, nil
	}
	b, err := os.ReadFile(c.path(experiment, key))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("run: reading cache: %w", err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		// A damaged entry is treated as missing; it is overwritten on store.
		return false, nil
	}
	return true, nil
}

// Store writes v atomically (a temporary file in the same directory, synced,
// then renamed), so a crash never leaves a half-written entry.
func (c Cache) Store(experiment, key string, v any) error {
	if c.Dir == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("run: encoding result for cache: %w", err)
	}
	return WriteFileAtomic(c.path(experiment, key), b)
}

// WriteFileAtomic writes data to path through a temporary file and a rename.
func WriteFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("run: creating %s: %w", filepath.Dir(path), err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("run: writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	_ = f.Chmod(0o644)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("run: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("run: writing %s: %w", path, err)
	}
	return nil
}

// Do returns the cached result of spec when there is one, and otherwise runs
// fn, stores its result and returns it. Errors are never cached.
func Do[T any](ctx context.Context, c Cache, spec Spec, fn func(ctx context.Context) (T, error)) (Result[T], error) {
	key, cfg, err := spec.Key()
	if err != nil {
		return Result[T]{}, err
	}
	var res Result[T]
	if found, err := c.Load(spec.Experiment, key, &res); err != nil {
		return Result[T]{}, err
	} else if found && res.CacheKey == key {
		res.FromCache = true
		return res, nil
	}
	start := time.Now()
	payload, err := fn(ctx)
	if err != nil {
		return Result[T]{}, err
	}
	res = Result[T]{
		Envelope: Envelope{
			Experiment:  spec.Experiment,
			CodeVersion: spec.CodeVersion,
			Config:      cfg,
			Seed:        spec.Seed,
			Backend:     spec.Backend,
			GitRevision: GitRevision(),
			GoVersion:   runtime.Version(),
			CPUs:        runtime.NumCPU(),
			StartedAt:   start.UTC().Truncate(time.Second),
			WallSeconds: time.Since(start).Seconds(),
			CacheKey:    key,
		},
		Result: payload,
	}
	if err := c.Store(spec.Experiment, key, res); err != nil {
		return Result[T]{}, err
	}
	return res, nil
}

var (
	rootOnce sync.Once
	rootDir  string
	gitOnce  sync.Once
	gitRev   string
)

// RepoRoot finds the sgdescape repository containing the working directory
// (the first parent holding a go.mod of module github.com/sgdescape/sgdescape).
func RepoRoot() (string, bool) {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			return
		}
		for {
			b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err == nil && bytes.Contains(b, []byte("module github.com/sgdescape/sgdescape\n")) {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	return rootDir, rootDir != ""
}

// GitRevision returns the short git revision of the repository, with
// "+dirty" when tracked files differ from it, or "unknown" outside a checkout.
func GitRevision() string {
	gitOnce.Do(func() {
		gitRev = "unknown"
		root, ok := RepoRoot()
		if !ok {
			return
		}
		out, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
		if err != nil {
			return
		}
		gitRev = strings.TrimSpace(string(out))
		st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output()
		if err == nil && len(bytes.TrimSpace(st)) > 0 {
			gitRev += "+dirty"
		}
	})
	return gitRev
}
