package dynamics

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/minibatch"
)

func problem(t testing.TB, n, p int, seed uint64) (*data.LinRegProblem, *Quadratic) {
	t.Helper()
	lr, err := data.NewLinReg(data.LinRegConfig{N: n, P: p, Seed: seed, XStd: 1, Labels: data.LabelsGaussian})
	if err != nil {
		t.Fatal(err)
	}
	q, err := NewQuadratic(lr)
	if err != nil {
		t.Fatal(err)
	}
	return lr, q
}

func TestQuadraticMatchesTheData(t *testing.T) {
	lr, q := problem(t, 300, 4, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := 0; trial < 5; trial++ {
		z := make([]float64, 4)
		for i := range z {
			z[i] = rng.NormFloat64()
		}
		th := q.Theta(z)
		if got, want := q.Loss(z), lr.Loss(th); math.Abs(got-want) > 1e-12*want {
			t.Errorf("Loss(z) = %v, L(θ) = %v", got, want)
		}
		back := q.Z(th)
		for i := range z {
			if math.Abs(back[i]-z[i]) > 1e-12 {
				t.Errorf("Z(Theta(z)) = %v, want %v", back, z)
			}
		}
	}
}

// direct computes (1/N)Σ∇ℓ∇ℓᵀ − ∇L∇Lᵀ in θ-space from the raw data and
// rotates it into the eigenbasis: an independent check of NoiseCov.
func direct(lr *data.LinRegProblem, q *Quadratic, z []float64, B int) []float64 {
	N, P := lr.Config.N, lr.Config.P
	th := q.Theta(z)
	a := make([]float64, P*P)
	g := make([]float64, P)
	for mu := 0; mu < N; mu++ {
		x := lr.X[mu*P : (mu+1)*P]
		r := -lr.Y[mu]
		for j := range x {
			r += x[j] * th[j]
		}
		for i := 0; i < P; i++ {
			g[i] += r * x[i] / float64(N)
			for j := 0; j < P; j++ {
				a[i*P+j] += r * r * x[i] * x[j] / float64(N)
			}
		}
	}
	kb := float64(N-B) / (float64(B) * float64(N-1))
	out := make([]float64, P*P)
	for i := 0; i < P; i++ {
		for j := 0; j < P; j++ {
			// rotate: (QᵀCQ)_ij
			s := 0.0
			for r := 0; r < P; r++ {
				for c := 0; c < P; c++ {
					s += q.Q[r*P+i] * kb * (a[r*P+c] - g[r]*g[c]) * q.Q[c*P+j]
				}
			}
			out[i*P+j] = s
		}
	}
	return out
}

func TestNoiseCovMatchesDirectAndMonteCarlo(t *testing.T) {
	lr, q := problem(t, 200, 3, 2)
	z := []float64{0.3, -0.5, 0.8}
	for _, B := range []int{1, 5, 50} {
		got := make([]float64, 9)
		q.NoiseCov(z, B, got)
		want := direct(lr, q, z, B)
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-10*(1+math.Abs(want[i])) {
				t.Fatalf("B=%d: NoiseCov[%d] = %v, direct %v", B, i, got[i], want[i])
			}
		}
		// Monte Carlo: covariance of ∇L_B − ∇L over mini-batches drawn without replacement.
		rng := rand.New(rand.NewPCG(uint64(B), 3))
		const draws = 60000
		mean := make([]float64, 3)
		cov := make([]float64, 9)
		full := make([]float64, 3)
		for i := range full {
			full[i] = q.Lambda[i] * z[i]
		}
		bt, _ := minibatch.New(q.N, B, rng)
		for d := 0; d < draws; d++ {
			g := make([]float64, 3)
			for _, mu := range bt.Next() {
				x := q.XT[int(mu)*3 : int(mu)*3+3]
				r := q.E[mu] + x[0]*z[0] + x[1]*z[1] + x[2]*z[2]
				for i := range g {
					g[i] += r * x[i] / float64(B)
				}
			}
			for i := range g {
				g[i] -= full[i]
				mean[i] += g[i] / draws
			}
			for i := 0; i < 3; i++ {
				for j := 0; j < 3; j++ {
					cov[i*3+j] += g[i] * g[j] / draws
				}
			}
		}
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				se := math.Sqrt((got[i*3+i]*got[j*3+j] + got[i*3+j]*got[i*3+j]) / draws)
				if math.Abs(cov[i*3+j]-got[i*3+j]) > 5*se {
					t.Errorf("B=%d: MC cov[%d,%d] = %v, Eq. 8 gives %v (se %v)", B, i, j, cov[i*3+j], got[i*3+j], se)
				}
			}
		}
	}
}

// collector keeps every run's final state and the states seen at chosen steps.
type collector struct {
	mu    sync.Mutex
	at    int64
	z     map[int][]float64
	times map[int]float64
	loss  map[int][]float64
}

