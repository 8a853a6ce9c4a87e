package escape

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
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

// samplesPowerLaw draws ℓ with density ∝ (ℓ−1)^(a−1) ℓ^(−φ): ℓ = 1/(1−X), X ~ Beta(a, φ−a).
func samplesPowerLaw(n int, a, phi float64, seed uint64) []float64 {
	b := distuv.Beta{Alpha: a, Beta: phi - a, Src: rand.NewPCG(seed, 1)}
	out := make([]float64, n)
	for i := range out {
		out[i] = 1 / (1 - b.Rand())
	}
	return out
}

func TestPhiFitsRecoverKnownExponent(t *testing.T) {
	for _, c := range []struct{ a, phi float64 }{{0.5, 11}, {0.5, 2}, {1, 5}, {5, 11}} {
		ell := samplesPowerLaw(40000, c.a, c.phi, 7)
		mle, err := PhiMLE(ell, c.a)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(mle/c.phi-1) > 0.03 {
			t.Errorf("a=%v φ=%v: MLE %v", c.a, c.phi, mle)
		}
		hist, err := PhiHistogram(ell, c.a, 40)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(hist/c.phi-1) > 0.1 {
			t.Errorf("a=%v φ=%v: histogram fit %v", c.a, c.phi, hist)
		}
		fit, err := FitPhi([][]float64{ell[:20000], ell[20000:]}, c.a, 40, 200, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !fit.MLECI.Contains(c.phi) || fit.LogLikPerSample <= 0 {
			t.Errorf("a=%v φ=%v: CI %v, loglik ratio %v", c.a, c.phi, fit.MLECI, fit.LogLikPerSample)
		}
	}
	// Gamma (Gibbs) samples: the Gibbs law must win the likelihood comparison.
	g := distuv.Gamma{Alpha: 0.5, Beta: 1 / 0.05, Src: rand.NewPCG(5, 1)}
	ell := make([]float64, 20000)
	for i := range ell {
		ell[i] = 1 + g.Rand()
	}
	fit, err := FitPhi([][]float64{ell}, 0.5, 40, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if fit.LogLikPerSample >= 0 || math.Abs(fit.GibbsT/0.05-1) > 0.05 {
		t.Errorf("Gibbs samples: loglik ratio %v, T/L* %v (want 0.05)", fit.LogLikPerSample, fit.GibbsT)
	}
	if _, err := PhiMLE([]float64{1, 2}, 0.5); err == nil {
		t.Error("ℓ = 1 accepted")
	}
	if _, err := PhiMLE([]float64{2, math.NaN()}, 0.5); err == nil {
		t.Error("NaN accepted")
	}
}

func TestAutocorrTimeOfAR1(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, rho := range []float64{0, 0.5, 0.9} {
		x := make([]float64, 200000)
		for i := 1; i < len(x); i++ {
			x[i] = rho*x[i-1] + rng.NormFloat64()
		}
		want := (1 + rho) / (1 - rho)
		if got := IntegratedAutocorrTime(x); math.Abs(got/want-1) > 0.1 {
			t.Errorf("ρ=%v: τ_int %v, want %v", rho, got, want)
		}
	}
}

func TestKS(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	normal := func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
	x := make([]float64, 2000)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	ks, _ := KSTest(x, normal, 1)
	if ks.PValue < 0.001 {
		t.Errorf("normal samples rejected: %+v", ks)
	}
	for i := range x {
		x[i] += 0.2
	}
	ks, _ = KSTest(x, normal, 1)
	if ks.PValue > 1e-6 {
		t.Errorf("shifted samples accepted: %+v", ks)
	}
	ks4, _ := KSTest(x, normal, 100)
	if ks4.PValue <= ks.PValue || ks4.NEff != 20 {
		t.Errorf("autocorrelation not accounted for: %+v", ks4)
	}
}

func TestOneDimensionalDensitiesAreNormalised(t *testing.T) {
	for _, c := range []struct{ lam, ls, phi float64 }{{1, 0.5, 11}, {2, 0.1, 1.3}, {0.5, 1, 3}} {
		s, h := 0.0, 1e-3
		for z := -2000.0; z <= 2000; z += h {
			s += PowerLawPDF(z, c.lam, c.ls, c.phi) * h
		}
		tail := 2 * math.Pow(0.5*c.lam, -c.phi) * math.Pow(2000, 1-2*c.phi) / (2*c.phi - 1) // ∫ beyond ±2000
		if math.Abs(s+tail-1) > 2e-3 {
			t.Errorf("%+v: power law integrates to %v", c, s+tail)
		}
		g := 0.0
		for z := -50.0; z <= 50; z += h {
			g += GibbsPDF(z, c.lam, c.ls) * h
		}
		if math.Abs(g-1) > 1e-6 {
			t.Errorf("%+v: Gibbs integrates to %v", c, g)
		}
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
