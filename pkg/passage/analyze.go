package passage

import (
	"errors"
	"fmt"
	"math"

	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// Line is a least-squares fit y = Intercept + Slope·x with a bootstrap 95 % interval.
type Line struct {
	Slope     float64      `json:"slope"`
	Intercept float64      `json:"intercept"`
	CI        run.Interval `json:"ci"`
}

// LocalSlope is the log–log slope between two neighbouring thresholds.
type LocalSlope struct {
	CLo   float64      `json:"c_lo"`
	CHi   float64      `json:"c_hi"`
	Slope float64      `json:"slope"`
	CI    run.Interval `json:"ci"`
}

// Result summarises a first-passage experiment.
type Result struct {
	Estimates []Estimate `json:"estimates"`
	// LogLog fits log(mean FPT) against log c over the fit thresholds: the
	// power law of Eq. 15 predicts slope B/(ηh*) + 1 − n/2.
	LogLog Line `json:"loglog"`
	// LogLin fits log(mean FPT) against c: Arrhenius (GLD, Eq. 5) predicts a
	// straight line with slope L*/D = B/(ηh*).
	LogLin      Line         `json:"loglin"`
	FitC        []float64    `json:"fit_c"`
	LocalSlopes []LocalSlope `json:"local_slopes"`
	Diverged    int          `json:"diverged"`
	Bootstrap   int          `json:"bootstrap"`
}

// Undefined is the Result of an experiment whose runs diverged: no
// estimates, and both fits NaN (written as null, with the path named in the
// envelope's non_finite) — never a slope of 0 with interval [0, 0].
func Undefined(diverged int) Result {
	nan := math.NaN()
	line := Line{Slope: nan, Intercept: nan, CI: run.NewInterval(nan, nan)}
	return Result{LogLog: line, LogLin: line, Diverged: diverged}
}

// ErrTooFewReliable is returned by Analyze when fewer than two thresholds
// have reliable passages (most runs censored): the estimates are still
// returned — censoring is data — but the slope is undefined (NaN).
var ErrTooFewReliable = errors.New("first passage: fewer than two reliable thresholds")

// Analyze estimates the mean first-passage time of every threshold, and fits
// log(mean) against log c (and against c) over the thresholds c ≥ fitMin
// whose estimates are reliable. Intervals come from boot bootstrap resamples
// of the runs (boot ≥ 100 recommended), drawn from seed.
func (tr *Tracker) Analyze(fitMin float64, boot int, seed uint64) (Result, error) {
	runs := make([]int, len(tr.Times))
	for i := range runs {
		runs[i] = i
	}
	res := Result{Diverged: tr.NumDiverged(), Bootstrap: boot}
	if res.Diverged == len(runs) {
		return res, fmt.Errorf("first passage: every run diverged; no first-passage statistics")
	}
	means := func(idx []int) []float64 {
		m := make([]float64, len(tr.C))
		for k := range tr.C {
			m[k], _, _, _ = meanFPT(tr.samples(k, idx))
		}
		return m
	}
	for k, c := range tr.C {
		s := tr.samples(k, runs)
		e := Estimate{C: c}
		for _, x := range s {
			if x.event {
				e.Events++
			} else {
				e.Censored++
			}
		}
		e.Mean, e.Restrict, e.Method, e.Reliable = meanFPT(s)
		if e.Events < 3 {
			e.Reliable = false
		}
		res.Estimates = append(res.Estimates, e)
	}
	var fitIdx []int
	for k, e := range res.Estimates {
		if e.C >= fitMin && e.Reliable && e.Mean > 0 {
			fitIdx = append(fitIdx, k)
			res.FitC = append(res.FitC, e.C)
		}
	}
	fit := func(m []float64) (ll, lin [2]float64, ok bool) {
		var x, lx, y []float64
		for _, k := range fitIdx {
			if !(m[k] > 0) {
				return ll, lin, false
			}
			x = append(x, tr.C[k])
			lx = append(lx, math.Log(tr.C[k]))
			y = append(y, math.Log(m[k]))
		}
		a, b, err := estimate.OLS(lx, y)
		if err != nil {
			return ll, lin, false
		}
		a2, b2, err := estimate.OLS(x, y)
		if err != nil {
			return ll, lin, false
		}
		return [2]float64{a, b}, [2]float64{a2, b2}, true
	}
	m0 := means(runs)
	ll, lin, ok := fit(m0)
	if !ok {
		nan := math.NaN()
		res.LogLog = Line{Slope: nan, Intercept: nan, CI: run.NewInterval(nan, nan)}
		res.LogLin = res.LogLog
		return res, fmt.Errorf("%w with c ≥ %v (thresholds %v); raise the step budget or add thresholds", ErrTooFewReliable, fitMin, tr.C)
	}
	res.LogLog = Line{Intercept: ll[0], Slope: ll[1]}
	res.LogLin = Line{Intercept: lin[0], Slope: lin[1]}
	for k := 0; k+1 < len(tr.C); k++ {
		res.LocalSlopes = append(res.LocalSlopes, LocalSlope{CLo: tr.C[k], CHi: tr.C[k+1],
			Slope: math.Log(m0[k+1]/m0[k]) / math.Log(tr.C[k+1]/tr.C[k])})
	}
	if boot > 0 {
		rng := rng.New(seed, rng.FPTBootstrap)
		var slopes, lins []float64
		local := make([][]float64, len(res.LocalSlopes))
		perK := make([][]float64, len(tr.C))
		idx := make([]int, len(runs))
		for b := 0; b < boot; b++ {
			for i := range idx {
				idx[i] = runs[rng.IntN(len(runs))]
			}
			m := means(idx)
			for k := range m {
				perK[k] = append(perK[k], m[k])
			}
			if ll, lin, ok := fit(m); ok {
				slopes = append(slopes, ll[1])
				lins = append(lins, lin[1])
			}
			for k := range local {
				local[k] = append(local[k], math.Log(m[k+1]/m[k])/math.Log(tr.C[k+1]/tr.C[k]))
			}
		}
		res.LogLog.CI = estimate.Interval95(slopes)
		res.LogLin.CI = estimate.Interval95(lins)
		for k := range local {
			res.LocalSlopes[k].CI = estimate.Interval95(local[k])
		}
		for k := range perK {
			res.Estimates[k].SE = run.Float(estimate.StdDev(perK[k]))
		}
	}
	return res, nil
}
