package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	exp "github.com/sgdescape/sgdescape/pkg/experiment"

	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/sweep"
)

func init() {
	commands["sweep"] = command{
		summary: "what-if grids of any experiment: plan | run | submit (Slurm job array) | status | collect",
		run:     runSweep,
	}
}

// notSweepable are commands that are not experiments.
var notSweepable = map[string]bool{"sweep": true, "data": true}

// tableCommands implements sweep.Commands over the command table, so every
// registered experiment is sweepable and its flags are checked by its own
// FlagSet.
type tableCommands struct{}

func (tableCommands) Experiments() []string {
	var out []string
	for n := range commands {
		if !notSweepable[n] {
			out = append(out, n)
		}
	}
	for _, n := range exp.Names() {
		if _, dup := commands[n]; !dup {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Check parses args with the command's own flags and stops before it runs:
// "-help" at the end makes the flag package return flag.ErrHelp once every
// earlier flag has parsed, so unknown flags and values that do not parse
// come back as the command's own errors. The help text itself is cut short
// (stopWriter), which keeps a check at a few microseconds.
func (tableCommands) Check(experiment string, args []string) (err error) {
	cmd, ok := lookupCommand(experiment)
	if !ok || notSweepable[experiment] {
		return fmt.Errorf("unknown experiment %q", experiment)
	}
	probe := append(append(make([]string, 0, len(args)+1), args...), "-help")
	w := &stopWriter{}
	defer func() {
		if r := recover(); r != nil {
			if r != errStopWriter {
				panic(r)
			}
			err = nil // the help text started: every flag before -help parsed
			if m := strings.TrimSpace(w.first); isFlagError(m) {
				err = flagError(experiment, m)
			}
		}
	}()
	err = cmd.run(probe, io.Discard, w)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return nil
	case err == nil:
		return fmt.Errorf("command %q does not stop at -help, so its flags cannot be checked; it cannot be swept", experiment)
	}
	return flagError(experiment, err.Error())
}

func isFlagError(m string) bool {
	for _, p := range []string{"flag provided but not defined", "invalid ", "bad flag syntax", "flag needs an argument"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

func flagError(experiment, msg string) error {
	if strings.Contains(msg, "provided but not defined") {
		name := msg[strings.LastIndex(msg, "-")+1:]
		return fmt.Errorf("%s has no flag -%s (see sgdescape %s -h)", experiment, name, experiment)
	}
	return errors.New(msg)
}

// stopWriter records the first write and stops the writer's caller by
// panicking with errStopWriter (recovered in Check).
type stopWriter struct{ first string }

var errStopWriter = errors.New("stop")

func (w *stopWriter) Write(p []byte) (int, error) {
	w.first = string(p)
	panic(errStopWriter)
}

const sweepUsage = `usage: sgdescape sweep <plan|run|submit|status|collect> SPEC [flags]
  plan SPEC                  the task table: index, parameters, key, state
  run SPEC -index i          run task i (default: $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX)
  run SPEC -all -workers k   run every task not done yet, k at a time
  submit SPEC                write an sbatch job-array script for the tasks not done and submit it
  status SPEC                done / failed / missing, with the failing tasks' last stderr lines
  collect SPEC               one table (CSV and JSON lines): parameters, key results, provenance
SPEC is a JSON file: {"experiment": "fpt", "base": {"P": 5, "runs": 20}, "axes": {"eta": [0.05, 0.1], "B": [1, 2]}}
(sgdescape sweep <subcommand> -h lists its flags)`

func runSweep(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, sweepUsage)
		if len(args) == 0 {
			return usagef("name a subcommand: plan, run, submit, status or collect")
		}
		return flag.ErrHelp
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "plan":
		return sweepPlan(rest, stdout, stderr)
	case "run":
		return sweepRun(rest, stdout, stderr)
	case "submit":
		return sweepSubmit(rest, stdout, stderr)
	case "status":
		return sweepStatus(rest, stdout, stderr)
	case "collect":
		return sweepCollect(rest, stdout, stderr)
	}
	return usagef("unknown subcommand %q (use plan, run, submit, status or collect)", sub)
}

// sweepFlags are the flags every subcommand takes.
type sweepFlags struct {
	fs       *flag.FlagSet
	results  *string
	maxTasks *int
}

func newSweepFlags(sub string, stderr io.Writer) sweepFlags {
	fs := newFlags("sweep "+sub, stderr)
	fs.Usage = func() {} // errors stay one line; -h prints the flags (parse)
	return sweepFlags{
		fs:       fs,
		results:  fs.String("results", "", "results directory (default: the spec's \"results\", else SPEC with .json replaced by .results); must be shared by every node"),
		maxTasks: fs.Int("max-tasks", 0, fmt.Sprintf("refuse sweeps with more tasks than this (default: the spec's max_tasks, else %d)", sweep.DefaultMaxTasks)),
	}
}

// parseSpecArgs accepts SPEC before or after the flags.
func (f sweepFlags) parse(args []string) (string, error) {
	var spec string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		spec, args = args[0], args[1:]
	}
	out := f.fs.Output()
	f.fs.SetOutput(io.Discard) // the flag package would print the error too
	err := f.fs.Parse(args)
	f.fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(f.fs.Output(), "usage: %s SPEC [flags]\n", f.fs.Name())
		f.fs.PrintDefaults()
		return "", err
	}
	if err != nil {
		return "", usageError{err}
	}
	rest := f.fs.Args()
	if spec == "" && len(rest) > 0 {
		spec, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return "", usagef("unexpected argument %q (one SPEC file, then flags)", rest[0])
	}
	if spec == "" {
		return "", usagef("name the sweep specification: sgdescape %s SPEC.json", f.fs.Name()[len("sgdescape "):])
	}
	return spec, nil
}

