// Package estimate holds the statistical estimators of sgdescape, pure
// numerics testable without models: least-squares lines (plain and
// weighted) and their bootstrap intervals, quantiles and moments (on
// gonum/stat where it has them), rates of censored exponential waiting
// times with their intervals and bounds, the Hill tail index and Student-t
// intervals (gonum's distuv), the
// fits of the stationary exponent φ of P(θ) ∝ L(θ)^−φ (Eq. 17) by maximum
// likelihood and by the paper's histogram method, the Gibbs alternative,
// integrated autocorrelation times and the Kolmogorov–Smirnov test.
//
// A new estimator goes here, with a test against a known answer; the
// experiments (pkg/linreg, pkg/network, pkg/barrier, pkg/ncrit) and pkg/passage call it.
package estimate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/stat"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// OLS fits y = a + b·x by least squares (gonum's stat.LinearRegression); it
// needs two distinct x.
func OLS(x, y []float64) (a, b float64, err error) {
	if len(x) != len(y) || len(x) < 2 {
		return 0, 0, fmt.Errorf("estimate: a line fit needs at least two points, got %d", len(x))
	}
	distinct := false
	for _, v := range x[1:] {
		distinct = distinct || v != x[0]
	}
	if !distinct {
		return 0, 0, fmt.Errorf("estimate: a line fit needs distinct x values")
	}
	a, b = stat.LinearRegression(x, y, nil, false)
	return a, b, nil
}

// Percentile returns the q-quantile (0..1) of v by linear interpolation
// between order statistics (Hyndman–Fan type 7, the default of R and NumPy),
// ignoring NaNs. gonum's stat.Quantile offers the empirical-CDF definitions
// only, which give different bootstrap intervals for a few hundred
// resamples, so this one is kept.
func Percentile(v []float64, q float64) float64 {
	s := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return math.NaN()
	}
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// Interval95 is the percentile 95 % interval [2.5 %, 97.5 %] of bootstrap replicates.
func Interval95(v []float64) run.Interval {
	return run.NewInterval(Percentile(v, 0.025), Percentile(v, 0.975))
}

// finite returns the finite values of v.
func finite(v []float64) []float64 {
	out := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out
}

// StdDev is the sample standard deviation (n − 1 in the denominator) of the
// finite values of v; NaN with fewer than two.
func StdDev(v []float64) float64 {
	f := finite(v)
	if len(f) < 2 {
		return math.NaN()
	}
	return stat.StdDev(f, nil)
}

// CV is the coefficient of variation sd/mean of v, with the population
// standard deviation (n in the denominator); NaN with fewer than two values.
// For first-passage times it is about 1 for escapes from a quasi-stationary
// state (exponential times) and well below 1 for a deterministic transient.
func CV(v []float64) float64 {
	if len(v) < 2 {
		return math.NaN()
	}
	m, sd := stat.PopMeanStdDev(v, nil)
	return sd / m
}

// MeanVar returns the mean and the population (1/n) variance of x by the
// plain two-pass sums. gonum's stat.PopMeanVariance agrees to rounding (its
// compensated sums differ in the last bits); this one is kept so that the
// barrier experiment's per-sample gradient variances C(θ), and everything
// computed from them, keep their numbers.
func MeanVar(x []float64) (mean, variance float64) {
	mean, ss := meanSS(x)
	return mean, ss / float64(len(x))
}

// MeanCV returns the mean of x and its coefficient of variation with the
// sample standard deviation (n − 1 in the denominator), by the same plain
// sums as MeanVar; cv is NaN with fewer than two values. Exit times of a
// memoryless escape have cv ≈ 1.
func MeanCV(x []float64) (mean, cv float64) {
	mean, ss := meanSS(x)
	if len(x) < 2 {
		return mean, math.NaN()
	}
	return mean, math.Sqrt(ss/float64(len(x)-1)) / mean
}

// meanSS returns the mean and the sum of squared deviations from it.
func meanSS(x []float64) (mean, ss float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, ss
}

// Line is a weighted least-squares line y = Intercept + Slope·x.
type Line struct {
	Intercept, Slope float64
	// SlopeSE is the slope's standard error when the weights are the
	// inverse variances of y: 1/√(Σ w (x − x̄)²).
	SlopeSE float64
	// Chi2 is Σ w (y − line)²: about the number of points − 2 when the line
	// fits within the errors.
	Chi2 float64
}

