package exitchain_test

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/exitchain"
	"github.com/sgdescape/sgdescape/pkg/rng"
)

// birthDeath is a lattice chain on the integers 0…L (η = 1, per-sample
// gradients ∓1 or 0): at state k, up(k) of the N samples step +1, down(k)
// step −1 and the rest stay. The grid of spacing 1 puts every landing point
// on a grid point, so interpolation is exact and the solver must reproduce
// the chain's mean exit time to rounding.
type birthDeath struct {
	n, l     int
	up, down func(k int) int
}

func (bd birthDeath) chain() exitchain.Chain {
	return exitchain.Chain{N: bd.n, Eta: 1, B: 1, Lo: 0, Hi: float64(bd.l), Grads: func(theta float64, g []float64) {
		k := int(math.Round(theta))
		u, d := bd.up(k), bd.down(k)
		for mu := range g {
			switch {
			case mu < u:
				g[mu] = -1
			case mu < u+d:
				g[mu] = 1
			default:
				g[mu] = 0
			}
		}
	}}
}

// exact is the mean exit time from every state by exact rational arithmetic:
// with D_k = T_k − T_{k−1}, p_k D_{k+1} = q_k D_k − 1 (k = 1…L−1), T_0 = 0
// and Σ_k D_k = T_L = 0.
func (bd birthDeath) exact() []float64 {
	l := bd.l
	a := make([]*big.Rat, l+1) // D_k = a_k D_1 + b_k
	b := make([]*big.Rat, l+1)
	a[1], b[1] = big.NewRat(1, 1), new(big.Rat)
	for k := 1; k < l; k++ {
		p := big.NewRat(int64(bd.up(k)), int64(bd.n))
		q := big.NewRat(int64(bd.down(k)), int64(bd.n))
		a[k+1] = new(big.Rat).Quo(new(big.Rat).Mul(q, a[k]), p)
		b[k+1] = new(big.Rat).Quo(new(big.Rat).Sub(new(big.Rat).Mul(q, b[k]), big.NewRat(1, 1)), p)
	}
	sa, sb := new(big.Rat), new(big.Rat)
	for k := 1; k <= l; k++ {
		sa.Add(sa, a[k])
		sb.Add(sb, b[k])
	}
	d1 := new(big.Rat).Neg(new(big.Rat).Quo(sb, sa))
	t := make([]float64, l+1)
	acc := new(big.Rat)
	for k := 1; k < l; k++ {
		acc.Add(acc, new(big.Rat).Add(new(big.Rat).Mul(a[k], d1), b[k]))
		t[k], _ = acc.Float64()
	}
	return t
}

func TestLatticeChainsAgainstExactMeanExitTimes(t *testing.T) {
	konst := func(v int) func(int) int { return func(int) int { return v } }
	well := func(l, in, out int) birthDeath {
		// Drift towards the centre c = L/2 from both sides: a barrier on
		// each side, T ≈ (in/out)^(L/2).
		c := l / 2
		return birthDeath{n: in + out, l: l,
			up: func(k int) int {
				switch {
				case k < c:
					return in
				case k > c:
					return out
				}
				return (in + out) / 2
			},
			down: func(k int) int {
				switch {
				case k < c:
					return out
				case k > c:
					return in
				}
				return (in + out) / 2
			}}
	}
	cases := []struct {
		name    string
		bd      birthDeath
		closed  func(k, l int) float64 // closed form, nil when only the rational recursion is known
		minTMax float64                // the case must reach exit times this long
	}{
		{"symmetric ±1 walk: k(L−k)", birthDeath{n: 2, l: 50, up: konst(1), down: konst(1)},
			func(k, l int) float64 { return float64(k * (l - k)) }, 600},
		{"constant drift p = 1/3, q = 2/3: gambler's ruin", birthDeath{n: 3, l: 40, up: konst(1), down: konst(2)},
			func(k, l int) float64 {
				p, q := 1.0/3, 2.0/3
				r := q / p
				return float64(k)/(q-p) - float64(l)/(q-p)*(1-math.Pow(r, float64(k)))/(1-math.Pow(r, float64(l)))
			}, 10},
		{"well, T ≈ 1e7", well(40, 7, 3), nil, 1e7},
		{"deep well, T ≈ 1e11 (I − P nearly singular)", well(60, 7, 3), nil, 1e11},
	}
	for _, tc := range cases {
		for _, solver := range []string{exitchain.SolverLU, exitchain.SolverGMRES} {
			t.Run(tc.name+"/"+solver, func(t *testing.T) {
				want := tc.bd.exact()
				if tc.closed != nil {
					for k := 1; k < tc.bd.l; k++ {
						if c := tc.closed(k, tc.bd.l); math.Abs(c-want[k]) > 1e-9*c {
							t.Fatalf("reference recursion %v ≠ closed form %v at k = %d", want[k], c, k)
						}
					}
				}
				if tMax := maxOf(want); tMax < tc.minTMax {
					t.Fatalf("case too easy: max T = %.3g < %.3g", tMax, tc.minTMax)
				}
				c := tc.bd.chain()
				sol, err := c.Solve(exitchain.Options{Points: tc.bd.l + 1, Solver: solver})
				if err != nil {
					t.Fatal(err)
				}
				for k := 1; k < tc.bd.l; k++ {
					got, err := sol.At(float64(k))
					if err != nil {
						t.Fatal(err)
					}
					// Residual bounds the solve's relative error; 1e-12 covers
					// the rounding of the Nyström step.
					if rel := math.Abs(got/want[k] - 1); rel > sol.Residual+1e-12 || math.Abs(sol.T[k]/want[k]-1) > sol.Residual+1e-12 {
						t.Errorf("k = %d: T = %.15g (grid %.15g), exact %.15g (rel. error %.2g, residual bound %.2g)", k, got, sol.T[k], want[k], rel, sol.Residual)
					}
				}
				if sol.Residual > 1e-4 {
					t.Errorf("residual %.3g: the near-singular solve lost accuracy", sol.Residual)
				}
			})
		}
	}
}

