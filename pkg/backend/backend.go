// Package backend is the one place where sgdescape chooses a GoMLX backend and
// where it installs its faster gradients for matrix products.
//
// # Backend resolution
//
// Resolve decides, once per process, in this order:
//
//  1. GOMLX_BACKEND, when set, wins: "go" for the pure-Go SimpleGo backend,
//     "xla:<path to a PJRT plugin .so>" (or "xla:cpu", "xla:cuda", a plugin
//     installed where GoMLX looks). A backend name this binary does not have
//     is an error, never a silent fallback.
//  2. The XLA CPU PJRT plugin named by SGDESCAPE_PJRT_PLUGIN (a path to the
//     .so), or, when that is unset, the one `make setup` installs into the
//     project's .venv (PyPI wheel lammps-jax-pjrt-cpu, see
//     pkg/backend/requirements-pjrt-cpu.txt). The .venv is looked for in
//     $VIRTUAL_ENV, above the working directory and above this source file.
//  3. A CPU plugin installed where GoMLX itself looks (~/.local/lib/go-xla,
//     /usr/local/lib/go-xla, PJRT_PLUGIN_LIBRARY_PATH).
//  4. SimpleGo, with one line on stderr saying why and how to get the fast
//     path.
//
// A plugin that fails to load gives one line on stderr naming the file and the
// fallback taken. Steps 2 and 3 need a binary built with the `xla` build tag
// (cgo); the Makefile builds everything, tests and the GoNB kernel included,
// with it. Name() says which backend and which plugin ran, for example
// "xla:cpu (lammps-jax-pjrt-cpu 0.11.2)"; every result records it.
//
// # Registration
//
// Importing this package replaces the reverse-mode gradients of GoMLX's Dot
// and DotGeneral nodes (entries of graph.VJPRegistration) with the textbook
// vector-Jacobian products dA = v·Bᵀ, dB = Aᵀ·v expressed as DotGeneral. The
// stock gradients build a broadcast [i,j,k] tensor and reduce it, which is
// 4–7× slower on simplego. This is the project's only global registration; it
// happens once, in init, and tests compare it against the stock gradients.
package backend

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // the pure-Go backend, always present
)

// Environment variables read by Resolve.
const (
	// ConfigEnv is GoMLX's own variable; when set it wins.
	ConfigEnv = backends.ConfigEnvVar
	// PluginEnv names a PJRT plugin .so to use when GOMLX_BACKEND is unset
	// (instead of the one in the project's .venv).
	PluginEnv = "SGDESCAPE_PJRT_PLUGIN"
)

// SimpleGoConfig is the SimpleGo configuration used when nothing faster is
// available or when GOMLX_BACKEND=go. See simpleGoConfig for ops_sequential.
const SimpleGoConfig = "go:ops_sequential"

// DefaultConfig is kept for callers that want the pure-Go configuration by name.
//
// Deprecated: use SimpleGoConfig.
const DefaultConfig = "go"

// venvPlugins are the PJRT CPU plugins looked for in a Python environment's
// site-packages, in order of preference (see the README: the first measured
// faster here).
var venvPlugins = []string{
	"lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so",
	"fastatomstruct_xla_cpu/libpjrt_cpu.so",
}

// Choice is the outcome of backend resolution.
type Choice struct {
	// Config is the GoMLX configuration handed to backends.NewWithConfig.
	Config string
	// Plugin is the PJRT plugin file for XLA ("" for SimpleGo, or a plugin
	// GoMLX found by name).
	Plugin string
	// PluginLabel names the plugin's distribution and version when it came
	// from a Python wheel ("lammps-jax-pjrt-cpu 0.11.2"), else its file name.
	PluginLabel string
	// Source says what chose it: "GOMLX_BACKEND", "SGDESCAPE_PJRT_PLUGIN",
	// ".venv", "go-xla", or "fallback".
	Source string
	// Notes are the lines printed to stderr when something faster was not
	// available or failed to load (empty when nothing needs saying).
	Notes []string
	// Backend is the started backend.
	Backend backends.Backend
}