// loaded is a parsed, checked and expanded sweep with its results store.
type loaded struct {
	path  string
	plan  *sweep.Plan
	store sweep.Store
}

func (f sweepFlags) load(specPath string) (*loaded, error) {
	s, err := sweep.Load(specPath)
	if err != nil {
		return nil, usageError{err}
	}
	if *f.maxTasks < 0 {
		return nil, usagef("-max-tasks must be positive")
	}
	p, err := sweep.NewPlan(s, tableCommands{}, *f.maxTasks)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", specPath, err)}
	}
	dir, err := s.ResultsDir(*f.results)
	if err != nil {
		return nil, usageError{err}
	}
	abs, _ := filepath.Abs(specPath)
	return &loaded{path: abs, plan: p, store: sweep.Store{Dir: dir}}, nil
}

func (l *loaded) shape() string {
	var parts []string
	for _, a := range l.plan.Spec.Axes {
		parts = append(parts, fmt.Sprintf("%s:%d", a.Name, len(a.Values)))
	}
	if len(parts) == 0 {
		return "no axes"
	}
	return strings.Join(parts, " × ")
}

// ---------------------------------------------------------------- plan

func sweepPlan(args []string, stdout, stderr io.Writer) error {
	f := newSweepFlags("plan", stderr)
	asJSON := f.fs.Bool("json", false, "print the plan as JSON")
	spec, err := f.parse(args)
	if err != nil {
		return err
	}
	l, err := f.load(spec)
	if err != nil {
		return err
	}
	states, err := l.store.States(l.plan)
	if err != nil {
		return err
	}
	p := l.plan
	if *asJSON {
		type task struct {
			Index    int               `json:"index"`
			Params   map[string]string `json:"params"`
			Args     []string          `json:"args"`
			Key      string            `json:"key"`
			State    string            `json:"state"`
			CacheKey string            `json:"cache_key,omitempty"`
		}
		out := struct {
			Experiment string `json:"experiment"`
			SpecHash   string `json:"spec_hash"`
			Results    string `json:"results"`
			Tasks      []task `json:"tasks"`
		}{p.Spec.Experiment, p.Spec.Hash, l.store.Dir, make([]task, len(p.Tasks))}
		for i, t := range p.Tasks {
			m := map[string]string{}
			for _, q := range t.Params {
				m[q.Name] = q.Value
			}
			out.Tasks[i] = task{t.Index, m, p.Args(t), t.Key, states[i], ""}
			if states[i] == sweep.Done {
				out.Tasks[i].CacheKey = l.store.CacheKey(t.Key)
			}
		}
		return writeJSON(stdout, out)
	}
	bw := newBufWriter(stdout)
	fmt.Fprintf(bw, "# sweep %s: %s, %d tasks (%s), spec hash %s, results %s\n", spec, p.Spec.Experiment, len(p.Tasks), l.shape(), p.Spec.Hash, l.store.Dir)
	if len(p.Spec.Base) > 0 {
		fmt.Fprintf(bw, "# every task: sgdescape %s %s -json\n", p.Spec.Experiment, strings.Join(p.Args(sweep.Task{}), " "))
	}
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "index")
	for _, a := range p.Spec.Axes {
		fmt.Fprintf(tw, "\t%s", a.Name)
	}
	fmt.Fprintln(tw, "\ttask key\tstate\tresult's cache key")
	for i, t := range p.Tasks {
		fmt.Fprintf(tw, "%d", t.Index)
		for _, q := range t.Params {
			fmt.Fprintf(tw, "\t%s", q.Value)
		}
		ck := "-"
		if states[i] == sweep.Done {
			if ck = l.store.CacheKey(t.Key); ck == "" {
				ck = "(none: uncached command)"
			}
		}
		fmt.Fprintf(tw, "\t%s\t%s\t%s\n", t.Key, states[i], ck)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return bw.flush()
}

