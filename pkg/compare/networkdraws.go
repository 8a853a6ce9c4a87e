package compare

import (
	"fmt"
	"math"
	"strings"

	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/plot"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// NetworkSeedRow is Fig. 3c from the minimum of one pre-training seed: the
// fitted slope, the implied n with its interval, each estimator's n and the
// estimator nearest the implied n; Excluded says why a seed has none.
type NetworkSeedRow struct {
	Seed       uint64             `json:"pretrain_seed"`
	LStar      float64            `json:"L_star"`
	HStar      float64            `json:"h_star"`
	Slope      run.Float          `json:"slope_fit"`
	SlopeCI    run.Interval       `json:"slope_ci"`
	ImpliedN   run.Float          `json:"implied_n"`
	ImpliedCI  run.Interval       `json:"implied_n_ci"`
	Estimators map[string]float64 `json:"estimators"`
	Closest    string             `json:"closest_estimator"`
	Excluded   string             `json:"excluded,omitempty"`
}

// EstimatorDrawRow is one estimator of n over the seeds: the seeds where
// its n lies inside the implied n's 95 % interval, where it is the nearest
// estimator, and n_estimator − n_implied over seeds.
type EstimatorDrawRow struct {
	Name      string `json:"name"`
	Inside    int    `json:"inside"`
	Closest   int    `json:"closest"`
	Draws     int    `json:"draws"`
	Deviation Spread `json:"n_minus_implied"`
}

// NetworkDrawsFigures are the over-seeds key figures of notebook 04.
type NetworkDrawsFigures struct {
	Seeds      []NetworkSeedRow   `json:"seeds"`
	ImpliedN   Spread             `json:"implied_n"`
	Estimators []EstimatorDrawRow `json:"estimators"`
}

// NetworkDrawsComparison is notebook 04's Fig. 3c over pre-training seeds.
type NetworkDrawsComparison struct {
	Figures             NetworkDrawsFigures
	PerSeed, Estimators Table
	Verdict             string
}

// NetworkDraws compares the implied n with the effective-dimension
// estimators over the pre-training seeds.
func NetworkDraws(r network.FirstPassageDrawsResult) NetworkDrawsComparison {
	var c NetworkDrawsComparison
	f := &c.Figures
	var names []string
	var implied []float64
	for _, d := range r.Draws {
		res := d.Result
		row := NetworkSeedRow{Seed: d.PretrainSeed, LStar: res.LStar, HStar: res.HStar, Slope: run.Float(res.Fit.LogLog.Slope), SlopeCI: res.Fit.LogLog.CI,
			ImpliedN: run.Float(res.ImpliedN), ImpliedCI: d.ImpliedNCI, Estimators: map[string]float64{}, Excluded: d.Excluded}
		if d.Excluded == "" {
			for _, e := range res.Estimators {
				row.Estimators[e.Name] = e.N
				if !contains(names, e.Name) {
					names = append(names, e.Name)
				}
			}
			row.Closest = res.ClosestEstimator().Name
			implied = append(implied, res.ImpliedN)
		} else {
			row.Slope, row.ImpliedN = run.Float(math.NaN()), run.Float(math.NaN())
		}
		f.Seeds = append(f.Seeds, row)
	}
	f.ImpliedN = spreadOf(implied)
	for _, name := range names {
		e := EstimatorDrawRow{Name: name}
		var dev []float64
		for _, s := range f.Seeds {
			n, ok := s.Estimators[name]
			if !ok || !finiteF(s.ImpliedN) {
				continue
			}
			e.Draws++
			if s.ImpliedCI.Contains(n) {
				e.Inside++
			}
			if s.Closest == name {
				e.Closest++
			}
			dev = append(dev, n-float64(s.ImpliedN))
		}
		e.Deviation = spreadOf(dev)
		f.Estimators = append(f.Estimators, e)
	}
	c.PerSeed = Table{Caption: fmt.Sprintf("Fig. 3c from the minimum of each pre-training seed (η = %g, B = %d)", r.Eta, r.B),
		Header: append([]string{"pre-training seed", "L(θ*)", "h* = λ1", "slope (95% CI)", "implied n (95% CI)"}, names...)}
	for _, s := range f.Seeds {
		if s.Excluded != "" {
			c.PerSeed.Rows = append(c.PerSeed.Rows, append([]string{fmt.Sprint(s.Seed), "excluded: " + s.Excluded}, make([]string, 3+len(names))...))
			continue
		}
		row := []string{fmt.Sprint(s.Seed), fmt.Sprintf("%.4g", s.LStar), fmt.Sprintf("%.4g", s.HStar),
			fmt.Sprintf("%s [%s, %s]", f3(s.Slope), f3(s.SlopeCI[0]), f3(s.SlopeCI[1])), fmt.Sprintf("%s [%s, %s]", f3(s.ImpliedN), f3(s.ImpliedCI[0]), f3(s.ImpliedCI[1]))}
		for _, name := range names {
			row = append(row, fmt.Sprintf("%.3g", s.Estimators[name]))
		}
		c.PerSeed.Rows = append(c.PerSeed.Rows, row)
	}
	c.Estimators = Table{Caption: fmt.Sprintf("Each estimator of n against the implied n over %d pre-training seeds", len(implied)),
		Header: []string{"estimator of n", "inside the implied n's 95% CI", "nearest the implied n", "n − implied n (mean ± SD)"}}
	for _, e := range f.Estimators {
		c.Estimators.Rows = append(c.Estimators.Rows, []string{e.Name, fmt.Sprintf("%d of %d", e.Inside, e.Draws), fmt.Sprintf("%d of %d", e.Closest, e.Draws), e.Deviation.Text()})
	}
	c.Verdict = networkDrawsVerdict(*f)
	return c
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func networkDrawsVerdict(f NetworkDrawsFigures) string {
	var v strings.Builder
	fmt.Fprintf(&v, "**Verdict over %d pre-training seeds (network, measured).** ", len(f.Seeds))
	for _, s := range f.Seeds {
		if s.Excluded != "" {
			fmt.Fprintf(&v, "Seed %d is left out: %s. ", s.Seed, s.Excluded)
		}
	}
	if f.ImpliedN.Draws == 0 {
		v.WriteString("No seed gave an implied n.")
		return strings.TrimSpace(v.String())
	}
	fmt.Fprintf(&v, "The implied n is %s over the seeds. ", f.ImpliedN.Text())
	best := EstimatorDrawRow{Closest: -1}
	for _, e := range f.Estimators {
		fmt.Fprintf(&v, "The %s estimate is inside the implied n's 95 %% interval %s (n − implied: %s). ", e.Name, howMany(e.Inside, e.Draws, "seed", "seeds"), e.Deviation.Text())
		if e.Closest > best.Closest {
			best = e
		}
	}
	if best.Draws > 0 {
		fmt.Fprintf(&v, "The estimator nearest the implied n is **%s** %s.", best.Name, howMany(best.Closest, best.Draws, "seed", "seeds"))
	}
	return strings.TrimSpace(v.String())
}

// NetworkDrawsPlot is the implied n (95 % interval) of each pre-training
// seed with each estimator's n at the same θ*, on a logarithmic axis.
func NetworkDrawsPlot(c NetworkDrawsComparison) plot.Figure {
	var x, y, lo, hi []float64
	for _, s := range c.Figures.Seeds {
		if finiteF(s.ImpliedN) && float64(s.ImpliedN) > 0 {
			l, h := float64(s.ImpliedCI[0]), float64(s.ImpliedCI[1])
			if !(l > 0) || math.IsNaN(h) {
				l, h = float64(s.ImpliedN), float64(s.ImpliedN)
			}
			x, y, lo, hi = append(x, float64(s.Seed)), append(y, float64(s.ImpliedN)), append(lo, l), append(hi, h)
		}
	}
	series := []plot.Series{{Name: "implied n (95 % CI)", X: x, Y: y, YLo: lo, YHi: hi, Style: plot.Points, Color: 0}}
	for i, e := range c.Figures.Estimators {
		var ex, ey []float64
		for _, s := range c.Figures.Seeds {
			if n, ok := s.Estimators[e.Name]; ok && n > 0 {
				ex, ey = append(ex, float64(s.Seed)+0.06*float64(i+1)), append(ey, n)
			}
		}
		series = append(series, plot.Series{Name: e.Name, X: ex, Y: ey, Style: plot.Points, Color: i + 1})
	}
	return plot.Figure{Title: "Fig. 3c over pre-training seeds: implied n against the estimators", XLabel: "pre-training seed", YLabel: "n",
		LogY: true, Series: keep(series), Width: 7, Height: 4}
}
