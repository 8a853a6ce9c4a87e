package passage

import (
	"math"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/run"
)

func TestPointsAndTheoryLine(t *testing.T) {
	r := Result{Estimates: []Estimate{
		{C: 1.2, Mean: 1, SE: run.Float(0.5), Reliable: true},
		{C: 1.5, Mean: 2, SE: run.Float(math.NaN()), Reliable: true},
		{C: 2, Mean: 4, SE: run.Float(10), Reliable: true},
		{C: 3, Mean: 9, Reliable: false},
	}, FitC: []float64{1.5, 2}, LocalSlopes: []LocalSlope{
		{CLo: 1.2, CHi: 1.5, Slope: 3, CI: run.NewInterval(2, 4)},
		{CLo: 1.5, CHi: 2, Slope: 2.4, CI: run.NewInterval(2, 3)},
		{CLo: 2, CHi: 3, Slope: 2, CI: run.NewInterval(1, 3)},
	}}
	c, m, lo, hi := r.Points()
	if len(c) != 3 || lo[0] != 0.5 || hi[0] != 1.5 || lo[1] != 2 || hi[1] != 2 || lo[2] != 0.4 {
		t.Errorf("points %v %v %v %v (SE NaN: no bar; lower end floored at mean/10)", c, m, lo, hi)
	}
	// Slope 2 through the centroid of (1.5, 2) and (2, 4) in log–log, from c = 1.2 to 2.
	x, y, ok := r.TheoryLine(2)
	cx, cy := (math.Log(1.5)+math.Log(2))/2, (math.Log(2)+math.Log(4))/2
	if !ok || x[0] != 1.2 || x[1] != 2 || math.Abs(math.Log(y[0])-(cy+2*(math.Log(1.2)-cx))) > 1e-12 {
		t.Errorf("theory line %v %v %v", x, y, ok)
	}
	if lx, _, _, _ := r.LocalPoints(); len(lx) != 2 || math.Abs(lx[0]-math.Sqrt(1.8)) > 1e-12 {
		t.Errorf("local points at %v (the pair with an unreliable end is left out)", lx)
	}
	if r.LastLocalSlope() != 2.4 {
		t.Errorf("last local slope %v", r.LastLocalSlope())
	}
	if e, ok := r.Estimate(2); !ok || e.Mean != 4 {
		t.Error("Estimate(2)")
	}
	if _, _, ok := (Result{Estimates: r.Estimates, FitC: []float64{2}}).TheoryLine(1); ok {
		t.Error("one fitted point drew a line")
	}
}

func TestValidateThresholds(t *testing.T) {
	for _, c := range [][]float64{nil, {1}, {0.5, 2}, {2, 2}, {math.Inf(1)}, {math.NaN()}} {
		if ValidateThresholds(c) == nil {
			t.Errorf("%v accepted", c)
		}
	}
	if err := ValidateThresholds([]float64{3, 1.5}); err != nil {
		t.Error(err)
	}
}
