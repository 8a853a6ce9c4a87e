package diffusion

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/estimate"
)

func grid(a, b float64, n int, drift, d func(float64) float64) ExitProblem {
	p := ExitProblem{X: make([]float64, n), Drift: make([]float64, n), D: make([]float64, n)}
	for i := range p.X {
		x := a + (b-a)*float64(i)/float64(n-1)
		p.X[i], p.Drift[i], p.D[i] = x, drift(x), d(x)
	}
	return p
}

func TestMeanExitTimeClosedForms(t *testing.T) {
	// Brownian motion: T = (x−a)(b−x)/(2D).
	// Constant drift μ (linear potential): T = [(b−a)(1−e^{−μ(x−a)/D})/(1−e^{−μ(b−a)/D}) − (x−a)]/μ.
	lin := func(mu, D, a, b, x float64) float64 {
		return ((b-a)*(-math.Expm1(-mu*(x-a)/D))/(-math.Expm1(-mu*(b-a)/D)) - (x - a)) / mu
	}
	for _, tc := range []struct {
		name       string
		mu, D      float64
		a, b, x    float64
		want       float64
		relTol     float64
		gridPoints int
	}{
		{"brownian", 0, 0.7, -1, 2, 0.3, (0.3 + 1) * (2 - 0.3) / 1.4, 1e-6, 2001},
		{"drift towards b", 1.5, 0.2, 0, 3, 0.5, lin(1.5, 0.2, 0, 3, 0.5), 1e-5, 20001},
		{"against a barrier", -2, 0.25, 0, 2, 1.7, lin(-2, 0.25, 0, 2, 1.7), 1e-4, 20001},
		{"strong barrier", -3, 0.1, 0, 2, 1.9, lin(-3, 0.1, 0, 2, 1.9), 1e-3, 40001},
		// Φ falls by 40 from a to x0 and 40 more to b: S(b) − S(y) for y > x0
		// is 10⁻¹⁷ of S(x0) − S(a); as a difference of sums from the left it
		// was 0, and so was T.
		{"steep fall towards b", 40, 1, -1, 1, 0, lin(40, 1, -1, 1, 0), 1e-4, 20001},
	} {
		p := grid(tc.a, tc.b, tc.gridPoints, func(float64) float64 { return tc.mu }, func(float64) float64 { return tc.D })
		got, err := p.MeanExitTime(tc.x)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if math.Abs(got/tc.want-1) > tc.relTol {
			t.Errorf("%s: T = %.10g, closed form %.10g", tc.name, got, tc.want)
		}
	}
}

func TestMeanExitTimeOUAgainstODE(t *testing.T) {
	// Ornstein–Uhlenbeck with multiplicative noise: check D T″ + μ T′ = −1 by
	// finite differences of T(x) computed at neighbouring starts.
	mu := func(x float64) float64 { return -2 * x }
	d := func(x float64) float64 { return 0.3 + 0.2*x*x }
	p := grid(-1.5, 1, 40001, mu, d)
	h := 1e-2
	for _, x := range []float64{-0.8, 0, 0.4} {
		tm, _ := p.MeanExitTime(x - h)
		t0, _ := p.MeanExitTime(x)
		tp, _ := p.MeanExitTime(x + h)
		lhs := d(x)*(tp-2*t0+tm)/(h*h) + mu(x)*(tp-tm)/(2*h)
		if math.Abs(lhs+1) > 2e-3 {
			t.Errorf("x=%v: D T″ + μ T′ = %v, want −1", x, lhs)
		}
	}
}

func TestMeanExitTimeAgainstSimulation(t *testing.T) {
	// The same diffusion simulated by Euler–Maruyama: OU drift with
	// state-dependent D, exit from (−1, 1.2) starting at 0.3.
	mu := func(x float64) float64 { return -1.5 * x }
	d := func(x float64) float64 { return 0.25 + 0.15*x*x }
	a, b, x0 := -1.0, 1.2, 0.3
	want, err := grid(a, b, 20001, mu, d).MeanExitTime(x0)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const runs = 3000
	dt := 2e-4
	var sum, sum2 float64
	for r := 0; r < runs; r++ {
		x, tt := x0, 0.0
		for x > a && x < b {
			x += mu(x)*dt + math.Sqrt(2*d(x)*dt)*rng.NormFloat64()
			tt += dt
		}
		sum += tt
		sum2 += tt * tt
	}
	mean := sum / runs
	se := math.Sqrt((sum2/runs - mean*mean) / runs)
	// Discrete monitoring overshoots the boundary: allow 4 SE plus 2 %.
	if math.Abs(mean-want) > 4*se+0.02*want {
		t.Errorf("simulated mean exit time %.4g ± %.2g, formula %.4g", mean, se, want)
	}
}

