package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgdescape/sgdescape/pkg/experiment"
	"github.com/sgdescape/sgdescape/pkg/linreg"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

// testRegistry holds the experiments the tests sweep, registered as
// pkg/registry registers them (pkg/registry cannot be imported here: it
// imports pkg/sweep/validity, which imports this package).
var testRegistry = registryOf{
	experiment.Define(experiment.Def[theory.Inputs, theory.Summary]{Name: "theory", Summary: "closed forms", Native: "closed form", Preset: theory.Example, Run: theory.Evaluate}),
	experiment.Define(experiment.Def[linreg.StationaryConfig, linreg.StationaryResult]{Name: "stationary", Summary: "Fig. 3a", Native: linreg.Engine, Preset: linreg.PaperStationary, Run: linreg.Stationary}),
	experiment.Define(experiment.Def[linreg.FPTConfig, linreg.FPTResult]{Name: "fpt", Variant: "linreg", Selector: "model", Summary: "Fig. 3b", Native: linreg.Engine, Preset: linreg.AutoFPT, Run: linreg.FPT}),
}

type registryOf []experiment.Entry

func (r registryOf) Lookup(name, variant string) (experiment.Entry, bool) {
	for _, e := range r {
		if e.Name == name && (variant == "" || e.Variant == variant) {
			return e, true
		}
	}
	return experiment.Entry{}, false
}

func (r registryOf) Variants(name string) []string {
	if name == "fpt" {
		return []string{"linreg", "mlp"}
	}
	return nil
}

func (r registryOf) Names() []string { return []string{"theory", "stationary", "fpt"} }

