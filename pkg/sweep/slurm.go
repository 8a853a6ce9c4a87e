package sweep

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// Batch is what the sbatch script of a sweep needs.
type Batch struct {
	// Binary is the absolute path of the sgdescape binary on a path every
	// node sees.
	Binary string
	// Snapshot is the absolute path of the specification snapshot the tasks run.
	Snapshot string
	// Results is the absolute, shared results directory.
	Results string
	// Command, when set, replaces `sweep run SNAPSHOT -results RESULTS`:
	// the arguments each array task gives the binary (the task reads its
	// index from SLURM_ARRAY_TASK_ID), e.g. the paper suite's.
	Command []string
	// Cache is the experiments' cache directory (exported as SGDESCAPE_CACHE),
	// so that a task's result is the same cache entry as the plain command's.
	Cache string
	// Workdir is the directory the tasks run in.
	Workdir string
	// Indices are the task indices to run (all of them, or the missing ones
	// on resubmission).
	Indices []int
	// Name is the job name.
	Name string
	// LogDir receives %A_%a.out and %A_%a.err.
	LogDir string
	// Resources, time limit, partition, %max and extra flags.
	Slurm Slurm
}

// ArraySpec returns the --array value: "0-(n−1)%max" for a full sweep, the
// missing indices ("3,7-9%max") on resubmission.
func (b Batch) ArraySpec() string {
	s := Ranges(b.Indices)
	if b.Slurm.MaxParallel > 0 {
		s += fmt.Sprintf("%%%d", b.Slurm.MaxParallel)
	}
	return s
}

// Script returns the sbatch script. Each array task runs
// `sgdescape sweep run SNAPSHOT -results DIR`, which reads its index from
// SLURM_ARRAY_TASK_ID and writes its record atomically into DIR.
func (b Batch) Script(now time.Time) string {
	var s strings.Builder
	s.WriteString("#!/bin/bash\n")
	line := func(format string, args ...any) { fmt.Fprintf(&s, "#SBATCH "+format+"\n", args...) }
	line("--job-name=%s", b.Name)
	line("--array=%s", b.ArraySpec())
	line("--output=%s", filepath.Join(b.LogDir, "%A_%a.out"))
	line("--error=%s", filepath.Join(b.LogDir, "%A_%a.err"))
	if b.Slurm.Partition != "" {
		line("--partition=%s", b.Slurm.Partition)
	}
	if b.Slurm.Time != "" {
		line("--time=%s", b.Slurm.Time)
	}
	cpus := b.Slurm.CPUsPerTask
	if cpus <= 0 {
		cpus = 1
	}
	line("--cpus-per-task=%d", cpus)
	if b.Slurm.Mem != "" {
		line("--mem=%s", b.Slurm.Mem)
	}
	for _, e := range b.Slurm.Extra {
		line("%s", e)
	}
	fmt.Fprintf(&s, "#\n# Written by sgdescape at %s: %d task(s) of %s.\n", now.UTC().Format(time.RFC3339), len(b.Indices), b.Snapshot)
	s.WriteString("# Each array task runs one task of the sweep and writes its record into the\n")
	s.WriteString("# shared results directory; `sgdescape sweep status` and `collect` read them.\n")
	s.WriteString("set -eu\n")
	fmt.Fprintf(&s, "export SGDESCAPE_CACHE=%s\n", shellQuote(b.Cache))
	s.WriteString("export GOMAXPROCS=\"${SLURM_CPUS_PER_TASK:-1}\"\n")
	fmt.Fprintf(&s, "cd %s\n", shellQuote(b.Workdir))
	args := b.Command
	if len(args) == 0 {
		args = []string{"sweep", "run", b.Snapshot, "-results", b.Results}
	}
	fmt.Fprintf(&s, "exec %s", shellQuote(b.Binary))
	for _, a := range args {
		fmt.Fprintf(&s, " %s", shellQuote(a))
	}
	s.WriteString("\n")
	return s.String()
}

