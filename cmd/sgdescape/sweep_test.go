package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sgdescape/sgdescape/pkg/sweep"
)

// asCLI makes the test binary behave as the sgdescape binary when it is
// re-executed by `sweep run -all` (which runs each task as a process of
// os.Executable()).
const asCLI = "SGDESCAPE_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// sweepEnv gives the tests their own cache and makes child processes act as the CLI.
func sweepEnv(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("SGDESCAPE_CACHE", filepath.Join(dir, "cache"))
	t.Setenv(asCLI, "1")
	return dir
}

func writeSpec(t *testing.T, dir, name, spec string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readTable(t *testing.T, path string) *sweep.Frame {
	t.Helper()
	fr, err := sweep.ReadCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	return fr
}

// A sweep of `theory` over (η, B): every row equals the plain command's
// output, and φ = 1 + B/(ηh*) exactly.
func TestSweepTheoryGrid(t *testing.T) {
	dir := sweepEnv(t)
	spec := writeSpec(t, dir, "theory.json", `{"experiment": "theory", "base": {"hstar": 2, "n": 3},
		"axes": {"eta": [0.05, 0.1, 0.2], "B": [1, 4]}}`)
	code, out, errs := call("sweep", "plan", spec)
	if code != 0 || strings.Count(out, "missing") != 6 {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = call("sweep", "run", spec, "-all", "-workers", "3")
	if code != 0 {
		t.Fatalf("run -all: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = call("sweep", "collect", spec)
	if code != 0 || !strings.Contains(out, "6 of 6 tasks done") {
		t.Fatalf("collect: exit %d\n%s%s", code, out, errs)
	}
	fr := readTable(t, filepath.Join(dir, "theory.results", "table.csv"))
	if len(fr.Rows) != 6 {
		t.Fatalf("%d rows", len(fr.Rows))
	}
	for r := range fr.Rows {
		eta, b := fr.Float(r, "eta"), fr.Float(r, "B")
		if want := 1 + b/(eta*2); math.Abs(fr.Float(r, "phi")-want) > 1e-12*want {
			t.Errorf("row %d: phi %v, want %v", r, fr.Float(r, "phi"), want)
		}
		// The plain command with the same flags prints the same numbers.
		code, plain, _ := call("theory", "-hstar=2", "-n=3", "-eta="+fr.Str(r, "eta"), "-B="+fr.Str(r, "B"), "-json")
		var env struct {
			Result map[string]any `json:"result"`
		}
		if code != 0 || json.Unmarshal([]byte(plain), &env) != nil {
			t.Fatalf("plain theory: %d %s", code, plain)
		}
		m := env.Result
		for _, k := range []string{"phi", "exponent", "kappa_powerlaw", "n_c"} {
			if fr.Float(r, k) != m[k].(float64) {
				t.Errorf("row %d %s: sweep %v, plain %v", r, k, fr.Float(r, k), m[k])
			}
		}
	}
	if fr.Float(0, "eta") != 0.05 || fr.Float(1, "B") != 4 || fr.Float(2, "eta") != 0.1 {
		t.Errorf("rows not in the documented order: %v", fr.Rows[:3])
	}
	// Nothing left to do: a second run and a submit do nothing.
	code, out, _ = call("sweep", "run", spec, "-all")
	if code != 0 || !strings.Contains(out, "all 6 tasks are done") {
		t.Errorf("second run: %d %s", code, out)
	}
	code, out, _ = call("sweep", "submit", spec)
	if code != 0 || !strings.Contains(out, "nothing to submit") {
		t.Errorf("submit when done: %d %s", code, out)
	}
}

// A task's result is the plain command's: the same cache entry.
func TestSweepSameCacheEntry(t *testing.T) {
	dir := sweepEnv(t)
	spec := writeSpec(t, dir, "st.json", `{"experiment": "stationary", "base": {"samples": 300, "boot": 10, "N": 500},
		"axes": {"eta": [0.1], "B": [2]}}`)
	code, out, errs := call("sweep", "run", spec, "-index", "0")
	if code != 0 {
		t.Fatalf("run -index 0: %d %s %s", code, out, errs)
	}
	_, planOut, _ := call("sweep", "plan", spec)
	code, plain, _ := call("stationary", "-samples", "300", "-boot", "10", "-N", "500", "-eta", "0.1", "-B", "2", "-json")
	if code != 0 {
		t.Fatal(plain)
	}
	var p struct {
		Provenance struct {
			CacheKey  string `json:"cache_key"`
			FromCache bool   `json:"from_cache"`
		}
		Result struct {
			Fit struct {
				PhiMLE float64 `json:"phi_mle"`
			} `json:"fit"`
		} `json:"result"`
	}
	json.Unmarshal([]byte(plain), &p)
	if !p.Provenance.FromCache {
		t.Error("the plain command did not find the sweep's cache entry")
	}
	if !strings.Contains(planOut, p.Provenance.CacheKey) {
		t.Errorf("plan does not show the cache key %s:\n%s", p.Provenance.CacheKey, planOut)
	}
	call("sweep", "collect", spec)
	fr := readTable(t, filepath.Join(dir, "st.results", "table.csv"))
	if fr.Str(0, "prov.cache_key") != p.Provenance.CacheKey || fr.Float(0, "fit.phi_mle") != p.Result.Fit.PhiMLE || p.Result.Fit.PhiMLE == 0 {
		t.Errorf("sweep %s %v, plain %s %v", fr.Str(0, "prov.cache_key"), fr.Float(0, "fit.phi_mle"), p.Provenance.CacheKey, p.Result.Fit.PhiMLE)
	}
	// -index from the environment, as under Slurm or Kubernetes.
	t.Setenv("JOB_COMPLETION_INDEX", "0")
	if code, out, _ := call("sweep", "run", spec); code != 0 || !strings.Contains(out, "already done") {
		t.Errorf("JOB_COMPLETION_INDEX: %d %s", code, out)
	}
}

// Settings that cannot give a result are refused when the sweep is
// planned, naming the task, before any task runs (they used to fail one
// by one at run time).
func TestSweepRefusesAtPlanTime(t *testing.T) {
	dir := sweepEnv(t)
	spec := writeSpec(t, dir, "f.json", `{"experiment": "theory", "base": {"Lstar": 0.5}, "axes": {"Ls": [1, 0.25, 2]}}`)
	for _, sub := range []string{"plan", "run", "submit", "status", "collect"} {
		args := []string{"sweep", sub, spec}
		if sub == "run" {
			args = append(args, "-all")
		}
		code, out, errs := call(args...)
		if code != 2 || out != "" || !strings.Contains(errs, "task 1 (Ls=0.25): Ls = 0.25") {
			t.Errorf("%s: exit %d, %q %q", sub, code, out, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "f.results", "tasks")); !os.IsNotExist(err) {
		t.Error("a task ran before the plan was refused")
	}
}

func planKeys(t *testing.T, spec string) []string {
	t.Helper()
	code, out, errs := call("sweep", "plan", spec, "-json")
	if code != 0 {
		t.Fatal(errs)
	}
	var p struct{ Tasks []struct{ Key string } }
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(p.Tasks))
	for i, tk := range p.Tasks {
		keys[i] = tk.Key
	}
	return keys
}

// Many processes write records into one results directory at once, some of
// them the same task: every record is whole and the table is complete.
func TestSweepConcurrentProcesses(t *testing.T) {
	dir := sweepEnv(t)
	spec := writeSpec(t, dir, "c.json", `{"experiment": "theory", "axes": {"eta": [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08], "B": [1, 2]}}`)
	exe, _ := os.Executable()
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for k := 0; k < 32; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			out, err := exec.Command(exe, "sweep", "run", spec, "-index", fmt.Sprint(k%16), "-force").CombinedOutput()
			if err != nil {
				errs[k] = fmt.Errorf("%v: %s", err, out)
			}
		}(k)
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			t.Fatal(e)
		}
	}
	code, out, _ := call("sweep", "collect", spec)
	if code != 0 || !strings.Contains(out, "16 of 16 tasks done") {
		t.Errorf("collect: %s", out)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "c.results", "tasks", "*"))
	if len(left) != 16 {
		t.Errorf("%d files in tasks/, want 16 records: %v", len(left), left)
	}
}

