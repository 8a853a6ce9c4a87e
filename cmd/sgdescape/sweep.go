package main

// `sgdescape sweep`: the command-line verbs of pkg/sweep. Tasks run the
// registered experiments in-process with typed configurations.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sgdescape/sgdescape/pkg/registry"

	"github.com/sgdescape/sgdescape/pkg/experiment"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/sweep"
)

func init() {
	commands["sweep"] = command{
		summary: "what-if grids of any experiment: plan | run | submit (Slurm job array) | status | collect",
		run:     runSweep,
	}
}

const sweepUsage = `usage: sgdescape sweep <plan|run|submit|status|collect> SPEC [flags]
  plan SPEC                  the task table: index, parameters, key, state
  run SPEC -index i          run task i (default: $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX)
  run SPEC -all -workers k   run every task not done yet, k at a time
  submit SPEC                write an sbatch job-array script for the tasks not done and submit it
  status SPEC                done / failed / missing / damaged, with the failing tasks' last stderr lines
  collect SPEC               one table (CSV and JSON lines): parameters, key results, provenance
SPEC is a JSON file: {"experiment": "fpt", "scale": "quick", "base": {"P": 5, "runs": 20}, "axes": {"eta": [0.05, 0.1], "B": [1, 2]}}
(names are the experiment's parameters: sgdescape help params; sgdescape sweep <subcommand> -h lists its flags)`

func runSweep(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, sweepUsage)
		if len(args) == 0 {
			return usagef("name a subcommand: plan, run, submit, status or collect")
		}
		return flag.ErrHelp
	}
	verbs := map[string]func([]string, io.Writer, io.Writer) error{
		"plan": sweepPlan, "run": sweepRun, "submit": sweepSubmit, "status": sweepStatus, "collect": sweepCollect}
	if v, ok := verbs[args[0]]; ok {
		return v(args[1:], stdout, stderr)
	}
	return usagef("unknown subcommand %q (use plan, run, submit, status or collect)", args[0])
}

// sweepCmd is one subcommand: its flags, and the loaded plan after parse.
type sweepCmd struct {
	fs       *flag.FlagSet
	results  string
	maxTasks int
	spec     string
	plan     *sweep.Plan
	store    sweep.Store
}

func newSweepCmd(sub string, stderr io.Writer) *sweepCmd {
	c := &sweepCmd{fs: newFlags("sweep "+sub, stderr)}
	c.fs.StringVar(&c.results, "results", "", "results directory (default: the spec's \"results\", else SPEC with .json replaced by .results); must be shared by every node")
	c.fs.IntVar(&c.maxTasks, "max-tasks", 0, fmt.Sprintf("refuse sweeps with more tasks than this (default: the spec's max_tasks, else %d)", sweep.DefaultMaxTasks))
	return c
}

// load parses the flags (SPEC before or after them), then reads, checks
// and plans the specification.
func (c *sweepCmd) load(args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		c.spec, args = args[0], args[1:]
	}
	if err := c.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(c.fs.Output(), "usage: %s SPEC [flags]\n", c.fs.Name())
			c.fs.SetOutput(c.fs.Output())
			c.fs.PrintDefaults()
			return err
		}
		return usageError{explainParseError(c.fs, err)}
	}
	rest := c.fs.Args()
	if c.spec == "" && len(rest) > 0 {
		c.spec, rest = rest[0], rest[1:]
	}
	switch {
	case len(rest) > 0:
		return usagef("unexpected argument %q (one SPEC file, then flags)", rest[0])
	case c.spec == "":
		return usagef("name the sweep specification: %s SPEC.json", c.fs.Name())
	case c.maxTasks < 0:
		return usagef("-max-tasks must be positive")
	}
	s, err := sweep.Load(c.spec)
	if err != nil {
		return usageError{err}
	}
	if c.plan, err = sweep.NewPlan(s, registry.All(), c.maxTasks); err != nil {
		return usageError{fmt.Errorf("%s: %w", c.spec, err)}
	}
	dir, err := s.ResultsDir(c.results)
	if err != nil {
		return usageError{err}
	}
	c.store = sweep.Store{Dir: dir}
	return nil
}

func sweepPlan(args []string, stdout, stderr io.Writer) error {
	c := newSweepCmd("plan", stderr)
	asJSON := c.fs.Bool("json", false, "print the plan as JSON")
	if err := c.load(args); err != nil {
		return err
	}
	states := c.store.States(c.plan)
	if *asJSON {
		return writeJSON(stdout, c.plan.JSON(c.store, states))
	}
	return c.plan.WritePlan(stdout, c.spec, c.store, states)
}

