package run

import "github.com/gomlx/gomlx/backends"

// Env is what every experiment receives besides its configuration: where to
// compute, where to cache and whom to tell about progress. Every experiment
// has the one signature
//
//	func X(ctx context.Context, env run.Env, cfg XConfig) (run.Result[XResult], error)
//
// so that the CLI, the notebooks, sweeps and tests call all of them the same
// way. The zero Env is valid for experiments that need no GoMLX backend: no
// cache, no progress, backend name "native".
type Env struct {
	// Backend is the GoMLX backend for experiments that build graphs; nil for
	// experiments that run native Go loops only.
	Backend backends.Backend
	// BackendName names the backend in provenance and cache keys (for
	// example "simplego" or "xla:cpu"); experiments that run native loops
	// record their own engine name instead.
	BackendName string
	// Plugin names the PJRT plugin of an XLA backend, for provenance ("" otherwise).
	Plugin string
	// Cache stores finished results (and finished pieces of long runs); the
	// zero Cache disables caching.
	Cache Cache
	// Progress receives progress reports; nil is ignored.
	Progress Progress
	// Workers caps the parallel runs of native engines (0: GOMAXPROCS);
	// results never depend on it.
	Workers int
}

// Spec returns the Spec of a run of experiment (at code version version)
// with configuration cfg and master seed seed on this Env's backend.
func (e Env) Spec(experiment, version string, cfg any, seed uint64) Spec {
	return Spec{Experiment: experiment, CodeVersion: version, Config: cfg, Seed: seed, Backend: e.BackendName, Plugin: e.Plugin}
}

// Native returns a copy of e for an experiment that runs a native Go engine
// instead of the GoMLX backend: engine replaces the backend name in
// provenance and cache keys, and the plugin is cleared.
func (e Env) Native(engine string) Env {
	e.BackendName, e.Plugin, e.Backend = engine, "", nil
	return e
}
