package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sgdescape/sgdescape/pkg/experiment"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// EnvFunc returns the environment a task of experiment e runs in (backend,
// cache, progress) and a function that releases it.
type EnvFunc func(e experiment.Entry) (run.Env, func(), error)

// ErrStopped is returned by RunTask when its context ends (a signal) before
// the task finishes; the task's record says so and it is rerun next time.
var ErrStopped = errors.New("stopped")

// Here returns where this process runs: host, PID and the batch job
// (Slurm array task or Kubernetes indexed job) from the environment.
func Here() Where {
	host, _ := os.Hostname()
	w := Where{Host: host, PID: os.Getpid()}
	if j := os.Getenv("SLURM_ARRAY_JOB_ID"); j != "" {
		w.Job = j + "_" + os.Getenv("SLURM_ARRAY_TASK_ID")
	} else if j := os.Getenv("SLURM_JOB_ID"); j != "" {
		w.Job = j
	} else if i := os.Getenv("JOB_COMPLETION_INDEX"); i != "" {
		w.Job = "k8s-index-" + i
	}
	return w
}

// lockedWriter serialises writes from the task and from the runner.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// RunTask runs task idx of p in this process — the registered experiment
// with the task's typed configuration, on the environment of envFor — and
// writes its record: the experiment's JSON when it finishes, else the
// error (exit code 2 for an input error, 1 otherwise; a panic is an error
// with its stack) with the last lines of standard error. When ctx ends first
// (SIGTERM at a Slurm time limit, scancel, Ctrl-C) the record says the task
// was stopped and RunTask returns ErrStopped at once.
func RunTask(ctx context.Context, p *Plan, st Store, idx int, envFor EnvFunc, stderr io.Writer) (*Record, error) {
	t := p.Tasks[idx]
	w := Here()
	start := time.Now()
	if err := st.MarkStarted(t.Key, Started{Where: w, Index: idx, StartedAt: start.UTC()}); err != nil {
		return nil, fmt.Errorf("results directory: %w", err)
	}
	rec := &Record{Key: t.Key, Index: idx, Experiment: p.Spec.Experiment, Scale: p.Spec.Scale, Args: append(p.Args(t), "-json"),
		Params: t.Params, Where: w, StartedAt: start.UTC().Truncate(time.Second)}
	tail := &TailWriter{}
	errw := &lockedWriter{w: io.MultiWriter(stderr, tail)}
	fmt.Fprintf(errw, "[sweep] task %d of %d: sgdescape %s %s\n", idx, len(p.Tasks), p.Spec.Experiment, strings.Join(rec.Args, " "))

	type outcome struct {
		b   []byte
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		defer func() {
			if r := recover(); r != nil {
				o = outcome{err: fmt.Errorf("panic: %v\n%s", r, debug.Stack())}
			}
			done <- o
		}()
		o.b, o.err = runInstance(ctx, p, t, envFor, errw)
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		o.err = ErrStopped
	}
	rec.WallSeconds = time.Since(start).Seconds()
	switch {
	case errors.Is(o.err, ErrStopped) || (o.err != nil && ctx.Err() != nil):
		rec.Status, rec.ExitCode, rec.Error = Failed, 128+int(syscall.SIGTERM), "stopped by a signal (Slurm time limit, scancel, preemption or Ctrl-C) before it finished; rerun it"
	case o.err != nil:
		rec.Status, rec.ExitCode, rec.Error = Failed, 1, strings.ReplaceAll(o.err.Error(), "\n", " ")
		if run.IsBadInput(o.err) {
			rec.ExitCode = 2
		}
		fmt.Fprintf(errw, "sgdescape %s: %s\n", p.Spec.Experiment, rec.Error)
	default:
		rec.Status, rec.Result = Done, o.b
	}
	errw.mu.Lock()
	rec.StderrTail = tail.Lines(20)
	errw.mu.Unlock()
	if err := st.Write(rec); err != nil {
		return rec, fmt.Errorf("task %d: writing its record: %w", idx, err)
	}
	switch {
	case rec.ExitCode == 128+int(syscall.SIGTERM):
		return rec, ErrStopped
	case rec.Status != Done:
		return rec, fmt.Errorf("task %d (%s) failed: %s", idx, ParamString(t.Params), rec.Error)
	}
	return rec, nil
}