// WeightedLine fits y = a + s·x with weights w (inverse variances of y) by
// the plain weighted sums (gonum's stat.LinearRegression with weights gives
// the same line to rounding; this one keeps the barrier slopes' numbers).
// It needs two distinct x with positive weight.
func WeightedLine(x, y, w []float64) (Line, error) {
	if len(x) != len(y) || len(x) != len(w) || len(x) < 2 {
		return Line{}, fmt.Errorf("estimate: a line fit needs at least two points with a weight each, got %d, %d, %d", len(x), len(y), len(w))
	}
	var sw, sx, sy float64
	for i := range x {
		if !(w[i] > 0) || math.IsInf(w[i], 0) {
			return Line{}, fmt.Errorf("estimate: weight %d is %v; weights must be positive and finite", i, w[i])
		}
		sw += w[i]
		sx += w[i] * x[i]
		sy += w[i] * y[i]
	}
	mx, my := sx/sw, sy/sw
	var sxx, sxy float64
	for i := range x {
		sxx += w[i] * (x[i] - mx) * (x[i] - mx)
		sxy += w[i] * (x[i] - mx) * (y[i] - my)
	}
	if !(sxx > 0) {
		return Line{}, fmt.Errorf("estimate: a line fit needs distinct x values")
	}
	l := Line{Slope: sxy / sxx, SlopeSE: math.Sqrt(1 / sxx)}
	l.Intercept = my - l.Slope*mx
	for i := range x {
		r := y[i] - l.Intercept - l.Slope*x[i]
		l.Chi2 += w[i] * r * r
	}
	return l, nil
}

// LogLogSlope fits log y = a + s·log x by least squares over the pairs with
// x > 0 and y > 0, and bootstraps the pairs (boot resamples, drawn from rng)
// for a 95 % percentile interval; with boot ≤ 0 or a nil rng the interval is
// unknown (NaN).
func LogLogSlope(x, y []float64, boot int, rng *rand.Rand) (float64, run.Interval, error) {
	var lx, ly []float64
	for i := range x {
		if !(x[i] > 0) || !(y[i] > 0) {
			continue
		}
		lx, ly = append(lx, math.Log(x[i])), append(ly, math.Log(y[i]))
	}
	nan := run.NewInterval(math.NaN(), math.NaN())
	_, s, err := OLS(lx, ly)
	if err != nil {
		return math.NaN(), nan, err
	}
	if boot <= 0 || rng == nil {
		return s, nan, nil
	}
	var ss []float64
	bx, by := make([]float64, len(lx)), make([]float64, len(lx))
	for b := 0; b < boot; b++ {
		for i := range bx {
			j := rng.IntN(len(lx))
			bx[i], by[i] = lx[j], ly[j]
		}
		if _, v, err := OLS(bx, by); err == nil {
			ss = append(ss, v)
		}
	}
	return s, Interval95(ss), nil
}

// LineThrough returns the ends of the line of slope s (in log–log
// coordinates) through the centroid of the points (x, y) — the "theory line
// through the data" of the escape figures — evaluated at x0 and x1. ok is
// false with fewer than two points with x, y > 0.
func LineThrough(x, y []float64, s, x0, x1 float64) (y0, y1 float64, ok bool) {
	var sx, sy float64
	k := 0
	for i := range x {
		if x[i] > 0 && y[i] > 0 {
			sx += math.Log(x[i])
			sy += math.Log(y[i])
			k++
		}
	}
	if k < 2 {
		return math.NaN(), math.NaN(), false
	}
	cx, cy := sx/float64(k), sy/float64(k)
	at := func(v float64) float64 { return math.Exp(cy + s*(math.Log(v)-cx)) }
	return at(x0), at(x1), true
}

// Bootstrap limits: a 95 % percentile interval is stable to about 1 % with
// 10⁴ resamples, so MaxBoot is far beyond any need; the budgets bound
// resamples × items per resample to about a minute of work on one core
// (measured: 4·10⁸ run-threshold items of the first-passage bootstrap take
// 15 s, 2·10⁸ samples of the φ fit 26 s).
const (
	MaxBoot            = 100000
	BootWorkFPT        = 2e9 // first-passage times: runs × thresholds per resample
	BootWorkStationary = 5e8 // φ fits: samples per resample
	BootWorkFewPoints  = 1e9 // slopes over a handful of points
)

// CheckBoot refuses a bootstrap of boot resamples of items each that would
// take more than MaxBoot resamples or more than budget resampled items;
// what names the parameters that set items ("runs × thresholds").
func CheckBoot(boot int, items, budget float64, what string) error {
	if boot > MaxBoot {
		return fmt.Errorf("boot = %d is more than %d: 95 %% intervals are stable with 1000–10000 resamples", boot, MaxBoot)
	}
	if w := float64(boot) * items; w > budget {
		return fmt.Errorf("boot = %d × %.0f items (%s) = %.3g resampled items is more than %.0g (over a minute of bootstrap, growing linearly): lower boot or %s", boot, items, what, w, budget, what)
	}
	return nil
}
