// Package sweep runs what-if grids of the registered experiments
// (pkg/experiment): a sweep specification names one experiment, fixed
// parameters (base) and axes of values; its tasks are the Cartesian product
// of the axes in a documented, deterministic order. Every value is parsed,
// checked and made canonical by the experiment's own parameter declarations
// (pkg/param), and every task's configuration is validated when the sweep
// is planned, so a bad grid is refused before any task runs. A task runs the
// registered experiment in-process with its typed configuration, so its
// result is exactly (and is cached exactly as) what `sgdescape <experiment>
// <flags> -json` returns. Task records are written atomically to a results
// directory that many processes (local workers or Slurm array tasks) share,
// and are checked against their task when read; status, collection into one
// tidy table and the Slurm batch script are built from the same plan.
package sweep

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultMaxTasks is the largest sweep accepted unless the specification's
// max_tasks (or the CLI's -max-tasks) raises it: a guard against an axis
// typed with one zero too many.
const DefaultMaxTasks = 100000

// Spec is a sweep specification, read from JSON:
//
//	{"experiment": "fpt",
//	 "base": {"model": "linreg", "P": 5, "runs": 20, "c": "1.5,2"},
//	 "axes": {"eta": [0.05, 0.1], "seed": [1, 2, 3]},
//	 "results": "fpt-grid.results",
//	 "max_tasks": 1000,
//	 "slurm": {"time": "00:30:00", "cpus_per_task": 1, "mem": "2G", "max_parallel": 50}}
//
// Keys of base and axes are the experiment's parameter names (its flags
// without the dash; sgdescape help params lists them), one spelling each;
// values are numbers, strings or booleans written as the flag would take
// them ("1.5,2" or [1.5, 2] for a list). "scale" (quick or paper) chooses
// the preset the other parameters start from.
type Spec struct {
	// Experiment is the registered experiment each task runs (fpt, stationary, …).
	Experiment string
	// Scale is the preset's scale: "quick" (default) or "paper".
	Scale string
	// Base holds the flags every task shares, in the order written.
	Base []Param
	// Axes are the swept flags in the order written; see Expand for the order of tasks.
	Axes []Axis
	// Results is the results directory as written in the file (may be empty).
	Results string
	// MaxTasks caps the number of tasks (0: DefaultMaxTasks).
	MaxTasks int
	// Slurm holds batch resources for `sweep submit`.
	Slurm Slurm
	// Path is the file the spec was read from ("" when parsed from bytes).
	Path string
	// Hash identifies the task list: it changes when experiment, base or axes change.
	Hash string
}

// Param is one parameter and its value. Value is the canonical text once
// the spec is planned (Plan), the text as written before.
type Param struct {
	Name, Value string
	raw         json.RawMessage
}

// Axis is one swept parameter and its values (canonical once planned).
type Axis struct {
	Name   string
	Values []string
	raw    []json.RawMessage
}

// Slurm holds the resources of the generated batch script; every field is
// optional. The CLI's flags override them.
type Slurm struct {
	Partition   string   `json:"partition,omitempty"`
	Time        string   `json:"time,omitempty"`
	CPUsPerTask int      `json:"cpus_per_task,omitempty"`
	Mem         string   `json:"mem,omitempty"`
	MaxParallel int      `json:"max_parallel,omitempty"`
	Extra       []string `json:"extra,omitempty"`
}

// Error is a specification error; Field names the offending field
// ("axes.eta[2]", "base.P", "experiment").
type Error struct {
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func errf(field, format string, args ...any) error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Load reads and parses a specification file.
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("sweep specification %s does not exist", path)
		}
		return nil, fmt.Errorf("reading sweep specification: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.Path = path
	return s, nil
}

