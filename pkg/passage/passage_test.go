package passage

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestTrackerRecordsFirstPassages(t *testing.T) {
	tr, err := NewTracker(2, []float64{2, 1.5, 3}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if tr.C[0] != 1.5 || tr.C[2] != 3 {
		t.Fatalf("thresholds not sorted: %v", tr.C)
	}
	// Run 0: loss goes 0.5 → 0.8 (1.6 L*) → 0.6 → 1.2 (2.4 L*) → 1.6 (3.2 L*).
	steps := []struct{ t, l float64 }{{0, 0.5}, {1, 0.8}, {2, 0.6}, {3, 1.2}, {4, 1.6}}
	done := false
	for _, s := range steps {
		done = tr.Record(0, s.t, s.l)
	}
	if !done || tr.Times[0][0] != 1 || tr.Times[0][1] != 3 || tr.Times[0][2] != 4 {
		t.Errorf("run 0 times %v (done %v)", tr.Times[0], done)
	}
	// Run 1 jumps over every threshold at once.
	tr.Record(1, 0, 0.5)
	if !tr.Record(1, 7, 5) || tr.Times[1][0] != 7 || tr.Times[1][2] != 7 {
		t.Errorf("run 1 times %v", tr.Times[1])
	}
	for _, bad := range [][]float64{{1}, {0.5, 2}, {2, 2}, {}, {math.Inf(1)}} {
		if _, err := NewTracker(1, bad, 1); err == nil {
			t.Errorf("thresholds %v accepted", bad)
		}
	}
	if _, err := NewTracker(0, []float64{2}, 1); err == nil {
		t.Error("zero runs accepted")
	}
	if _, err := NewTracker(1, []float64{2}, 0); err == nil {
		t.Error("L* = 0 accepted")
	}
}

// Exponential first-passage times with mean τ, censored at a cap: the
// estimator must recover τ, not the biased mean of the uncensored runs.
func TestMeanFPTWithCensoring(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const tau, runs = 10.0, 4000
	for _, cap := range []float64{1e9, 20, 8, 4} {
		s := make([]sample, runs)
		for i := range s {
			x := rng.ExpFloat64() * tau
			if x > cap {
				s[i] = sample{cap, false}
			} else {
				s[i] = sample{x, true}
			}
		}
		mean, restricted, method, reliable := meanFPT(s)
		se := tau / math.Sqrt(runs)
		if math.Abs(mean-tau) > 5*se*math.Max(1, tau/cap) {
			t.Errorf("cap %v: mean %v (%s), want %v", cap, mean, method, tau)
		}
		wantRestricted := tau * (1 - math.Exp(-cap/tau))
		if cap < 1e9 && math.Abs(restricted-wantRestricted) > 5*se {
			t.Errorf("cap %v: restricted mean %v, want %v", cap, restricted, wantRestricted)
		}
		// Below the median (cap 4: only 1−e^−0.4 = 33 % of runs escape) the estimate leans on the
		// extrapolated tail and must be flagged; above it, it is reliable.
		if wantReliable := cap > tau*math.Ln2; reliable != wantReliable {
			t.Errorf("cap %v: reliable = %v, want %v", cap, reliable, wantReliable)
		}
	}
	// No events in the tail window: no extrapolation, flagged unreliable.
	s := []sample{{1, true}, {2, false}, {2, false}, {2, false}}
	if _, _, method, reliable := meanFPT(s); method != "km-restricted" || reliable {
		t.Errorf("too few events: %s %v", method, reliable)
	}
}

// Power-law mean first-passage times t_k ∝ c_k^s: the fitted slope recovers s
// and its bootstrap interval covers it.
func TestAnalyzeRecoversSlope(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	c := []float64{1.5, 2, 3, 4, 6}
	for _, s := range []float64{0.5, 2, 6} {
		tr, _ := NewTracker(500, c, 1)
		for r := range tr.Times {
			// Nested thresholds: a run's passage times increase with c.
			u := rng.ExpFloat64()
			for k, ck := range c {
				tr.Times[r][k] = u * math.Pow(ck, s)
			}
			tr.Last[r] = tr.Times[r][len(c)-1]
		}
		res, err := tr.Analyze(1.5, 300, 9)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res.LogLog.Slope-s) > 1e-9 {
			t.Errorf("s=%v: slope %v", s, res.LogLog.Slope)
		}
		if float64(res.LogLog.CI[0]) > s+1e-9 || float64(res.LogLog.CI[1]) < s-1e-9 {
			t.Errorf("s=%v: CI %v", s, res.LogLog.CI)
		}
		for _, ls := range res.LocalSlopes {
			if math.Abs(ls.Slope-s) > 1e-9 {
				t.Errorf("local slope %v", ls)
			}
		}
	}
	// Independent noisy times: the interval has the right width order.
	tr, _ := NewTracker(400, c, 1)
	for r := range tr.Times {
		for k, ck := range c {
			tr.Times[r][k] = rng.ExpFloat64() * math.Pow(ck, 3)
		}
	}
	res, _ := tr.Analyze(1, 400, 1)
	if !res.LogLog.CI.Contains(3) || float64(res.LogLog.CI[1]-res.LogLog.CI[0]) > 1 {
		t.Errorf("noisy slope %v CI %v", res.LogLog.Slope, res.LogLog.CI)
	}
	// Too few reliable thresholds above the fit minimum: an error that says what to do.
	if _, err := tr.Analyze(5, 10, 1); err == nil {
		t.Error("a one-point fit was accepted")
	}
}

