package main

// Helpers of the commands that are not registry experiments yet (barrier,
// ncrit) and of the registry's front end.

import (
	"strings"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// jsonResult is what every command prints with -json: the experiment's
// result and one provenance envelope (experiment, code version,
// configuration, seed, backend, plugin, git revision, wall time, cache key,
// from-cache).
type jsonResult[T any] struct {
	Result     T            `json:"result"`
	Provenance run.Envelope `json:"provenance"`
}

// prescan returns the value of flag name in args (def when absent), before
// the flags are declared: some flags decide which other flags exist or what
// their defaults are (-model, -scale).
func prescan(args []string, name, def string) string {
	for i, a := range args {
		a = strings.TrimPrefix(a, "-")
		if a == "-" {
			break
		}
		a = strings.TrimPrefix(a, "-")
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return def
}
