package sweep

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"
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
	fmt.Fprintf(&s, "#\n# Written by `sgdescape sweep submit` at %s: %d task(s) of %s.\n", now.UTC().Format(time.RFC3339), len(b.Indices), b.Snapshot)
	s.WriteString("# Each array task runs one task of the sweep and writes its record into the\n")
	s.WriteString("# shared results directory; `sgdescape sweep status` and `collect` read them.\n")
	s.WriteString("set -eu\n")
	fmt.Fprintf(&s, "export SGDESCAPE_CACHE=%s\n", shellQuote(b.Cache))
	s.WriteString("export GOMAXPROCS=\"${SLURM_CPUS_PER_TASK:-1}\"\n")
	fmt.Fprintf(&s, "cd %s\n", shellQuote(b.Workdir))
	fmt.Fprintf(&s, "exec %s sweep run %s -results %s\n", shellQuote(b.Binary), shellQuote(b.Snapshot), shellQuote(b.Results))
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