// Name describes the choice for provenance: "simplego", "xla:cpu
// (lammps-jax-pjrt-cpu 0.11.2)", "xla:cuda (jax-cuda13-pjrt 0.12.0.1)".
func (c Choice) Name() string {
	if c.Backend == nil {
		return c.Config + " (not started)"
	}
	if !strings.HasPrefix(c.Config, "xla") {
		return c.Backend.Name()
	}
	s := "xla:" + platformOf(c)
	if c.PluginLabel != "" {
		s += " (" + c.PluginLabel + ")"
	}
	return s
}

// platformOf guesses the PJRT platform ("cpu", "cuda", …) from the plugin
// file or configuration.
func platformOf(c Choice) string { return platformIn(c.Plugin + " " + c.Config) }

// Platform guesses where a started backend computes ("cpu", "cuda", "rocm",
// "tpu", "metal") from its name and description (which hold the PJRT
// plugin's file); SimpleGo is "cpu".
func Platform(be backends.Backend) string { return platformIn(be.Name() + " " + be.Description()) }

// platformIn returns the first accelerator platform named in s, else "cpu".
func platformIn(s string) string {
	s = strings.ToLower(s)
	for _, p := range []string{"cuda", "rocm", "tpu", "metal"} {
		if strings.Contains(s, p) {
			return p
		}
	}
	return "cpu"
}

// Hooks filled in by xla.go when the binary is built with the xla tag.
var (
	xlaCompiled bool
	// goxlaCPUPlugin returns the path of a CPU plugin installed where go-xla
	// looks, or "".
	goxlaCPUPlugin = func() string { return "" }
	// quietly runs f with GoMLX's native-library logging silenced.
	quietly = func(f func()) { f() }
)

// XLACompiled reports whether this binary carries GoMLX's XLA backend (the
// `xla` build tag).
func XLACompiled() bool { return xlaCompiled }

var (
	once      sync.Once
	chosen    Choice
	chosenErr error
	// Stderr receives the one-line notes; tests may replace it.
	notesOut io.Writer = os.Stderr
)

// Resolve picks and starts the backend, once per process, following the
// order in the package documentation, and prints its notes (if any) to
// stderr once.
func Resolve() (Choice, error) {
	once.Do(func() {
		chosen, chosenErr = resolve(os.Getenv, start)
		for _, n := range chosen.Notes {
			fmt.Fprintln(notesOut, n)
		}
	})
	return chosen, chosenErr
}

// New returns the resolved backend. Backends are expensive to create and hold
// device memory, so one instance is shared by the whole process.
func New() (backends.Backend, error) {
	c, err := Resolve()
	if err != nil {
		return nil, err
	}
	return c.Backend, nil
}

// Config returns the GoMLX configuration of the resolved backend, or, when
// resolution failed, the configuration that was asked for.
func Config() string {
	c, err := Resolve()
	if err != nil {
		return simpleGoConfig(strings.TrimSpace(os.Getenv(ConfigEnv)))
	}
	return c.Config
}

// Name describes the backend in use for provenance records and cache keys
// (see Choice.Name). It never fails: when no backend can be started it
// reports the error.
func Name() string {
	c, err := Resolve()
	if err != nil {
		return "unavailable (" + err.Error() + ")"
	}
	return c.Name()
}

// IsXLA reports whether the resolved backend is GoMLX's XLA backend.
func IsXLA() bool { return strings.HasPrefix(Config(), "xla") }

// simpleGoConfig adds "ops_sequential" to a SimpleGo configuration ("go" or
// "go:…") that does not choose an ops_* execution mode. GoMLX v0.26's SimpleGo
// deadlocks when a graph executed in parallel runs a DotGeneral that itself
// waits for pool workers (seen on 2 cores: every worker waits for a slot);
// sequential op execution keeps the parallelism inside each large op and
// cannot deadlock. Other configurations are returned unchanged.
func simpleGoConfig(c string) string {
	if c == "go" || strings.HasPrefix(c, "go:") {
		if !strings.Contains(c, "ops_") {
			if c == "go" {
				return SimpleGoConfig
			}
			return c + ",ops_sequential"
		}
	}
	return c
}

// starter starts a backend from a configuration.
type starter func(cfg string) (backends.Backend, error)

