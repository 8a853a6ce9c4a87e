package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Cache stores results as JSON files in Dir. The zero value (Dir == "")
// disables caching.
type Cache struct {
	Dir string
	// Refresh never reuses an entry: every result is recomputed and its
	// new value replaces the entry (the CLI's -nocache).
	Refresh bool
	// ReadOnly reads entries but never writes any (a cache folder this
	// process cannot write); finished results are still returned.
	ReadOnly bool
	// OnStoreError, when set, receives a failure to store a finished result
	// and Do returns the result anyway; when nil the failure is Do's error.
	OnStoreError func(error)
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

// Load reads a cached value into out; found is false when there is none,
// when c.Refresh is set, and when the entry is damaged or incomplete (see
// complete): such an entry is recomputed and overwritten on store.
func (c Cache) Load(experiment, key string, out any) (found bool, err error) {
	if c.Dir == "" || c.Refresh {
		return false, nil
	}
	b, err := os.ReadFile(c.path(experiment, key))
	if err != nil {
		// Missing or unreadable (no permission, a file where a folder should
		// be): recompute; a store into the same place reports its own error.
		return false, nil
	}
	if !complete(b, out) || !intact(b) {
		return false, nil
	}
	if err := UnmarshalJSON(b, out); err != nil {
		// A damaged entry is treated as missing; it is overwritten on store.
		return false, nil
	}
	return true, nil
}

// Store writes v atomically (a temporary file in the same directory, synced,
// then renamed), so a crash never leaves a half-written entry.
func (c Cache) Store(experiment, key string, v any) error {
	if c.Dir == "" || c.ReadOnly {
		return nil
	}
	b, _, err := MarshalJSON(v) // NaN and ±Inf as null (run.Float reads them back as NaN)
	if err != nil {
		return fmt.Errorf("run: encoding result for cache: %w", err)
	}
	return WriteFileAtomic(c.path(experiment, key), withChecksum(b))
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

// Do returns the cached result of spec when there is one (a complete entry
// of the same experiment, code version and key), and otherwise runs fn,
// stores its result and returns it. Errors are never cached. When storing
// fails and c.OnStoreError is set, the result is returned all the same.
func Do[T any](ctx context.Context, c Cache, spec Spec, fn func(ctx context.Context) (T, error)) (Result[T], error) {
	key, cfg, err := spec.Key()
	if err != nil {
		return Result[T]{}, err
	}
	var res Result[T]
	if found, err := c.Load(spec.Experiment, key, &res); err != nil {
		return Result[T]{}, err
	} else if found && res.CacheKey == key && res.Experiment == spec.Experiment && res.CodeVersion == spec.CodeVersion {
		res.FromCache = true
		return res, nil
	}
	start := time.Now()
	payload, err := fn(ctx)
	if err != nil {
		return Result[T]{}, err
	}
	res = Result[T]{Envelope: spec.envelope(key, cfg, start), Result: payload}
	if err := c.Store(spec.Experiment, key, res); err != nil {
		if c.OnStoreError == nil {
			return Result[T]{}, err
		}
		c.OnStoreError(err)
	}
	return res, nil
}

// Checked is the common entry point of an experiment: cfg is validated
// (an input error when it fails), env takes the name of a native engine
// when engine is not empty, and fn runs through Do under the spec of
// experiment at version with seed.
func Checked[C interface{ Validate() error }, T any](ctx context.Context, env Env, engine, experiment, version string, cfg C, seed uint64,
	fn func(ctx context.Context, env Env) (T, error)) (Result[T], error) {
	if err := cfg.Validate(); err != nil {
		return Result[T]{}, BadInput(err)
	}
	if engine != "" {
		env = env.Native(engine)
	}
	return Do(ctx, env.Cache, env.Spec(experiment, version, cfg, seed), func(ctx context.Context) (T, error) { return fn(ctx, env) })
}