// taskEnv is the environment of a task: as the plain command's, quiet
// (its progress lines go to the task's stderr).
func taskEnv(stderr io.Writer) sweep.EnvFunc {
	return func(e experiment.Entry) (run.Env, func(), error) {
		return envFor(e, runOptions{}, stderr)
	}
}

func sweepRun(args []string, stdout, stderr io.Writer) error {
	c := newSweepCmd("run", stderr)
	index := c.fs.Int("index", -1, "run this task (default: $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX)")
	all := c.fs.Bool("all", false, "run every task that is not done (missing, damaged or failed), here")
	workers := c.fs.Int("workers", 1, "with -all: tasks run at the same time (each a separate process)")
	onlyMissing := c.fs.Bool("only-missing", false, "with -all: leave failed tasks alone")
	force := c.fs.Bool("force", false, "with -index: run the task even if it is done")
	if err := c.load(args); err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	n := len(c.plan.Tasks)
	if *all {
		if *index >= 0 {
			return usagef("give -index or -all, not both")
		}
		if *workers < 1 || *workers > 1024 {
			return usagef("-workers %d must be between 1 and 1024", *workers)
		}
		return runAll(ctx, c, *workers, *onlyMissing, stdout, stderr)
	}
	idx, err := taskIndex(*index, n)
	if err != nil {
		return err
	}
	t := c.plan.Tasks[idx]
	if st := c.store.Check(c.plan, t); !*force && st.State == sweep.Done {
		fmt.Fprintf(stdout, "task %d (%s) is already done; -force runs it again\n", idx, sweep.ParamString(t.Params))
		return nil
	}
	rec, err := sweep.RunTask(ctx, c.plan, c.store, idx, taskEnv(stderr), stderr)
	if errors.Is(err, sweep.ErrStopped) {
		fmt.Fprintf(stderr, "sgdescape sweep run: task %d stopped by a signal; its record says so and it is rerun next time\n", idx)
		os.Exit(128 + int(syscall.SIGTERM))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "task %d (%s) done in %.1f s\n", idx, sweep.ParamString(t.Params), rec.WallSeconds)
	return nil
}

// taskIndex resolves -index, or the batch system's index variables.
func taskIndex(index, n int) (int, error) {
	if index >= n {
		return 0, usagef("-index %d is out of range: the sweep has %d tasks (0–%d)", index, n, n-1)
	}
	if index >= 0 {
		return index, nil
	}
	for _, v := range []string{"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"} {
		s := os.Getenv(v)
		if s == "" {
			continue
		}
		i, err := strconv.Atoi(s)
		if err != nil {
			return 0, usagef("$%s=%q is not a task index", v, s)
		}
		if i < 0 || i >= n {
			return 0, usagef("$%s=%d is out of range: the sweep has %d tasks (0–%d); was the job submitted for another spec?", v, i, n, n-1)
		}
		return i, nil
	}
	if index != -1 {
		return 0, usagef("-index %d is out of range: the sweep has %d tasks (0–%d)", index, n, n-1)
	}
	return 0, usagef("which task? give -index i (0–%d) or -all, or run under a Slurm job array or a Kubernetes indexed job", n-1)
}

