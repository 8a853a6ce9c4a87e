package estimate

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

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

// TestRunsFor: RunsFor inverts RateHalfWidth, and the half-width it
// promises is the spread of ln κ̂ seen in simulated exponential exit times
// (2 000 replicas of CensoredRate; the standard deviation of ln κ̂ must be
// w/1.96 within 5 %).
func TestRunsFor(t *testing.T) {
	for _, tc := range []struct {
		cv, w float64
		want  int
	}{
		{1, 1.96 / math.Sqrt(1000), 1000},
		{1, 0.1, 385},
		{0.5, 0.1, 97},
		{2, 1.96, 4},
	} {
		n, err := RunsFor(tc.cv, tc.w)
		if err != nil || n != tc.want {
			t.Errorf("RunsFor(%g, %g) = %d, %v; want %d", tc.cv, tc.w, n, err, tc.want)
		}
		if w := RateHalfWidth(tc.cv, n); w > tc.w*(1+1e-12) {
			t.Errorf("RateHalfWidth(%g, %d) = %g > %g", tc.cv, n, w, tc.w)
		}
	}
	for _, bad := range [][2]float64{{0, 0.1}, {1, 0}, {math.NaN(), 0.1}, {1, math.Inf(1)}, {-1, 0.1}, {1, 1e-9}} {
		if _, err := RunsFor(bad[0], bad[1]); err == nil {
			t.Errorf("RunsFor(%v, %v): no error", bad[0], bad[1])
		}
	}
	w := 0.1
	n, _ := RunsFor(1, w)
	r := rand.New(rand.NewPCG(21, 4))
	logs := make([]float64, 2000)
	for i := range logs {
		total := 0.0
		for k := 0; k < n; k++ {
			total += r.ExpFloat64() / 3.5
		}
		k, err := CensoredRate(n, total)
		if err != nil {
			t.Fatal(err)
		}
		logs[i] = math.Log(k.Rate)
	}
	if sd := StdDev(logs); math.Abs(sd*1.96/w-1) > 0.05 {
		t.Errorf("ln κ̂ from %d exponential times: SD %.4g, RunsFor promised %.4g", n, sd, w/1.96)
	}
}