func newCollector(at int64) *collector {
	return &collector{at: at, z: map[int][]float64{}, times: map[int]float64{}, loss: map[int][]float64{}}
}

func (c *collector) Observe(s *State) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loss[s.Run] = append(c.loss[s.Run], s.Loss)
	if s.Steps == c.at {
		c.z[s.Run] = append([]float64(nil), s.Z...)
		c.times[s.Run] = s.T
		return true
	}
	return false
}

// SGD in eigen-coordinates must reproduce a plain θ-space implementation fed
// with the same mini-batches, for the general mini-batch loop (B = 4) and the
// one-sample loop (B = 1).
func TestSGDMatchesThetaSpaceReference(t *testing.T) {
	for _, B := range []int{4, 1} {
		lr, q := problem(t, 50, 3, 4)
		cfg := Config{Kind: SGD, Eta: 0.05, B: B}
		col := newCollector(200)
		if _, err := Run(context.Background(), q, cfg, Options{Runs: 2, Seed: 11, MaxSteps: 200}, col); err != nil {
			t.Fatal(err)
		}
		for r := 0; r < 2; r++ {
			bt, _ := minibatch.New(50, B, RunRNG(11, r))
			th := append([]float64(nil), lr.ThetaStar...)
			for k := 0; k < 200; k++ {
				g := make([]float64, 3)
				for _, mu := range bt.Next() {
					x := lr.X[int(mu)*3 : int(mu)*3+3]
					res := x[0]*th[0] + x[1]*th[1] + x[2]*th[2] - lr.Y[mu]
					for j := range g {
						g[j] += res * x[j] / float64(B)
					}
				}
				for j := range th {
					th[j] -= 0.05 * g[j]
				}
				if got, want := col.loss[r][k+1], lr.Loss(th); math.Abs(got-want) > 1e-10*want {
					t.Fatalf("B=%d run %d step %d: loss %v, reference %v", B, r, k+1, got, want)
				}
			}
			got := q.Theta(col.z[r])
			for j := range th {
				if math.Abs(got[j]-th[j]) > 1e-10 {
					t.Fatalf("B=%d run %d: θ %v, reference %v", B, r, got, th)
				}
			}
			if math.Abs(col.times[r]-200*0.05) > 1e-9 {
				t.Errorf("B=%d: time %v, want η·steps = 10", B, col.times[r])
			}
		}
	}
}

// Weak order 1 of Euler–Maruyama on an Ornstein–Uhlenbeck process with a
// known answer: GLD at P = 1 is dz = −λz dt + sqrt(2D) dW, and from z = 0,
// E[z_T²] = (D/λ)(1 − e^(−2λT)).
func TestEulerMaruyamaWeakOrderOnOU(t *testing.T) {
	_, q := problem(t, 1000, 1, 5)
	lam := q.Lambda[0]
	const T, eta, runs = 2.0, 0.4, 200000
	cfg := Config{Kind: GLD, Eta: eta, B: 1}
	D := GLDDiffusion(q, cfg)
	exact := D / lam * (1 - math.Exp(-2*lam*T))
	var hs, errs []float64
	for _, h := range []float64{0.2, 0.1, 0.05} {
		cfg.DT = h
		steps := int64(math.Round(T / h))
		m := &secondMoment{at: steps}
		if _, err := Run(context.Background(), q, cfg, Options{Runs: runs, Seed: 6, MaxSteps: steps}, m); err != nil {
			t.Fatal(err)
		}
		est := m.sum() / runs
		se := exact * math.Sqrt(2.0/runs)
		if math.Abs(est-exact) < 3*se {
			t.Fatalf("h=%v: bias below the Monte-Carlo noise; the test cannot see the order", h)
		}
		hs = append(hs, math.Log(h))
		errs = append(errs, math.Log(math.Abs(est-exact)))
	}
	slope := (errs[2] - errs[0]) / (hs[2] - hs[0])
	if slope < 0.75 || slope > 1.25 {
		t.Errorf("weak order %v, want ≈ 1", slope)
	}
}

type secondMoment struct {
	at int64
	mu sync.Mutex
	s  float64
}

func (m *secondMoment) Observe(s *State) bool {
	if s.Steps == m.at {
		m.mu.Lock()
		m.s += s.Z[0] * s.Z[0]
		m.mu.Unlock()
		return true
	}
	return false
}
func (m *secondMoment) sum() float64 { return m.s }