func TestDivergedRunsAreExcluded(t *testing.T) {
	tr, _ := NewTracker(4, []float64{2, 3}, 1)
	for r := 0; r < 4; r++ {
		tr.Times[r][0], tr.Times[r][1] = 1, 2
	}
	tr.Times[3][0], tr.Times[3][1] = 1e-3, 1e-3
	tr.MarkDiverged(3)
	res, err := tr.Analyze(1, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Diverged != 1 || res.Estimates[0].Mean != 1 || res.Estimates[0].Events != 3 {
		t.Errorf("diverged run counted: %+v", res)
	}
	for r := 0; r < 4; r++ {
		tr.MarkDiverged(r)
	}
	if _, err := tr.Analyze(1, 0, 1); err == nil {
		t.Error("all-diverged analysed without error")
	}
}
func TestDegeneracies(t *testing.T) {
	tr, err := NewTracker(3, []float64{1.5, 2, 3}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 3; r++ {
		tr.Record(r, 0.1, 1.6)          // c = 1.5 at the first check
		tr.Record(r, 0.7, 2.1)          // c = 2 at the same time in every run
		tr.Record(r, 1+float64(r), 3.5) // c = 3: a real spread
	}
	notes := tr.Degeneracies(0.1)
	if len(notes) != 2 || !strings.Contains(notes[0], "c = 1.5") || !strings.Contains(notes[0], "first loss check") ||
		!strings.Contains(notes[1], "c = 2") || !strings.Contains(notes[1], "zero spread") {
		t.Errorf("notes: %q", notes)
	}
	if n := tr.Degeneracies(0); len(n) != 2 || !strings.Contains(n[0], "zero spread") {
		t.Errorf("without a resolution: %q", n)
	}
}

// CheckSlopeGrid refuses exactly the grids that cannot give a slope, and
// its errors name the parameter to change.
func TestCheckSlopeGrid(t *testing.T) {
	for _, c := range []struct {
		c      []float64
		fitMin float64
		names  string // "" when accepted
	}{
		{[]float64{1.5, 2}, 0, ""},
		{[]float64{1.5, 2, 3}, 2, ""},
		{[]float64{1.5, 2, 3}, 3, "fit-cmin"},
		{[]float64{1.5, 2, 3}, 4, "fit-cmin"},
		{[]float64{1.5}, 0, "c = "},
		{[]float64{1.5, 1.5}, 0, "listed twice"},
		{[]float64{0.5, 2}, 0, "c = 0.5"},
		{nil, 0, "threshold"},
	} {
		err := CheckSlopeGrid(c.c, c.fitMin)
		if (err == nil) != (c.names == "") || (err != nil && !strings.Contains(err.Error(), c.names)) {
			t.Errorf("c = %v, fit-cmin %v: %v (want %q)", c.c, c.fitMin, err, c.names)
		}
	}
}
