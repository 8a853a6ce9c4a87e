// Package run gives every experiment the same life cycle: a validated
// configuration, a seeded run that reports progress, and a result wrapped in an
// Envelope that records how to reproduce it (configuration, seed, backend, git
// revision, code version, wall time). Results are cached on disk under a key
// made from the experiment name, its code version and the full configuration,
// and written atomically, so an interrupted sweep resumes from its finished
// pieces.
//
// Every experiment has the one signature
//
//	func X(ctx context.Context, env run.Env, cfg XConfig) (run.Result[XResult], error)
//
// Files: run.go (Spec, Envelope, Result, Compose), cache.go (the on-disk
// cache and Do), env.go (Env), scale.go (quick and paper scale), git.go
// (repository root and revision); helpers apart: parallel.go (a worker
// pool), progress.go, float.go (JSON-safe floats, intervals), parse.go
// (list parsing).
package run

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"time"
)

// Envelope is the provenance attached to every result.
type Envelope struct {
	Experiment  string          `json:"experiment"`
	CodeVersion string          `json:"code_version"`
	Config      json.RawMessage `json:"config"`
	Seed        uint64          `json:"seed"`
	Backend     string          `json:"backend"`
	Plugin      string          `json:"plugin"` // the PJRT plugin of an XLA backend ("" otherwise)
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
	// Plugin names the PJRT plugin of an XLA backend (provenance only; the
	// backend name already tells backends apart in the cache key).
	Plugin string
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

// envelope fills the provenance of a run of spec that started at start.
func (s Spec) envelope(key string, cfg []byte, start time.Time) Envelope {
	return Envelope{
		Experiment:  s.Experiment,
		CodeVersion: s.CodeVersion,
		Config:      cfg,
		Seed:        s.Seed,
		Backend:     s.Backend,
		Plugin:      s.Plugin,
		GitRevision: GitRevision(),
		GoVersion:   runtime.Version(),
		CPUs:        runtime.NumCPU(),
		StartedAt:   start.UTC().Truncate(time.Second),
		WallSeconds: time.Since(start).Seconds(),
		CacheKey:    key,
	}
}

// Compose wraps the payload of an experiment that caches its pieces one by
// one (a sweep, the stages of a training run) rather than as a whole: the
// Envelope records spec, the wall time since start and the cache key the
// whole would have, and FromCache says whether every piece came from the
// cache. Nothing is stored.
func Compose[T any](spec Spec, start time.Time, fromCache bool, payload T) (Result[T], error) {
	key, cfg, err := spec.Key()
	if err != nil {
		return Result[T]{}, err
	}
	env := spec.envelope(key, cfg, start)
	env.FromCache = fromCache
	return Result[T]{Envelope: env, Result: payload}, nil
}
