package backend

import (
	"strings"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// NewEnv returns the run.Env of an experiment on the backend selected by
// Config (started once per process), with cache and progress.
func NewEnv(cache run.Cache, progress run.Progress) (run.Env, error) {
	be, err := New()
	if err != nil {
		return run.Env{}, err
	}
	return run.Env{Backend: be, BackendName: Name(), Plugin: pluginOf(Config()), Cache: cache, Progress: progress}, nil
}

// pluginOf returns the PJRT plugin named by an XLA configuration
// ("xla:/path/plugin.so" → "/path/plugin.so", "xla:cuda" → "cuda"), "" otherwise.
func pluginOf(cfg string) string {
	if p, ok := strings.CutPrefix(cfg, "xla:"); ok {
		return p
	}
	return ""
}
