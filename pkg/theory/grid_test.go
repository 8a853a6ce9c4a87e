package theory

import (
	"math"
	"testing"
)

func TestGridsAndCurves(t *testing.T) {
	xs := LogSpace(1, 100, 3)
	if math.Abs(xs[1]-10) > 1e-12 || xs[2] != 100 {
		t.Fatalf("LogSpace = %v", xs)
	}
	s := SGD{Eta: 0.1, B: 1, HStar: 1}
	k, err := KappaCurve(s, 2, []float64{2})
	want, _ := KappaPowerLaw(s, Barrier{LStar: 1, LSaddle: 2, N: 2})
	if err != nil || k[0] != want {
		t.Errorf("KappaCurve = %v, want %v", k, want)
	}
	// At a large ratio the Arrhenius rate underflows and the point is dropped.
	r, pl, ar, err := ArrheniusComparison(s, 2, 0.5, []float64{1.5, 1e6})
	if err != nil || len(r) != 1 || len(pl) != 1 || !(ar[0] < pl[0]) {
		t.Errorf("ArrheniusComparison: %v %v %v %v", r, pl, ar, err)
	}
	pl2, ar2, d, err := FixedLinearBarrier(s, 2, 0.5, 0.5, []float64{0.5, 0.005})
	if err != nil || d != 0.05 || ar2[0] != ar2[1] || !(pl2[1] < pl2[0]) {
		t.Errorf("FixedLinearBarrier: %v %v %v %v (deeper minima escape more slowly under SGD, equally under GLD)", pl2, ar2, d, err)
	}
	nc, err := CriticalDimCurve([]float64{10})
	if err != nil || nc[0] != 22 {
		t.Errorf("n_c at B/(ηh*) = 10: %v", nc)
	}
}