// Parse parses a specification (structure and value types only; Plan checks
// the flags against the experiment).
func Parse(b []byte) (*Spec, error) {
	top, err := readObject(b, "")
	if err != nil {
		return nil, err
	}
	s := &Spec{}
	seen := map[string]bool{}
	for _, kv := range top {
		if seen[kv.key] {
			return nil, errf(kv.key, "given twice")
		}
		seen[kv.key] = true
		switch kv.key {
		case "experiment":
			if err := json.Unmarshal(kv.raw, &s.Experiment); err != nil || s.Experiment == "" {
				return nil, errf("experiment", "must be a non-empty string naming a command (fpt, stationary, …)")
			}
		case "base":
			fields, err := readObject(kv.raw, "base")
			if err != nil {
				return nil, err
			}
			for _, f := range fields {
				v, err := flagValue(f.raw, "base."+f.key)
				if err != nil {
					return nil, err
				}
				s.Base = append(s.Base, Param{Name: f.key, Value: v, raw: f.raw})
			}
		case "axes":
			fields, err := readObject(kv.raw, "axes")
			if err != nil {
				return nil, err
			}
			for _, f := range fields {
				var raws []json.RawMessage
				if err := json.Unmarshal(f.raw, &raws); err != nil {
					return nil, errf("axes."+f.key, "must be a list of values, like [0.05, 0.1]")
				}
				if len(raws) == 0 {
					return nil, errf("axes."+f.key, "empty axis; give at least one value (or move the flag to base)")
				}
				ax := Axis{Name: f.key}
				for i, r := range raws {
					v, err := flagValue(r, fmt.Sprintf("axes.%s[%d]", f.key, i))
					if err != nil {
						return nil, err
					}
					ax.Values, ax.raw = append(ax.Values, v), append(ax.raw, r)
				}
				s.Axes = append(s.Axes, ax)
			}
		case "scale":
			if err := json.Unmarshal(kv.raw, &s.Scale); err != nil || (s.Scale != "quick" && s.Scale != "paper") {
				return nil, errf("scale", "must be \"quick\" or \"paper\"")
			}
		case "results":
			if err := json.Unmarshal(kv.raw, &s.Results); err != nil {
				return nil, errf("results", "must be a string (a directory)")
			}
		case "max_tasks":
			if err := json.Unmarshal(kv.raw, &s.MaxTasks); err != nil || s.MaxTasks < 1 {
				return nil, errf("max_tasks", "must be a positive integer")
			}
		case "slurm":
			dec := json.NewDecoder(bytes.NewReader(kv.raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&s.Slurm); err != nil {
				return nil, errf("slurm", "%v (fields: partition, time, cpus_per_task, mem, max_parallel, extra)", cleanJSONErr(err))
			}
		default:
			return nil, errf(kv.key, "unknown field (fields: experiment, scale, base, axes, results, max_tasks, slurm)")
		}
	}
	if s.Experiment == "" {
		return nil, errf("experiment", "missing; name the command each task runs (fpt, stationary, …)")
	}
	names := map[string]string{}
	for _, p := range s.Base {
		if err := checkName(p.Name, "base."+p.Name); err != nil {
			return nil, err
		}
		names[p.Name] = "base"
	}
	for _, a := range s.Axes {
		if err := checkName(a.Name, "axes."+a.Name); err != nil {
			return nil, err
		}
		if where, ok := names[a.Name]; ok {
			return nil, errf("axes."+a.Name, "also given in %s; a flag is either fixed (base) or swept (axes)", where)
		}
		names[a.Name] = "axes"
	}
	if err := s.Slurm.Check(); err != nil {
		return nil, err
	}
	s.Hash = s.hash()
	return s, nil
}

// reservedFlags are run options, not parameters.
var reservedFlags = map[string]string{
	"json":    "every task's result is JSON; leave it out",
	"scale":   `"scale" is a field of the specification, next to "experiment", not a parameter`,
	"nocache": "tasks reuse the cache like the plain command; leave it out",
	"workers": "results do not depend on it; leave it out",
}

func checkName(name, field string) error {
	if name == "" {
		return errf(field, "empty flag name")
	}
	if strings.HasPrefix(name, "-") {
		return errf(field, "write flag names without the dash (%q)", strings.TrimLeft(name, "-"))
	}
	if strings.ContainsAny(name, "= \t\n") {
		return errf(field, "%q is not a flag name", name)
	}
	if why, ok := reservedFlags[name]; ok {
		return errf(field, "%s", why)
	}
	return nil
}

// Check checks the batch settings: no shell characters, non-negative numbers, well-formed extra flags.
func (s Slurm) Check() error {
	for field, v := range map[string]string{"slurm.partition": s.Partition, "slurm.time": s.Time, "slurm.mem": s.Mem} {
		if strings.ContainsAny(v, " \t\n\r'\"\\$`;") {
			return errf(field, "%q contains spaces, quotes or shell characters", v)
		}
	}
	if s.CPUsPerTask < 0 {
		return errf("slurm.cpus_per_task", "must be ≥ 1 (or absent)")
	}
	if s.MaxParallel < 0 {
		return errf("slurm.max_parallel", "must be ≥ 1 (or absent)")
	}
	for i, e := range s.Extra {
		if err := CheckExtra(e); err != nil {
			return errf(fmt.Sprintf("slurm.extra[%d]", i), "%v", err)
		}
	}
	return nil
}

// CheckExtra checks one extra sbatch flag: a single "--name=value" (or
// "-x value") without newlines, so that it cannot break out of its #SBATCH line.
func CheckExtra(e string) error {
	if !strings.HasPrefix(e, "-") {
		return fmt.Errorf("%q is not an sbatch flag (it must start with - or --, like --account=myproj)", e)
	}
	if strings.ContainsAny(e, "\n\r") {
		return fmt.Errorf("%q spans several lines", e)
	}
	if strings.Contains(e, "--array") || strings.HasPrefix(e, "-a") && !strings.HasPrefix(e, "--") {
		return fmt.Errorf("%q: the sweep sets --array itself (use max_parallel for the %%limit)", e)
	}
	return nil
}

type keyRaw struct {
	key string
	raw json.RawMessage
}

// readObject decodes a JSON object keeping the order of its members.
func readObject(b []byte, field string) ([]keyRaw, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	what := "the specification"
	if field != "" {
		what = field
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, errf(field, "not valid JSON: %v", cleanJSONErr(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errf(field, "%s must be a JSON object {…}", what)
	}
	var out []keyRaw
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errf(field, "not valid JSON: %v", cleanJSONErr(err))
		}
		k := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, errf(joinField(field, k), "not valid JSON: %v", cleanJSONErr(err))
		}
		for _, kv := range out {
			if kv.key == k {
				return nil, errf(joinField(field, k), "given twice")
			}
		}
		out = append(out, keyRaw{k, raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, errf(field, "not valid JSON: %v", cleanJSONErr(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errf(field, "unexpected text after the JSON object")
	}
	return out, nil
}

func joinField(parent, k string) string {
	if parent == "" {
		return k
	}
	return parent + "." + k
}

func cleanJSONErr(err error) string {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "unexpected end of input"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// flagValue turns a JSON value into the text a flag takes, for display
// before the plan makes it canonical through the parameter's declaration.
// Numbers are written canonically (0.10 → 0.1, 1e6 → 1000000, 5.0 → 5);
// strings are taken as they are; booleans become true/false; a list of
// numbers becomes "a,b". Objects and null are refused.
func flagValue(raw json.RawMessage, field string) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", errf(field, "not valid JSON: %v", cleanJSONErr(err))
	}
	switch x := v.(type) {
	case string:
		if strings.ContainsAny(x, "\n\r\x00") {
			return "", errf(field, "%q contains a line break or NUL", x)
		}
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case json.Number:
		return canonicalNumber(string(x), field)
	case nil:
		return "", errf(field, "null is not a flag value; give a number, string or boolean")
	case []any:
		parts := make([]string, len(x))
		for i, item := range x {
			n, ok := item.(json.Number)
			if !ok {
				return "", errf(field, "item %d of the list is not a number (a list value is for a list parameter, like [1.5, 2])", i+1)
			}
			c, err := canonicalNumber(string(n), field)
			if err != nil {
				return "", err
			}
			parts[i] = c
		}
		if len(parts) == 0 {
			return "", errf(field, "empty list")
		}
		return strings.Join(parts, ","), nil
	default:
		return "", errf(field, "an object is not a flag value; give a number, string or boolean")
	}
}

func canonicalNumber(lit, field string) (string, error) {
	if i, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return strconv.FormatInt(i, 10), nil
	}
	if u, err := strconv.ParseUint(lit, 10, 64); err == nil { // a large seed
		return strconv.FormatUint(u, 10), nil
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", errf(field, "number %s is out of range", lit)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10), nil
	}
	return strconv.FormatFloat(f, 'g', -1, 64), nil
}

// hash identifies the expansion: experiment, base and axes in order.
func (s *Spec) hash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", s.Experiment, s.Scale)
	for _, p := range s.Base {
		fmt.Fprintf(h, "b\x00%s\x00%s\x00", p.Name, p.Value)
	}
	for _, a := range s.Axes {
		fmt.Fprintf(h, "a\x00%s\x00%d\x00", a.Name, len(a.Values))
		for _, v := range a.Values {
			fmt.Fprintf(h, "%s\x00", v)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Size returns the number of tasks, or an error naming max_tasks when the
// product exceeds maxTasks (checked without overflow).
func (s *Spec) Size(maxTasks int) (int, error) {
	if maxTasks <= 0 {
		maxTasks = DefaultMaxTasks
	}
	n := 1
	for _, a := range s.Axes {
		if len(a.Values) > maxTasks/n {
			return 0, errf("max_tasks", "the axes give more than %d tasks (%s); trim an axis or raise max_tasks in the specification (or -max-tasks)", maxTasks, s.shape())
		}
		n *= len(a.Values)
	}
	return n, nil
}

func (s *Spec) shape() string {
	parts := make([]string, len(s.Axes))
	for i, a := range s.Axes {
		parts[i] = fmt.Sprintf("%s:%d", a.Name, len(a.Values))
	}
	return strings.Join(parts, " × ")
}

// ResultsDir returns the results directory: dir when given, else the spec's
// "results" (relative to the spec file's directory), else the spec file's
// path with ".json" replaced by ".results". The result is absolute, as a
// batch job on another node needs it.
func (s *Spec) ResultsDir(dir string) (string, error) {
	switch {
	case dir != "":
	case s.Results != "":
		dir = s.Results
		if !filepath.IsAbs(dir) && s.Path != "" {
			dir = filepath.Join(filepath.Dir(s.Path), dir)
		}
	case s.Path != "":
		dir = strings.TrimSuffix(s.Path, filepath.Ext(s.Path)) + ".results"
	default:
		return "", errors.New("no results directory: give -results")
	}
	return filepath.Abs(dir)
}

// JSON writes the specification as JSON (axes in their order), with the
// results directory set to results (left out when empty); `sweep submit` stores this snapshot
// so that editing the spec file cannot change what a running job's indices mean.
func (s *Spec) JSON(results string) []byte {
	var b bytes.Buffer
	str := func(v string) string { q, _ := json.Marshal(v); return string(q) }
	// val writes numbers and booleans bare when that reads back as the same flag text.
	val := func(v string) string {
		if v == "true" || v == "false" {
			return v
		}
		if c, err := canonicalNumber(v, ""); err == nil && c == v && json.Valid([]byte(v)) {
			return v
		}
		return str(v)
	}
	fmt.Fprintf(&b, "{\n  \"experiment\": %s,\n", str(s.Experiment))
	if s.Scale != "" {
		fmt.Fprintf(&b, "  \"scale\": %s,\n", str(s.Scale))
	}
	b.WriteString("  \"base\": {")
	for i, p := range s.Base {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n    %s: %s", str(p.Name), val(p.Value))
	}
	b.WriteString("\n  },\n  \"axes\": {")
	for i, a := range s.Axes {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n    %s: [", str(a.Name))
		for j, v := range a.Values {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(val(v))
		}
		b.WriteString("]")
	}
	b.WriteString("\n  },\n")
	if s.MaxTasks > 0 {
		fmt.Fprintf(&b, "  \"max_tasks\": %d,\n", s.MaxTasks)
	}
	if sl, _ := json.Marshal(s.Slurm); string(sl) != "{}" {
		fmt.Fprintf(&b, "  \"slurm\": %s,\n", sl)
	}
	if results != "" {
		fmt.Fprintf(&b, "  \"results\": %s,\n", str(results))
	}
	b.Truncate(b.Len() - 2) // the last ",\n"
	b.WriteString("\n}\n")
	return b.Bytes()
}

// Override returns s with the fields set in o replacing its own and extra
// sbatch flags appended (the CLI's flags over the specification's).
func (s Slurm) Override(o Slurm, extra []string) Slurm {
	if o.Partition != "" {
		s.Partition = o.Partition
	}
	if o.Time != "" {
		s.Time = o.Time
	}
	if o.CPUsPerTask > 0 {
		s.CPUsPerTask = o.CPUsPerTask
	}
	if o.Mem != "" {
		s.Mem = o.Mem
	}
	if o.MaxParallel > 0 {
		s.MaxParallel = o.MaxParallel
	}
	s.Extra = append(append([]string(nil), s.Extra...), extra...)
	return s
}
