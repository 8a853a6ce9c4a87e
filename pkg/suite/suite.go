// Package suite runs every figure's experiments headless — the paper suite
// — and keeps their results as records that the notebooks render without
// recomputing, on another machine: heavy runs on a GPU node (one binary
// and the data, no Go or Jupyter), rendering on a laptop.
//
// A suite is the list of (notebook, registered experiment) pairs of
// Figures, each configured as the notebook configures it: the registry's
// preset at the scale, with the same overrides (SGDESCAPE_SET). Run writes
// one record per pair, atomically, resuming from the records already there
// (and from the experiments' cache); a record carries the input
// configuration and its hash, the experiment's {result, provenance}, the
// code version, a checksum of the result and where it ran (host, backend,
// plugin, CPUs, wall time). Load returns the record of a notebook's
// configuration and refuses one whose configuration, code version or
// checksum differs, so a report never renders a record of another
// configuration. The manifest (manifest.json) lists the records.
package suite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/sgdescape/sgdescape/pkg/experiment"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// Figure names a notebook and the registered experiments its figures use,
// in the order it calls them.
type Figure struct {
	Notebook    string
	Experiments []string
}

// Registry is what the suite needs of the experiment registry (pkg/registry).
type Registry interface {
	Lookup(name, variant string) (experiment.Entry, bool)
	// CheckSetting refuses an override no experiment declares.
	CheckSetting(param.Setting) error
}

// Item is one experiment of the suite, configured.
type Item struct {
	Notebook string
	Instance *experiment.Instance
}

// Name is the item's experiment name.
func (it Item) Name() string { return it.Instance.Entry.Name }

// Items configures the suite's experiments at scale: each the registry's
// preset with settings applied (the notebooks' SGDESCAPE_SET), in the order
// of figs; only, when not empty, keeps the notebooks (or experiments) it names.
func Items(reg Registry, figs []Figure, scale run.Scale, settings []param.Setting, only []string) ([]Item, error) {
	keep, unmatched := map[string]bool{}, map[string]bool{}
	for _, o := range only {
		keep[o], unmatched[o] = true, true
	}
	var out []Item
	for _, f := range figs {
		all := len(keep) == 0 || keep[f.Notebook]
		delete(unmatched, f.Notebook)
		for _, id := range f.Experiments {
			name, variant, _ := strings.Cut(id, "/")
			if !all && !keep[id] && !keep[name] {
				continue
			}
			delete(unmatched, id)
			delete(unmatched, name)
			e, ok := reg.Lookup(name, variant)
			if !ok {
				return nil, fmt.Errorf("suite: notebook %s uses %q, which is not a registered experiment", f.Notebook, id)
			}
			in := e.New(scale)
			if _, err := in.Params.Apply(settings, name); err != nil {
				return nil, run.BadInput(err)
			}
			if err := in.Check(); err != nil {
				return nil, run.BadInput(fmt.Errorf("%s %s: %w", f.Notebook, name, err))
			}
			out = append(out, Item{Notebook: f.Notebook, Instance: in})
		}
	}
	for o := range unmatched {
		return nil, run.BadInput(fmt.Errorf("-only %s: no such notebook or experiment in the suite", o))
	}
	return out, nil
}

// Record is one finished experiment of the suite, as stored.
type Record struct {
	Format      string          `json:"format"` // FormatVersion
	Notebook    string          `json:"notebook"`
	Experiment  string          `json:"experiment"`
	Scale       string          `json:"scale"`
	Config      json.RawMessage `json:"config"`        // the input configuration
	ConfigHash  string          `json:"config_sha256"` // of its compact JSON
	ResultHash  string          `json:"result_sha256"` // of the compact JSON of Written
	Written     json.RawMessage `json:"written"`       // {"result", "provenance", "non_finite"}
	Host        string          `json:"host"`
	Backend     string          `json:"backend"`
	Plugin      string          `json:"plugin,omitempty"`
	CPUs        int             `json:"cpus"`
	GoMaxProcs  int             `json:"gomaxprocs"`
	FinishedAt  time.Time       `json:"finished_at"`
	WallSeconds float64         `json:"wall_seconds"`
	CodeVersion string          `json:"code_version"`
	GitRevision string          `json:"git_revision"`
}

// FormatVersion is the record format; Load refuses another.
const FormatVersion = "sgdescape-suite/v1"

func sum(b []byte) string {
	var c bytes.Buffer
	if json.Compact(&c, b) != nil {
		c.Reset()
		c.Write(b)
	}
	h := sha256.Sum256(c.Bytes())
	return hex.EncodeToString(h[:])
}

