package validity

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sgdescape/sgdescape/pkg/experiment"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/plot"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/sweep"
)

// Grids is the what-if experiment of notebook 07 (registered as `whatif`):
// three sweeps of registered experiments — the stationary exponent over
// (η, B), the first-passage slope over (η, B) and over P = n — and the maps
// of their ratios to the theory (Eq. 17, Eq. 15). Each grid runs as a sweep
// (records per task, resumable; the same cache entries as the plain
// commands), or is read from a table collected elsewhere (a cluster).
type Grids struct {
	StEtas    []float64 `json:"stationary_eta"`
	StBs      []int     `json:"stationary_B"`
	StN       int       `json:"stationary_N"`
	StSamples int       `json:"stationary_samples"`
	FeEtas    []float64 `json:"fpt_eta"`
	FeBs      []int     `json:"fpt_B"`
	FeP       int       `json:"fpt_P"`
	FeC       []float64 `json:"fpt_c"`
	FpPs      []int     `json:"P_grid"`
	FpEta     float64   `json:"P_eta"`
	FpB       int       `json:"P_B"`
	FpC       []float64 `json:"P_c"`
	Runs      int       `json:"runs"`
	Boot      int       `json:"boot"`
	MaxSteps  int64     `json:"maxsteps"`
	Seed      uint64    `json:"seed"`
	// Tol is the tolerance of the outlined region, |fit/theory − 1| ≤ Tol.
	Tol float64 `json:"tol"`
	// Tables name collected tables (table.csv of `sgdescape sweep collect`)
	// to read instead of running a grid here: stationary, fpt-etaB, fpt-P.
	StTable, FeTable, FpTable string `json:"-"`
}

// GridNames are the three grids, in the order they are drawn.
var GridNames = []string{"stationary", "fpt-etaB", "fpt-P"}

// PaperGrids is notebook 07's grids at a scale: quick (minutes on 2 cores,
// 50 runs per point) or paper depth (finer grids, 100 runs, for a cluster).
func PaperGrids(scale run.Scale) Grids {
	if scale == run.Paper {
		return Grids{StEtas: []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1}, StBs: []int{1, 2, 4, 8, 16, 32}, StN: 100000, StSamples: 10000,
			FeEtas: []float64{0.05, 0.1, 0.2, 0.3, 0.5, 0.7}, FeBs: []int{1, 2, 3, 4, 6}, FeP: 2, FeC: []float64{1.05, 1.1, 1.2, 1.35, 1.5, 1.75, 2, 2.5, 3},
			FpPs: []int{1, 2, 3, 5, 8, 10, 15, 20}, FpEta: 0.1, FpB: 1, FpC: []float64{1.2, 1.35, 1.5, 2, 2.5, 3, 4, 5, 6, 8},
			Runs: 100, Boot: 1000, MaxSteps: 5000000, Seed: 1, Tol: 0.1}
	}
	return Grids{StEtas: []float64{0.01, 0.03, 0.1, 0.3, 1}, StBs: []int{1, 2, 4, 8, 16}, StN: 10000, StSamples: 2000,
		FeEtas: []float64{0.1, 0.2, 0.3, 0.5}, FeBs: []int{1, 2, 3}, FeP: 2, FeC: []float64{1.1, 1.2, 1.35, 1.5, 1.75, 2, 2.5},
		FpPs: []int{1, 2, 3, 5, 8, 10}, FpEta: 0.1, FpB: 1, FpC: []float64{1.2, 1.35, 1.5, 2, 2.5, 3, 4},
		Runs: 50, Boot: 200, MaxSteps: 1000000, Seed: 1, Tol: 0.1}
}

