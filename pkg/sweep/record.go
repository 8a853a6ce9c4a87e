package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// Task states.
const (
	Done    = "done"    // a record with the experiment's result
	Failed  = "failed"  // a record with the error and the last lines of standard error
	Missing = "missing" // no record (never run, still running, or killed)
	// Damaged: a record that cannot be trusted — truncated, not JSON, or
	// belonging to another task (copied over this one's file). It is
	// reported with the reason and rerun, never counted as done.
	Damaged = "damaged"
)

// Record is what one task leaves in the results directory: either the
// command's JSON result (Status "done") or the reason it failed. Records are
// written atomically (temporary file, sync, rename), so concurrent writers —
// many array tasks in one directory, or the same task run twice — never
// leave a half-written record: a reader sees the old file or a whole new one.
type Record struct {
	Key        string   `json:"key"`
	Index      int      `json:"index"`
	Experiment string   `json:"experiment"`
	Args       []string `json:"args"`
	Params     []Param  `json:"params"`
	Status     string   `json:"status"`
	// ExitCode is the command's exit status (0 when done; 2 for bad input).
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error,omitempty"`
	// StderrTail holds the last lines the command wrote to standard error.
	StderrTail []string `json:"stderr_tail,omitempty"`
	// Result is the experiment's JSON ({"result", "provenance"}), as the
	// plain command prints it with -json.
	Result json.RawMessage `json:"result,omitempty"`
	// Scale is the specification's scale (the preset the task started from).
	Scale string `json:"scale,omitempty"`
	Where
	StartedAt   time.Time `json:"started_at"`
	WallSeconds float64   `json:"wall_seconds"`
}

// Where says which process ran a task.
type Where struct {
	Host string `json:"host"`
	PID  int    `json:"pid"`
	// Job is the batch job: "ARRAYJOB_TASK" under Slurm, the job name and
	// index under Kubernetes, empty for local runs.
	Job string `json:"job,omitempty"`
}

// Started is the marker a task leaves while it runs, so that status can tell
// a task that started and vanished (killed, node lost) from one never run.
type Started struct {
	Where
	Index     int       `json:"index"`
	StartedAt time.Time `json:"started_at"`
}

// MarshalJSON writes Params as an object in axis order.
func (p Param) MarshalJSON() ([]byte, error) {
	k, _ := json.Marshal(p.Name)
	v, _ := json.Marshal(p.Value)
	return []byte(`{"name":` + string(k) + `,"value":` + string(v) + `}`), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Param) UnmarshalJSON(b []byte) error {
	var x struct{ Name, Value string }
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	p.Name, p.Value = x.Name, x.Value
	return nil
}

// Store is a results directory:
//
//	DIR/tasks/KEY.json      one record per finished task
//	DIR/tasks/KEY.started   marker of a running task (removed when its record is written)
//	DIR/logs/HASH/          standard output and error of batch tasks (HASH: the spec's)
//	DIR/spec-HASH.json      the specification snapshot a batch job runs
//	DIR/submit-*.sbatch     the batch scripts submitted
type Store struct {
	Dir string
}

func (s Store) recordPath(key string) string  { return filepath.Join(s.Dir, "tasks", key+".json") }
func (s Store) startedPath(key string) string { return filepath.Join(s.Dir, "tasks", key+".started") }

// LogDir is where batch tasks of a specification write their output.
func (s Store) LogDir(specHash string) string { return filepath.Join(s.Dir, "logs", specHash) }

// Write stores a record atomically and removes the task's started marker.
func (s Store) Write(r *Record) error {
	if r.Key == "" || r.Status != Done && r.Status != Failed {
		return fmt.Errorf("sweep: refusing to store a record without key or with status %q", r.Status)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("sweep: encoding the record of task %d: %w", r.Index, err)
	}
	if err := run.WriteFileAtomic(s.recordPath(r.Key), append(b, '\n')); err != nil {
		return err
	}
	os.Remove(s.startedPath(r.Key))
	return nil
}

// MarkStarted leaves the started marker of a task.
func (s Store) MarkStarted(key string, st Started) error {
	b, _ := json.Marshal(st)
	return run.WriteFileAtomic(s.startedPath(key), b)
}

