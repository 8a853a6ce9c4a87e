package network

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// The recorded H200 runs (the earlier CLI format) and the current
// {"result", "provenance"} format read to the same curve.
func TestReadNoiseRecordBothFormats(t *testing.T) {
	old, err := ReadNoiseRecord("../../notebooks/records/h200_fashion_mlp2000_mse.json")
	if err != nil {
		t.Fatal(err)
	}
	c := old.Curve
	if len(c.Points) < 5 || c.Points[0].Epoch != 0 || c.Arch == "" || math.IsNaN(c.LateSlope) || old.WallSeconds <= 0 || old.Backend == "" {
		t.Fatalf("legacy record: %+v", old)
	}
	b, _ := json.Marshal(map[string]any{"result": c, "provenance": run.Envelope{Backend: "x", WallSeconds: 3}})
	p := filepath.Join(t.TempDir(), "new.json")
	os.WriteFile(p, b, 0o644)
	cur, err := ReadNoiseRecord(p)
	if err != nil || cur.Curve.LateSlope != c.LateSlope || len(cur.Curve.Points) != len(c.Points) || cur.WallSeconds != 3 {
		t.Errorf("current format: %+v, %v", cur, err)
	}
	os.WriteFile(p, []byte(`{"epoch": [0, 1], "loss": [1]}`), 0o644)
	if _, err := ReadNoiseRecord(p); err == nil {
		t.Error("ragged record accepted")
	}
}

func TestNoiseCurveFigureHelpers(t *testing.T) {
	c := NoiseCurve{LateSlope: 1, Points: []Point{
		{Loss: 4, Noise: 8, Decoupled: 8}, {Loss: 0, Noise: 1}, {Loss: 2, Noise: 4, Decoupled: 6}, {Loss: 1, Noise: 2, Decoupled: 3},
	}}
	l, n, late := c.LogLog()
	if len(l) != 3 || len(late) != 2 || late[0] != 2 || n[2] != 2 {
		t.Errorf("LogLog %v %v %v", l, n, late)
	}
	x, y, ok := c.LateFitLine() // slope 1 through (2, 4) and (1, 2): 𝒩 = 2L
	if !ok || x[0] != 1 || x[1] != 2 || math.Abs(y[0]-2) > 1e-12 || math.Abs(y[1]-4) > 1e-12 {
		t.Errorf("late fit %v %v", x, y)
	}
	if gx, gy := SlopeOne(l, n); gx[0] != 1 || gx[1] != 4 || gy[0] != 2 || gy[1] != 8 {
		t.Errorf("slope-one guide %v %v", gx, gy)
	}
	if r := c.LateDecoupledRatio(); math.Abs(r-1.5) > 1e-12 {
		t.Errorf("late decoupled/𝒩 %v", r)
	}
	if dl, _ := c.DecoupledPoints(); len(dl) != 3 {
		t.Errorf("decoupled points %v", dl)
	}
}

func TestSpectrumHelpers(t *testing.T) {
	if CountBelow([]float64{3, 1e-13, 0, 1}, 1e-12) != 2 {
		t.Error("CountBelow")
	}
	r, v := Ranked([]float64{3, 0, -1}, 5)
	if len(r) != 3 || r[2] != 3 || v[1] != 1e-300 || v[0] != 3 {
		t.Errorf("Ranked %v %v", r, v)
	}
}