// ---------------------------------------------------------------- run

func sweepRun(args []string, stdout, stderr io.Writer) error {
	f := newSweepFlags("run", stderr)
	index := f.fs.Int("index", -1, "run this task (default: $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX)")
	all := f.fs.Bool("all", false, "run every task that is not done (missing or failed), here")
	workers := f.fs.Int("workers", 1, "with -all: tasks run at the same time (each a separate process)")
	onlyMissing := f.fs.Bool("only-missing", false, "with -all: leave failed tasks alone (run only those never run)")
	force := f.fs.Bool("force", false, "with -index: run the task even if it is done")
	spec, err := f.parse(args)
	if err != nil {
		return err
	}
	l, err := f.load(spec)
	if err != nil {
		return err
	}
	n := len(l.plan.Tasks)
	if *all {
		if *index >= 0 {
			return usagef("give -index or -all, not both")
		}
		if *workers < 1 || *workers > 1024 {
			return usagef("-workers %d must be between 1 and 1024", *workers)
		}
		return runAll(l, *workers, *onlyMissing, *f.maxTasks, stdout, stderr)
	}
	idx := *index
	if idx < 0 {
		src := ""
		for _, env := range []string{"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"} {
			if v := os.Getenv(env); v != "" {
				i, err := strconv.Atoi(v)
				if err != nil {
					return usagef("$%s=%q is not a task index", env, v)
				}
				idx, src = i, "$"+env
				break
			}
		}
		if src == "" {
			if *index != -1 {
				return usagef("-index %d is out of range: the sweep has %d tasks (0–%d)", *index, n, n-1)
			}
			return usagef("which task? give -index i (0–%d) or -all, or run under a Slurm job array or a Kubernetes indexed job", n-1)
		}
		if idx < 0 || idx >= n {
			return usagef("%s=%d is out of range: the sweep has %d tasks (0–%d); was the job submitted for another spec?", src, idx, n, n-1)
		}
	}
	if idx >= n {
		return usagef("-index %d is out of range: the sweep has %d tasks (0–%d)", idx, n, n-1)
	}
	return runOne(l, idx, *force, stdout, stderr)
}

