package ncrit

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/run"
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
	if _, err := Hill([]float64{1, 2, 3}, 3); err == nil {
		t.Error("k = len accepted")
	}
	if _, err := Hill([]float64{1, 2, 3}, 1); err == nil {
		t.Error("k = 1 accepted")
	}
}

func TestKestenIsotropicReducesToOneDimension(t *testing.T) {
	for _, tc := range []struct {
		eta float64
		b   int
	}{{0.1, 1}, {0.3, 1}, {0.5, 4}} {
		want, err := dynamics.KestenExponent(tc.eta, tc.b, 1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := KestenIsotropic(tc.eta, tc.b, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.Alpha/want-1) > 2e-3 {
			t.Errorf("η=%v B=%d: P = 1 exponent %v, pkg/dynamics %v", tc.eta, tc.b, got.Alpha, want)
		}
	}
}

func TestKestenIsotropicMomentByMonteCarlo(t *testing.T) {
	// At the computed α, E‖(I − ηxxᵀ)e₁‖^α = 1: check by simulating x.
	eta, p := 0.1, 12
	k, err := KestenIsotropic(eta, 1, p, 1)
	if err != nil || !k.Stable {
		t.Fatal(err, k)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 400000
	var s, s2, sq float64
	x := make([]float64, p)
	for i := 0; i < n; i++ {
		for j := range x {
			x[j] = rng.NormFloat64()
		}
		v := make([]float64, p)
		norm2 := 0.0
		for j := range v {
			v[j] = -eta * x[j] * x[0]
			if j == 0 {
				v[j] += 1
			}
			norm2 += v[j] * v[j]
		}
		m := math.Pow(norm2, k.Alpha/2)
		s += m
		s2 += m * m
		sq += norm2
	}
	mean := s / n
	se := math.Sqrt((s2/n - mean*mean) / n)
	if math.Abs(mean-1) > 4*se+1e-3 {
		t.Errorf("E‖Ae₁‖^α = %v ± %v at α = %v, want 1", mean, se, k.Alpha)
	}
	if math.Abs(sq/n-k.Second) > 0.01 {
		t.Errorf("E‖Ae₁‖² = %v, closed form %v", sq/n, k.Second)
	}
}

func TestKestenRejects(t *testing.T) {
	for _, c := range [][4]float64{{0, 1, 1, 1}, {0.1, 0, 1, 1}, {0.1, 1, 0, 1}, {math.NaN(), 1, 1, 1}, {0.1, 1, 1, 0}} {
		if _, err := KestenIsotropic(c[0], int(c[1]), int(c[2]), c[3]); err == nil {
			t.Errorf("%v accepted", c)
		}
	}
	// Far beyond stability: no stationary law.
	k, err := KestenIsotropic(3, 1, 50, 1)
	if err != nil || k.Stable {
		t.Errorf("η = 3, P = 50 reported stationary: %+v %v", k, err)
	}
}

func TestSweepStableAndDivergingDimensions(t *testing.T) {
	c := PaperNcrit("quick")
	c.Ps, c.N, c.Chains, c.Steps, c.Every = []int{2, 30}, 2000, 2, 60000, 2
	r, err := Sweep(context.Background(), run.Env{}, c)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := r.Result.Points[0], r.Result.Points[1]
	if lo.Diverged != 0 || math.IsNaN(float64(lo.Tail)) || lo.Samples != 2*30000 {
		t.Errorf("P=2: %+v", lo)
	}
	if !(float64(lo.Tail) > 1) || !lo.Kesten.Stable {
		t.Errorf("P=2 tail %v, Kesten %+v", lo.Tail, lo.Kesten)
	}
	// P = 30 at η = 0.1, B = 1: positive Lyapunov exponent; every chain diverges and is counted.
	if hi.Diverged != 2 || hi.Kesten.Stable || !math.IsNaN(float64(hi.Tail)) {
		t.Errorf("P=30: diverged %d, Kesten %+v, tail %v", hi.Diverged, hi.Kesten, hi.Tail)
	}
	if math.Abs(lo.TailTheory-(lo.Phi-1)) > 1e-12 || math.Abs(lo.NC-2*lo.Phi) > 1e-12 {
		t.Errorf("theory fields inconsistent: %+v", lo)
	}
	if r.Result.SecondMomentP != 18 {
		t.Errorf("second-moment boundary %v, want 18 at η = 0.1, B = 1", r.Result.SecondMomentP)
	}
}

func TestSweepRejects(t *testing.T) {
	base := PaperNcrit("quick")
	for name, mod := range map[string]func(*Config){
		"no P":      func(c *Config) { c.Ps = nil },
		"P zero":    func(c *Config) { c.Ps = []int{0} },
		"eta NaN":   func(c *Config) { c.Eta = math.NaN() },
		"eta zero":  func(c *Config) { c.Eta = 0 },
		"B zero":    func(c *Config) { c.B = 0 },
		"chains":    func(c *Config) { c.Chains = 1 },
		"tail frac": func(c *Config) { c.TailFrac = 0.9 },
		"memory":    func(c *Config) { c.Steps = 1e15 },
		"N<P":       func(c *Config) { c.Ps = []int{20000} },
	} {
		c := base
		mod(&c)
		if _, err := Sweep(context.Background(), run.Env{}, c); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
