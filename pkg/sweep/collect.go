package sweep

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// Table is the collected sweep: one row per task, in index order.
//
// Columns, in this order:
//   - index, status (done, failed, missing), key;
//   - one column per base flag and per axis, named as the flag, holding the
//     value as the command took it;
//   - the key results: every numeric, boolean or text leaf of the command's JSON
//     result (the "result" member of the CLI's {"result", "provenance"}
//     envelope, or everything outside "provenance" for other JSON), named by
//     its path with dots ("fit.phi_mle", "fit.phi_mle_ci.0", "eq4.ks.D",
//     "fit.local_slopes.2.slope"), in sorted
//     key order with list items in index order; a result leaf whose name is
//     also a flag's gets the prefix "result.". Text leaves are kept (the
//     reason a point diverged, was censored or has no estimate: "fit_note",
//     "reasons.kappa"); a null (an interval that could not be computed) is
//     an empty cell, and "non_finite" lists which numbers were NaN or ±Inf;
//   - provenance, prefixed "prov.": the command's cache_key, git_revision,
//     backend, from_cache, started_at and wall_seconds, and where the task
//     ran (host, job) with the task's own wall time;
//   - error: why a failed task failed.
type Table struct {
	Columns []string
	Rows    [][]Cell
}

// Cell is one value of the table: a number, a boolean, a string, or empty.
type Cell struct {
	Kind byte // 0 empty, 'n' number, 'b' boolean, 's' string
	Num  float64
	Str  string
}

func numCell(f float64) Cell { return Cell{Kind: 'n', Num: f} }
func strCell(s string) Cell  { return Cell{Kind: 's', Str: s} }

// String writes the cell as CSV text (numbers with the shortest exact form).
func (c Cell) String() string {
	switch c.Kind {
	case 'n':
		return strconv.FormatFloat(c.Num, 'g', -1, 64)
	case 'b', 's':
		return c.Str
	}
	return ""
}

// MarshalJSON writes numbers as numbers, booleans as booleans, empty as null.
func (c Cell) MarshalJSON() ([]byte, error) {
	switch c.Kind {
	case 'n':
		if math.IsNaN(c.Num) || math.IsInf(c.Num, 0) {
			return []byte("null"), nil
		}
		return []byte(strconv.FormatFloat(c.Num, 'g', -1, 64)), nil
	case 'b':
		return []byte(c.Str), nil
	case 's':
		return json.Marshal(c.Str)
	}
	return []byte("null"), nil
}

// provColumns are the provenance members copied from a command's result.
var provColumns = []string{"cache_key", "git_revision", "backend", "from_cache", "started_at", "wall_seconds"}

// Collect reads every task's record and builds the table; missing lists the
// indices without a done record. Records are read in parallel.
func Collect(p *Plan, st Store) (t *Table, missing []int, err error) {
	n := len(p.Tasks)
	recs := make([]*Record, n)
	states := st.States(p)
	var wg sync.WaitGroup
	workers := 8
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if states[i].State == Done || states[i].State == Failed {
					recs[i], _ = st.Read(p.Tasks[i].Key) // checked whole by States
				}
			}
		}(w)
	}
	wg.Wait()
	flagNames := map[string]bool{}
	var paramCols []string
	for _, b := range p.Spec.Base {
		paramCols = append(paramCols, b.Name)
		flagNames[b.Name] = true
	}
	for _, a := range p.Spec.Axes {
		paramCols = append(paramCols, a.Name)
		flagNames[a.Name] = true
	}
	// Flatten results; result columns in order of first appearance.
	flat := make([]map[string]Cell, n)
	prov := make([]map[string]Cell, n)
	var resCols []string
	seen := map[string]bool{}
	for i, r := range recs {
		if r == nil || r.Status != Done {
			continue
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(r.Result))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("sweep: task %d: result is not JSON: %v", i, err)
		}
		m := map[string]Cell{}
		var order []string
		obj, _ := v.(map[string]any)
		pv, _ := obj["provenance"].(map[string]any)
		delete(obj, "provenance")
		// The envelope names the result's non-finite numbers (written as
		// null) in "non_finite": one text column, so that an empty cell
		// keeps its reason.
		var nonFinite []string
		if nf, ok := obj["non_finite"].([]any); ok {
			delete(obj, "non_finite")
			for _, e := range nf {
				if s, ok := e.(string); ok {
					nonFinite = append(nonFinite, s)
				}
			}
		}
		if inner, ok := obj["result"]; ok && len(obj) == 1 {
			// The CLI's envelope {"result": …, "provenance": …}: the
			// columns are the result's own leaves.
			v = inner
		}
		flatten("", v, m, &order)
		if len(nonFinite) > 0 {
			m["non_finite"] = strCell(strings.Join(nonFinite, "; "))
			order = append(order, "non_finite")
		}
		for _, c := range order {
			if !seen[c] {
				seen[c] = true
				resCols = append(resCols, c)
			}
		}
		flat[i] = m
		pm := map[string]Cell{}
		for _, c := range provColumns {
			if x, ok := pv[c]; ok {
				pm[c] = scalarCell(x)
			}
		}
		prov[i] = pm
	}
	t = &Table{}
	t.Columns = append(t.Columns, "index", "status", "key")
	t.Columns = append(t.Columns, paramCols...)
	resName := make([]string, len(resCols))
	for i, c := range resCols {
		resName[i] = c
		if flagNames[c] || c == "index" || c == "status" || c == "key" || c == "error" || strings.HasPrefix(c, "prov.") {
			resName[i] = "result." + c
		}
	}
	t.Columns = append(t.Columns, resName...)
	for _, c := range provColumns {
		t.Columns = append(t.Columns, "prov."+c)
	}
	t.Columns = append(t.Columns, "prov.host", "prov.job", "prov.task_wall_seconds", "error")
	base := map[string]string{}
	for _, b := range p.Spec.Base {
		base[b.Name] = b.Value
	}
	t.Rows = make([][]Cell, n)
	for i, task := range p.Tasks {
		row := make([]Cell, 0, len(t.Columns))
		r := recs[i]
		status := states[i].State
		if r == nil && status != Missing {
			status = Damaged
		}
		if status != Done {
			missing = append(missing, i)
		}
		row = append(row, numCell(float64(i)), strCell(status), strCell(task.Key))
		for _, b := range p.Spec.Base {
			row = append(row, valueCell(b.Value))
		}
		for _, q := range task.Params {
			row = append(row, valueCell(q.Value))
		}
		for _, c := range resCols {
			row = append(row, flat[i][c])
		}
		for _, c := range provColumns {
			row = append(row, prov[i][c])
		}
		if r != nil {
			row = append(row, strCell(r.Host), strCell(r.Job), numCell(r.WallSeconds), strCell(r.Error))
		} else if status == Damaged {
			row = append(row, Cell{}, Cell{}, Cell{}, strCell(states[i].Why))
		} else {
			row = append(row, Cell{}, Cell{}, Cell{}, Cell{})
		}
		t.Rows[i] = row
	}
	return t, missing, nil
}

