package estimate

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestOLSRecoversALine(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = 1.5 - 0.25*v
	}
	a, b, err := OLS(x, y)
	if err != nil || math.Abs(a-1.5) > 1e-12 || math.Abs(b+0.25) > 1e-12 {
		t.Fatalf("OLS = %v, %v, %v; want 1.5, -0.25", a, b, err)
	}
	for _, bad := range [][2][]float64{{{1}, {1}}, {{2, 2, 2}, {1, 2, 3}}, {{1, 2}, {1}}} {
		if _, _, err := OLS(bad[0], bad[1]); err == nil {
			t.Errorf("OLS(%v, %v) accepted", bad[0], bad[1])
		}
	}
}

func TestPercentileIsType7(t *testing.T) {
	v := []float64{4, 1, math.NaN(), 3, 2}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {1, 4}, {0.5, 2.5}, {0.25, 1.75}} {
		if got := Percentile(v, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Percentile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if !math.IsNaN(Percentile(nil, 0.5)) {
		t.Error("empty percentile not NaN")
	}
}

func TestMoments(t *testing.T) {
	v := []float64{1, 2, 3, 4, math.Inf(1)}
	if got, want := StdDev(v), math.Sqrt(5.0/3); math.Abs(got-want) > 1e-12 {
		t.Errorf("StdDev = %v, want %v (finite values, n−1)", got, want)
	}
	if got, want := CV([]float64{1, 3}), 0.5; math.Abs(got-want) > 1e-12 {
		t.Errorf("CV = %v, want %v (population sd / mean)", got, want)
	}
	if !math.IsNaN(CV([]float64{1})) || !math.IsNaN(StdDev([]float64{1})) {
		t.Error("one value: want NaN")
	}
}

// A power law y = 3x^−2 with multiplicative noise: the log–log slope is −2
// and its bootstrap interval contains it.
func TestLogLogSlope(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	var x, y []float64
	for i := 1; i <= 40; i++ {
		v := float64(i)
		x, y = append(x, v), append(y, 3*math.Pow(v, -2)*math.Exp(0.05*r.NormFloat64()))
	}
	x, y = append(x, -1), append(y, 5) // ignored: not positive
	s, ci, err := LogLogSlope(x, y, 500, rand.New(rand.NewPCG(2, 2)))
	if err != nil || math.Abs(s+2) > 0.05 || !ci.Contains(-2) || !ci.Contains(s) {
		t.Fatalf("slope %v, CI %v, err %v", s, ci, err)
	}
	if _, ci, _ := LogLogSlope(x, y, 0, nil); !math.IsNaN(float64(ci[0])) {
		t.Error("no bootstrap: interval should be unknown")
	}
}

func TestLineThroughCentroid(t *testing.T) {
	x := []float64{1, 10}
	y := []float64{100, 1} // centroid (log 1 + log 10)/2, (log 100 + 0)/2
	y0, y1, ok := LineThrough(x, y, -1, 1, 10)
	// slope −1 through (√10, 10): y = 10·√10/x
	if !ok || math.Abs(y0-10*math.Sqrt(10)) > 1e-9 || math.Abs(y1-math.Sqrt(10)) > 1e-9 {
		t.Fatalf("LineThrough = %v, %v, %v", y0, y1, ok)
	}
	if _, _, ok := LineThrough([]float64{1}, []float64{1}, 1, 1, 2); ok {
		t.Error("one point accepted")
	}
}