// Declare declares the parameters (pkg/param).
func (g *Grids) Declare(s *param.Set) {
	list := []param.Option{param.Positive, param.MaxItems(50)}
	s.Floats(&g.StEtas, "stationary-eta", "η of the stationary grid (Eq. 17 over (η, B))", list...)
	s.Ints(&g.StBs, "stationary-B", "B of the stationary grid", param.Min(1), param.MaxItems(50))
	s.Int(&g.StN, "stationary-N", "samples N of the stationary grid's data", param.Min(2))
	s.Int(&g.StSamples, "stationary-samples", "θ samples per point of the stationary grid", param.Min(10))
	s.Floats(&g.FeEtas, "fpt-eta", "η of the first-passage grid over (η, B) (Eq. 15)", list...)
	s.Ints(&g.FeBs, "fpt-B", "B of the first-passage grid over (η, B)", param.Min(1), param.MaxItems(50))
	s.Int(&g.FeP, "fpt-P", "P = n of the first-passage grid over (η, B)", param.Min(1))
	s.Floats(&g.FeC, "fpt-c", "thresholds c = L_th/L* of the first-passage grid over (η, B)", param.Above(1))
	s.Ints(&g.FpPs, "P-grid", "P = n of the first-passage grid over P", param.Min(1), param.MaxItems(50))
	s.Float(&g.FpEta, "P-eta", "η of the first-passage grid over P", param.Positive)
	s.Int(&g.FpB, "P-B", "B of the first-passage grid over P", param.Min(1))
	s.Floats(&g.FpC, "P-c", "thresholds c of the first-passage grid over P", param.Above(1))
	s.Int(&g.Runs, "runs", "first-passage runs per grid point", param.Min(3))
	s.Int(&g.Boot, "boot", "bootstrap resamples per grid point", param.Max(100000))
	s.Int64(&g.MaxSteps, "maxsteps", "steps per first-passage run before it is censored", param.Min(1))
	s.Uint64(&g.Seed, "seed", "master seed of every grid point")
	s.Float(&g.Tol, "tol", "tolerance of the outlined region, |fit/theory − 1| ≤ tol", param.Positive, param.Below(1))
	s.Text(&g.StTable, "stationary-table", "a collected table (table.csv) to read instead of running the stationary grid here")
	s.Text(&g.FeTable, "fpt-etaB-table", "a collected table to read instead of running the first-passage grid over (η, B)")
	s.Text(&g.FpTable, "fpt-P-table", "a collected table to read instead of running the first-passage grid over P")
}

func floats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