// Path is where the record of experiment name with the configuration of
// hash ch lives in dir: one folder per experiment, one file per
// configuration, so records of several scales or settings live side by side.
func Path(dir, name, ch string) string { return filepath.Join(dir, name, ch[:16]+".json") }

// configOf returns the compact JSON of an instance's configuration and its hash.
func configOf(in *experiment.Instance) (json.RawMessage, string, error) {
	b, err := json.Marshal(in.Config)
	if err != nil {
		return nil, "", err
	}
	return b, sum(b), nil
}

// Progress receives the suite's progress: item k of n, what, and a line.
type Progress func(k, n int, what, line string)

// Run runs every item that has no valid record in dir yet, in order, and
// writes its record; progress says what it does. A failing item stops the
// suite with its error (finished records stay). envFor gives each item its
// environment (backend, cache, progress).
func Run(ctx context.Context, items []Item, dir string, envFor func(experiment.Entry) (run.Env, func(), error), progress Progress) (ran int, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("suite: records folder: %w", err)
	}
	for k, it := range items {
		what := it.Notebook + " " + it.Name()
		if _, err := Load(dir, it); err == nil {
			progress(k, len(items), what, "done (record present)")
			continue
		}
		progress(k, len(items), what, "running")
		start := time.Now()
		env, release, err := envFor(it.Instance.Entry)
		if err != nil {
			return ran, err
		}
		out, err := it.Instance.Run(ctx, env)
		release()
		if err != nil {
			return ran, fmt.Errorf("%s: %w", what, err)
		}
		rec, err := newRecord(it, out, env, time.Since(start))
		if err != nil {
			return ran, fmt.Errorf("%s: %w", what, err)
		}
		b, _ := json.MarshalIndent(rec, "", " ")
		if err := run.WriteFileAtomic(Path(dir, it.Name(), rec.ConfigHash), b); err != nil {
			return ran, err
		}
		ran++
		progress(k+1, len(items), what, fmt.Sprintf("recorded in %.1f s", time.Since(start).Seconds()))
	}
	return ran, WriteManifest(dir)
}

func newRecord(it Item, out experiment.Outcome, env run.Env, wall time.Duration) (*Record, error) {
	cfg, ch, err := configOf(it.Instance)
	if err != nil {
		return nil, err
	}
	w, _, err := out.Encode()
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	return &Record{Format: FormatVersion, Notebook: it.Notebook, Experiment: it.Name(), Scale: string(it.Instance.Scale),
		Config: cfg, ConfigHash: ch, ResultHash: sum(w), Written: w, Host: host, Backend: out.Envelope.Backend, Plugin: out.Envelope.Plugin,
		CPUs: runtime.NumCPU(), GoMaxProcs: runtime.GOMAXPROCS(0), FinishedAt: time.Now().UTC().Truncate(time.Second),
		WallSeconds: wall.Seconds(), CodeVersion: out.Envelope.CodeVersion, GitRevision: run.GitRevision()}, nil
}

// ErrNoRecord is returned by Load when dir has no record of the item.
var ErrNoRecord = errors.New("no record")

// Load returns the record of item it from dir, checked: the same format,
// experiment, notebook and input configuration (by hash), an intact result
// (by checksum) and, for an experiment that declares its code version
// (experiment.Def.Version), that version. Each refusal says what differs
// and what to do.
func Load(dir string, it Item) (*Record, error) {
	_, ch, err := configOf(it.Instance)
	if err != nil {
		return nil, err
	}
	p := Path(dir, it.Name(), ch)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		why := fmt.Sprintf("%v of %s with this configuration (scale %s and the SGDESCAPE_SET settings) in %s", ErrNoRecord, it.Name(), it.Instance.Scale, dir)
		if other := nearest(dir, it.Name()); other != nil {
			why += fmt.Sprintf("; its record there differs in %s", diffConfig(other.Config, it.Instance.Config))
		}
		return nil, fmt.Errorf("%s: run `sgdescape suite %s -out %s -only %s` (on any machine) with the same settings first: %w", why, it.Instance.Scale, dir, it.Name(), ErrNoRecord)
	}
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("record %s is damaged (%v): delete it and rerun the suite for %s", p, err, it.Notebook)
	}
	switch {
	case r.Format != FormatVersion:
		return nil, fmt.Errorf("record %s has format %q, this code reads %q: rerun the suite with this version", p, r.Format, FormatVersion)
	case r.Experiment != it.Name():
		return nil, fmt.Errorf("record %s is of %s, not %s (moved or renamed?)", p, r.Experiment, it.Name())
	case r.ConfigHash != ch || sum(r.Config) != ch:
		return nil, fmt.Errorf("record %s was made with another configuration of %s (%s): delete it and rerun the suite", p, it.Name(), diffConfig(r.Config, it.Instance.Config))
	case sum(r.Written) != r.ResultHash:
		return nil, fmt.Errorf("record %s was altered after it was written (its checksum does not match): delete it and rerun the suite for %s", p, it.Notebook)
	case it.Instance.Entry.Version != "" && r.CodeVersion != it.Instance.Entry.Version:
		return nil, fmt.Errorf("record %s was made by code version %q of %s, this code is %q: rerun the suite for %s (it recomputes only what changed)", p, r.CodeVersion, it.Name(), it.Instance.Entry.Version, it.Notebook)
	}
	return &r, nil
}

