package backend

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
)

func TestSimpleGoConfigAvoidsDeadlock(t *testing.T) {
	for in, want := range map[string]string{
		"go":                  "go:ops_sequential",
		"go:parallelism=4":    "go:parallelism=4,ops_sequential",
		"go:ops_parallel":     "go:ops_parallel",
		"xla:/path/plugin.so": "xla:/path/plugin.so",
	} {
		if got := simpleGoConfig(in); got != want {
			t.Errorf("simpleGoConfig(%q) = %q, want %q", in, got, want)
		}
	}
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// fakeStarter starts SimpleGo for "go…" and fails for everything else, so
// that the resolution order can be tested without loading plugins.
func fakeStarter(started *[]string) starter {
	return func(cfg string) (backends.Backend, error) {
		*started = append(*started, cfg)
		if strings.HasPrefix(cfg, "go") {
			return start(cfg)
		}
		return nil, errors.New("wrong PJRT API version")
	}
}

func TestExplicitBackendWinsAndUnknownIsAnError(t *testing.T) {
	var started []string
	c, err := resolve(envOf(map[string]string{ConfigEnv: "go", PluginEnv: "/nonexistent.so"}), fakeStarter(&started))
	if err != nil {
		t.Fatal(err)
	}
	if c.Config != SimpleGoConfig || c.Source != ConfigEnv || len(c.Notes) != 0 {
		t.Errorf("GOMLX_BACKEND=go: got %+v", c)
	}
	if c.Name() != "SimpleGo (go)" {
		t.Errorf("name %q", c.Name())
	}
	for _, bad := range []string{"cuda", "gpu:0", "simplego", "xla-cpu"} {
		_, err := resolve(envOf(map[string]string{ConfigEnv: bad}), fakeStarter(&started))
		if err == nil || !strings.Contains(err.Error(), "names no backend") {
			t.Errorf("GOMLX_BACKEND=%q: want an error naming the problem, got %v", bad, err)
		}
	}
	if xlaCompiled {
		_, err := resolve(envOf(map[string]string{ConfigEnv: "xla:/nonexistent/pjrt.so"}), fakeStarter(&started))
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/pjrt.so") {
			t.Errorf("missing explicit plugin: want an error naming the file, got %v", err)
		}
	}
}

