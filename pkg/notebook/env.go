package notebook

import (
	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// Env returns the environment of a notebook's experiments: the selected
// GoMLX backend, the default cache (data/cache) and a progress bar titled
// what. It ends the cell when the backend cannot start.
func Env(what string) run.Env {
	env, err := backend.NewEnv(run.DefaultCache(), Progress(what))
	Check(err)
	return env
}

// NativeEnv is Env for experiments that run native Go engines only (the
// linear-regression ones): no GoMLX backend is started.
func NativeEnv(what string) run.Env {
	return run.Env{Cache: run.DefaultCache(), Progress: Progress(what)}
}

// RunScale is MustScale as a run.Scale, for the presets.
func RunScale() run.Scale { return run.Scale(MustScale()) }