// nearest returns some record of experiment name in dir (nil when none).
func nearest(dir, name string) *Record {
	files, _ := filepath.Glob(filepath.Join(dir, name, "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		var r Record
		if err == nil && json.Unmarshal(b, &r) == nil {
			return &r
		}
	}
	return nil
}

// diffConfig names the first members in which two configurations differ.
func diffConfig(recorded json.RawMessage, cfg any) string {
	var a, b map[string]any
	json.Unmarshal(recorded, &a)
	nb, _ := json.Marshal(cfg)
	json.Unmarshal(nb, &b)
	var diffs []string
	for k := range a {
		x, _ := json.Marshal(a[k])
		y, _ := json.Marshal(b[k])
		if !bytes.Equal(x, y) {
			diffs = append(diffs, fmt.Sprintf("%s: recorded %s, here %s", k, clip(x), clip(y)))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diffs = append(diffs, k+": not in the record")
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 3 {
		diffs = append(diffs[:3], fmt.Sprintf("and %d more", len(diffs)-3))
	}
	return strings.Join(diffs, "; ")
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:37]) + "…"
	}
	return string(b)
}

// Outcome returns the record's experiment result decoded into out (a
// pointer to the experiment's result type) and its provenance.
func (r *Record) Outcome(out any) (run.Envelope, error) {
	var w struct {
		Result     json.RawMessage `json:"result"`
		Provenance run.Envelope    `json:"provenance"`
	}
	if err := json.Unmarshal(r.Written, &w); err != nil {
		return run.Envelope{}, err
	}
	if err := run.UnmarshalJSON(w.Result, out); err != nil {
		return run.Envelope{}, fmt.Errorf("record of %s: the result does not decode into %T (%v): made by another code version? rerun the suite", r.Experiment, out, err)
	}
	return w.Provenance, nil
}

// Where says where and on what a record was made, for a figure's caption.
func (r *Record) Where() string {
	s := fmt.Sprintf("recorded by sgdescape suite on %s (%s", r.Host, r.Backend)
	if r.Plugin != "" {
		s += ", plugin " + filepath.Base(r.Plugin)
	}
	return s + fmt.Sprintf(", %d CPUs) at %s in %.0f s, git %s", r.CPUs, r.FinishedAt.Format(time.RFC3339), r.WallSeconds, r.GitRevision)
}

// ManifestEntry is one record in the manifest.
type ManifestEntry struct {
	Notebook, Experiment, Scale, File, ConfigHash, ResultHash, Host, Backend string
	WallSeconds                                                              float64
	FinishedAt                                                               time.Time
}

// WriteManifest lists the records of dir in dir/manifest.json (atomically).
func WriteManifest(dir string) error {
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	sort.Strings(files)
	var m struct {
		Format  string          `json:"format"`
		Records []ManifestEntry `json:"records"`
	}
	m.Format = FormatVersion
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || filepath.Base(f) == "manifest.json" {
			continue
		}
		var r Record
		if json.Unmarshal(b, &r) != nil || r.Format != FormatVersion {
			continue
		}
		rel, _ := filepath.Rel(dir, f)
		m.Records = append(m.Records, ManifestEntry{r.Notebook, r.Experiment, r.Scale, rel, r.ConfigHash, r.ResultHash, r.Host, r.Backend, r.WallSeconds, r.FinishedAt})
	}
	b, _ := json.MarshalIndent(m, "", " ")
	return run.WriteFileAtomic(filepath.Join(dir, "manifest.json"), b)
}

// TextProgress writes the suite's progress lines to w.
func TextProgress(w io.Writer) Progress {
	start := time.Now()
	return func(k, n int, what, line string) {
		fmt.Fprintf(w, "[suite %d/%d, %s] %s: %s\n", k, n, time.Since(start).Round(time.Second), what, line)
	}
}