func TestFallbackNamesFileAndFallback(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "pjrt_c_api_cpu_plugin.so")
	if err := os.WriteFile(bad, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	var started []string
	// The real starter: dlopen of a file that is not a shared library fails.
	c, err := resolve(envOf(map[string]string{PluginEnv: bad}), func(cfg string) (backends.Backend, error) {
		started = append(started, cfg)
		if strings.HasPrefix(cfg, "xla") && strings.Contains(cfg, dir) {
			return start(cfg)
		}
		if strings.HasPrefix(cfg, "xla") {
			return nil, errors.New("skip plugins outside the test")
		}
		return start(cfg)
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Config != SimpleGoConfig {
		t.Fatalf("want the SimpleGo fallback, got %q", c.Config)
	}
	all := strings.Join(c.Notes, "\n")
	if xlaCompiled {
		if !strings.Contains(all, bad) || !strings.Contains(all, "failed to load") || !strings.Contains(all, "SimpleGo") {
			t.Errorf("notes must name the file, the failure and the fallback:\n%s", all)
		}
	} else if !strings.Contains(all, "xla") || !strings.Contains(all, "SimpleGo") {
		t.Errorf("notes must say why (no xla tag) and the fallback:\n%s", all)
	}
	for _, n := range c.Notes {
		if strings.Contains(n, "\n") {
			t.Errorf("a note spans several lines: %q", n)
		}
	}
}

func TestMissingPluginFileFallsBack(t *testing.T) {
	if !xlaCompiled {
		t.Skip("needs the xla build tag")
	}
	var started []string
	c, err := resolve(envOf(map[string]string{PluginEnv: "/no/such/plugin.so"}), fakeStarter(&started))
	if err != nil {
		t.Fatal(err)
	}
	if c.Config != SimpleGoConfig || !strings.Contains(strings.Join(c.Notes, "\n"), "/no/such/plugin.so") {
		t.Errorf("got %+v", c)
	}
}

func TestPluginLabelFromDistInfo(t *testing.T) {
	site := filepath.Join(t.TempDir(), "lib", "python3.11", "site-packages")
	so := filepath.Join(site, "some_plugin", "pjrt_c_api_cpu_plugin.so")
	info := filepath.Join(site, "some_plugin-1.2.3.dist-info")
	other := filepath.Join(site, "other-9.dist-info")
	for _, d := range []string{filepath.Dir(so), info, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(so, "")
	write(filepath.Join(other, "RECORD"), "other/x.py,sha256=abc,1\n")
	write(filepath.Join(other, "METADATA"), "Name: other\nVersion: 9\n")
	write(filepath.Join(info, "RECORD"), "some_plugin/__init__.py,,\nsome_plugin/pjrt_c_api_cpu_plugin.so,sha256=x,10\n")
	write(filepath.Join(info, "METADATA"), "Metadata-Version: 2.4\nName: some-plugin\nVersion: 1.2.3\n\nName: not-a-header\n")
	if got := PluginLabel(so); got != "some-plugin 1.2.3" {
		t.Errorf("label %q", got)
	}
	if got := PluginLabel("/opt/x/libpjrt_cpu.so"); got != "libpjrt_cpu.so" {
		t.Errorf("label outside a wheel: %q", got)
	}
	c := Choice{Config: "xla:" + so, Plugin: so, PluginLabel: "some-plugin 1.2.3", Backend: fakeBackend{}}
	if c.Name() != "xla:cpu (some-plugin 1.2.3)" {
		t.Errorf("name %q", c.Name())
	}
	c.Plugin = "/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so"
	if !strings.HasPrefix(c.Name(), "xla:cuda ") {
		t.Errorf("name %q", c.Name())
	}
}

type fakeBackend struct{ backends.Backend }

func (fakeBackend) Name() string { return "xla" }

// TestResolvedBackendIsNamed checks the process-wide resolution: it starts,
// and an XLA build with the project's .venv set up names the plugin.
func TestResolvedBackendIsNamed(t *testing.T) {
	c, err := Resolve()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("backend %s (config %s, source %s)", c.Name(), c.Config, c.Source)
	if strings.HasPrefix(c.Config, "xla") && !strings.Contains(c.Name(), "(") {
		t.Errorf("an XLA backend must name its plugin: %q", c.Name())
	}
	if Name() != c.Name() || Config() != c.Config {
		t.Errorf("Name/Config disagree with Resolve")
	}
}

// The platform read from plugin files and backend descriptions: the one
// guess behind Choice.Name and Platform (which pkg/model asks).
func TestPlatformIn(t *testing.T) {
	for _, tc := range []struct{ s, want string }{
		{"xla:/x/lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so - PJRT plugin", "cpu"},
		{"xla /v/jax_plugins/xla_cuda13/xla_cuda_plugin.so", "cuda"},
		{"xla:/opt/ROCm/pjrt.so", "rocm"},
		{"go SimpleGo", "cpu"},
		{"", "cpu"},
	} {
		if got := platformIn(tc.s); got != tc.want {
			t.Errorf("platformIn(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
	be, err := New()
	if err != nil {
		t.Fatal(err)
	}
	want := "cpu" // SimpleGo
	if name := Name(); strings.HasPrefix(name, "xla:") {
		want = strings.Fields(strings.TrimPrefix(name, "xla:"))[0] // what the plugin file says
	}
	if got := Platform(be); got != want {
		t.Errorf("Platform of the started backend %s = %q, but its choice says %q", be.Description(), got, want)
	}
}
