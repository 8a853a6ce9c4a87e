package theory

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func TestHandComputedValues(t *testing.T) {
	s := SGD{Eta: 0.1, B: 1, HStar: 1}
	b := Barrier{LStar: 0.5, LSaddle: 1, N: 10}
	got, err := Summarize(s, b)
	if err != nil {
		t.Fatal(err)
	}
	// T = 0.1, φ = 11, n_c = 22, exponent = 11 − 5 = 6.
	// κ_pl = (1/2π)·sqrt(1·1)·2^−6 = 1/(128π).
	// D = ηL*h*/B = 0.05, ΔL = 0.5, κ_arr = e^−10/(2π).
	want := map[string][2]float64{
		"temperature":     {got.Temperature, 0.1},
		"phi":             {got.Phi, 11},
		"n_c":             {got.NC, 22},
		"exponent":        {got.Exponent, 6},
		"kappa_powerlaw":  {got.KappaPowerLaw, 1 / (128 * math.Pi)},
		"kappa_arrhenius": {got.KappaArrhenius, math.Exp(-10) / (2 * math.Pi)},
		"ln_kappa_pl":     {got.LogKappaPowerLaw, -math.Log(128 * math.Pi)},
		"ln_kappa_arr":    {got.LogKappaArrhenius, -10 - math.Log(2*math.Pi)},
		"gld_D":           {got.GLDDiffusion, 0.05},
		"log_barrier":     {got.LogBarrier, math.Ln2},
		"linear_barrier":  {got.LinearBarrier, 0.5},
	}
	for name, p := range want {
		if !near(p[0], p[1], 1e-12) {
			t.Errorf("%s = %v, want %v", name, p[0], p[1])
		}
	}
	if !got.Stable {
		t.Error("n = 10 < n_c = 22 should be stable")
	}
}

func TestLimits(t *testing.T) {
	for _, s := range []SGD{{0.1, 1, 1}, {0.01, 32, 2.5}, {1, 100, 0.3}} {
		phi, _ := Phi(s)
		// P = 1 form of Eq. 15: exponent 1/2 + B/(ηh*).
		e1, _ := EscapeExponent(s, 1)
		if !near(e1, 0.5+s.B/(s.Eta*s.HStar), 1e-12) {
			t.Errorf("%+v: n=1 exponent %v", s, e1)
		}
		k, _ := KappaPowerLaw(s, Barrier{LStar: 0.2, LSaddle: 0.9, N: 1})
		want := math.Sqrt(s.HStar*s.HStar) / (2 * math.Pi) * math.Pow(0.9/0.2, -(0.5+s.B/(s.Eta*s.HStar)))
		if !near(k, want, 1e-12) {
			t.Errorf("%+v: P=1 κ %v, want %v", s, k, want)
		}
		// n = n_c gives exponent 0: κ independent of the barrier.
		nc, _ := CriticalDim(s)
		e, _ := EscapeExponent(s, nc)
		if math.Abs(e) > 1e-12 {
			t.Errorf("%+v: exponent at n_c = %v", s, e)
		}
		ka, _ := KappaPowerLaw(s, Barrier{LStar: 1, LSaddle: 2, N: nc})
		kb, _ := KappaPowerLaw(s, Barrier{LStar: 1, LSaddle: 2000, N: nc})
		if !near(ka, kb, 1e-12) {
			t.Errorf("%+v: at n_c κ depends on barrier: %v vs %v", s, ka, kb)
		}
		// Implied dimension inverts the exponent.
		n, _ := ImpliedDim(s, e1)
		if !near(n, 1, 1e-12) {
			t.Errorf("implied n %v, want 1", n)
		}
		if !near(nc, 2*phi, 1e-15) {
			t.Errorf("n_c %v != 2φ %v", nc, 2*phi)
		}
		// No barrier: both rates equal the prefactor.
		kp, _ := KappaPowerLaw(s, Barrier{LStar: 0.3, LSaddle: 0.3, N: 3, HSaddle: 4})
		kr, _ := KappaArrhenius(s, Barrier{LStar: 0.3, LSaddle: 0.3, N: 3, HSaddle: 4})
		pref := math.Sqrt(s.HStar*4) / (2 * math.Pi)
		if !near(kp, pref, 1e-12) || !near(kr, pref, 1e-12) {
			t.Errorf("zero barrier: %v %v want %v", kp, kr, pref)
		}
	}
}

