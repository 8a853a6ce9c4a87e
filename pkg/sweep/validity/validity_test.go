package validity

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/sweep"
)

const table = `index,status,eta,B,P,diverged,phi_fit,phi_ci.0,phi_ci.1,phi_theory
0,done,0.1,1,1,false,10.5,10,11,11
1,done,0.1,2,1,false,15,14,16,21
2,done,0.2,1,1,false,6.2,6,6.4,6
3,done,0.2,2,1,true,,,,11
4,failed,0.4,1,1,,,,,
5,done,0.4,2,1,false,6.5,,7,6
6,done,0.4,2,2,false,6.5,,7,6
`

func frame(t *testing.T) *sweep.Frame {
	p := filepath.Join(t.TempDir(), "t.csv")
	os.WriteFile(p, []byte(table), 0o644)
	fr, err := sweep.ReadCSV(p)
	if err != nil {
		t.Fatal(err)
	}
	return fr
}

func TestMap(t *testing.T) {
	fr := frame(t)
	r := Ratio{Value: "phi_fit", Lo: "phi_ci.0", Hi: "phi_ci.1", Theory: "phi_theory"}
	if _, err := FromFrame(fr, "eta", "B", r, 0.1, nil); err == nil {
		t.Error("two rows on one grid point accepted")
	}
	m, err := FromFrame(fr, "eta", "B", r, 0.1, func(row int) bool { return fr.Float(row, "P") == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if len(m.X) != 3 || len(m.Y) != 2 {
		t.Fatalf("grid %v × %v", m.X, m.Y)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	if !near(m.Ratio[0][0], 10.5/11) || !near(m.Lo[0][0], 10.0/11) || !near(m.Hi[0][0], 1) || !m.Within(0, 0) {
		t.Errorf("cell (0.1, 1): %v [%v, %v]", m.Ratio[0][0], m.Lo[0][0], m.Hi[0][0])
	}
	if !near(m.Ratio[1][0], 15.0/21) || m.Within(0, 1) {
		t.Errorf("cell (0.1, 2): %v within %v", m.Ratio[1][0], m.Within(0, 1))
	}
	if m.Why[1][1] != "diverged" || m.Why[0][2] != "failed" || !math.IsNaN(m.Ratio[1][1]) {
		t.Errorf("reasons: %q %q", m.Why[1][1], m.Why[0][2])
	}
	if got := m.Cell(2, 1); got != "1.08 [?, 1.17]" {
		t.Errorf("cell text %q", got)
	}
	if meas, in := m.Counts(); meas != 4 || in != 3 {
		t.Errorf("counts %d %d", meas, in)
	}
	if f := m.Furthest(2); len(f) != 2 || f[0] != "eta=0.1, B=2: 0.71 [0.67, 0.76]" || f[1] != "eta=0.4, B=2: 1.08 [?, 1.17]" {
		t.Errorf("furthest %q", f)
	}
	b, err := m.PNG("test", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	if _, err := FromFrame(fr, "eta", "nope", r, 0.1, nil); err == nil {
		t.Error("unknown column accepted")
	}
	line, err := FromFrame(fr, "eta", "", r, 0.1, func(row int) bool { return fr.Float(row, "B") == 1 })
	if err != nil || len(line.Y) != 1 || !near(line.Ratio[0][1], 6.2/6) {
		t.Errorf("1-D: %v %v", err, line)
	}
	if _, err := line.PNG("x", 0, 0); err == nil {
		t.Error("1-D map drawn as a heat map")
	}
}

// TestRowOffTheGridRefused: a row whose axis value is not a number (an
// edited table) is an error naming the row, never silently left out.
func TestRowOffTheGridRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "t.csv")
	os.WriteFile(p, []byte("index,status,eta,B,diverged,phi_fit,phi_ci.0,phi_ci.1,phi_theory\n0,done,0.1,1,false,10.5,10,11,11\n1,done,abc,1,false,6,5,7,6\n"), 0o644)
	fr, err := sweep.ReadCSV(p)
	if err != nil {
		t.Fatal(err)
	}
	r := Ratio{Value: "phi_fit", Lo: "phi_ci.0", Hi: "phi_ci.1", Theory: "phi_theory"}
	if _, err := FromFrame(fr, "eta", "B", r, 0.1, nil); err == nil || !strings.Contains(err.Error(), `row 1: eta = "abc"`) {
		t.Errorf("%v, want an error naming row 1", err)
	}
}