// The random time change: without noise, Eq. 14 integrated in τ and mapped
// back by dt = dτ/L must follow gradient flow in real time, z(t) = z₀e^(−λt).
func TestTimeChangeFollowsGradientFlow(t *testing.T) {
	_, q := problem(t, 500, 1, 7)
	lam := q.Lambda[0]
	const z0 = 3.0
	cfg := Config{Kind: SDE14, Eta: 1e-14, B: 1, DT: 1e-4} // η → 0 switches the noise off
	var zs, ts []float64
	obs := observerFunc(func(s *State) bool {
		if s.Steps%500 == 0 {
			zs = append(zs, s.Z[0])
			ts = append(ts, s.T)
		}
		return s.T > 2
	})
	_, err := Run(context.Background(), q, cfg, Options{Runs: 1, Seed: 1, MaxSteps: 1 << 30, Workers: 1,
		Init: func(_ int, z []float64) { z[0] = z0 }}, obs)
	if err != nil {
		t.Fatal(err)
	}
	if ts[len(ts)-1] < 1.9 {
		t.Fatalf("reached only t = %v", ts[len(ts)-1])
	}
	for i := range zs {
		want := z0 * math.Exp(-lam*ts[i])
		if math.Abs(zs[i]-want) > 2e-3*z0 {
			t.Fatalf("t=%v: z = %v, gradient flow gives %v", ts[i], zs[i], want)
		}
	}
}

type observerFunc func(*State) bool

func (f observerFunc) Observe(s *State) bool { return f(s) }

func TestDeterministicAcrossWorkers(t *testing.T) {
	_, q := problem(t, 100, 2, 8)
	for _, k := range Kinds {
		cfg := Config{Kind: k, Eta: 0.1, B: 2}
		a, b := newCollector(300), newCollector(300)
		if _, err := Run(context.Background(), q, cfg, Options{Runs: 6, Seed: 3, MaxSteps: 300, Workers: 1}, a); err != nil {
			t.Fatal(err)
		}
		if _, err := Run(context.Background(), q, cfg, Options{Runs: 6, Seed: 3, MaxSteps: 300, Workers: 3}, b); err != nil {
			t.Fatal(err)
		}
		for r := 0; r < 6; r++ {
			for i := range a.z[r] {
				if a.z[r][i] != b.z[r][i] {
					t.Fatalf("%s: run %d differs between 1 and 3 workers", k, r)
				}
			}
		}
	}
}

func TestDivergenceIsDetected(t *testing.T) {
	_, q := problem(t, 100, 2, 9)
	for _, k := range []Kind{SGD, SDE12} {
		cfg := Config{Kind: k, Eta: 5 / q.Lambda[0], B: 1} // ηλ = 5 > 2
		var diverged bool
		var mu sync.Mutex
		obs := observerFunc(func(s *State) bool {
			mu.Lock()
			diverged = diverged || s.Diverged
			mu.Unlock()
			return false
		})
		sum, err := Run(context.Background(), q, cfg, Options{Runs: 3, Seed: 1, MaxSteps: 10000,
			Init: func(_ int, z []float64) { z[0] = 0.1 }}, obs)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Diverged != 3 || !diverged {
			t.Errorf("%s at ηλ = 5: %d of 3 runs reported diverged", k, sum.Diverged)
		}
	}
}

