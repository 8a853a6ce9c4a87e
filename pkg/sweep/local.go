package sweep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// BuildCLI builds the sgdescape command from the repository at root into
// out, so that a notebook runs its sweeps through the very CLI a cluster
// runs (go build is incremental: seconds when nothing changed).
func BuildCLI(ctx context.Context, root, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/sgdescape")
	cmd.Dir = root
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("sweep: building the sgdescape command: %v\n%s", err, b)
	}
	return nil
}

// RunLocal runs every task of the sweep in spec that is not done with the
// CLI binary bin (`sweep run SPEC -all -workers k`), then collects it
// (`sweep collect SPEC`) and returns the path of the table (RESULTS/table.csv).
// Progress goes to progress. Tasks that fail do not stop the collection:
// they are rows with status "failed", and failed says how many there are.
func RunLocal(ctx context.Context, bin, spec string, workers int, progress io.Writer) (table string, failed int, err error) {
	s, err := Load(spec)
	if err != nil {
		return "", 0, err
	}
	dir, err := s.ResultsDir("")
	if err != nil {
		return "", 0, err
	}
	if progress == nil {
		progress = io.Discard
	}
	var errb bytes.Buffer
	run := exec.CommandContext(ctx, bin, "sweep", "run", spec, "-all", "-workers", strconv.Itoa(workers))
	run.Stdout, run.Stderr = progress, io.MultiWriter(progress, &errb)
	if err := run.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 { // 1: some tasks failed; collect them as such
			return "", 0, fmt.Errorf("sweep: %s sweep run %s: %v: %s", bin, spec, err, lastLine(errb.String()))
		}
	}
	col := exec.CommandContext(ctx, bin, "sweep", "collect", spec)
	out, err := col.CombinedOutput()
	if err != nil {
		return "", 0, fmt.Errorf("sweep: collect %s: %v: %s", spec, err, lastLine(string(out)))
	}
	fmt.Fprint(progress, string(out))
	table = filepath.Join(dir, "table.csv")
	fr, err := ReadCSV(table)
	if err != nil {
		return "", 0, err
	}
	for r := range fr.Rows {
		if fr.Str(r, "status") != Done {
			failed++
		}
	}
	return table, failed, nil
}

func lastLine(s string) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return ls[len(ls)-1]
}

// WriteSpec checks and writes a specification file, creating its
// directory. Records are kept by task, not by index, so rewriting a spec with
// a changed grid keeps every finished task that is still in it.
func WriteSpec(path string, spec []byte) error {
	if _, err := Parse(spec); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, spec, 0o644)
}

// Floats formats numbers as axis values.
func Floats(v ...float64) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return out
}

// Ints formats integers as axis values.
func Ints(v ...int) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.Itoa(x)
	}
	return out
}