// runInstance configures and runs the experiment of task t and returns its JSON.
func runInstance(ctx context.Context, p *Plan, t Task, envFor EnvFunc, stderr io.Writer) ([]byte, error) {
	in, err := p.Instance(t)
	if err != nil {
		return nil, run.BadInput(err)
	}
	env, release, err := envFor(p.Entry)
	if err != nil {
		return nil, err
	}
	defer release()
	out, err := in.Run(ctx, env)
	if err != nil {
		return nil, err
	}
	b, bad, err := out.Encode()
	if len(bad) > 0 {
		fmt.Fprintf(stderr, "sgdescape: warning: not a finite number, written as null: %s\n", strings.Join(bad, ", "))
	}
	return b, err
}

// RunOptions are the settings of RunAll.
type RunOptions struct {
	// Workers is the number of tasks at a time.
	Workers int
	// OnlyMissing leaves failed tasks alone.
	OnlyMissing bool
	// Exe runs each task as `Exe sweep run SPEC -index i` (a separate
	// process, exactly as a Slurm array task); "" runs them in this
	// process with Env.
	Exe, SpecPath string
	MaxTasks      int
	Env           EnvFunc
	// Progress receives the tasks done.
	Progress run.Progress
}

// RunAll runs every task of p that is not done, opts.Workers at a time, and
// returns the indices of the tasks that failed. When ctx ends (SIGTERM,
// Ctrl-C), running task processes get SIGTERM, so that each writes its
// "stopped" record, and RunAll waits for them (at most 10 s each) before
// it returns ErrStopped: no task is left orphaned.
func RunAll(ctx context.Context, p *Plan, st Store, opts RunOptions, stderr io.Writer) (ran int, failed []int, err error) {
	todo := Todo(st.States(p), opts.OnlyMissing)
	if len(todo) == 0 {
		return 0, nil, nil
	}
	workers := max(1, opts.Workers)
	logDir := st.LogDir(p.Spec.Hash)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return 0, nil, fmt.Errorf("results directory: %w", err)
	}
	env := os.Environ()
	if os.Getenv("GOMAXPROCS") == "" && workers > 1 {
		env = append(env, fmt.Sprintf("GOMAXPROCS=%d", max(1, runtime.NumCPU()/workers)))
	}
	var nFailed atomic.Int64
	var mu sync.Mutex
	perr := run.Parallel(ctx, len(todo), workers, opts.Progress, func() string {
		return fmt.Sprintf("%d failed", nFailed.Load())
	}, func(ctx context.Context, j int) error {
		i := todo[j]
		var ok bool
		if opts.Exe == "" {
			_, terr := RunTask(ctx, p, st, i, opts.Env, io.Discard)
			if errors.Is(terr, ErrStopped) {
				return terr
			}
			ok = terr == nil
		} else {
			var err error
			if ok, err = runProcess(ctx, opts, st, i, logDir, env); err != nil {
				return err
			}
		}
		if !ok {
			nFailed.Add(1)
			mu.Lock()
			failed = append(failed, i)
			mu.Unlock()
		}
		return nil
	})
	sort.Ints(failed)
	if ctx.Err() != nil {
		return len(todo), failed, ErrStopped
	}
	return len(todo), failed, perr
}

// runProcess runs task i as a child process; a cancelled ctx sends it
// SIGTERM (then SIGKILL after 10 s) and waits for it.
func runProcess(ctx context.Context, opts RunOptions, st Store, i int, logDir string, env []string) (bool, error) {
	logf, err := os.Create(filepath.Join(logDir, fmt.Sprintf("local_%d.err", i)))
	if err != nil {
		return false, err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, opts.Exe, "sweep", "run", opts.SpecPath, "-index", strconv.Itoa(i),
		"-results", st.Dir, "-max-tasks", strconv.Itoa(opts.MaxTasks), "-force")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) && ctx.Err() == nil {
			return false, fmt.Errorf("starting task %d: %w", i, err)
		}
		return false, nil
	}
	return true, nil
}
