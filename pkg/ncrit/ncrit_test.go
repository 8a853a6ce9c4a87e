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
		if math.Abs(float64(got.Alpha)/want-1) > 2e-3 {
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
		m := math.Pow(norm2, float64(k.Alpha)/2)
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

// Settings that cannot give a result are refused before any work, with a
// one-line message naming the parameter: among them B = N (no noise, no
// tail), N ≤ P (L* = 0), an η so small that the chains never leave θ*.
func TestSweepRejects(t *testing.T) {
	base := PaperNcrit("quick")
	for _, c := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no P", func(c *Config) { c.Ps = nil }, "P"},
		{"P zero", func(c *Config) { c.Ps = []int{0} }, "P = 0"},
		{"eta NaN", func(c *Config) { c.Eta = math.NaN() }, "eta"},
		{"eta zero", func(c *Config) { c.Eta = 0 }, "eta"},
		{"eta denormal", func(c *Config) { c.Eta = 1e-320 }, "eta = 1e-320 is too small"},
		{"burn short", func(c *Config) { c.Eta, c.Burn = 1e-5, 10 }, "use burn ≥ 1e+05"},
		{"B zero", func(c *Config) { c.B = 0 }, "B = 0"},
		{"B = N", func(c *Config) { c.Ps, c.N, c.B = []int{4}, 50, 50 }, "B = 50 must be smaller than N = 50"},
		{"N = P", func(c *Config) { c.Ps, c.N = []int{4}, 4 }, "N = 4 must be larger than P = 4"},
		{"chains", func(c *Config) { c.Chains = 1 }, "chains"},
		{"tail frac", func(c *Config) { c.TailFrac = 0.9 }, "tail-frac"},
		{"memory", func(c *Config) { c.Steps = 1e15 }, "exceeds"},
		{"N<P", func(c *Config) { c.Ps = []int{20000} }, "P = 20000"},
	} {
		cfg := base
		cfg.Ps = append([]int(nil), base.Ps...)
		c.mod(&cfg)
		_, err := Sweep(context.Background(), run.Env{}, cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") || !run.IsBadInput(err) {
			t.Errorf("%s: %v (want an input error mentioning %q)", c.name, err, c.want)
		}
	}
}

// The chains are pkg/dynamics' ensemble: the same seed gives the same
// numbers whatever the worker count; a P whose chains all diverge reports
// no tail index, interval, exceedance or maximum (null with a reason),
// never 0 or +Inf.
func TestSweepDeterministicAndDivergedIsNull(t *testing.T) {
	c := PaperNcrit("quick")
	c.Ps, c.N, c.Chains, c.Steps, c.Every, c.Burn = []int{3, 40}, 1000, 2, 20000, 4, 100
	r1, err := Sweep(context.Background(), run.Env{Workers: 1}, c)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := Sweep(context.Background(), run.Env{Workers: 2}, c)
	a, _ := r1.Result.At(3)
	b, _ := r2.Result.At(3)
	if a.Tail != b.Tail || a.Samples != b.Samples || a.MaxEll != b.MaxEll {
		t.Errorf("P = 3 depends on the workers: %v %v", a, b)
	}
	d, ok := r1.Result.At(40)
	if !ok || d.Diverged != 2 {
		t.Fatalf("P = 40 at η = 0.1: %+v", d)
	}
	for name, v := range map[string]run.Float{"tail_index": d.Tail, "exceed_1e2": d.Exceed100, "max_ell": d.MaxEll, "tail_ci": d.TailCI[0], "tail_kesten": d.TailKesten} {
		if !math.IsNaN(float64(v)) || d.Reasons[name] == "" {
			t.Errorf("P = 40, every chain diverged: %s = %v, reason %q", name, v, d.Reasons[name])
		}
	}
	var b1 strings.Builder
	if err := r1.Result.WriteText(&b1); err != nil || !strings.Contains(b1.String(), "every chain diverged") {
		t.Errorf("table: %v\n%s", err, b1.String())
	}
}