// For n = 2 the power-law exponent is exactly B/(ηh*), and for a small barrier
// ln[L(θˢ)/L(θ*)] ≈ ΔL/L*, so the power law and the Arrhenius law at the
// matched D = ηL*h*/B agree to first order in ΔL/L* and part beyond it.
func TestPowerLawMatchesArrheniusForSmallBarrier(t *testing.T) {
	s := SGD{Eta: 0.05, B: 4, HStar: 2}
	b := func(x float64) Barrier { return Barrier{LStar: 1, LSaddle: 1 + x, N: 2} }
	pref := math.Log(math.Sqrt(s.HStar*s.HStar) / (2 * math.Pi))
	for _, x := range []float64{1e-4, 1e-3} {
		lp, _ := LogKappaPowerLaw(s, b(x))
		la, _ := LogKappaArrhenius(s, b(x))
		if r := (lp - pref) / (la - pref); math.Abs(r-1) > 2*x {
			t.Errorf("x=%v: ratio of log-rates %v, want 1 within %v", x, r, 2*x)
		}
	}
	lp, _ := LogKappaPowerLaw(s, b(10))
	la, _ := LogKappaArrhenius(s, b(10))
	if !(lp > la+10) {
		t.Errorf("large barrier: power law %v should be far above Arrhenius %v", lp, la)
	}
}

func TestLogKappaMatchesKappa(t *testing.T) {
	s := SGD{Eta: 0.3, B: 2, HStar: 0.7}
	b := Barrier{LStar: 0.1, LSaddle: 0.35, N: 4, HSaddle: 0.2}
	k, _ := KappaPowerLaw(s, b)
	lk, _ := LogKappaPowerLaw(s, b)
	ka, _ := KappaArrhenius(s, b)
	lka, _ := LogKappaArrhenius(s, b)
	if !near(math.Log(k), lk, 1e-12) || !near(math.Log(ka), lka, 1e-12) {
		t.Errorf("log forms disagree: %v %v, %v %v", math.Log(k), lk, math.Log(ka), lka)
	}
}

func TestRejectsBadInput(t *testing.T) {
	good := SGD{Eta: 0.1, B: 1, HStar: 1}
	gb := Barrier{LStar: 0.5, LSaddle: 1, N: 2}
	cases := []struct {
		name string
		s    SGD
		b    Barrier
	}{
		{"eta=0", SGD{0, 1, 1}, gb},
		{"eta<0", SGD{-1, 1, 1}, gb},
		{"eta=NaN", SGD{math.NaN(), 1, 1}, gb},
		{"B<1", SGD{0.1, 0.5, 1}, gb},
		{"h=0", SGD{0.1, 1, 0}, gb},
		{"h<0", SGD{0.1, 1, -2}, gb},
		{"n<1", good, Barrier{0.5, 1, 0, 0.5}},
		{"L*=0", good, Barrier{0, 1, 0, 2}},
		{"Ls<0", good, Barrier{0.5, -1, 0, 2}},
		{"Ls<L*", good, Barrier{1, 0.5, 0, 2}},
		{"hs<0", good, Barrier{0.5, 1, -1, 2}},
		{"L*=Inf", good, Barrier{math.Inf(1), math.Inf(1), 0, 2}},
	}
	for _, c := range cases {
		if _, err := Summarize(c.s, c.b); err == nil {
			t.Errorf("%s: Summarize accepted bad input", c.name)
		}
		if _, err := KappaPowerLaw(c.s, c.b); err == nil {
			t.Errorf("%s: KappaPowerLaw accepted bad input", c.name)
		}
		if _, err := KappaArrhenius(c.s, c.b); err == nil {
			t.Errorf("%s: KappaArrhenius accepted bad input", c.name)
		}
	}
	if _, err := EscapeExponent(good, 0.5); err == nil {
		t.Error("EscapeExponent accepted n < 1")
	}
	if _, err := Phi(SGD{0.1, 0, 1}); err == nil {
		t.Error("Phi accepted B = 0")
	}
	if _, err := ImpliedDim(good, math.NaN()); err == nil {
		t.Error("ImpliedDim accepted NaN slope")
	}
}