func TestSweepSubmitWithoutSbatch(t *testing.T) {
	dir := sweepEnv(t)
	spec := writeSpec(t, dir, "s.json", `{"experiment": "theory", "axes": {"eta": [0.1, 0.2, 0.3]}, "slurm": {"time": "00:10:00", "max_parallel": 2}}`)
	t.Setenv("PATH", dir) // no sbatch
	exe, _ := os.Executable()
	code, out, errs := call("sweep", "submit", spec, "-binary", exe, "-mem", "1G", "-extra", "--account=x")
	if code != 2 || !strings.Contains(errs, "sbatch is not on PATH") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{"#SBATCH --array=0-2%2", "#SBATCH --time=00:10:00", "#SBATCH --mem=1G", "#SBATCH --account=x", "sweep run "} {
		if !strings.Contains(out, want) {
			t.Errorf("printed script lacks %q:\n%s", want, out)
		}
	}
	// The snapshot the script runs has the same expansion.
	snaps, _ := filepath.Glob(filepath.Join(dir, "s.results", "spec-*.json"))
	if len(snaps) != 1 {
		t.Fatalf("snapshots %v", snaps)
	}
	a, b := planKeys(t, spec), planKeys(t, snaps[0])
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("snapshot expands differently: %v vs %v", a, b)
	}
	// A `go run` binary is refused, as it vanishes.
	code, _, errs = call("sweep", "submit", spec, "-dry-run")
	if !strings.Contains(exe, "go-build") {
		t.Skip("test binary not in a go-build directory")
	}
	if code != 2 || !strings.Contains(errs, "go build -o") {
		t.Errorf("go-build binary: %d %s", code, errs)
	}
}