func TestMeanExitTimeRejects(t *testing.T) {
	good := grid(0, 1, 11, func(float64) float64 { return 0 }, func(float64) float64 { return 1 })
	if _, err := good.MeanExitTime(1); err == nil {
		t.Error("start on the boundary accepted")
	}
	if _, err := good.MeanExitTime(math.NaN()); err == nil {
		t.Error("NaN start accepted")
	}
	bad := grid(0, 1, 11, func(float64) float64 { return 0 }, func(float64) float64 { return 0 })
	if _, err := bad.MeanExitTime(0.5); err == nil {
		t.Error("D = 0 accepted")
	}
	huge := grid(0, 1, 101, func(x float64) float64 { return -1e4 }, func(float64) float64 { return 1 })
	if _, err := huge.MeanExitTime(0.01); err == nil {
		t.Error("an overflowing barrier returned a number")
	}
	if _, err := (ExitProblem{X: []float64{0, 1}}).MeanExitTime(0.5); err == nil {
		t.Error("two-point grid accepted")
	}
}

func TestCGFRootExact(t *testing.T) {
	// g ∈ {−1, 1, 1}: (e^s + 2e^{−s})/3 = 1 has roots s = 0 and s = ln 2.
	s, err := CGFRoot([]float64{-1, 1, 1})
	if err != nil || math.Abs(s-math.Ln2) > 1e-12 {
		t.Errorf("root %v (%v), want ln 2", s, err)
	}
	// Mirror image: negative mean, negative root.
	s, err = CGFRoot([]float64{1, -1, -1})
	if err != nil || math.Abs(s+math.Ln2) > 1e-12 {
		t.Errorf("root %v (%v), want −ln 2", s, err)
	}
	if _, err := CGFRoot([]float64{1, 2, 3}); err == nil {
		t.Error("all gradients of one sign: want an error (no root)")
	}
	if s, err := CGFRoot([]float64{-1, 1}); err != nil || s != 0 {
		t.Errorf("zero mean: root %v, %v", s, err)
	}
}

func TestCGFRootApproachesGaussianTruncation(t *testing.T) {
	// Small mean relative to the spread: s → 2·mean/var, with a relative
	// correction of order s·(third cumulant)/var that shrinks with the mean.
	rng := rand.New(rand.NewPCG(3, 4))
	base := make([]float64, 5000)
	for i := range base {
		base[i] = rng.ExpFloat64() - 1 // skewed, so the truncation is not exact
	}
	m0, _ := estimate.MeanVar(base)
	prev := math.Inf(1)
	for _, eps := range []float64{0.1, 0.01, 0.001} {
		g := make([]float64, len(base))
		for i := range g {
			g[i] = base[i] - m0 + eps
		}
		s, err := CGFRoot(g)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(CGF(g, s)) > 1e-13 {
			t.Errorf("K(root) = %v", CGF(g, s))
		}
		m, v := estimate.MeanVar(g)
		rel := math.Abs(s/GaussianRoot(m, v) - 1)
		if rel > 3*eps || rel >= prev {
			t.Errorf("eps=%v: |s/s_gauss − 1| = %v (previous %v)", eps, rel, prev)
		}
		prev = rel
	}
}

func TestRoot(t *testing.T) {
	x, err := Root(math.Cos, 0, 3, 1e-14)
	if err != nil || math.Abs(x-math.Pi/2) > 1e-12 {
		t.Errorf("cos root %v %v", x, err)
	}
	if _, err := Root(math.Cos, 0, 1, 1e-12); err == nil {
		t.Error("no bracket accepted")
	}
}