// Specs returns the sweep specification of each grid: the experiment's own
// parameters (base) and the swept axes, in the order the tasks are numbered.
func (g Grids) Specs() map[string]*sweep.Spec {
	p := func(kv ...string) []sweep.Param {
		var out []sweep.Param
		for i := 0; i < len(kv); i += 2 {
			out = append(out, sweep.Param{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	it := func(v int) string { return strconv.Itoa(v) }
	seed := strconv.FormatUint(g.Seed, 10)
	fpt := func(extra ...string) []sweep.Param {
		return p(append([]string{"N", "10000", "runs", it(g.Runs), "maxsteps", strconv.FormatInt(g.MaxSteps, 10), "boot", it(g.Boot), "seed", seed}, extra...)...)
	}
	return map[string]*sweep.Spec{
		"stationary": {Experiment: "stationary",
			Base: p("P", "1", "N", it(g.StN), "samples", it(g.StSamples), "boot", it(g.Boot), "seed", seed),
			Axes: []sweep.Axis{{Name: "eta", Values: sweep.Floats(g.StEtas...)}, {Name: "B", Values: sweep.Ints(g.StBs...)}}},
		"fpt-etaB": {Experiment: "fpt", Base: fpt("P", it(g.FeP), "c", floats(g.FeC)),
			Axes: []sweep.Axis{{Name: "eta", Values: sweep.Floats(g.FeEtas...)}, {Name: "B", Values: sweep.Ints(g.FeBs...)}}},
		"fpt-P": {Experiment: "fpt", Base: fpt("eta", strconv.FormatFloat(g.FpEta, 'g', -1, 64), "B", it(g.FpB), "c", floats(g.FpC)),
			Axes: []sweep.Axis{{Name: "P", Values: sweep.Ints(g.FpPs...)}}},
	}
}

// Validate checks what the parameters alone cannot: the tables named exist.
// Each grid's points are validated when its sweep is planned (RunGrids),
// by the experiments' own checks, before any point runs.
func (g Grids) Validate() error {
	for name, t := range map[string]string{"stationary-table": g.StTable, "fpt-etaB-table": g.FeTable, "fpt-P-table": g.FpTable} {
		if t == "" {
			continue
		}
		if fi, err := os.Stat(t); err != nil || fi.IsDir() {
			return fmt.Errorf("%s = %s: not a readable file; give the table.csv that sgdescape sweep collect wrote", name, t)
		}
	}
	return nil
}

// The ratios drawn: φ of Eq. 17 and the slope of Eq. 15 over their theory.
var (
	PhiRatio   = Ratio{Value: "fit.phi_mle", Lo: "fit.phi_mle_ci.0", Hi: "fit.phi_mle_ci.1", Theory: "phi_theory"}
	SlopeRatio = Ratio{Value: "fit.loglog.slope", Lo: "fit.loglog.ci.0", Hi: "fit.loglog.ci.1", Theory: "slope_theory"}
)

// Grid is one grid's outcome.
type Grid struct {
	Name     string `json:"name"`
	Equation string `json:"equation"`
	// Spec is the specification file and Table the collected table read.
	Spec, Table string
	// Source says where the table came from (run here, or read).
	Source string `json:"source"`
	// Failed counts tasks that did not finish (missing, failed, damaged).
	Failed int `json:"failed"`
	Map    *Map
	// Info holds the first value of the columns a caption needs (N,
	// samples, runs, c, seed, prov.backend, h_star, …).
	Info map[string]string `json:"info"`
}

// GridsResult is the outcome of RunGrids, one Grid per name of GridNames.
type GridsResult struct {
	Grids []Grid `json:"grids"`
	Tol   float64
}

// Grid returns the grid called name.
func (r GridsResult) Grid(name string) Grid {
	for _, g := range r.Grids {
		if g.Name == name {
			return g
		}
	}
	return Grid{Name: name}
}

// Dir is where RunGrids keeps its specifications and results: under the
// cache (SGDESCAPE_CACHE), sweeps/whatif.
func Dir(c run.Cache) string {
	if c.Dir == "" {
		return filepath.Join(os.TempDir(), "sgdescape-whatif")
	}
	return filepath.Join(c.Dir, "sweeps", "whatif")
}

// GridsVersion is the code version of RunGrids.
const GridsVersion = "whatif/v1"

// RunGrids is the `whatif` experiment: for each grid, the table named in g
// or the grid's sweep run here (tasks in this process, env.Workers at a
// time, every finished task kept, so a second call runs nothing), then its
// validity map. Grid points that failed are holes in the maps, counted in
// Failed; points censored by the step budget are "slower than".
func RunGrids(ctx context.Context, env run.Env, g Grids, reg sweep.Registry) (run.Result[GridsResult], error) {
	start := time.Now()
	dir := Dir(env.Cache)
	res := GridsResult{Tol: g.Tol}
	tables := map[string]string{"stationary": g.StTable, "fpt-etaB": g.FeTable, "fpt-P": g.FpTable}
	specs := g.Specs()
	for k, name := range GridNames {
		gr := Grid{Name: name, Equation: map[bool]string{true: "Eq. 17 (φ)", false: "Eq. 15 (slope)"}[name == "stationary"],
			Spec: filepath.Join(dir, name+".json"), Table: tables[name]}
		if gr.Table != "" {
			gr.Source = gr.Table
		} else {
			env.Progress.Report(k, len(GridNames), "grid "+name)
			table, failed, err := runGrid(ctx, env, specs[name], gr.Spec, reg)
			if err != nil {
				return run.Result[GridsResult]{}, fmt.Errorf("grid %s: %w", name, err)
			}
			gr.Table, gr.Failed, gr.Source = table, failed, "grid run here"
		}
		fr, err := sweep.ReadCSV(gr.Table)
		if err != nil {
			return run.Result[GridsResult]{}, run.BadInput(fmt.Errorf("grid %s: %w", name, err))
		}
		x, y, r := "eta", "B", SlopeRatio
		switch name {
		case "stationary":
			r = PhiRatio
		case "fpt-P":
			x, y = "P", ""
		}
		if gr.Map, err = FromFrame(fr, x, y, r, g.Tol, nil); err != nil {
			return run.Result[GridsResult]{}, run.BadInput(fmt.Errorf("grid %s (%s): %w", name, gr.Table, err))
		}
		gr.Info = map[string]string{}
		for _, c := range []string{"N", "samples", "runs", "c", "maxsteps", "seed", "P", "eta", "B", "prov.backend", "h_star"} {
			gr.Info[c] = first(fr, c)
		}
		res.Grids = append(res.Grids, gr)
	}
	env.Progress.Report(len(GridNames), len(GridNames), "done")
	return run.Compose(run.Spec{Experiment: "whatif", CodeVersion: GridsVersion, Config: g, Backend: "native"}, start, false, res)
}

// runGrid writes spec to path, runs its tasks that are not done and
// collects its table.
func runGrid(ctx context.Context, env run.Env, s *sweep.Spec, path string, reg sweep.Registry) (table string, failed int, err error) {
	if err := sweep.WriteSpec(path, s.JSON("")); err != nil {
		return "", 0, err
	}
	spec, err := sweep.Load(path)
	if err != nil {
		return "", 0, err
	}
	plan, err := sweep.NewPlan(spec, reg, 0)
	if err != nil {
		return "", 0, run.BadInput(err)
	}
	rdir, err := spec.ResultsDir("")
	if err != nil {
		return "", 0, err
	}
	st := sweep.Store{Dir: rdir}
	quiet := env
	quiet.Progress = nil
	envFor := func(experiment.Entry) (run.Env, func(), error) { return quiet, func() {}, nil }
	workers := env.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if _, _, err := sweep.RunAll(ctx, plan, st, sweep.RunOptions{Workers: workers, Env: envFor}, nil); err != nil {
		return "", 0, err
	}
	t, missing, err := sweep.Collect(plan, st)
	if err != nil {
		return "", 0, err
	}
	csv, _, err := t.WriteFiles(filepath.Join(rdir, "table"))
	return csv, len(missing), err
}

// first returns the first non-empty value of a column ("?" when none).
func first(fr *sweep.Frame, col string) string {
	if !fr.Has(col) {
		return "?"
	}
	for r := range fr.Rows {
		if v := fr.Str(r, col); v != "" {
			return v
		}
	}
	return "?"
}

// Line returns a ratio over one parameter as a figure's series (points
// with their intervals), and the points without an estimate with the reason.
func (m *Map) Line(name string) (s plot.Series, skipped []string) {
	s = plot.Series{Name: name, Style: plot.Points, Color: 0}
	for i, x := range m.X {
		r := m.Ratio[0][i]
		if math.IsNaN(r) {
			skipped = append(skipped, fmt.Sprintf("%s = %g (%s)", m.XName, x, m.Why[0][i]))
			continue
		}
		lo, hi := m.Lo[0][i], m.Hi[0][i]
		if math.IsNaN(lo) {
			lo = r
		}
		if math.IsNaN(hi) {
			hi = r
		}
		s.X, s.Y, s.YLo, s.YHi = append(s.X, x), append(s.Y, r), append(s.YLo, lo), append(s.YHi, hi)
	}
	return s, skipped
}

// WriteSpecs writes the specification of each grid of g into dir (for a
// cluster) and returns their paths, in GridNames order, with their task counts.
func (g Grids) WriteSpecs(dir string) (paths []string, tasks []int, err error) {
	specs := g.Specs()
	for _, n := range GridNames {
		sp := specs[n]
		p := filepath.Join(dir, n+".json")
		if err := sweep.WriteSpec(p, sp.JSON("")); err != nil {
			return nil, nil, err
		}
		t := 1
		for _, a := range sp.Axes {
			t *= len(a.Values)
		}
		paths, tasks = append(paths, p), append(tasks, t)
	}
	return paths, tasks, nil
}