// TestMeanOfTwoSamplesLattice: B = 2 on the ±1 walk steps by the mean of two
// samples, −1, 0 or +1 with probabilities ¼, ½, ¼: a lazy walk with
// T(k) = 2k(L − k). The grid has spacing ½ (every step spans at least one
// cell) and the per-sample halves ±½ fall on the convolution's sub-lattice,
// so the answer is exact.
func TestMeanOfTwoSamplesLattice(t *testing.T) {
	const l = 30
	c := birthDeath{n: 2, l: l, up: func(int) int { return 1 }, down: func(int) int { return 1 }}.chain()
	c.B = 2
	for _, solver := range []string{exitchain.SolverLU, exitchain.SolverGMRES} {
		sol, err := c.Solve(exitchain.Options{Points: 2*l + 1, Solver: solver})
		if err != nil {
			t.Fatal(err)
		}
		for k := 1; k < l; k++ {
			got, err := sol.At(float64(k))
			if err != nil {
				t.Fatal(err)
			}
			if want := float64(2 * k * (l - k)); math.Abs(got/want-1) > 1e-10 {
				t.Errorf("%s: k = %d: T = %.12g, want %g", solver, k, got, want)
			}
		}
	}
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// toy is an off-lattice chain over a double well L = θ⁴/4 − θ²/2 with N
// per-sample gradients g_μ = (1 + a_μ)(θ³ − θ) + b_μ (a, b drawn once from
// the ExitChainData stream): escape from the left minimum over θ = 0.
type toy struct {
	a, b []float64
}

func newToy(n int, sigma float64) toy {
	r := rng.New(1, rng.ExitChainData)
	tt := toy{a: make([]float64, n), b: make([]float64, n)}
	for mu := range tt.a {
		tt.a[mu] = 0.5 * r.NormFloat64()
		tt.b[mu] = sigma * r.NormFloat64()
	}
	return tt
}

func (tt toy) grad(mu int, theta float64) float64 {
	return (1+tt.a[mu])*(theta*theta*theta-theta) + tt.b[mu]
}

func (tt toy) chain(eta float64, b int) exitchain.Chain {
	return exitchain.Chain{N: len(tt.a), Eta: eta, B: b, Lo: -2.5, Hi: 0.8, Grads: func(theta float64, g []float64) {
		for mu := range g {
			g[mu] = tt.grad(mu, theta)
		}
	}}
}

// simulate runs the chain R times from start and returns the mean number of
// steps to leave (Lo, Hi) and its standard error.
func (tt toy) simulate(c exitchain.Chain, start float64, runs int, seed uint64) (mean, se float64) {
	var sum, sq float64
	n := uint64(len(tt.a))
	for r := 0; r < runs; r++ {
		gen := rng.Indexed(seed, rng.ExitChainMC, uint64(r))
		th := start
		steps := 0.0
		for th > c.Lo && th < c.Hi {
			g := 0.0
			for k := 0; k < c.B; k++ {
				g += tt.grad(int(gen.Uint64N(n)), th)
			}
			th -= c.Eta * g / float64(c.B)
			steps++
		}
		sum += steps
		sq += steps * steps
	}
	mean = sum / float64(runs)
	return mean, math.Sqrt((sq/float64(runs) - mean*mean) / float64(runs-1))
}

// TestAgainstMonteCarloOfTheSameChain: direct simulation of the chain (B
// samples with replacement per step) against the exact mean exit time, at a
// 99 % interval (z = 2.58) of the simulated mean.
func TestAgainstMonteCarloOfTheSameChain(t *testing.T) {
	runs := 50000
	if testing.Short() {
		runs = 5000
	}
	tt := newToy(50, 1.5)
	for _, tc := range []struct {
		eta float64
		b   int
	}{{0.1, 1}, {0.15, 1}, {0.2, 2}, {0.3, 3}} {
		seed := uint64(10 + 10*tc.b + int(100*tc.eta)) // a different simulation for each case
		c := tt.chain(tc.eta, tc.b)
		const start = -1.0
		e, err := c.Rate(start, exitchain.Options{})
		if err != nil {
			t.Fatal(err)
		}
		mean, se := tt.simulate(c, start, runs, seed)
		t.Logf("η = %g, B = %d: exact T = %.5g steps (M = %d, grid change %.2g); simulated %.5g ± %.2g", tc.eta, tc.b, e.Steps, e.Points, e.GridChange, mean, se)
		if e.Steps < 50 {
			t.Errorf("η = %g, B = %d: T = %.3g steps is too short to test an escape", tc.eta, tc.b, e.Steps)
		}
		if math.Abs(e.Steps-mean) > 2.58*se {
			t.Errorf("η = %g, B = %d: exact T = %.5g outside the simulation's 99 %% interval %.5g ± %.3g", tc.eta, tc.b, e.Steps, mean, 2.58*se)
		}
		if !(e.GridChange < 0.01) {
			t.Errorf("η = %g, B = %d: halving the spacing changes κ by %.2g", tc.eta, tc.b, e.GridChange)
		}
	}
}

// TestSolversAgree: dense LU and GMRES give the same T on an off-lattice
// chain with B = 1 and B = 2.
func TestSolversAgree(t *testing.T) {
	tt := newToy(50, 1.2)
	for _, b := range []int{1, 2} {
		c := tt.chain(0.1*float64(b), b)
		lu, err := c.Solve(exitchain.Options{Solver: exitchain.SolverLU})
		if err != nil {
			t.Fatal(err)
		}
		gm, err := c.Solve(exitchain.Options{Solver: exitchain.SolverGMRES})
		if err != nil {
			t.Fatal(err)
		}
		if maxOf(lu.T) < 500 {
			t.Fatalf("B = %d: max T = %.3g, too short", b, maxOf(lu.T))
		}
		for i := range lu.T {
			if math.Abs(lu.T[i]/gm.T[i]-1) > 1e-8 {
				t.Fatalf("B = %d, θ = %v: LU %.12g, GMRES %.12g", b, lu.X[i], lu.T[i], gm.T[i])
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	tt := newToy(20, 1.5)
	good := tt.chain(0.1, 1)
	with := func(f func(*exitchain.Chain)) exitchain.Chain { c := good; f(&c); return c }
	grads := func(f func(theta float64, g []float64)) exitchain.Chain {
		return with(func(c *exitchain.Chain) { c.Grads = f })
	}
	for _, tc := range []struct {
		name  string
		c     exitchain.Chain
		start float64
		opts  exitchain.Options
		want  string
	}{
		{"nil gradients", with(func(c *exitchain.Chain) { c.Grads = nil }), -1, exitchain.Options{}, "Grads is nil"},
		{"no samples", with(func(c *exitchain.Chain) { c.N = 0 }), -1, exitchain.Options{}, "at least one sample"},
		{"zero η", with(func(c *exitchain.Chain) { c.Eta = 0 }), -1, exitchain.Options{}, "learning rate"},
		{"negative η", with(func(c *exitchain.Chain) { c.Eta = -0.1 }), -1, exitchain.Options{}, "learning rate"},
		{"NaN η", with(func(c *exitchain.Chain) { c.Eta = math.NaN() }), -1, exitchain.Options{}, "learning rate"},
		{"+Inf η", with(func(c *exitchain.Chain) { c.Eta = math.Inf(1) }), -1, exitchain.Options{}, "learning rate"},
		{"B = 0", with(func(c *exitchain.Chain) { c.B = 0 }), -1, exitchain.Options{}, "batch size"},
		{"B too large", with(func(c *exitchain.Chain) { c.B = exitchain.MaxB + 1 }), -1, exitchain.Options{}, "beyond the exact solver"},
		{"empty interval a = b", with(func(c *exitchain.Chain) { c.Hi = c.Lo }), -1, exitchain.Options{}, "no barrier"},
		{"reversed interval a > b", with(func(c *exitchain.Chain) { c.Lo, c.Hi = c.Hi, c.Lo }), -1, exitchain.Options{}, "no barrier"},
		{"infinite end", with(func(c *exitchain.Chain) { c.Hi = math.Inf(1) }), -1, exitchain.Options{}, "finite ends"},
		{"NaN end", with(func(c *exitchain.Chain) { c.Lo = math.NaN() }), -1, exitchain.Options{}, "finite ends"},
		{"start outside", good, 1.5, exitchain.Options{}, "not inside the escape interval"},
		{"start on the boundary", good, 0.8, exitchain.Options{}, "not inside the escape interval"},
		{"NaN start", good, math.NaN(), exitchain.Options{}, "not inside the escape interval"},
		{"NaN gradient", grads(func(theta float64, g []float64) {
			for i := range g {
				g[i] = tt.grad(i, theta)
			}
			if theta > 0 {
				g[3] = math.NaN()
			}
		}), -1, exitchain.Options{}, "μ = 3"},
		{"Inf gradient (grid given)", grads(func(theta float64, g []float64) {
			for i := range g {
				g[i] = tt.grad(i, theta)
			}
			g[7] = math.Inf(-1)
		}), -1, exitchain.Options{Points: 801}, "μ = 7"},
		{"gradient not written", grads(func(theta float64, g []float64) {
			for i := range g[1:] {
				g[i] = tt.grad(i, theta)
			}
		}), -1, exitchain.Options{}, "not written"},
		{"grid too coarse for the step", good, -1, exitchain.Options{Points: 11}, "grid too coarse"},
		{"grid too large", good, -1, exitchain.Options{Points: exitchain.MaxPoints + 1}, "exceed"},
		{"two-point grid", good, -1, exitchain.Options{Points: 2}, "at least 3 points"},
		{"negative grid", good, -1, exitchain.Options{Points: -5}, "at least 3 points"},
		{"unknown solver", good, -1, exitchain.Options{Solver: "jacobi"}, "solver must be"},
		{"steps too small to resolve", with(func(c *exitchain.Chain) { c.Eta = 1e-9 }), -1, exitchain.Options{}, "barely moves"},
		{"a point where nothing moves", grads(func(theta float64, g []float64) {
			for i := range g {
				g[i] = 0
			}
		}), -1, exitchain.Options{}, "never leave"},
		{"B > 1 with exploding steps", with(func(c *exitchain.Chain) { c.B = 4; c.Eta = 1e12 }), -1, exitchain.Options{Points: 401}, "sub-lattice cells"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := tc.c.Rate(tc.start, tc.opts)
			if err == nil {
				t.Fatalf("no error; got %+v", e)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// TestClosedSet: a grid state that cannot reach the exit (the chain stops
// there) makes I − P singular; Solve says so instead of returning a number.
func TestClosedSet(t *testing.T) {
	tt := newToy(20, 1.5)
	c := tt.chain(0.1, 1)
	c.Grads = func(theta float64, g []float64) {
		for i := range g {
			g[i] = tt.grad(i, theta)
			if math.Abs(theta+1) < 0.05 {
				g[i] = 0 // a trap around θ = −1
			}
		}
	}
	_, err := c.Solve(exitchain.Options{Points: 2001})
	if !errors.Is(err, exitchain.ErrNoExit) {
		t.Fatalf("got %v, want ErrNoExit", err)
	}
}

// TestExplodingStepsB1: with B = 1 a huge η is a valid chain that leaves in
// one step; the answer is exactly one step, not a NaN.
func TestExplodingStepsB1(t *testing.T) {
	c := newToy(20, 1.5).chain(1e12, 1)
	e, err := c.Rate(-1, exitchain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Steps != 1 {
		t.Fatalf("T = %v steps, want 1", e.Steps)
	}
}

// TestProgress: the row building reports its progress and ends at M of M.
func TestProgress(t *testing.T) {
	c := newToy(20, 1.5).chain(0.1, 2)
	var reports, last, total int
	_, err := c.Solve(exitchain.Options{Points: 1001, Progress: func(done, tot int, _ string) {
		reports++
		last, total = done, tot
	}})
	if err != nil {
		t.Fatal(err)
	}
	if reports < 4 || last != total || total != 1001 {
		t.Fatalf("%d reports, last %d of %d", reports, last, total)
	}
}