func where() sweep.Where {
	host, _ := os.Hostname()
	w := sweep.Where{Host: host, PID: os.Getpid()}
	if j := os.Getenv("SLURM_ARRAY_JOB_ID"); j != "" {
		w.Job = j + "_" + os.Getenv("SLURM_ARRAY_TASK_ID")
	} else if j := os.Getenv("SLURM_JOB_ID"); j != "" {
		w.Job = j
	} else if i := os.Getenv("JOB_COMPLETION_INDEX"); i != "" {
		w.Job = "k8s-index-" + i
	}
	return w
}

// lockedWriter serialises writes from the command and from the signal handler.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// runOne runs task idx in this process, through the command table, and
// writes its record. A failure (error, panic, SIGTERM from Slurm's time
// limit or scancel) leaves a failed record with the last stderr lines.
func runOne(l *loaded, idx int, force bool, stdout, stderr io.Writer) error {
	p := l.plan
	t := p.Tasks[idx]
	if !force {
		if r, err := l.store.Read(t.Key); err == nil && r != nil && r.Status == sweep.Done {
			fmt.Fprintf(stdout, "task %d (%s) is already done; -force runs it again\n", idx, sweep.ParamString(t.Params))
			return nil
		}
	}
	w := where()
	start := time.Now()
	if err := l.store.MarkStarted(t.Key, sweep.Started{Where: w, Index: idx, StartedAt: start.UTC()}); err != nil {
		return fmt.Errorf("results directory: %w", err)
	}
	args := append(p.Args(t), "-json")
	rec := &sweep.Record{Key: t.Key, Index: idx, Experiment: p.Spec.Experiment, Args: args, Params: t.Params,
		Where: w, StartedAt: start.UTC().Truncate(time.Second)}
	tail := &sweep.TailWriter{}
	errw := &lockedWriter{w: io.MultiWriter(stderr, tail)}
	fmt.Fprintf(errw, "[sweep] task %d of %d: sgdescape %s %s\n", idx, len(p.Tasks), p.Spec.Experiment, strings.Join(args, " "))

	var once sync.Once
	var final error
	finish := func(status string, code int, msg string, result []byte) {
		once.Do(func() {
			rec.Status, rec.ExitCode, rec.Error, rec.Result = status, code, msg, result
			rec.WallSeconds = time.Since(start).Seconds()
			errw.mu.Lock()
			rec.StderrTail = tail.Lines(20)
			errw.mu.Unlock()
			if err := l.store.Write(rec); err != nil {
				final = fmt.Errorf("task %d: writing its record: %w", idx, err)
				return
			}
			if status != sweep.Done {
				final = fmt.Errorf("task %d (%s) failed: %s", idx, sweep.ParamString(t.Params), msg)
			}
		})
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sig:
			name := map[os.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT"}[s]
			finish(sweep.Failed, 128+int(s.(syscall.Signal)), fmt.Sprintf("stopped by %s (Slurm time limit, scancel, preemption or Ctrl-C); rerun it", name), nil)
			fmt.Fprintln(stderr, "sgdescape sweep run:", final)
			os.Exit(128 + int(s.(syscall.Signal)))
		case <-done:
		}
	}()
	var out bytes.Buffer
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		return runCommand(p.Spec.Experiment, args, &out, errw)
	}()
	close(done)
	switch {
	case err != nil:
		code := 1
		var ue usageError
		if errors.As(err, &ue) || run.IsBadInput(err) {
			code = 2
		}
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		fmt.Fprintf(errw, "sgdescape %s: %s\n", p.Spec.Experiment, msg)
		finish(sweep.Failed, code, msg, nil)
	case !json.Valid(out.Bytes()) || !bytes.HasPrefix(bytes.TrimSpace(out.Bytes()), []byte("{")):
		finish(sweep.Failed, 1, "the command did not print one JSON object with -json", nil)
	default:
		var compact bytes.Buffer
		_ = json.Compact(&compact, out.Bytes())
		finish(sweep.Done, 0, "", compact.Bytes())
	}
	if final == nil {
		fmt.Fprintf(stdout, "task %d (%s) done in %.1f s\n", idx, sweep.ParamString(t.Params), rec.WallSeconds)
	}
	return final
}

