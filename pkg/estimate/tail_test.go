package estimate

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat"
)

func TestHillRecoversParetoIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, alpha := range []float64{0.5, 1.5, 4} {
		x := make([]float64, 200000)
		for i := range x {
			x[i] = math.Pow(1-rng.Float64(), -1/alpha) // Pareto(α), x ≥ 1
		}
		a, err := Hill(x, 5000)
		if err != nil {
			t.Fatal(err)
		}
		// Standard error α/√k ≈ 1.4 % of α.
		if math.Abs(a/alpha-1) > 0.06 {
			t.Errorf("Hill %v for α = %v", a, alpha)
		}
	}
	for _, c := range []struct {
		x []float64
		k int
	}{{[]float64{1, 2, 3}, 3}, {[]float64{1, 2, 3}, 1}, {[]float64{1, 1, 1, 1}, 2}, {[]float64{0, 0, 0, 5}, 2}, {[]float64{1, 2, math.Inf(1), 3}, 2}, {[]float64{1, 2, math.NaN(), 3}, 2}} {
		if a, err := Hill(c.x, c.k); err == nil {
			t.Errorf("Hill(%v, %d) = %v accepted (no tail can be measured)", c.x, c.k, a)
		}
	}
}

// The t half-width uses the exact Student quantiles (12.706 at 1 degree of
// freedom, 2.262 at 9, → 1.96).
func TestMeanHalfWidth95(t *testing.T) {
	for _, c := range []struct {
		n int
		t float64
	}{{2, 12.7062}, {3, 4.3027}, {10, 2.2622}, {100000, 1.96}} {
		v := make([]float64, c.n)
		for i := range v {
			v[i] = float64(i % 2)
		}
		got := MeanHalfWidth95(v) * math.Sqrt(float64(c.n)) / stat.StdDev(v, nil)
		if math.Abs(got-c.t) > 1e-3 {
			t.Errorf("n = %d: t quantile %v, want %v", c.n, got, c.t)
		}
	}
	if !math.IsNaN(MeanHalfWidth95([]float64{1})) {
		t.Error("one value: want NaN")
	}
}

// Exponential times censored at a budget: κ̂ = k/T is close to κ, its 95 %
// interval covers κ about 95 % of the time, and with no escape the upper
// bound is −ln 0.05/T.
func TestCensoredRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const kappa, budget, runs, reps = 0.3, 2.0, 200, 400
	cover, sum := 0, 0.0
	for rep := 0; rep < reps; rep++ {
		k, total := 0, 0.0
		for r := 0; r < runs; r++ {
			x := rng.ExpFloat64() / kappa
			if x < budget {
				k++
				total += x
			} else {
				total += budget
			}
		}
		r, err := CensoredRate(k, total)
		if err != nil {
			t.Fatal(err)
		}
		sum += r.Rate
		if r.CI.Contains(kappa) {
			cover++
		}
		if !(r.Upper > float64(r.CI[1])*0.9) || !(r.Upper > r.Rate) {
			t.Errorf("upper bound %v below the estimate %v", r.Upper, r.Rate)
		}
	}
	if m := sum / reps; math.Abs(m/kappa-1) > 0.02 {
		t.Errorf("mean κ̂ = %v, κ = %v", m, kappa)
	}
	if c := float64(cover) / reps; c < 0.92 || c > 0.98 {
		t.Errorf("coverage %v, want 0.95", c)
	}
	r, _ := CensoredRate(0, 10)
	if r.Rate != 0 || !math.IsNaN(r.SE) || math.Abs(r.Upper-(-math.Log(0.05)/10)) > 1e-12 || r.CI[0] != 0 || float64(r.CI[1]) != r.Upper {
		t.Errorf("no escape: %+v", r)
	}
	if r, _ := CensoredRate(1, 1); math.Abs(r.Upper-9.487729/2) > 1e-5 {
		t.Errorf("one escape: upper %v, want χ²₀.₉₅(4)/2", r.Upper)
	}
	for _, bad := range []float64{0, -1, math.Inf(1), math.NaN()} {
		if _, err := CensoredRate(3, bad); err == nil {
			t.Errorf("total time %v accepted", bad)
		}
	}
}

func TestMomentsAgainstGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := make([]float64, 1001)
	for i := range x {
		x[i] = 3 + rng.NormFloat64()
	}
	m, v := MeanVar(x)
	gm, gv := stat.PopMeanVariance(x, nil)
	if math.Abs(m-gm) > 1e-14 || math.Abs(v/gv-1) > 1e-12 {
		t.Errorf("MeanVar %v %v, gonum %v %v", m, v, gm, gv)
	}
	m, cv := MeanCV(x)
	if want := stat.StdDev(x, nil) / stat.Mean(x, nil); math.Abs(cv/want-1) > 1e-12 || math.Abs(m-gm) > 1e-14 {
		t.Errorf("MeanCV %v, gonum %v", cv, want)
	}
	if _, cv := MeanCV([]float64{2}); !math.IsNaN(cv) {
		t.Error("one value: cv not NaN")
	}
}

// The weighted line recovers an exact line (χ² = 0), agrees with gonum's
// weighted regression, and its slope error is the spread of the slope over
// noisy replicates drawn with variances 1/w.
func TestWeightedLine(t *testing.T) {
	x := []float64{5, 6, 7, 8, 9}
	w := []float64{10, 40, 90, 20, 5}
	y := make([]float64, len(x))
	for i := range x {
		y[i] = 2 - 1.5*x[i]
	}
	l, err := WeightedLine(x, y, w)
	if err != nil || math.Abs(l.Slope+1.5) > 1e-12 || math.Abs(l.Intercept-2) > 1e-10 || l.Chi2 > 1e-20 {
		t.Fatalf("exact line: %+v %v", l, err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	var slopes, chi2 []float64
	for rep := 0; rep < 4000; rep++ {
		yy := make([]float64, len(x))
		for i := range x {
			yy[i] = y[i] + rng.NormFloat64()/math.Sqrt(w[i])
		}
		l, _ := WeightedLine(x, yy, w)
		a, b := stat.LinearRegression(x, yy, w, false)
		if math.Abs(l.Slope-b) > 1e-10 || math.Abs(l.Intercept-a) > 1e-9 {
			t.Fatalf("slope %v intercept %v, gonum %v %v", l.Slope, l.Intercept, b, a)
		}
		slopes, chi2 = append(slopes, l.Slope), append(chi2, l.Chi2)
	}
	if sd := stat.StdDev(slopes, nil); math.Abs(sd/l.SlopeSE-1) > 0.05 {
		t.Errorf("slope spread %v, SE %v", sd, l.SlopeSE)
	}
	if m := stat.Mean(chi2, nil); math.Abs(m-3) > 0.15 {
		t.Errorf("mean χ² %v, want points − 2 = 3", m)
	}
	for _, bad := range [][3][]float64{{{1}, {1}, {1}}, {{1, 1}, {1, 2}, {1, 1}}, {{1, 2}, {1, 2}, {1, 0}}, {{1, 2}, {1}, {1, 1}}, {{1, 2}, {1, 2}, {1, math.NaN()}}} {
		if _, err := WeightedLine(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("WeightedLine%v accepted", bad)
		}
	}
}