// valueCell types a flag value: numbers and booleans as such, else a string.
func valueCell(v string) Cell {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return numCell(f)
	}
	if v == "true" || v == "false" {
		return Cell{Kind: 'b', Str: v}
	}
	return strCell(v)
}

func scalarCell(x any) Cell {
	switch v := x.(type) {
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return Cell{}
		}
		return numCell(f)
	case bool:
		return Cell{Kind: 'b', Str: strconv.FormatBool(v)}
	case string:
		return strCell(v)
	}
	return Cell{}
}

// flatten records the numeric and boolean leaves of v under dotted paths.
func flatten(prefix string, v any, m map[string]Cell, order *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			flatten(join(prefix, k), x[k], m, order)
		}
	case []any:
		for i, e := range x {
			flatten(join(prefix, strconv.Itoa(i)), e, m, order)
		}
	case json.Number, bool, string:
		if prefix == "" {
			return
		}
		m[prefix] = scalarCell(x)
		*order = append(*order, prefix)
	case nil:
		if prefix != "" { // an unknown interval end: an empty cell, but a column
			m[prefix] = Cell{}
			*order = append(*order, prefix)
		}
	}
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// WriteCSV writes the table as CSV with a header line.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Columns); err != nil {
		return err
	}
	rec := make([]string, len(t.Columns))
	for _, r := range t.Rows {
		for i, c := range r {
			rec[i] = c.String()
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSONL writes one JSON object per row, members in column order.
func (t *Table) WriteJSONL(w io.Writer) error {
	var b bytes.Buffer
	names := make([][]byte, len(t.Columns))
	for i, c := range t.Columns {
		names[i], _ = json.Marshal(c)
	}
	for _, r := range t.Rows {
		b.Reset()
		b.WriteByte('{')
		for i, c := range r {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(names[i])
			b.WriteByte(':')
			v, _ := c.MarshalJSON()
			b.Write(v)
		}
		b.WriteString("}\n")
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// WriteFiles writes prefix.csv and prefix.jsonl atomically.
func (t *Table) WriteFiles(prefix string) (csvPath, jsonlPath string, err error) {
	var c, j bytes.Buffer
	if err := t.WriteCSV(&c); err != nil {
		return "", "", err
	}
	if err := t.WriteJSONL(&j); err != nil {
		return "", "", err
	}
	csvPath, jsonlPath = prefix+".csv", prefix+".jsonl"
	if err := run.WriteFileAtomic(csvPath, c.Bytes()); err != nil {
		return "", "", err
	}
	if err := run.WriteFileAtomic(jsonlPath, j.Bytes()); err != nil {
		return "", "", err
	}
	return csvPath, jsonlPath, nil
}

// Frame is a collected table read back from CSV, for notebooks: columns by
// name, cells as text, with typed accessors.
type Frame struct {
	Columns []string
	Rows    [][]string
	col     map[string]int
}

// ReadCSV reads a table written by WriteCSV (or `sweep collect`).
func ReadCSV(path string) (*Frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("sweep: reading %s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("sweep: %s is empty", path)
	}
	fr := &Frame{Columns: recs[0], Rows: recs[1:], col: map[string]int{}}
	for i, c := range fr.Columns {
		fr.col[c] = i
	}
	return fr, nil
}

// Has reports whether the frame has a column.
func (f *Frame) Has(col string) bool { _, ok := f.col[col]; return ok }

// Str returns the text of a cell ("" when the column does not exist).
func (f *Frame) Str(row int, col string) string {
	i, ok := f.col[col]
	if !ok {
		return ""
	}
	return f.Rows[row][i]
}

// Float returns a cell as a number: NaN when empty, not a number, or the
// column does not exist.
func (f *Frame) Float(row int, col string) float64 {
	v, err := strconv.ParseFloat(f.Str(row, col), 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// Values returns the distinct numeric values of a column, sorted.
func (f *Frame) Values(col string) []float64 {
	set := map[float64]bool{}
	for r := range f.Rows {
		if v := f.Float(r, col); !math.IsNaN(v) {
			set[v] = true
		}
	}
	out := make([]float64, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Float64s(out)
	return out
}