// runAll runs every task not done, each as a separate process of this
// binary (`sweep run SPEC -index i`), exactly as a Slurm array task would.
func runAll(l *loaded, workers int, onlyMissing bool, maxTasks int, stdout, stderr io.Writer) error {
	states, err := l.store.States(l.plan)
	if err != nil {
		return err
	}
	todo := sweep.Todo(states, onlyMissing)
	n := len(l.plan.Tasks)
	if len(todo) == 0 {
		fmt.Fprintf(stdout, "all %d tasks are done (%s)\n", n, l.store.Dir)
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find this program to run the tasks: %w", err)
	}
	logDir := filepath.Join(l.store.LogDir(l.plan.Spec.Hash))
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return fmt.Errorf("results directory: %w", err)
	}
	env := os.Environ()
	if os.Getenv("GOMAXPROCS") == "" && workers > 1 {
		env = append(env, fmt.Sprintf("GOMAXPROCS=%d", max(1, runtime.NumCPU()/workers)))
	}
	fmt.Fprintf(stderr, "[sweep] %d of %d tasks to run, %d at a time; logs in %s\n", len(todo), n, workers, logDir)
	var failed atomic.Int64
	var mu sync.Mutex
	var failures []int
	prog := run.TextProgress(stderr, "sweep", 5*time.Second)
	err = run.Parallel(context.Background(), len(todo), workers, prog, func() string {
		return fmt.Sprintf("%d failed", failed.Load())
	}, func(ctx context.Context, j int) error {
		i := todo[j]
		logf, err := os.Create(filepath.Join(logDir, fmt.Sprintf("local_%d.err", i)))
		if err != nil {
			return err
		}
		defer logf.Close()
		cmd := exec.CommandContext(ctx, exe, "sweep", "run", l.path, "-index", strconv.Itoa(i),
			"-results", l.store.Dir, "-max-tasks", strconv.Itoa(maxTasks), "-force")
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				return fmt.Errorf("starting task %d: %w", i, err)
			}
			failed.Add(1)
			mu.Lock()
			failures = append(failures, i)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Ints(failures)
	if len(failures) > 0 {
		return fmt.Errorf("%d of %d tasks failed (%s); see sgdescape sweep status %s", len(failures), len(todo), sweep.Ranges(failures), l.path)
	}
	fmt.Fprintf(stdout, "ran %d tasks; all %d of the sweep are done (%s)\n", len(todo), n, l.store.Dir)
	return nil
}

// ---------------------------------------------------------------- submit

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

var jobNameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func sweepSubmit(args []string, stdout, stderr io.Writer) error {
	f := newSweepFlags("submit", stderr)
	binary := f.fs.String("binary", "", "the sgdescape binary the tasks run, on a path every node sees (default: this program)")
	partition := f.fs.String("partition", "", "Slurm partition (default: the spec's slurm.partition, else the cluster's default)")
	timeLimit := f.fs.String("time", "", "time limit per task, as sbatch takes it (01:00:00)")
	cpus := f.fs.Int("cpus", 0, "CPUs per task (default: the spec's slurm.cpus_per_task, else 1); GOMAXPROCS follows it")
	mem := f.fs.String("mem", "", "memory per task, as sbatch takes it (4G)")
	maxPar := f.fs.Int("max-parallel", 0, "at most this many tasks at once (the %max of --array)")
	var extra multiFlag
	f.fs.Var(&extra, "extra", "an extra sbatch flag such as --account=proj (repeatable)")
	dry := f.fs.Bool("dry-run", false, "print the script without submitting it")
	wait := f.fs.Bool("wait", false, "wait until the job has finished (sbatch --wait)")
	onlyMissing := f.fs.Bool("only-missing", false, "leave failed tasks alone (submit only those never run)")
	spec, err := f.parse(args)
	if err != nil {
		return err
	}
	l, err := f.load(spec)
	if err != nil {
		return err
	}
	sl := l.plan.Spec.Slurm
	if *partition != "" {
		sl.Partition = *partition
	}
	if *timeLimit != "" {
		sl.Time = *timeLimit
	}
	if *cpus < 0 || *maxPar < 0 {
		return usagef("-cpus and -max-parallel must be positive")
	}
	if *cpus > 0 {
		sl.CPUsPerTask = *cpus
	}
	if *mem != "" {
		sl.Mem = *mem
	}
	if *maxPar > 0 {
		sl.MaxParallel = *maxPar
	}
	sl.Extra = append(sl.Extra, extra...)
	if err := sl.Check(); err != nil {
		return usageError{err}
	}
	states, err := l.store.States(l.plan)
	if err != nil {
		return err
	}
	todo := sweep.Todo(states, *onlyMissing)
	n := len(l.plan.Tasks)
	if len(todo) == 0 {
		fmt.Fprintf(stdout, "all %d tasks are done; nothing to submit (sgdescape sweep collect %s)\n", n, spec)
		return nil
	}
	exe := *binary
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("cannot find this program: %w; give -binary", err)
		}
		if strings.Contains(exe, "go-build") {
			return usagef("this program is a temporary `go run` build (%s) that vanishes when it exits; build it on a shared path (go build -o bin/sgdescape ./cmd/sgdescape) and submit with that, or give -binary", exe)
		}
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return err
	}
	if fi, err := os.Stat(exe); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return usagef("-binary %s is not an executable file", exe)
	}
	if err := os.MkdirAll(l.store.LogDir(l.plan.Spec.Hash), 0o755); err != nil {
		return fmt.Errorf("results directory: %w", err)
	}
	snapshot := filepath.Join(l.store.Dir, "spec-"+l.plan.Spec.Hash+".json")
	if err := run.WriteFileAtomic(snapshot, l.plan.Spec.JSON(l.store.Dir)); err != nil {
		return err
	}
	wd, _ := os.Getwd()
	name := "sgdescape-" + jobNameUnsafe.ReplaceAllString(strings.TrimSuffix(filepath.Base(spec), filepath.Ext(spec)), "_")
	b := sweep.Batch{Binary: exe, Snapshot: snapshot, Results: l.store.Dir, Cache: run.DefaultCache().Dir, Workdir: wd,
		Indices: todo, Name: name, LogDir: l.store.LogDir(l.plan.Spec.Hash), Slurm: sl}
	if b.Cache == "" {
		return usagef("no cache directory; set SGDESCAPE_CACHE to a shared directory")
	}
	if b.Cache, err = filepath.Abs(b.Cache); err != nil {
		return err
	}
	now := time.Now()
	script := b.Script(now)
	scriptPath := filepath.Join(l.store.Dir, fmt.Sprintf("submit-%s-%s.sbatch", now.UTC().Format("20060102T150405.000"), l.plan.Spec.Hash))
	if err := run.WriteFileAtomic(scriptPath, []byte(script)); err != nil {
		return err
	}
	what := fmt.Sprintf("%d of %d tasks (%s)", len(todo), n, sweep.Ranges(todo))
	if *dry {
		fmt.Fprint(stdout, script)
		fmt.Fprintf(stderr, "dry run: not submitted; %s; script written to %s\n", what, scriptPath)
		return nil
	}
	sbatch, err := exec.LookPath("sbatch")
	if err != nil {
		fmt.Fprint(stdout, script)
		return usagef("sbatch is not on PATH (no Slurm client here): the script above, for %s, is in %s; submit it on the cluster with sbatch, or run here with sgdescape sweep run %s -all", what, scriptPath, spec)
	}
	if max := maxArraySize(); max > 0 && todo[len(todo)-1] >= max {
		return usagef("task index %d exceeds this cluster's MaxArraySize %d (array indices must be < %d); split the sweep into specs of at most %d tasks, or ask the administrators to raise MaxArraySize", todo[len(todo)-1], max, max, max)
	}
	sargs := []string{"--parsable"}
	if *wait {
		sargs = append(sargs, "--wait")
	}
	sargs = append(sargs, scriptPath)
	var so, se bytes.Buffer
	cmd := exec.Command(sbatch, sargs...)
	cmd.Stdout, cmd.Stderr = &so, &se
	runErr := cmd.Run()
	id, idErr := sweep.ParseJobID(so.String())
	if idErr != nil {
		msg := strings.TrimSpace(se.String())
		if msg == "" && runErr != nil {
			msg = runErr.Error()
		}
		return fmt.Errorf("sbatch failed: %s (script: %s)", strings.ReplaceAll(msg, "\n", " "), scriptPath)
	}
	fmt.Fprintf(stdout, "submitted job %s: %s of %s\nscript %s; logs in %s\nfollow with: sgdescape sweep status %s\n",
		id, what, spec, scriptPath, b.LogDir, spec)
	if *wait && runErr != nil {
		why := strings.ReplaceAll(strings.TrimSpace(se.String()), "\n", " ")
		if why == "" {
			why = "sbatch --wait: " + runErr.Error()
		}
		return fmt.Errorf("job %s finished with failures (%s); see sgdescape sweep status %s", id, why, spec)
	}
	return nil
}