func TestSweepBadInput(t *testing.T) {
	dir := sweepEnv(t)
	good := writeSpec(t, dir, "good.json", `{"experiment": "theory", "axes": {"eta": [0.1, 0.2]}}`)
	for _, c := range []struct {
		spec string
		args []string
		want string
	}{
		{`{"experiment": "nosuch"}`, nil, "experiment: unknown experiment"},
		{`{"experiment": "fpt", "base": {"Pp": 5}}`, nil, `base.Pp: fpt/linreg has no parameter "Pp"`},
		{`{"experiment": "theory", "base": {"hstar": 1}, "axes": {"h": [1, 2]}}`, nil, `axes.h[0]: theory has no parameter "h"`},
		{`{"experiment": "theory", "axes": {"eta": [0.1, "0.10"]}}`, nil, "axes.eta[1]: value 0.10 repeats axes.eta[0]"},
		{`{"experiment": "fpt", "base": {"c": "5,,6"}}`, nil, "base.c: item 2"},
		{`{"experiment": "stationary", "axes": {"B": [1, 20000]}}`, nil, "task 1 (B=20000): B = 20000 must be smaller than N = 20000"},
		{`{"experiment": "fpt", "axes": {"eta": []}}`, nil, "axes.eta: empty axis"},
		{`{"experiment": "fpt", "axes": {"P": [1, "two"]}}`, nil, "axes.P[1]"},
		{`{"experiment": "fpt", "axes": {"runs": [true]}}`, nil, "axes.runs[0]"},
		{`{"experiment": "fpt", "axes": {"eta": [1, 2, 3], "B": [1, 2, 3]}, "max_tasks": 8}`, nil, "max_tasks"},
		{`{"experiment": "fpt", "axes": {"eta": [1, 2, 3], "B": [1, 2, 3]}}`, []string{"-max-tasks", "8"}, "max_tasks"},
		{`{"experiment": "fpt", "axes": {"model": ["linreg", "mlp"], "P": [1]}}`, nil, "axes.model: the model cannot be swept"},
		{`not json`, nil, "not valid JSON"},
	} {
		spec := writeSpec(t, dir, "bad.json", c.spec)
		code, out, errs := call(append([]string{"sweep", "plan", spec}, c.args...)...)
		if code != 2 || out != "" || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, stderr %q (want one line with %q)", c.spec, code, errs, c.want)
		}
	}
	for _, args := range [][]string{
		{"sweep"}, {"sweep", "frob", good}, {"sweep", "plan"}, {"sweep", "plan", filepath.Join(dir, "none.json")},
		{"sweep", "run", good}, {"sweep", "run", good, "-index", "2"}, {"sweep", "run", good, "-index", "-5"},
		{"sweep", "run", good, "-all", "-workers", "0"}, {"sweep", "run", good, "-all", "-index", "1"},
		{"sweep", "status", good, "-lines", "-1"}, {"sweep", "plan", good, "extra"}, {"sweep", "submit", good, "-extra", "oops"},
		{"sweep", "submit", good, "-time", "1:00; rm"}, {"sweep", "submit", good, "-binary", dir},
	} {
		code, _, errs := call(args...)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if code != 2 || !strings.HasPrefix(lines[len(lines)-1], "sgdescape sweep") {
			t.Errorf("%v: exit %d, %q", args, code, errs)
		}
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", "7")
	if code, _, errs := call("sweep", "run", good); code != 2 || !strings.Contains(errs, "SLURM_ARRAY_TASK_ID=7 is out of range") {
		t.Errorf("array index out of range: %d %s", code, errs)
	}
}