// The rates in β agree with the rates in (η, B, h*) of the same barrier:
// Eq. 15 bit for bit with the old closed form, Eq. 5 to rounding; the
// prefactor of exact Hessians is √(h*|hˢ|)/2π in one dimension.
func TestRatesInBeta(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		s := SGD{Eta: 0.01 + rng.Float64(), B: float64(1 + rng.IntN(16)), HStar: 0.1 + 3*rng.Float64()}
		b := Barrier{LStar: 0.1 + rng.Float64(), N: float64(1 + rng.IntN(5)), HSaddle: 0.1 + rng.Float64()}
		b.LSaddle = b.LStar * (1 + 2*rng.Float64())
		tt, _ := Temperature(s)
		pref := math.Sqrt(s.HStar*b.HSaddle) / (2 * math.Pi)
		old := pref * math.Pow(b.LSaddle/b.LStar, -((1+1/tt)-b.N/2))
		kp, err1 := KappaPowerLaw(s, b)
		pl, err2 := PowerLawRate(pref, s.B/(s.Eta*s.HStar), b)
		ka, err3 := KappaArrhenius(s, b)
		ar, err4 := ArrheniusRate(pref, s.B/(s.Eta*s.HStar), b)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			t.Fatal(err)
		}
		if kp != old {
			t.Fatalf("%+v %+v: KappaPowerLaw %v, the closed form before PowerLawRate %v", s, b, kp, old)
		}
		if math.Abs(pl/kp-1) > 1e-12 || math.Abs(ar/ka-1) > 1e-12 {
			t.Fatalf("%+v %+v: in β %v, %v; in η %v, %v", s, b, pl, ar, kp, ka)
		}
	}
	p, err := KramersPrefactor(-0.8, 1.2, -0.8)
	if err != nil || math.Abs(p-math.Sqrt(1.2*0.8)/(2*math.Pi)) > 1e-15 {
		t.Errorf("1-D prefactor %v %v, want √(h*|hˢ|)/2π", p, err)
	}
	// n = 2: eigenvalues (1.2, 3) at θ*, (−0.8, 2) at θˢ.
	if p, _ := KramersPrefactor(-0.8, 1.2*3, -0.8*2); math.Abs(p-0.8/(2*math.Pi)*math.Sqrt(3.6/1.6)) > 1e-15 {
		t.Errorf("2-D prefactor %v", p)
	}
	for _, bad := range [][3]float64{{0.8, 1, -1}, {-0.8, 0, -1}, {-0.8, 1, 1}, {math.NaN(), 1, -1}, {-0.8, math.Inf(1), -1}} {
		if _, err := KramersPrefactor(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("prefactor %v accepted", bad)
		}
	}
	ok := Barrier{LStar: 1, LSaddle: 2, N: 1}
	for _, c := range []struct {
		pref, beta float64
		b          Barrier
	}{{0, 1, ok}, {1, 0, ok}, {1, math.Inf(1), ok}, {math.NaN(), 1, ok}, {1, 1, Barrier{LStar: 2, LSaddle: 1, N: 1}}, {1, 1, Barrier{LStar: 1, LSaddle: 2, N: 0.5}}} {
		if _, err := PowerLawRate(c.pref, c.beta, c.b); err == nil {
			t.Errorf("PowerLawRate(%v, %v, %+v) accepted", c.pref, c.beta, c.b)
		}
		if _, err := ArrheniusRate(c.pref, c.beta, c.b); err == nil {
			t.Errorf("ArrheniusRate(%v, %v, %+v) accepted", c.pref, c.beta, c.b)
		}
	}
}

// TestWarnsOutsideTheDomain: ηh* ≥ 2 makes gradient descent itself
// unstable, so the summary warns; just below 2 it does not.
func TestWarnsOutsideTheDomain(t *testing.T) {
	b := Barrier{LStar: 0.5, LSaddle: 1, N: 1}
	for _, c := range []struct {
		eta  float64
		warn bool
	}{{0.1, false}, {1.99, false}, {2, true}, {1e12, true}} {
		sum, err := Summarize(SGD{Eta: c.eta, B: 1, HStar: 1}, b)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(sum.Warnings) > 0; got != c.warn || (got && !strings.Contains(sum.Warnings[0], "ηh*")) {
			t.Errorf("η = %g: warnings %q, want a warning: %v", c.eta, sum.Warnings, c.warn)
		}
	}
}