func mustPlan(t *testing.T, spec string) *Plan {
	t.Helper()
	s, err := Parse([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(s, testRegistry, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExpandOrder(t *testing.T) {
	p := mustPlan(t, `{"experiment": "fpt", "base": {"P": 5, "c": "1.5,2"},
		"axes": {"eta": [0.05, 0.10, 2e-1], "seed": [1, 2], "B": [1.0, 4]}}`)
	if len(p.Tasks) != 12 {
		t.Fatalf("%d tasks, want 12", len(p.Tasks))
	}
	// Nested loops in the order written, the first axis outermost.
	i := 0
	for _, eta := range []string{"0.05", "0.1", "0.2"} {
		for _, seed := range []string{"1", "2"} {
			for _, b := range []string{"1", "4"} {
				want := []Param{{Name: "eta", Value: eta}, {Name: "seed", Value: seed}, {Name: "B", Value: b}}
				if got := p.Tasks[i].Params; !reflect.DeepEqual(got, want) || p.Tasks[i].Index != i {
					t.Errorf("task %d: %v, want %v", i, got, want)
				}
				i++
			}
		}
	}
	args := p.Args(p.Tasks[11])
	want := []string{"-P=5", "-c=1.5,2", "-eta=0.2", "-seed=2", "-B=4"}
	if !reflect.DeepEqual(args, want) {
		t.Errorf("args %v, want %v", args, want)
	}
	keys := map[string]bool{}
	for _, tk := range p.Tasks {
		keys[tk.Key] = true
	}
	if len(keys) != 12 {
		t.Errorf("%d distinct keys for 12 tasks", len(keys))
	}
}

func TestKeysIndependentOfOrder(t *testing.T) {
	a := mustPlan(t, `{"experiment": "fpt", "base": {"P": 5, "c": "2,3"}, "axes": {"eta": [0.1, 0.2], "B": [1, 2]}}`)
	b := mustPlan(t, `{"experiment": "fpt", "base": {"c": [2, 3.0], "P": 5}, "axes": {"B": [1, 2, 3], "eta": [0.1, 0.2]}}`)
	kb := map[string]string{}
	for _, tk := range b.Tasks {
		kb[ParamString(tk.Params)] = tk.Key
	}
	for _, tk := range a.Tasks {
		swapped := ParamString([]Param{tk.Params[1], tk.Params[0]})
		if kb[swapped] != tk.Key {
			t.Errorf("%s: key %s, the reordered spec gives %s", ParamString(tk.Params), tk.Key, kb[swapped])
		}
	}
	if a.Spec.Hash == b.Spec.Hash {
		t.Error("different expansions share a spec hash")
	}
	c := mustPlan(t, `{"experiment": "stationary", "axes": {"eta": [0.1, 0.2], "B": [1, 2]}}`)
	d := mustPlan(t, `{"experiment": "theory", "axes": {"eta": [0.1, 0.2], "B": [1, 2]}}`)
	if c.Tasks[0].Key == d.Tasks[0].Key {
		t.Error("the experiment is not part of the key")
	}
	e := mustPlan(t, `{"experiment": "theory", "scale": "paper", "axes": {"eta": [0.1, 0.2], "B": [1, 2]}}`)
	if e.Tasks[0].Key == d.Tasks[0].Key {
		t.Error("the scale is not part of the key")
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	for _, c := range []struct{ spec, field string }{
		{`{"experiment": "nosuch"}`, "experiment"},
		{`{"base": {}}`, "experiment"},
		{`{"experiment": 3}`, "experiment"},
		{`{"experiment": "fpt", "base": {"bogus": 1}}`, "base.bogus"},
		{`{"experiment": "fpt", "base": {"eta": "fast"}}`, "base.eta"},
		{`{"experiment": "fpt", "axes": {"eta": []}}`, "axes.eta"},
		{`{"experiment": "fpt", "axes": {"eta": 0.1}}`, "axes.eta"},
		{`{"experiment": "fpt", "axes": {"eta": [0.1, "x"]}}`, "axes.eta[1]"},
		{`{"experiment": "fpt", "axes": {"P": [1, 2.5]}}`, "axes.P[1]"},
		{`{"experiment": "fpt", "axes": {"P": [1, {}]}}`, "axes.P[1]"},
		{`{"experiment": "fpt", "axes": {"P": [1, 1.0]}}`, "axes.P[1]"},
		{`{"experiment": "fpt", "axes": {"nope": [1]}}`, "axes.nope[0]"},
		{`{"experiment": "fpt", "base": {"P": 1}, "axes": {"P": [1]}}`, "axes.P"},
		{`{"experiment": "fpt", "base": {"json": true}}`, "base.json"},
		{`{"experiment": "fpt", "base": {"-P": 1}}`, "base.-P"},
		{`{"experiment": "fpt", "axes": {"model": ["linreg", "mlp"], "P": [1, 2]}}`, "axes.model"},
		{`{"experiment": "fpt", "base": {"model": "resnet"}}`, "base.model"},
		{`{"experiment": "theory", "base": {"h": 1}}`, "base.h"},
		{`{"experiment": "theory", "axes": {"hstar": [1, "1.0", 0.5, "5e-1"]}}`, "axes.hstar[1]"},
		{`{"experiment": "theory", "axes": {"eta": [0.1, NaN]}}`, "axes"},
		{`{"experiment": "theory", "axes": {"eta": [0.1, "NaN"]}}`, "axes.eta[1]"},
		{`{"experiment": "theory", "axes": {"eta": [0.1, -1]}}`, "axes.eta[1]"},
		{`{"experiment": "fpt", "base": {"c": "5,,6"}}`, "base.c"},
		{`{"experiment": "stationary", "axes": {"N": [100, 2], "B": [1, 2]}}`, "task 3 (N=2 B=2)"},
		{`{"experiment": "theory", "base": {"Lstar": 1}, "axes": {"Ls": [2, 0.5]}}`, "task 1 (Ls=0.5)"},
		{`{"experiment": "fpt", "scale": "huge"}`, "scale"},
		{`{"experiment": "fpt", "base": {"scale": "paper"}}`, "base.scale"},
		{`{"experiment": "fpt", "max_tasks": 0}`, "max_tasks"},
		{`{"experiment": "fpt", "max_tasks": 3, "axes": {"P": [1, 2], "B": [1, 2]}}`, "max_tasks"},
		{`{"experiment": "fpt", "slurm": {"mem": "4G; rm -rf /"}}`, "slurm.mem"},
		{`{"experiment": "fpt", "slurm": {"extra": ["--array=1-3"]}}`, "slurm.extra[0]"},
		{`{"experiment": "fpt", "slurm": {"gpus": 1}}`, "slurm"},
		{`{"experiment": "fpt", "extra": 1}`, "extra"},
		{`{"experiment": "fpt", "experiment": "fpt"}`, "experiment"},
	} {
		s, err := Parse([]byte(c.spec))
		if err == nil {
			_, err = NewPlan(s, testRegistry, 0)
		}
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("%s: error %v, want a field error", c.spec, err)
			continue
		}
		if se.Field != c.field {
			t.Errorf("%s: field %q (%v), want %q", c.spec, se.Field, err, c.field)
		}
	}
	for _, bad := range []string{``, `[]`, `{"experiment": "fpt"} x`, `{"experiment": "fpt",}`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// Values are made canonical by the parameters' own declarations: equal
// values written differently are one value, and one key.
func TestCanonicalValues(t *testing.T) {
	p := mustPlan(t, `{"experiment": "fpt", "base": {"eta": "0.10", "N": 1e4, "xstd": 5.0, "c": [1.5, 2.0], "seed": 12345678901234567890},
		"axes": {"B": [1, "2", 3.0]}}`)
	want := []Param{{Name: "eta", Value: "0.1"}, {Name: "N", Value: "10000"}, {Name: "xstd", Value: "5"}, {Name: "c", Value: "1.5,2"}, {Name: "seed", Value: "12345678901234567890"}}
	for i, b := range p.Spec.Base {
		if b.Name != want[i].Name || b.Value != want[i].Value {
			t.Errorf("base %d: %s=%s, want %s=%s", i, b.Name, b.Value, want[i].Name, want[i].Value)
		}
	}
	if got := p.Spec.Axes[0].Values; !reflect.DeepEqual(got, []string{"1", "2", "3"}) {
		t.Errorf("axis values %v", got)
	}
	q := mustPlan(t, `{"experiment": "fpt", "base": {"eta": 0.1, "N": 10000, "xstd": "5", "c": "1.5,2", "seed": 12345678901234567890}, "axes": {"B": [1, 2, 3]}}`)
	for i := range p.Tasks {
		if p.Tasks[i].Key != q.Tasks[i].Key {
			t.Errorf("task %d: %s and %s for equal values", i, p.Tasks[i].Key, q.Tasks[i].Key)
		}
	}
	// The snapshot parses back to the same expansion.
	back, err := Parse(p.Spec.JSON("/r"))
	if err != nil {
		t.Fatal(err)
	}
	bp, err := NewPlan(back, testRegistry, 0)
	if err != nil {
		t.Fatal(err)
	}
	if bp.Spec.Hash != p.Spec.Hash || back.Results != "/r" || bp.Tasks[2].Key != p.Tasks[2].Key {
		t.Errorf("snapshot hash %s results %s, want %s /r", bp.Spec.Hash, back.Results, p.Spec.Hash)
	}
}

func TestSizeGuardDoesNotOverflow(t *testing.T) {
	s := &Spec{Experiment: "fpt"}
	vals := make([]string, 100000)
	for i := range vals {
		vals[i] = fmt.Sprint(i)
	}
	for i := 0; i < 8; i++ { // 10^40 tasks
		s.Axes = append(s.Axes, Axis{Name: fmt.Sprint("a", i), Values: vals})
	}
	if _, err := s.Size(0); err == nil {
		t.Fatal("10^40 tasks accepted")
	}
	if _, err := Expand(s, 1e9); err == nil {
		t.Fatal("10^40 tasks expanded")
	}
}

func TestRanges(t *testing.T) {
	for _, c := range []struct {
		in   []int
		want string
	}{
		{[]int{0, 1, 2, 3}, "0-3"}, {[]int{3}, "3"}, {[]int{0, 2, 3, 4, 7, 9, 10}, "0,2-4,7,9-10"}, {nil, ""},
	} {
		if got := Ranges(c.in); got != c.want {
			t.Errorf("Ranges(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestResultsDir(t *testing.T) {
	s := &Spec{Path: "/a/b/grid.json"}
	if d, _ := s.ResultsDir(""); d != "/a/b/grid.results" {
		t.Errorf("default %s", d)
	}
	s.Results = "out"
	if d, _ := s.ResultsDir(""); d != "/a/b/out" {
		t.Errorf("relative %s", d)
	}
	if d, _ := s.ResultsDir("/x"); d != "/x" {
		t.Errorf("flag %s", d)
	}
}

func record(p *Plan, i int, result string) *Record {
	t := p.Tasks[i]
	return &Record{Key: t.Key, Index: i, Experiment: p.Spec.Experiment, Args: p.Args(t), Params: t.Params,
		Status: Done, Result: json.RawMessage(result), Where: Where{Host: "h", PID: 1}, StartedAt: time.Unix(0, 0).UTC()}
}

// Many goroutines write records of the same and of different tasks while
// others read them: every read sees nothing or a whole record, never a torn one.
func TestConcurrentWriters(t *testing.T) {
	p := mustPlan(t, `{"experiment": "fpt", "axes": {"eta": [0.1, 0.2, 0.3, 0.4]}}`)
	st := Store{Dir: t.TempDir()}
	big := `{"x": [` + strings.Repeat("1.25,", 20000) + `1], "provenance": {"cache_key": "k"}}`
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var torn, reads int
	var mu sync.Mutex
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, tk := range p.Tasks {
					rec, err := st.Read(tk.Key)
					mu.Lock()
					reads++
					if err != nil || rec != nil && (rec.Key != tk.Key || len(rec.Result) < len(big)-100) {
						torn++
					}
					mu.Unlock()
				}
			}
		}()
	}
	var ww sync.WaitGroup
	for w := 0; w < 16; w++ {
		ww.Add(1)
		go func(w int) {
			defer ww.Done()
			for k := 0; k < 10; k++ {
				i := (w + k) % len(p.Tasks)
				if err := st.Write(record(p, i, big)); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	ww.Wait()
	close(stop)
	wg.Wait()
	if torn > 0 {
		t.Errorf("%d of %d reads saw a damaged record", torn, reads)
	}
	for i, s := range st.States(p) {
		if s.State != Done {
			t.Errorf("task %d: %v", i, s)
		}
	}
	left, _ := filepath.Glob(filepath.Join(st.Dir, "tasks", ".tmp-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestCollect(t *testing.T) {
	p := mustPlan(t, `{"experiment": "fpt", "base": {"P": 2}, "axes": {"eta": [0.1, 0.2], "B": [1, 2]}}`)
	st := Store{Dir: t.TempDir()}
	res := func(phi float64) string {
		return fmt.Sprintf(`{"phi_fit": %g, "phi_ci": [%g, null], "diverged": false, "note": "text", "B": 7,
			"eq4": {"ks": {"D": 0.5}}, "local": [{"slope": 1}, {"slope": 2}],
			"provenance": {"cache_key": "ck%g", "git_revision": "abc", "backend": "native-go", "from_cache": false, "wall_seconds": 1.5, "config": {"eta": 1}}}`, phi, phi-1, phi)
	}
	for _, i := range []int{0, 1, 3} {
		if err := st.Write(record(p, i, res(float64(10+i)))); err != nil {
			t.Fatal(err)
		}
	}
	fail := record(p, 3, "")
	fail.Status, fail.Result, fail.Error, fail.ExitCode = Failed, nil, "boom", 2
	if err := st.Write(fail); err != nil { // overwrites the done record of task 3
		t.Fatal(err)
	}
	tab, missing, err := Collect(p, st)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(missing, []int{2, 3}) {
		t.Errorf("missing %v, want [2 3]", missing)
	}
	wantCols := []string{"index", "status", "key", "P", "eta", "B", "result.B", "diverged", "eq4.ks.D", "local.0.slope", "local.1.slope",
		"note", "phi_ci.0", "phi_ci.1", "phi_fit", "prov.cache_key", "prov.git_revision", "prov.backend", "prov.from_cache", "prov.started_at",
		"prov.wall_seconds", "prov.host", "prov.job", "prov.task_wall_seconds", "error"}
	if !reflect.DeepEqual(tab.Columns, wantCols) {
		t.Errorf("columns\n%v\nwant\n%v", tab.Columns, wantCols)
	}
	fr := csvRoundTrip(t, tab)
	if len(fr.Rows) != 4 || fr.Str(2, "status") != Missing || fr.Str(3, "status") != Failed || fr.Str(3, "error") != "boom" {
		t.Errorf("rows: %v", fr.Rows)
	}
	if fr.Float(1, "phi_fit") != 11 || fr.Float(1, "phi_ci.0") != 10 || !math.IsNaN(fr.Float(1, "phi_ci.1")) ||
		fr.Float(1, "eta") != 0.1 || fr.Float(1, "B") != 2 || fr.Float(1, "result.B") != 7 || fr.Str(0, "prov.cache_key") != "ck10" {
		t.Errorf("row 1: %v", fr.Rows[1])
	}
	if got := fr.Values("eta"); !reflect.DeepEqual(got, []float64{0.1, 0.2}) {
		t.Errorf("Values(eta) = %v", got)
	}
	var jl bytes.Buffer
	if err := tab.WriteJSONL(&jl); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(jl.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d JSON lines", len(lines))
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &row); err != nil {
		t.Fatal(err)
	}
	if row["phi_fit"] != 11.0 || row["phi_ci.1"] != nil || row["diverged"] != false || row["status"] != "done" || row["note"] != "text" {
		t.Errorf("JSON row %v", row)
	}
}

// csvRoundTrip writes the table as CSV and reads it back as a Frame.
func csvRoundTrip(t *testing.T, tab *Table) *Frame {
	t.Helper()
	var csvb bytes.Buffer
	if err := tab.WriteCSV(&csvb); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "t.csv")
	if err := os.WriteFile(path, csvb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	fr, err := ReadCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	return fr
}

// TestCollectEnvelopeWithNonFinite: a result whose numbers are partly
// undefined comes in the CLI's envelope with a "non_finite" member; its
// leaves are still the result's own columns (not "result.*"), the reason
// text is kept and non_finite is one text column.
func TestCollectEnvelopeWithNonFinite(t *testing.T) {
	p := mustPlan(t, `{"experiment": "fpt", "base": {"P": 2}, "axes": {"eta": [0.1, 5]}}`)
	st := Store{Dir: t.TempDir()}
	ok := `{"result": {"phi": 3.5, "fit_note": ""}, "provenance": {"cache_key": "a"}}`
	bad := `{"result": {"phi": null, "fit_note": "5 of 5 runs diverged"}, "provenance": {"cache_key": "b"}, "non_finite": ["result.phi (NaN)"]}`
	for i, r := range []string{ok, bad} {
		if err := st.Write(record(p, i, r)); err != nil {
			t.Fatal(err)
		}
	}
	tab, _, err := Collect(p, st)
	if err != nil {
		t.Fatal(err)
	}
	cols := strings.Join(tab.Columns, " ")
	if strings.Contains(cols, "result.") || !strings.Contains(cols, " phi ") || !strings.Contains(cols, " non_finite ") {
		t.Fatalf("columns %v", tab.Columns)
	}
	fr := csvRoundTrip(t, tab)
	if fr.Float(0, "phi") != 3.5 || !math.IsNaN(fr.Float(1, "phi")) || fr.Str(1, "fit_note") != "5 of 5 runs diverged" ||
		fr.Str(1, "non_finite") != "result.phi (NaN)" || fr.Str(0, "non_finite") != "" {
		t.Errorf("rows %v", fr.Rows)
	}
}

func TestScript(t *testing.T) {
	b := Batch{Binary: "/shared/bin/sgdescape", Snapshot: "/shared/my runs/spec-abc.json", Results: "/shared/my runs",
		Cache: "/shared/cache", Workdir: "/home/u", Indices: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Name: "sgdescape-grid",
		LogDir: "/shared/my runs/logs/abc", Slurm: Slurm{Partition: "cpu", Time: "01:00:00", Mem: "2G", MaxParallel: 4, Extra: []string{"--account=p1"}}}
	s := b.Script(time.Unix(0, 0))
	for _, want := range []string{"#SBATCH --array=0-11%4\n", "#SBATCH --partition=cpu\n", "#SBATCH --time=01:00:00\n", "#SBATCH --mem=2G\n",
		"#SBATCH --account=p1\n", "#SBATCH --cpus-per-task=1\n", "#SBATCH --output=/shared/my runs/logs/abc/%A_%a.out\n",
		"exec /shared/bin/sgdescape sweep run '/shared/my runs/spec-abc.json' -results '/shared/my runs'\n", "export SGDESCAPE_CACHE=/shared/cache\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	b.Indices, b.Slurm.MaxParallel = []int{3, 7, 8}, 0
	if a := b.ArraySpec(); a != "3,7-8" {
		t.Errorf("resubmission array %q", a)
	}
	if q := shellQuote("it's"); q != `'it'\''s'` {
		t.Errorf("quote %s", q)
	}
	for out, want := range map[string]string{"42\n": "42", "42;cluster\n": "42", "Submitted batch job 7\n": "7"} {
		if id, err := ParseJobID(out); err != nil || id != want {
			t.Errorf("ParseJobID(%q) = %q, %v", out, id, err)
		}
	}
	if _, err := ParseJobID("sbatch: error: invalid partition"); err == nil {
		t.Error("no error for sbatch's error output")
	}
}

func TestTailWriter(t *testing.T) {
	w := &TailWriter{Max: 64}
	for i := 0; i < 100; i++ {
		fmt.Fprintf(w, "line %d\n", i)
	}
	if got := w.Lines(3); !reflect.DeepEqual(got, []string{"line 97", "line 98", "line 99"}) {
		t.Errorf("%v", got)
	}
}

// BenchmarkExpand10k expands and checks a 10⁴-task sweep (100 × 100).
func BenchmarkPlan10k(b *testing.B) {
	spec := []byte(bigSpec(100, 100))
	for b.Loop() {
		s, err := Parse(spec)
		if err != nil {
			b.Fatal(err)
		}
		p, err := NewPlan(s, testRegistry, 0)
		if err != nil || len(p.Tasks) != 10000 {
			b.Fatal(err)
		}
	}
}

func bigSpec(n1, n2 int) string {
	var a, c []string
	for i := 0; i < n1; i++ {
		a = append(a, fmt.Sprint(0.001*float64(i+1)))
	}
	for i := 0; i < n2; i++ {
		c = append(c, fmt.Sprint(i+1))
	}
	return `{"experiment": "fpt", "base": {"P": 5, "c": "1.5,2"}, "axes": {"eta": [` + strings.Join(a, ",") + `], "seed": [` + strings.Join(c, ",") + `]}}`
}

// BenchmarkCollect10k collects 10⁴ records of the size of an `fpt` result.
func BenchmarkCollect10k(b *testing.B) {
	p := mustPlanB(b, bigSpec(100, 100))
	st := Store{Dir: b.TempDir()}
	res, err := os.ReadFile("testdata/fpt-result.json")
	if err != nil {
		b.Fatal(err)
	}
	var compact bytes.Buffer
	json.Compact(&compact, res)
	for i := range p.Tasks {
		if err := st.Write(record(p, i, compact.String())); err != nil {
			b.Fatal(err)
		}
	}
	out := filepath.Join(b.TempDir(), "table")
	b.ResetTimer()
	for b.Loop() {
		tab, missing, err := Collect(p, st)
		if err != nil || len(missing) > 0 {
			b.Fatal(err, missing)
		}
		if _, _, err := tab.WriteFiles(out); err != nil {
			b.Fatal(err)
		}
	}
}

func mustPlanB(b *testing.B, spec string) *Plan {
	s, err := Parse([]byte(spec))
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPlan(s, testRegistry, 0)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func TestSpecJSONRoundTrip(t *testing.T) {
	s, err := Parse([]byte(`{"experiment": "fpt", "scale": "paper", "base": {"c": "1.5,2", "P": 5, "flag": true, "widths": "10"}, "axes": {"eta": [0.05, 1e-1], "model": ["linreg"]}, "slurm": {"time": "01:00:00"}}`))
	if err != nil {
		t.Fatal(err)
	}
	b := s.JSON("")
	if !bytes.Contains(b, []byte(`"P": 5`)) || !bytes.Contains(b, []byte(`"c": "1.5,2"`)) || !bytes.Contains(b, []byte(`"flag": true`)) ||
		!bytes.Contains(b, []byte(`"eta": [0.05, 0.1]`)) || bytes.Contains(b, []byte(`"results"`)) {
		t.Errorf("JSON:\n%s", b)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if back.Hash != s.Hash || back.Slurm.Time != "01:00:00" || back.Scale != "paper" {
		t.Errorf("round trip changed the spec:\n%s", b)
	}
	empty := &Spec{Experiment: "theory"}
	if _, err := Parse(empty.JSON("")); err != nil {
		t.Errorf("%v\n%s", err, empty.JSON(""))
	}
}

// A record that cannot be trusted is damaged, reported with its reason and
// rerun — never counted as done, never aborting status or collect: a
// truncated record, garbage, another task's record copied over this one's,
// a record marked done without a result.
func TestDamagedRecords(t *testing.T) {
	p := mustPlan(t, `{"experiment": "theory", "axes": {"eta": [0.1, 0.2, 0.3, 0.4, 0.5]}}`)
	st := Store{Dir: t.TempDir()}
	good := `{"result": {"phi": 11}, "provenance": {"cache_key": "k"}}`
	for i := range p.Tasks {
		if err := st.Write(record(p, i, good)); err != nil {
			t.Fatal(err)
		}
	}
	path := func(i int) string { return filepath.Join(st.Dir, "tasks", p.Tasks[i].Key+".json") }
	whole, _ := os.ReadFile(path(0))
	os.WriteFile(path(0), whole[:len(whole)/2], 0o644)      // truncated
	os.WriteFile(path(1), []byte("garbage\x00\x01"), 0o644) // not JSON
	other, _ := os.ReadFile(path(3))                        // task 3's record …
	os.WriteFile(path(2), other, 0o644)                     // … copied over task 2's
	empty := record(p, 4, good)
	empty.Result = nil
	b, _ := json.Marshal(empty)
	os.WriteFile(path(4), b, 0o644) // done without a result
	states := st.States(p)
	want := []string{Damaged, Damaged, Damaged, Done, Damaged}
	for i, s := range states {
		if s.State != want[i] || (s.State == Damaged && s.Why == "") {
			t.Errorf("task %d: %+v, want %s with a reason", i, s, want[i])
		}
	}
	if !strings.Contains(states[2].Why, "belongs to task key") {
		t.Errorf("copied record: %q", states[2].Why)
	}
	if got := Todo(states, true); !reflect.DeepEqual(got, []int{0, 1, 2, 4}) {
		t.Errorf("todo %v: damaged records must be rerun", got)
	}
	s := p.Status("spec.json", st, 5)
	if s.Counts[Damaged] != 4 || s.Counts[Done] != 1 {
		t.Errorf("status counts %v", s.Counts)
	}
	var out bytes.Buffer
	if err := s.Write(&out, "theory", 10); err != nil || !strings.Contains(out.String(), "DAMAGED") {
		t.Errorf("status text: %v\n%s", err, out.String())
	}
	tab, missing, err := Collect(p, st)
	if err != nil || !reflect.DeepEqual(missing, []int{0, 1, 2, 4}) || tab.Rows[1][1].Str != Damaged {
		t.Errorf("collect: %v %v %v", err, missing, tab.Rows[1][1])
	}
}

// A plan that cannot fit in memory is refused before it is built (was a Go
// out-of-memory crash at -max-tasks 200000000).
func TestPlanMemoryChecked(t *testing.T) {
	var a, b []string
	for i := range 20000 {
		a = append(a, fmt.Sprint(0.001*float64(i+1)))
	}
	for i := range 10000 {
		b = append(b, fmt.Sprint(i+1))
	}
	s, err := Parse([]byte(`{"experiment": "theory", "axes": {"eta": [` + strings.Join(a, ",") + `], "n": [` + strings.Join(b, ",") + `]}}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewPlan(s, testRegistry, 200000000)
	if err == nil || !strings.Contains(err.Error(), "memory") {
		t.Errorf("2·10⁸ tasks: %v", err)
	}
}
