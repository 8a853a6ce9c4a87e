package backend

import (
	"github.com/sgdescape/sgdescape/pkg/run"
)

// NewEnv returns the run.Env of an experiment on the resolved backend
// (started once per process; see Resolve), with cache and progress.
func NewEnv(cache run.Cache, progress run.Progress) (run.Env, error) {
	c, err := Resolve()
	if err != nil {
		return run.Env{}, err
	}
	plugin := c.Plugin
	if plugin == "" && c.PluginLabel != "" {
		plugin = c.PluginLabel
	}
	return run.Env{Backend: c.Backend, BackendName: c.Name(), Plugin: plugin, Cache: cache, Progress: progress}, nil
}
