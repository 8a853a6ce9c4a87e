// Package backend is the one place where sgdescape chooses a GoMLX backend and
// where it installs its faster gradients for matrix products.
//
// Backend choice: the environment variable GOMLX_BACKEND is honoured exactly as
// GoMLX documents it ("go" for the pure-Go simplego backend, or
// "xla:/path/to/pjrt_plugin.so" for a PJRT plugin such as the CUDA one). When
// it is unset, sgdescape uses simplego, which runs everywhere without native
// libraries. Every result records Name() so that numbers can be traced to the
// backend that produced them.
//
// Registration: importing this package replaces the reverse-mode gradients of
// GoMLX's Dot and DotGeneral nodes (entries of graph.VJPRegistration) with the
// textbook vector-Jacobian products dA = v·Bᵀ, dB = Aᵀ·v expressed as
// DotGeneral. The stock gradients build a broadcast [i,j,k] tensor and reduce
// it, which is 4–7× slower on simplego. This is the project's only global
// registration; it happens once, in init, and tests compare it against the
// stock gradients.
package backend

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // the default, pure-Go backend
)

// DefaultConfig is the GoMLX backend configuration used when GOMLX_BACKEND is unset.
const DefaultConfig = "go"

// Config returns the backend configuration that New will use: the value of
// GOMLX_BACKEND when set and non-empty, otherwise DefaultConfig — with one
// amendment: a SimpleGo configuration ("go" or "go:…") that does not choose
// an ops_* execution mode gets "ops_sequential". GoMLX v0.26's SimpleGo
// deadlocks when a graph executed in parallel runs a DotGeneral that itself
// waits for pool workers (seen on 2 cores: every worker waits for a slot);
// sequential op execution keeps the parallelism inside each large op and
// cannot deadlock.
func Config() string {
	c := strings.TrimSpace(os.Getenv(backends.ConfigEnvVar))
	if c == "" {
		c = DefaultConfig
	}
	if c == "go" || strings.HasPrefix(c, "go:") {
		if !strings.Contains(c, "ops_") {
			if c == "go" {
				c = "go:ops_sequential"
			} else {
				c += ",ops_sequential"
			}
		}
	}
	return c
}

var (
	mu      sync.Mutex
	cached  backends.Backend
	cachedC string
)

// New returns the backend selected by Config. Backends are expensive to
// create and hold device memory, so one instance per configuration is shared by
// the whole process.
func New() (backends.Backend, error) {
	cfg := Config()
	mu.Lock()
	defer mu.Unlock()
	if cached != nil && cachedC == cfg {
		return cached, nil
	}
	if strings.HasPrefix(cfg, "xla") {
		// Never let GoMLX try to download a PJRT plugin at run time.
		if os.Getenv("GOMLX_NO_AUTO_INSTALL") == "" {
			_ = os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
		}
	}
	b, err := newBackend(cfg)
	if err != nil {
		return nil, fmt.Errorf("backend: cannot start GoMLX backend %q (from %s=%q): %w; "+
			"use %s=go for the pure-Go backend, or xla:<path to a PJRT plugin .so> for a GPU",
			cfg, backends.ConfigEnvVar, os.Getenv(backends.ConfigEnvVar), err, backends.ConfigEnvVar)
	}
	cached, cachedC = b, cfg
	return b, nil
}

// newBackend wraps backends.NewWithConfig, turning a panic from a backend
// constructor into an error.
func newBackend(cfg string) (b backends.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return backends.NewWithConfig(cfg)
}

// Name describes the backend in use for provenance records, for example
// "SimpleGo (go)", with the GOMLX_BACKEND configuration appended when it is
// not the default. It never fails: when the backend cannot be created it
// reports the configuration and the error.
func Name() string {
	b, err := New()
	if err != nil {
		return Config() + " (unavailable: " + err.Error() + ")"
	}
	if Config() == "go:ops_sequential" {
		return b.Name()
	}
	return b.Name() + " [" + Config() + "]"
}