// Read returns the record of a task, nil when there is none. A record that
// cannot be decoded (written by hand, or truncated by a full disk outside the
// atomic path) is reported as an error naming the file.
func (s Store) Read(key string) (*Record, error) {
	b, err := os.ReadFile(s.recordPath(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("sweep: damaged record %s (%v); delete it to rerun the task", s.recordPath(key), err)
	}
	return &r, nil
}

// ReadStarted returns the started marker of a task, nil when there is none.
func (s Store) ReadStarted(key string) *Started {
	b, err := os.ReadFile(s.startedPath(key))
	if err != nil {
		return nil
	}
	var st Started
	if json.Unmarshal(b, &st) != nil {
		return nil
	}
	return &st
}

// State is a task's state, with the reason when it is Damaged.
type State struct {
	State, Why string
}

// Check returns the state of task t of plan p from its record: Done only
// for a whole record of this very task (its key, experiment and parameters
// match) with a JSON result; Damaged, with the reason, for a record that is
// truncated, not JSON or another task's.
func (s Store) Check(p *Plan, t Task) State {
	b, err := os.ReadFile(s.recordPath(t.Key))
	if errors.Is(err, os.ErrNotExist) {
		return State{State: Missing}
	}
	if err != nil {
		return State{Damaged, fmt.Sprintf("unreadable record %s: %v", s.recordPath(t.Key), err)}
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return State{Damaged, fmt.Sprintf("record %s is not whole JSON (%v): truncated or edited", s.recordPath(t.Key), cleanJSONErr(err))}
	}
	if why := r.mismatch(p, t); why != "" {
		return State{Damaged, fmt.Sprintf("record %s %s", s.recordPath(t.Key), why)}
	}
	switch r.Status {
	case Done:
		if !json.Valid(r.Result) || len(r.Result) == 0 {
			return State{Damaged, fmt.Sprintf("record %s is marked done but holds no valid result", s.recordPath(t.Key))}
		}
		return State{State: Done}
	case Failed:
		return State{State: Failed}
	}
	return State{Damaged, fmt.Sprintf("record %s has status %q", s.recordPath(t.Key), r.Status)}
}

// mismatch says why record r is not task t's ("" when it is).
func (r *Record) mismatch(p *Plan, t Task) string {
	switch {
	case r.Key != t.Key:
		return fmt.Sprintf("belongs to task key %s, not %s (copied from another task?)", r.Key, t.Key)
	case r.Experiment != p.Spec.Experiment:
		return fmt.Sprintf("is a record of experiment %q, not %q", r.Experiment, p.Spec.Experiment)
	case len(r.Params) != len(t.Params):
		return fmt.Sprintf("has parameters %s, not %s", ParamString(r.Params), ParamString(t.Params))
	}
	for i, q := range t.Params {
		if r.Params[i].Name != q.Name || r.Params[i].Value != q.Value {
			return fmt.Sprintf("has parameters %s, not %s", ParamString(r.Params), ParamString(t.Params))
		}
	}
	return ""
}

// States returns the state of every task of the plan (see Check), reading
// the records in parallel.
func (s Store) States(p *Plan) []State {
	out := make([]State, len(p.Tasks))
	var wg sync.WaitGroup
	workers := 8
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(p.Tasks); i += workers {
				out[i] = s.Check(p, p.Tasks[i])
			}
		}()
	}
	wg.Wait()
	return out
}

// CacheKey returns the experiment's own cache key recorded in a done task's
// result (its provenance.cache_key), "" when there is none.
func (s Store) CacheKey(key string) string {
	b, err := os.ReadFile(s.recordPath(key))
	if err != nil {
		return ""
	}
	const tag = `"cache_key":"`
	i := bytes.LastIndex(b, []byte(tag))
	if i < 0 {
		return ""
	}
	rest := b[i+len(tag):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// Todo lists the indices of tasks without a done record (missing, damaged
// or failed); with onlyMissing, failed tasks are left out.
func Todo(states []State, onlyMissing bool) []int {
	var idx []int
	for i, st := range states {
		if st.State == Missing || st.State == Damaged || st.State == Failed && !onlyMissing {
			idx = append(idx, i)
		}
	}
	return idx
}

// LogTail returns the last n lines of the newest batch log of a task
// (standard error first, standard output when that is empty) and its path.
func (s Store) LogTail(specHash string, index, n int) (lines []string, path string) {
	for _, ext := range []string{".err", ".out"} {
		matches, _ := filepath.Glob(filepath.Join(s.LogDir(specHash), fmt.Sprintf("*_%d%s", index, ext)))
		var newest string
		var t time.Time
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.ModTime().After(t) {
				newest, t = m, fi.ModTime()
			}
		}
		if newest == "" {
			continue
		}
		b, err := os.ReadFile(newest)
		if err != nil || len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		return lastLines(string(b), n), newest
	}
	return nil, ""
}

func lastLines(s string, n int) []string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return ls
}

// TailWriter keeps the last lines written to it (at most Max bytes), for the
// standard-error tail of a task's record. It is not safe for concurrent use
// by itself; wrap it when several goroutines write.
type TailWriter struct {
	Max int
	buf []byte
}

// Write implements io.Writer.
func (w *TailWriter) Write(p []byte) (int, error) {
	max := w.Max
	if max <= 0 {
		max = 8192
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) > 2*max {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-max:]...)
	}
	return len(p), nil
}

// Lines returns the last n lines written.
func (w *TailWriter) Lines(n int) []string {
	s := strings.TrimSpace(string(w.buf))
	if s == "" {
		return nil
	}
	return lastLines(s, n)
}

// sortedKeys returns the keys of m in sorted order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