// maxArraySize asks scontrol for MaxArraySize (0 when unknown).
func maxArraySize() int {
	out, err := exec.Command("scontrol", "show", "config").Output()
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == "MaxArraySize" {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// ---------------------------------------------------------------- status

type taskStatus struct {
	Index      int      `json:"index"`
	Params     string   `json:"params"`
	State      string   `json:"state"`
	Error      string   `json:"error,omitempty"`
	ExitCode   int      `json:"exit_code,omitempty"`
	Where      string   `json:"where,omitempty"`
	Started    string   `json:"started,omitempty"`
	StderrTail []string `json:"stderr_tail,omitempty"`
	Log        string   `json:"log,omitempty"`
}

func sweepStatus(args []string, stdout, stderr io.Writer) error {
	f := newSweepFlags("status", stderr)
	lines := f.fs.Int("lines", 10, "last stderr lines shown per failed task")
	show := f.fs.Int("show", 20, "failed and missing tasks shown in detail")
	asJSON := f.fs.Bool("json", false, "print the status as JSON")
	spec, err := f.parse(args)
	if err != nil {
		return err
	}
	if *lines < 0 || *show < 0 {
		return usagef("-lines and -show must be ≥ 0")
	}
	l, err := f.load(spec)
	if err != nil {
		return err
	}
	states, err := l.store.States(l.plan)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	var details []taskStatus
	for i, st := range states {
		counts[st]++
		if st == sweep.Done {
			continue
		}
		t := l.plan.Tasks[i]
		ts := taskStatus{Index: i, Params: sweep.ParamString(t.Params), State: st}
		if st == sweep.Failed {
			r, err := l.store.Read(t.Key)
			if err != nil {
				return err
			}
			ts.Error, ts.ExitCode, ts.Where = r.Error, r.ExitCode, whereString(r.Where)
			ts.StderrTail = r.StderrTail
			if len(ts.StderrTail) > *lines {
				ts.StderrTail = ts.StderrTail[len(ts.StderrTail)-*lines:]
			}
		} else if s := l.store.ReadStarted(t.Key); s != nil {
			ts.Where, ts.Started = whereString(s.Where), s.StartedAt.Format(time.RFC3339)
		}
		if len(ts.StderrTail) == 0 {
			ts.StderrTail, ts.Log = l.store.LogTail(l.plan.Spec.Hash, i, *lines)
		}
		details = append(details, ts)
	}
	n := len(l.plan.Tasks)
	if *asJSON {
		return writeJSON(stdout, map[string]any{"spec": l.path, "results": l.store.Dir, "tasks": n,
			"done": counts[sweep.Done], "failed": counts[sweep.Failed], "missing": counts[sweep.Missing], "not_done": details})
	}
	bw := newBufWriter(stdout)
	fmt.Fprintf(bw, "sweep %s: %s, %d tasks — %d done, %d failed, %d missing (results %s)\n",
		spec, l.plan.Spec.Experiment, n, counts[sweep.Done], counts[sweep.Failed], counts[sweep.Missing], l.store.Dir)
	for k, ts := range details {
		if k == *show {
			fmt.Fprintf(bw, "… and %d more (sgdescape sweep status %s -json lists all)\n", len(details)-k, spec)
			break
		}
		switch ts.State {
		case sweep.Failed:
			fmt.Fprintf(bw, "task %d (%s) FAILED, exit %d, on %s: %s\n", ts.Index, ts.Params, ts.ExitCode, ts.Where, ts.Error)
		case sweep.Missing:
			if ts.Started != "" {
				fmt.Fprintf(bw, "task %d (%s) missing: started %s on %s and left no record (still running, or killed)\n", ts.Index, ts.Params, ts.Started, ts.Where)
			} else if ts.Log != "" {
				fmt.Fprintf(bw, "task %d (%s) missing: its batch task left no record (failed before the sweep started, or killed)\n", ts.Index, ts.Params)
			} else {
				fmt.Fprintf(bw, "task %d (%s) missing\n", ts.Index, ts.Params)
			}
		}
		if len(ts.StderrTail) > 0 && *lines > 0 {
			from := "stderr"
			if ts.Log != "" {
				from = ts.Log
			}
			fmt.Fprintf(bw, "    last lines of %s:\n", from)
			for _, line := range ts.StderrTail {
				fmt.Fprintf(bw, "    | %s\n", line)
			}
		}
	}
	if counts[sweep.Done] < n {
		fmt.Fprintf(bw, "to run what is not done: sgdescape sweep run %s -all -workers k, or sgdescape sweep submit %s\n", spec, spec)
	}
	return bw.flush()
}

func whereString(w sweep.Where) string {
	s := fmt.Sprintf("%s pid %d", w.Host, w.PID)
	if w.Job != "" {
		s += " job " + w.Job
	}
	return s
}

// ---------------------------------------------------------------- collect

func sweepCollect(args []string, stdout, stderr io.Writer) error {
	f := newSweepFlags("collect", stderr)
	out := f.fs.String("out", "", "write OUT.csv and OUT.jsonl (default: RESULTS/table)")
	spec, err := f.parse(args)
	if err != nil {
		return err
	}
	l, err := f.load(spec)
	if err != nil {
		return err
	}
	t, missing, err := sweep.Collect(l.plan, l.store)
	if err != nil {
		return err
	}
	prefix := *out
	if prefix == "" {
		prefix = filepath.Join(l.store.Dir, "table")
	}
	prefix = strings.TrimSuffix(strings.TrimSuffix(prefix, ".csv"), ".jsonl")
	c, j, err := t.WriteFiles(prefix)
	if err != nil {
		return err
	}
	n := len(l.plan.Tasks)
	fmt.Fprintf(stdout, "wrote %s and %s: %d rows, %d columns; %d of %d tasks done\n", c, j, len(t.Rows), len(t.Columns), n-len(missing), n)
	if len(missing) > 0 {
		fmt.Fprintf(stdout, "not done (missing or failed): %s — sgdescape sweep status %s says why; sweep run %s -all or sweep submit %s runs them\n",
			sweep.Ranges(missing), spec, spec, spec)
	}
	return nil
}

// bufWriter buffers large outputs (a 10⁴-task plan).
type bufWriter struct {
	bytes.Buffer
	w io.Writer
}

func newBufWriter(w io.Writer) *bufWriter { return &bufWriter{w: w} }
func (b *bufWriter) flush() error {
	_, err := b.w.Write(b.Bytes())
	return err
}