// shellQuote quotes a word for bash.
func shellQuote(s string) string {
	if regexp.MustCompile(`^[A-Za-z0-9_./:=+,@%-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ParseJobID reads the job id from `sbatch --parsable` output ("123" or "123;cluster").
func ParseJobID(out string) (string, error) {
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		l = strings.TrimSpace(l)
		if id, _, _ := strings.Cut(l, ";"); regexp.MustCompile(`^[0-9]+$`).MatchString(id) {
			return id, nil
		}
		if f := strings.Fields(l); len(f) == 4 && f[0] == "Submitted" { // without --parsable
			return f[3], nil
		}
	}
	return "", fmt.Errorf("no job id in the output of sbatch: %q", strings.TrimSpace(out))
}

// SubmitOptions are the settings of Submit.
type SubmitOptions struct {
	// SpecPath is the specification file as the user named it.
	SpecPath string
	// Binary is the sgdescape binary on a path every node sees ("": this program).
	Binary string
	// Slurm are the batch resources (the spec's, overridden by flags).
	Slurm Slurm
	// DryRun writes the script without submitting it; Wait waits for the job.
	DryRun, Wait, OnlyMissing bool
	// Cache is the experiments' shared cache directory.
	Cache string
}

// Submit writes the sbatch job-array script of the tasks not done and
// submits it (unless DryRun). It returns the script and a message for the
// user. Without sbatch on PATH it returns the script and an input error
// saying where it is and how to run the tasks here instead.
func Submit(p *Plan, st Store, o SubmitOptions) (script, msg string, err error) {
	if err := o.Slurm.Check(); err != nil {
		return "", "", run.BadInput(err)
	}
	todo := Todo(st.States(p), o.OnlyMissing)
	n := len(p.Tasks)
	if len(todo) == 0 {
		return "", fmt.Sprintf("all %d tasks are done; nothing to submit (sgdescape sweep collect %s)", n, o.SpecPath), nil
	}
	exe := o.Binary
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return "", "", fmt.Errorf("cannot find this program: %w; give -binary", err)
		}
		if strings.Contains(exe, "go-build") {
			return "", "", run.BadInput(fmt.Errorf("this program is a temporary `go run` build (%s) that vanishes when it exits; build it on a shared path (go build -o bin/sgdescape ./cmd/sgdescape) and submit with that, or give -binary", exe))
		}
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return "", "", err
	}
	if fi, err := os.Stat(exe); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", "", run.BadInput(fmt.Errorf("-binary %s is not an executable file", exe))
	}
	if o.Cache == "" {
		return "", "", run.BadInput(fmt.Errorf("no cache directory; set SGDESCAPE_CACHE to a shared directory"))
	}
	cache, err := filepath.Abs(o.Cache)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(st.LogDir(p.Spec.Hash), 0o755); err != nil {
		return "", "", fmt.Errorf("results directory: %w", err)
	}
	snapshot := filepath.Join(st.Dir, "spec-"+p.Spec.Hash+".json")
	if err := run.WriteFileAtomic(snapshot, p.Spec.JSON(st.Dir)); err != nil {
		return "", "", err
	}
	wd, _ := os.Getwd()
	name := "sgdescape-" + regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(strings.TrimSuffix(filepath.Base(o.SpecPath), filepath.Ext(o.SpecPath)), "_")
	b := Batch{Binary: exe, Snapshot: snapshot, Results: st.Dir, Cache: cache, Workdir: wd,
		Indices: todo, Name: name, LogDir: st.LogDir(p.Spec.Hash), Slurm: o.Slurm}
	now := time.Now()
	script = b.Script(now)
	scriptPath := filepath.Join(st.Dir, fmt.Sprintf("submit-%s-%s.sbatch", now.UTC().Format("20060102T150405.000"), p.Spec.Hash))
	if err := run.WriteFileAtomic(scriptPath, []byte(script)); err != nil {
		return "", "", err
	}
	what := fmt.Sprintf("%d of %d tasks (%s)", len(todo), n, Ranges(todo))
	if o.DryRun {
		return script, fmt.Sprintf("dry run: not submitted; %s; script written to %s", what, scriptPath), nil
	}
	sbatch, err := exec.LookPath("sbatch")
	if err != nil {
		return script, "", run.BadInput(fmt.Errorf("sbatch is not on PATH (no Slurm client here): the script above, for %s, is in %s; submit it on the cluster with sbatch, or run here with sgdescape sweep run %s -all", what, scriptPath, o.SpecPath))
	}
	if max := maxArraySize(); max > 0 && todo[len(todo)-1] >= max {
		return "", "", run.BadInput(fmt.Errorf("task index %d exceeds this cluster's MaxArraySize %d (array indices must be < %d); split the sweep into specs of at most %d tasks, or ask the administrators to raise MaxArraySize", todo[len(todo)-1], max, max, max))
	}
	args := []string{"--parsable"}
	if o.Wait {
		args = append(args, "--wait")
	}
	var so, se bytes.Buffer
	cmd := exec.Command(sbatch, append(args, scriptPath)...)
	cmd.Stdout, cmd.Stderr = &so, &se
	runErr := cmd.Run()
	id, idErr := ParseJobID(so.String())
	if idErr != nil {
		why := strings.TrimSpace(se.String())
		if why == "" && runErr != nil {
			why = runErr.Error()
		}
		return "", "", fmt.Errorf("sbatch failed: %s (script: %s)", strings.ReplaceAll(why, "\n", " "), scriptPath)
	}
	msg = fmt.Sprintf("submitted job %s: %s of %s\nscript %s; logs in %s\nfollow with: sgdescape sweep status %s", id, what, o.SpecPath, scriptPath, b.LogDir, o.SpecPath)
	if o.Wait && runErr != nil {
		why := strings.ReplaceAll(strings.TrimSpace(se.String()), "\n", " ")
		if why == "" {
			why = "sbatch --wait: " + runErr.Error()
		}
		return "", msg, fmt.Errorf("job %s finished with failures (%s); see sgdescape sweep status %s", id, why, o.SpecPath)
	}
	return "", msg, nil
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