// NewEnsemble's divergence threshold is where its runs stop: an unstable
// run is stopped at its first loss ≥ divergeAt·L(θ*), whatever the factor.
func TestNewEnsembleDivergenceThreshold(t *testing.T) {
	_, q := problem(t, 100, 2, 9)
	cfg := Config{Kind: SGD, Eta: 5 / q.Lambda[0], B: 1}
	for _, factor := range []float64{10, 1e12, 1e150} {
		e, err := NewEnsemble(q, cfg, func(_ int, z []float64) { z[0] = 0.1 }, factor)
		if err != nil {
			t.Fatal(err)
		}
		var last []float64 // the loss before the divergence and at it
		sum, err := Simulate(context.Background(), e, Schedule{Runs: 1, Seed: 1, MaxSteps: 100000},
			func(_ int, _ int64, _ Walker, _, l float64, div bool) bool {
				last = append(last, l)
				return false
			})
		n := len(last)
		if err != nil || sum.Diverged != 1 || n < 2 || !(last[n-1] >= factor*q.LStar) || !(last[n-2] < factor*q.LStar) {
			t.Errorf("factor %g: %+v %v, last losses %v (L* = %v)", factor, sum, err, last[max(0, n-2):], q.LStar)
		}
	}
	for _, bad := range []float64{1, -2, math.Inf(1), math.NaN()} {
		if _, err := NewEnsemble(q, cfg, nil, bad); err == nil {
			t.Errorf("divergence factor %v accepted", bad)
		}
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	_, q := problem(t, 10, 1, 1)
	obs := observerFunc(func(*State) bool { return true })
	for _, c := range []Config{
		{Kind: "langevin", Eta: 0.1, B: 1},
		{Kind: SGD, Eta: 0, B: 1},
		{Kind: SGD, Eta: 0.1, B: 0},
		{Kind: SGD, Eta: 0.1, B: 11},
		{Kind: SDE4, Eta: 0.1, B: 1, DT: -1},
	} {
		if _, err := Run(context.Background(), q, c, Options{Runs: 1, MaxSteps: 1}, obs); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := Run(context.Background(), q, Config{Kind: SGD, Eta: 0.1, B: 1}, Options{Runs: 0, MaxSteps: 1}, obs); err == nil {
		t.Error("zero runs accepted")
	}
}

func BenchmarkSGDChainSteps(b *testing.B) {
	_, q := problem(b, 10000, 10, 1)
	cfg := Config{Kind: SGD, Eta: 0.1, B: 1}
	const runs, steps = 100, 20000
	obs := observerFunc(func(*State) bool { return false })
	for b.Loop() {
		if _, err := Run(context.Background(), q, cfg, Options{Runs: runs, Seed: 1, MaxSteps: steps}, obs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(runs*steps)*float64(b.N)/b.Elapsed().Seconds(), "chain-steps/s")
}

// Eq. 4 at P = 1 against an independent implementation that recomputes the
// noise variance of Eq. 8 from the raw data every step (O(N)), fed with the
// same Gaussian draws: the trajectories must coincide.
func TestSDE4MatchesDirectEq8(t *testing.T) {
	lr, q := problem(t, 400, 1, 12)
	const eta, B, steps = 0.2, 3, 300
	col := newCollector(steps)
	if _, err := Run(context.Background(), q, Config{Kind: SDE4, Eta: eta, B: B}, Options{Runs: 1, Seed: 5, MaxSteps: steps,
		Init: func(_ int, z []float64) { z[0] = 0.7 }}, col); err != nil {
		t.Fatal(err)
	}
	rng := RunRNG(5, 0)
	N := float64(lr.Config.N)
	th := lr.ThetaStar[0] + q.Q[0]*0.7
	for k := 0; k < steps; k++ {
		var m1, m2 float64
		for mu := 0; mu < lr.Config.N; mu++ {
			g := (lr.X[mu]*th - lr.Y[mu]) * lr.X[mu]
			m1 += g / N
			m2 += g * g / N
		}
		sigma := (N - B) / (B * (N - 1)) * (m2 - m1*m1)
		th += -m1*eta + q.Q[0]*math.Sqrt(eta*eta*sigma)*rng.NormFloat64() // the noise is drawn in the eigenbasis
		if got, want := col.loss[0][k+1], lr.Loss([]float64{th}); math.Abs(got-want) > 1e-9*want {
			t.Fatalf("step %d: loss %v, direct Eq. 4 gives %v", k+1, got, want)
		}
	}
}

// The Kesten exponent against a direct Monte-Carlo check of E|1 − ηs|^α = 1
// (reliable where α is small) and, for B = 1, against an independent
// quadrature over x ~ N(0,1) (trapezoid on [−12, 12], 2·10⁵ intervals, done
// outside Go): α = 17.28, 2.90, 1.09 at η = 0.1, 0.5, 1.
func TestKestenExponent(t *testing.T) {
	for eta, want := range map[float64]float64{0.1: 17.28, 0.5: 2.90, 1: 1.09} {
		a, err := KestenExponent(eta, 1, 1)
		if err != nil || math.Abs(a-want) > 0.01 {
			t.Errorf("η=%v: α = %v (%v), independent quadrature gives %v", eta, a, err, want)
		}
	}
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range []struct {
		eta float64
		b   int
	}{{1, 1}, {0.5, 1}, {1, 4}} {
		a, err := KestenExponent(c.eta, c.b, 1)
		if err != nil {
			t.Fatal(err)
		}
		// Monte Carlo: E|1 − ηs|^α with s the mean of B squared normals.
		const draws = 400000
		m := 0.0
		for i := 0; i < draws; i++ {
			s := 0.0
			for j := 0; j < c.b; j++ {
				x := rng.NormFloat64()
				s += x * x
			}
			m += math.Pow(math.Abs(1-c.eta*s/float64(c.b)), a)
		}
		m /= draws
		if math.Abs(m-1) > 0.03 {
			t.Errorf("η=%v B=%d: α=%v but E|1−ηs|^α = %v", c.eta, c.b, a, m)
		}
	}
	// Smaller η gives lighter tails (larger α).
	a1, _ := KestenExponent(0.5, 1, 1)
	a2, _ := KestenExponent(0.3, 1, 1)
	if !(a2 > a1) {
		t.Errorf("α(η=0.3) = %v should exceed α(η=0.5) = %v", a2, a1)
	}
	if _, err := KestenExponent(3, 1, 1); err == nil {
		t.Error("η = 3 (E log|1−ηs| > 0) should report divergence")
	}
}