// runAll runs every task not done, each as a separate process of this
// binary, exactly as a Slurm array task would; a signal stops them all.
func runAll(ctx context.Context, c *sweepCmd, workers int, onlyMissing bool, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find this program to run the tasks: %w", err)
	}
	spec, _ := filepath.Abs(c.spec)
	n := len(c.plan.Tasks)
	fmt.Fprintf(stderr, "[sweep] running the tasks not done of %d, %d at a time; logs in %s\n", n, workers, c.store.LogDir(c.plan.Spec.Hash))
	ran, failed, err := sweep.RunAll(ctx, c.plan, c.store, sweep.RunOptions{Workers: workers, OnlyMissing: onlyMissing, Exe: exe, SpecPath: spec,
		MaxTasks: c.maxTasks, Progress: run.TextProgress(stderr, "sweep", 5*time.Second)}, stderr)
	switch {
	case errors.Is(err, sweep.ErrStopped):
		return fmt.Errorf("stopped by a signal: the running tasks were stopped and recorded as such; rerun to finish (%d of %d tasks were to run)", ran, n)
	case err != nil:
		return err
	case ran == 0:
		fmt.Fprintf(stdout, "all %d tasks are done (%s)\n", n, c.store.Dir)
	case len(failed) > 0:
		return fmt.Errorf("%d of %d tasks failed (%s); see sgdescape sweep status %s", len(failed), ran, sweep.Ranges(failed), c.spec)
	default:
		fmt.Fprintf(stdout, "ran %d tasks; all %d of the sweep are done (%s)\n", ran, n, c.store.Dir)
	}
	return nil
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func sweepSubmit(args []string, stdout, stderr io.Writer) error {
	c := newSweepCmd("submit", stderr)
	var o sweep.SubmitOptions
	var sl sweep.Slurm
	var extra multiFlag
	c.fs.StringVar(&o.Binary, "binary", "", "the sgdescape binary the tasks run, on a path every node sees (default: this program)")
	c.fs.StringVar(&sl.Partition, "partition", "", "Slurm partition (default: the spec's slurm.partition)")
	c.fs.StringVar(&sl.Time, "time", "", "time limit per task, as sbatch takes it (01:00:00)")
	c.fs.IntVar(&sl.CPUsPerTask, "cpus", 0, "CPUs per task (default: the spec's, else 1); GOMAXPROCS follows it")
	c.fs.StringVar(&sl.Mem, "mem", "", "memory per task, as sbatch takes it (4G)")
	c.fs.IntVar(&sl.MaxParallel, "max-parallel", 0, "at most this many tasks at once (the %max of --array)")
	c.fs.Var(&extra, "extra", "an extra sbatch flag such as --account=proj (repeatable)")
	c.fs.BoolVar(&o.DryRun, "dry-run", false, "print the script without submitting it")
	c.fs.BoolVar(&o.Wait, "wait", false, "wait until the job has finished (sbatch --wait)")
	c.fs.BoolVar(&o.OnlyMissing, "only-missing", false, "leave failed tasks alone")
	if err := c.load(args); err != nil {
		return err
	}
	if sl.CPUsPerTask < 0 || sl.MaxParallel < 0 {
		return usagef("-cpus and -max-parallel must be positive")
	}
	o.Slurm = c.plan.Spec.Slurm.Override(sl, extra)
	o.SpecPath, o.Cache = c.spec, run.DefaultCache().Dir
	script, msg, err := sweep.Submit(c.plan, c.store, o)
	fmt.Fprint(stdout, script)
	if msg != "" {
		w := stdout
		if o.DryRun {
			w = stderr
		}
		fmt.Fprintln(w, msg)
	}
	return err
}

func sweepStatus(args []string, stdout, stderr io.Writer) error {
	c := newSweepCmd("status", stderr)
	lines := c.fs.Int("lines", 10, "last stderr lines shown per failed task")
	show := c.fs.Int("show", 20, "failed, damaged and missing tasks shown in detail")
	asJSON := c.fs.Bool("json", false, "print the status as JSON")
	if err := c.load(args); err != nil {
		return err
	}
	if *lines < 0 || *show < 0 {
		return usagef("-lines and -show must be ≥ 0")
	}
	abs, _ := filepath.Abs(c.spec)
	st := c.plan.Status(abs, c.store, *lines)
	if *asJSON {
		return writeJSON(stdout, st)
	}
	st.Spec = c.spec
	return st.Write(stdout, c.plan.Spec.Experiment, *show)
}

func sweepCollect(args []string, stdout, stderr io.Writer) error {
	c := newSweepCmd("collect", stderr)
	out := c.fs.String("out", "", "write OUT.csv and OUT.jsonl (default: RESULTS/table)")
	if err := c.load(args); err != nil {
		return err
	}
	t, missing, err := sweep.Collect(c.plan, c.store)
	if err != nil {
		return err
	}
	prefix := *out
	if prefix == "" {
		prefix = filepath.Join(c.store.Dir, "table")
	}
	csv, jsonl, err := t.WriteFiles(strings.TrimSuffix(strings.TrimSuffix(prefix, ".csv"), ".jsonl"))
	if err != nil {
		return err
	}
	n := len(c.plan.Tasks)
	fmt.Fprintf(stdout, "wrote %s and %s: %d rows, %d columns; %d of %d tasks done\n", csv, jsonl, len(t.Rows), len(t.Columns), n-len(missing), n)
	if len(missing) > 0 {
		fmt.Fprintf(stdout, "not done (missing, damaged or failed): %s — sgdescape sweep status %s says why; sweep run %s -all or sweep submit %s runs them\n",
			sweep.Ranges(missing), c.spec, c.spec, c.spec)
	}
	return nil
}