// BenchmarkSweepPlan10k plans a 10⁴-task fpt sweep, every task's flags
// checked by fpt's own flag set, and prints the table.
func BenchmarkSweepPlan10k(b *testing.B) {
	dir := b.TempDir()
	var etas, seeds []string
	for i := 0; i < 100; i++ {
		etas = append(etas, fmt.Sprint(0.001*float64(i+1)))
		seeds = append(seeds, fmt.Sprint(i+1))
	}
	spec := filepath.Join(dir, "big.json")
	os.WriteFile(spec, []byte(`{"experiment": "fpt", "base": {"P": 5, "runs": 20, "c": "1.5,2"}, "axes": {"eta": [`+
		strings.Join(etas, ",")+`], "seed": [`+strings.Join(seeds, ",")+`]}}`), 0o644)
	for b.Loop() {
		if code, out, errs := call("sweep", "plan", spec); code != 0 || strings.Count(out, "\n") != 10003 {
			b.Fatal(code, errs)
		}
	}
}

// SIGTERM to `sweep run -all` stops its running tasks — each records that
// it was stopped — and no task process is left running (they were orphans).
func TestSweepSignalStopsTasks(t *testing.T) {
	dir := sweepEnv(t)
	spec := writeSpec(t, dir, "long.json", `{"experiment": "stationary", "base": {"samples": 2000000, "every": 200, "boot": 0, "N": 2000},
		"axes": {"seed": [1, 2]}}`)
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "sweep", "run", spec, "-all", "-workers", "2")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := func() int {
		m, _ := filepath.Glob(filepath.Join(dir, "long.results", "tasks", "*.started"))
		return len(m)
	}
	deadline := time.Now().Add(60 * time.Second)
	for started() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if started() < 2 {
		cmd.Process.Kill()
		t.Fatalf("the tasks did not start: %s", stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if err == nil || !strings.Contains(stderr.String(), "stopped by a signal") {
		t.Errorf("exit %v, stderr %s", err, stderr.String())
	}
	time.Sleep(200 * time.Millisecond)
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, _ := os.ReadFile(p); strings.Contains(string(b), spec) {
			t.Errorf("task process left running: %s", strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	code, out, _ := call("sweep", "status", spec)
	if code != 0 || !strings.Contains(out, "2 failed") || !strings.Contains(out, "stopped by a signal") {
		t.Errorf("status after the signal:\n%s", out)
	}
}