// start wraps backends.NewWithConfig, turning a panic from a backend
// constructor into an error, and never lets GoMLX download a plugin.
func start(cfg string) (b backends.Backend, err error) {
	if os.Getenv("GOMLX_NO_AUTO_INSTALL") == "" {
		_ = os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return backends.NewWithConfig(cfg)
}

// xlaPluginConfig is the GoMLX configuration for a CPU plugin file. XLA's CPU
// client can address host buffers directly; GoMLX enables that only for a
// plugin named "cpu", so it is asked for explicitly.
func xlaPluginConfig(path string) string {
	if strings.Contains(strings.ToLower(filepath.Base(path)), "cuda") {
		return "xla:" + path
	}
	return "xla:" + path + ",shared_buffers"
}

// resolve implements Resolve with the environment and the starter injected.
func resolve(getenv func(string) string, st starter) (Choice, error) {
	if cfg := strings.TrimSpace(getenv(ConfigEnv)); cfg != "" {
		return explicit(cfg, st)
	}
	var notes []string
	howTo := fmt.Sprintf("for the fast path run `make setup` (installs the pinned XLA CPU plugin into .venv) or set %s=<path to a PJRT CPU plugin .so>", PluginEnv)
	if !xlaCompiled {
		if p := getenv(PluginEnv); p != "" {
			notes = append(notes, fmt.Sprintf("backend: %s=%s is ignored: this binary was built without the `xla` build tag (cgo); using SimpleGo", PluginEnv, p))
		} else {
			notes = append(notes, "backend: using SimpleGo (pure Go, 10–20× slower than XLA): this binary was built without the `xla` build tag; build with `go build -tags xla` (cgo; the Makefile does) and "+howTo)
		}
		return simple(notes, st)
	}
	try := func(path, source string) (Choice, bool) {
		if _, err := os.Stat(path); err != nil {
			notes = append(notes, fmt.Sprintf("backend: PJRT plugin %s (from %s) not found; trying the next option", path, source))
			return Choice{}, false
		}
		cfg := xlaPluginConfig(path)
		var b backends.Backend
		var err error
		quietly(func() { b, err = st(cfg) })
		if err != nil {
			notes = append(notes, fmt.Sprintf("backend: PJRT plugin %s (from %s) failed to load: %s; trying the next option", path, source, oneLine(err)))
			return Choice{}, false
		}
		return Choice{Config: cfg, Plugin: path, PluginLabel: PluginLabel(path), Source: source, Backend: b}, true
	}
	if p := getenv(PluginEnv); p != "" {
		if c, ok := try(p, PluginEnv); ok {
			c.Notes = notes
			return c, nil
		}
	} else {
		for _, p := range venvPluginPaths(getenv) {
			if c, ok := try(p, ".venv"); ok {
				c.Notes = notes
				return c, nil
			}
		}
	}
	if p := goxlaCPUPlugin(); p != "" {
		if c, ok := try(p, "go-xla"); ok {
			c.Notes = notes
			return c, nil
		}
	}
	if len(notes) == 0 {
		notes = append(notes, "backend: using SimpleGo (pure Go, 10–20× slower than XLA): no XLA CPU plugin found in .venv, "+PluginEnv+" or GoMLX's plugin directories; "+howTo)
	} else {
		notes = append(notes, "backend: falling back to SimpleGo (pure Go, 10–20× slower); "+howTo)
	}
	return simple(notes, st)
}

func simple(notes []string, st starter) (Choice, error) {
	b, err := st(SimpleGoConfig)
	if err != nil {
		return Choice{}, fmt.Errorf("backend: cannot start SimpleGo: %w", err)
	}
	return Choice{Config: SimpleGoConfig, Source: "fallback", Notes: notes, Backend: b}, nil
}

// explicit starts the backend GOMLX_BACKEND names; failure is an error.
func explicit(cfg string, st starter) (Choice, error) {
	name, rest, _ := strings.Cut(cfg, ":")
	known := backends.List()
	slices.Sort(known)
	if !slices.Contains(known, name) {
		hint := ""
		if (name == "xla" || name == "stablehlo") && !xlaCompiled {
			hint = " (this binary was built without the `xla` build tag: build with -tags xla, as the Makefile does)"
		}
		return Choice{}, fmt.Errorf("backend: %s=%q names no backend in this binary%s; available: %s — use %s=go for pure Go, or xla:<path to a PJRT plugin .so>",
			ConfigEnv, cfg, hint, strings.Join(known, ", "), ConfigEnv)
	}
	cfg = simpleGoConfig(cfg)
	plugin := ""
	if name == "xla" || name == "stablehlo" {
		plugin, _, _ = strings.Cut(rest, ",")
		if filepath.IsAbs(plugin) {
			if _, err := os.Stat(plugin); err != nil {
				return Choice{}, fmt.Errorf("backend: %s=%q: plugin file %s not found", ConfigEnv, cfg, plugin)
			}
		}
	}
	b, err := st(cfg)
	if err != nil {
		return Choice{}, fmt.Errorf("backend: cannot start %s=%q: %s; use %s=go for pure Go, or unset it for automatic choice",
			ConfigEnv, cfg, oneLine(err), ConfigEnv)
	}
	c := Choice{Config: cfg, Source: ConfigEnv, Backend: b}
	if filepath.IsAbs(plugin) {
		c.Plugin, c.PluginLabel = plugin, PluginLabel(plugin)
	} else if plugin != "" {
		c.PluginLabel = "go-xla " + plugin
	}
	return c, nil
}

func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// venvPluginPaths lists the PJRT CPU plugin files present in the candidate
// Python environments: $VIRTUAL_ENV, then .venv in the working directory or
// any parent, then .venv above this source file (the repository when built
// from source, as go test and GoNB do).
func venvPluginPaths(getenv func(string) string) []string {
	var venvs []string
	if v := getenv("VIRTUAL_ENV"); v != "" {
		venvs = append(venvs, v)
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			venvs = append(venvs, filepath.Join(d, ".venv"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	var out []string
	for _, v := range venvs {
		sites, _ := filepath.Glob(filepath.Join(v, "lib", "python3*", "site-packages"))
		for _, site := range sites {
			for _, rel := range venvPlugins {
				p := filepath.Join(site, rel)
				if _, err := os.Stat(p); err == nil && !slices.Contains(out, p) {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// PluginLabel names the Python distribution that installed a plugin file,
// "name version" from its .dist-info (found through the RECORD that lists the
// file), or the file's base name when it did not come from a wheel.
func PluginLabel(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Base(path)
	}
	for d := filepath.Dir(abs); filepath.Dir(d) != d; d = filepath.Dir(d) {
		base := filepath.Base(d)
		if base != "site-packages" && base != "dist-packages" {
			continue
		}
		rel, err := filepath.Rel(d, abs)
		if err != nil {
			break
		}
		infos, _ := filepath.Glob(filepath.Join(d, "*.dist-info"))
		for _, info := range infos {
			if recordLists(filepath.Join(info, "RECORD"), filepath.ToSlash(rel)) {
				if name, version := metadata(filepath.Join(info, "METADATA")); name != "" {
					return name + " " + version
				}
			}
		}
		break
	}
	return filepath.Base(path)
}

func recordLists(record, rel string) bool {
	f, err := os.Open(record)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), rel+",") {
			return true
		}
	}
	return false
}

func metadata(path string) (name, version string) {
	f, err := os.Open(path)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break // end of the headers
		}
		if v, ok := strings.CutPrefix(line, "Name: "); ok {
			name = v
		}
		if v, ok := strings.CutPrefix(line, "Version: "); ok {
			version = v
		}
	}
	return name, version
}

var (
	simpleOnce sync.Once
	simpleBe   backends.Backend
	simpleErr  error
)

// SimpleGo returns a SimpleGo backend whatever Resolve chose, for comparing
// backends (the cross-backend agreement tests) and for work that must be
// bit-reproducible without native libraries.
func SimpleGo() (backends.Backend, error) {
	simpleOnce.Do(func() {
		if c, err := Resolve(); err == nil && c.Config == SimpleGoConfig {
			simpleBe = c.Backend
			return
		}
		simpleBe, simpleErr = start(SimpleGoConfig)
	})
	return simpleBe, simpleErr
}
