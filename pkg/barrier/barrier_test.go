package barrier

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/minibatch"
	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
)

func draw(t testing.TB, n int) (*Data, Landscape) {
	t.Helper()
	h := PaperHelix()
	h.Dim = n
	d, err := h.Draw()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := FindLandscape(d)
	if err != nil {
		t.Fatal(err)
	}
	return d, ls
}

// directLoss is L(θ) summed sample by sample, independent of the moments M.
func directLoss(d *Data, th []float64) float64 {
	s := 0.0
	for mu := 0; mu < d.N; mu++ {
		z := d.Z[mu*d.D : (mu+1)*d.D]
		f := d.R*math.Cos(th[0])*z[0] + d.R*math.Sin(th[0])*z[1] + d.C*th[0]*z[2]
		for i := 1; i < d.Dim; i++ {
			f += th[i] * z[2+i]
		}
		r := f + z[d.D-1]
		s += r * r
	}
	return s / (2 * float64(d.N))
}

// profileDirect minimises the direct loss over the spectators by
// coordinate descent (slow, independent of the Schur complement).
func profileDirect(d *Data, t float64) float64 {
	th := d.Theta(t) // start at the claimed optimum, then perturb and re-descend
	for i := 1; i < d.Dim; i++ {
		th[i] += 0.3
	}
	for sweep := 0; sweep < 200; sweep++ {
		for i := 1; i < d.Dim; i++ {
			// exact line minimisation of a quadratic in θ_i by three evaluations
			h := 1e-2
			l0 := directLoss(d, th)
			th[i] += h
			lp := directLoss(d, th)
			th[i] -= 2 * h
			lm := directLoss(d, th)
			th[i] += h
			th[i] -= h * (lp - lm) / (2 * (lp - 2*l0 + lm))
		}
	}
	return directLoss(d, th)
}

func TestStationaryPointsAgainstDenseGrid(t *testing.T) {
	for _, n := range []int{1, 2} {
		d, ls := draw(t, n)
		const m = 400000
		lo, hi := d.SearchLo, d.SearchHi
		prev, cur := 0.0, 0.0
		var found []float64
		for i := 0; i <= m; i++ {
			x := lo + (hi-lo)*float64(i)/m
			v, _, _, _ := d.Profile(x)
			if i >= 2 {
				if (cur < prev && cur < v) || (cur > prev && cur > v) {
					found = append(found, lo+(hi-lo)*float64(i-1)/m)
				}
			}
			prev, cur = cur, v
		}
		if len(found) != len(ls.Points) {
			t.Fatalf("n=%d: dense grid finds %d extrema, root finding %d", n, len(found), len(ls.Points))
		}
		for i, x := range found {
			if math.Abs(x-ls.Points[i].Theta) > 2*(hi-lo)/m {
				t.Errorf("n=%d: extremum %d at %v on the grid, %v by root finding", n, i, x, ls.Points[i].Theta)
			}
		}
		// The landmarks: shallow minimum near 0.26, saddle near 3.1, deep minimum near 2π.
		if math.Abs(ls.ThetaStar-0.2) > 0.15 || math.Abs(ls.ThetaSaddle-3.1) > 0.2 || !(ls.LStar < ls.LSaddle) {
			t.Errorf("n=%d: θ* = %v, θˢ = %v", n, ls.ThetaStar, ls.ThetaSaddle)
		}
		if !(ls.A < ls.ThetaOther && ls.ThetaSaddle < ls.B) {
			t.Errorf("escape interval (%v, %v) does not enclose both saddles", ls.A, ls.B)
		}
		if l, _, _, _ := d.Profile(ls.B); math.Abs(l-ls.LStar) > 1e-9 {
			t.Errorf("L at the upper escape end %v is %v, want L* = %v", ls.B, l, ls.LStar)
		}
	}
}

func TestLossGradientHessianAgainstDirectSumsAndFiniteDifferences(t *testing.T) {
	for _, n := range []int{1, 3} {
		d, ls := draw(t, n)
		rng := rand.New(rand.NewPCG(9, 9))
		for trial := 0; trial < 4; trial++ {
			th := make([]float64, n)
			th[0] = -4 + 9*rng.Float64()
			for i := 1; i < n; i++ {
				th[i] = rng.NormFloat64()
			}
			if got, want := d.Loss(th), directLoss(d, th); math.Abs(got-want) > 1e-10*want {
				t.Errorf("loss %v vs direct %v", got, want)
			}
			g := make([]float64, n)
			d.Grad(th, g)
			H := d.Hessian(th)
			h := 1e-5
			for i := 0; i < n; i++ {
				tp := append([]float64(nil), th...)
				tm := append([]float64(nil), th...)
				tp[i] += h
				tm[i] -= h
				fd := (directLoss(d, tp) - directLoss(d, tm)) / (2 * h)
				if math.Abs(g[i]-fd) > 1e-6 {
					t.Errorf("∂%d L = %v, finite difference %v", i, g[i], fd)
				}
				gp, gm := make([]float64, n), make([]float64, n)
				d.Grad(tp, gp)
				d.Grad(tm, gm)
				for j := 0; j < n; j++ {
					if fd := (gp[j] - gm[j]) / (2 * h); math.Abs(H.At(i, j)-fd) > 1e-6 {
						t.Errorf("H[%d][%d] = %v, finite difference %v", i, j, H.At(i, j), fd)
					}
				}
			}
		}
		// h* and hˢ: second differences of the profile loss, which for n > 1
		// is checked against a direct minimisation over the spectators.
		for _, x := range []float64{ls.ThetaStar, ls.ThetaSaddle} {
			h := 1e-3
			l0, _, ddl, _ := d.Profile(x)
			lp, _, _, _ := d.Profile(x + h)
			lm, _, _, _ := d.Profile(x - h)
			if fd := (lp - 2*l0 + lm) / (h * h); math.Abs(fd-ddl) > 1e-5 {
				t.Errorf("n=%d: L″(%v) = %v, finite difference %v", n, x, ddl, fd)
			}
			if n > 1 {
				if pd := profileDirect(d, x); math.Abs(pd-l0) > 1e-9 {
					t.Errorf("n=%d: profile loss %v, direct minimisation %v", n, l0, pd)
				}
			}
		}
		if n == 1 {
			// Gauss–Newton part: (1/N) Σ (∂f/∂θ)².
			gn := 0.0
			for mu := 0; mu < d.N; mu++ {
				z := d.Z[mu*4:]
				df := -d.R*math.Sin(ls.ThetaStar)*z[0] + d.R*math.Cos(ls.ThetaStar)*z[1] + d.C*z[2]
				gn += df * df / float64(d.N)
			}
			if math.Abs(gn-ls.GNStar) > 1e-10 {
				t.Errorf("GN part %v, direct %v", ls.GNStar, gn)
			}
			if math.Abs(ls.Prefactor-math.Sqrt(ls.HStar*math.Abs(ls.HSaddle))/(2*math.Pi)) > 1e-12 {
				t.Errorf("n = 1 prefactor %v is not √(h*|hˢ|)/2π", ls.Prefactor)
			}
		}
	}
}

func TestPerSampleVarianceAgainstRealMiniBatches(t *testing.T) {
	d, ls := draw(t, 1)
	const B = 5
	g := make([]float64, d.N)
	for _, x := range []float64{ls.ThetaStar, 1.5, ls.ThetaSaddle} {
		d.SampleGrads(x, g)
		mean, c := 0.0, 0.0
		for _, v := range g {
			mean += v
		}
		mean /= float64(d.N)
		for _, v := range g {
			c += (v - mean) * (v - mean)
		}
		c /= float64(d.N)
		_, dl, _, _ := d.Profile(x)
		if math.Abs(mean-dl) > 1e-10 {
			t.Errorf("mean per-sample gradient %v, L′ %v", mean, dl)
		}
		// Monte-Carlo over real mini-batches drawn by pkg/minibatch (epochs of random division).
		bt, err := minibatch.New(d.N, B, rand.New(rand.NewPCG(5, 6)))
		if err != nil {
			t.Fatal(err)
		}
		const draws = 200000
		var s, s2 float64
		for k := 0; k < draws; k++ {
			gb := 0.0
			for _, mu := range bt.Next() {
				gb += g[mu]
			}
			gb /= B
			s += gb
			s2 += gb * gb
		}
		mc := s2/draws - (s/draws)*(s/draws)
		want := float64(d.N-B) / float64(B*(d.N-1)) * c
		if math.Abs(mc/want-1) > 0.02 {
			t.Errorf("θ=%v: mini-batch variance %v, (N−B)C/(B(N−1)) = %v", x, mc, want)
		}
		if dd := ExactDiffusionD(c, 0.1, B, d.N); math.Abs(dd-0.1*want/2) > 1e-15 {
			t.Errorf("D = %v, want ηΣ/2 = %v", dd, 0.1*want/2)
		}
	}
}

func TestLargeDeviationTruncationIsExactVarianceDiffusion(t *testing.T) {
	d, ls := draw(t, 1)
	p, err := ls.Grid(context.Background(), d, 2001, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, beta := range []float64{4, 8} {
		eta := 1 / (beta * ls.HStar)
		ke, err1 := p.KappaExact(ls, eta, 1, d.N)
		kg, err2 := p.KappaLD(ls, eta, 1, true)
		kl, err3 := p.KappaLD(ls, eta, 1, false)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatal(err1, err2, err3)
		}
		if math.Abs(kg/ke-1) > 1e-9 {
			t.Errorf("β=%v: Gaussian-truncated LD κ %v ≠ exact-variance κ %v at B = 1", beta, kg, ke)
		}
		if kl == ke {
			t.Errorf("the full large-deviation κ equals the truncation: the root is not used")
		}
	}
	// At B = 4 the truncation is the with-replacement diffusion: ratio of D is (N−1)/(N−B).
	ke, _ := p.KappaExact(ls, 0.5, 4, d.N)
	kg, _ := p.KappaLD(ls, 0.5, 4, true)
	if !(kg > ke) {
		t.Errorf("B=4: i.i.d.-variance κ %v should exceed the without-replacement κ %v", kg, ke)
	}
}

func TestGaussianStepsFollowExactDiffusion(t *testing.T) {
	c := PaperEscape("quick")
	c.Dynamics, c.Betas, c.Runs, c.Grid = Gauss, []float64{5}, 400, 2001
	r, err := Escape(context.Background(), run.Env{}, c)
	if err != nil {
		t.Fatal(err)
	}
	p := r.Result.Points[0]
	if p.Escaped != c.Runs || p.Censored != 0 || p.Diverged != 0 {
		t.Fatalf("escaped %d censored %d diverged %d", p.Escaped, p.Censored, p.Diverged)
	}
	k, ke, se := float64(p.Kappa), float64(p.KappaExact), float64(p.KappaSE)
	// Discrete steps (η ≈ 0.2) differ from the diffusion by O(η): allow 4 SE + 10 %.
	if math.Abs(k-ke) > 4*se+0.1*ke {
		t.Errorf("Gaussian steps κ = %v ± %v, exact-variance diffusion %v", k, se, ke)
	}
	if cv := float64(p.CV); cv < 0.8 || cv > 1.2 {
		t.Errorf("exit times CV %v: not exponential", cv)
	}
}

func TestDeterministicAndCensored(t *testing.T) {
	c := PaperEscape("quick")
	c.Betas, c.Runs, c.Grid = []float64{6}, 40, 501
	r1, err := Escape(context.Background(), run.Env{Workers: 1}, c)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := Escape(context.Background(), run.Env{Workers: 2}, c)
	if r1.Result.Points[0].Kappa != r2.Result.Points[0].Kappa || r1.Result.Points[0].Steps != r2.Result.Points[0].Steps {
		t.Error("result depends on the number of workers")
	}
	if p := r1.Result.Points[0]; p.Status != StatusEscaped || p.CensoredFrac != 0 || len(p.Reasons) != 0 {
		t.Errorf("every run escaped: status %q, censored %v, reasons %v", p.Status, p.CensoredFrac, p.Reasons)
	}
	// A budget far below the escape time censors most runs; κ is then the
	// censoring-aware estimate, not 1/mean of the escaped few, flagged with
	// its censored fraction and bound.
	c.MaxSteps = 2000
	r3, err := Escape(context.Background(), run.Env{}, c)
	if err != nil {
		t.Fatal(err)
	}
	p := r3.Result.Points[0]
	if p.Censored == 0 || p.Escaped+p.Censored+p.Diverged != c.Runs || p.CensoredFrac != float64(p.Censored)/float64(c.Runs) {
		t.Fatalf("censored %d escaped %d fraction %v", p.Censored, p.Escaped, p.CensoredFrac)
	}
	if p.Escaped > 0 {
		naive := 1 / float64(p.MeanExit)
		if !(float64(p.Kappa) < naive) || p.Status != StatusCensored || !(float64(p.KappaUpper) > float64(p.Kappa)) {
			t.Errorf("censoring-aware κ %v (status %s, bound %v) not below the naive 1/mean %v of the escaped runs", p.Kappa, p.Status, p.KappaUpper, naive)
		}
	} else if !math.IsNaN(float64(p.Kappa)) {
		t.Errorf("no escape but κ = %v", p.Kappa)
	}
	if !math.IsNaN(float64(p.KSp)) {
		t.Error("KS p-value reported despite censoring")
	}
}

// A point where no run escapes within maxsteps is a result: status
// "slower", κ null with a reason, and the bound 3.0/T on κ (T the total
// time at risk, η·maxsteps per run) — not a failure.
func TestEveryRunCensoredIsABound(t *testing.T) {
	c := PaperEscape("quick")
	c.Betas, c.Runs, c.Grid, c.MaxSteps = []float64{9, 10}, 20, 501, 50
	r, err := Escape(context.Background(), run.Env{}, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Result.Points {
		want := -math.Log(0.05) / (float64(c.Runs) * p.Eta * float64(c.MaxSteps))
		if p.Status != StatusSlower || p.Censored != c.Runs || p.CensoredFrac != 1 || !math.IsNaN(float64(p.Kappa)) ||
			math.Abs(float64(p.KappaUpper)/want-1) > 1e-9 || p.KappaCI[0] != 0 || p.KappaCI[1] != p.KappaUpper {
			t.Errorf("β = %g: %+v; want status slower, κ null, bound %v", p.Beta, p, want)
		}
		if !strings.Contains(p.Reasons["kappa"], "slower") {
			t.Errorf("β = %g: reason %q", p.Beta, p.Reasons["kappa"])
		}
		if !strings.Contains(p.KappaText(), "<") {
			t.Errorf("table shows %q for a censored point", p.KappaText())
		}
	}
	if !math.IsNaN(float64(r.Result.SlopeFit)) || r.Result.Reasons["slope_fit"] == "" {
		t.Errorf("slope %v with reason %q", r.Result.SlopeFit, r.Result.Reasons["slope_fit"])
	}
}

func TestRejectsBadInput(t *testing.T) {
	base := PaperEscape("quick")
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"beta zero", func(c *Config) { c.Betas = []float64{1, 0} }, "β"},
		{"beta negative", func(c *Config) { c.Betas = []float64{-1} }, "β"},
		{"beta NaN", func(c *Config) { c.Betas = []float64{math.NaN()} }, "β"},
		{"beta Inf", func(c *Config) { c.Betas = []float64{math.Inf(1)} }, "β"},
		{"no beta", func(c *Config) { c.Betas = nil }, "β"},
		{"runs", func(c *Config) { c.Runs = 0 }, "runs"},
		{"n", func(c *Config) { c.Helix.Dim = 0 }, "n"},
		{"B", func(c *Config) { c.B = 0 }, "batch"},
		{"B>N", func(c *Config) { c.B = 5000 }, "batch"},
		{"N huge", func(c *Config) { c.Helix.N = 1 << 40 }, "memory"},
		{"sigma NaN", func(c *Config) { c.Helix.Sigma = math.NaN() }, "σ"},
		{"sampling", func(c *Config) { c.Sampling = "bogus" }, "sampling"},
		{"dynamics", func(c *Config) { c.Dynamics = "heun" }, "dynamics"},
		{"gauss n>1", func(c *Config) { c.Dynamics = Gauss; c.Helix.Dim = 2 }, "n = 1"},
	}
	for _, tc := range cases {
		c := base
		c.Betas = append([]float64(nil), base.Betas...)
		tc.mod(&c)
		_, err := Escape(context.Background(), run.Env{}, c)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v (want one line mentioning %q)", tc.name, err, tc.want)
		}
	}
	// A data set with no barrier: a steep pitch leaves one minimum only.
	c := base
	c.Helix.C = 3
	_, err := Escape(context.Background(), run.Env{}, c)
	if err == nil || !strings.Contains(err.Error(), "no saddle") {
		t.Errorf("no-barrier data set: %v", err)
	}
}

// TestSGDLoopAgainstReference replays the fast loops' mini-batches (the
// same stream through a fresh Batcher) in a plain reference (fresh sincos
// each step, per-sample gradients from the model's definition) and compares
// the final θ₁.
func TestSGDLoopAgainstReference(t *testing.T) {
	for _, n := range []int{1, 3} {
		for _, sampling := range []string{IID, Epoch} {
			d, ls := draw(t, n)
			const B, steps = 3, 20000
			eta := 1 / (6 * ls.HStar) * B
			e := &ensemble{d: d, eta: eta, b: B, lo: -1e9, hi: 1e9, start: d.Theta(ls.ThetaStar), sampling: minibatch.Sampling(sampling), dynamics: SGD, index: 2}
			w, err := e.Walker(11, 7)
			if err != nil {
				t.Fatal(err)
			}
			// Two stretches, as dynamics.Simulate hands them over.
			k1, abs1, div1 := w.(*walker).Advance(steps / 2)
			k2, abs2, div2 := w.(*walker).Advance(steps / 2)
			got := w.(*walker).th[0]
			src := rng.NewFast(7, rng.BarrierRun, rng.BarrierIndex(2, 11))
			bt, _ := minibatch.NewFast(d.N, B, minibatch.Sampling(sampling), &src)
			th := append([]float64(nil), e.start...)
			for k := 0; k < steps; k++ {
				g := make([]float64, n)
				for _, mu := range bt.Next() {
					z := d.Z[int(mu)*d.D : (int(mu)+1)*d.D]
					f := d.R*math.Cos(th[0])*z[0] + d.R*math.Sin(th[0])*z[1] + d.C*th[0]*z[2]
					for i := 1; i < n; i++ {
						f += th[i] * z[2+i]
					}
					res := f + z[d.D-1]
					g[0] += res * (-d.R*math.Sin(th[0])*z[0] + d.R*math.Cos(th[0])*z[1] + d.C*z[2])
					for i := 1; i < n; i++ {
						g[i] += res * z[2+i]
					}
				}
				for i := range th {
					th[i] -= eta / B * g[i]
				}
			}
			if math.Abs(got-th[0]) > 1e-8*(1+math.Abs(th[0])) || k1+k2 != steps || abs1 || abs2 || div1 || div2 {
				t.Errorf("n=%d %s: fast loop θ₁ = %.15g after %d steps, reference %.15g", n, sampling, got, k1+k2, th[0])
			}
		}
	}
}

func TestFinishedBetasAreCachedPieces(t *testing.T) {
	dir := t.TempDir()
	c := PaperEscape("quick")
	c.Betas, c.Runs, c.Grid = []float64{5, 6}, 30, 501
	env := run.Env{Cache: run.Cache{Dir: dir}}
	r1, err := Escape(context.Background(), env, c)
	if err != nil {
		t.Fatal(err)
	}
	// Remove the whole result: the rerun must rebuild it from the per-β pieces.
	whole, _ := filepath.Glob(filepath.Join(dir, "barrier_escape", "*.json"))
	if len(whole) != 1 {
		t.Fatalf("expected one whole-result entry, found %v", whole)
	}
	if err := os.Remove(whole[0]); err != nil {
		t.Fatal(err)
	}
	pieces, _ := filepath.Glob(filepath.Join(dir, "barrier_escape-point", "*.json"))
	if len(pieces) != 2 {
		t.Fatalf("expected two per-β pieces, found %d", len(pieces))
	}
	r2, err := Escape(context.Background(), env, c)
	if err != nil {
		t.Fatal(err)
	}
	if r2.FromCache || r2.Result.StepsPerSec != 0 {
		t.Errorf("the rerun simulated again (steps/s %v)", r2.Result.StepsPerSec)
	}
	for i := range r1.Result.Points {
		if r1.Result.Points[i].Kappa != r2.Result.Points[i].Kappa || r1.Result.Points[i].Steps != r2.Result.Points[i].Steps {
			t.Errorf("point %d differs after resuming", i)
		}
	}
}

// Every run diverged: no rate (null with a reason), status "diverged",
// never κ = 0 [0, 0]; a mix of escapes, censoring and divergence counts
// each and takes κ from the escapes over the non-diverged runs' time.
func TestSummariseDivergedAndMixed(t *testing.T) {
	p := Point{Beta: 7, Eta: 0.1}
	summarise(&p, []outcome{{T: 1, Steps: 10, Diverged: true}, {T: 2, Steps: 20, Diverged: true}}, 100)
	if p.Status != StatusDiverged || p.Diverged != 2 || !math.IsNaN(float64(p.Kappa)) || !math.IsNaN(float64(p.KappaCI[0])) || p.Reasons["kappa"] == "" || p.Steps != 30 {
		t.Errorf("all diverged: %+v", p)
	}
	p = Point{Beta: 7, Eta: 0.1}
	summarise(&p, []outcome{{T: 1, Escaped: true, High: true}, {T: 3, Escaped: true}, {T: 10}, {T: 5, Diverged: true}}, 100)
	if p.Status != StatusCensored || p.Escaped != 2 || p.Censored != 1 || p.Diverged != 1 || p.ExitHigh != 1 || p.ExitLow != 1 ||
		float64(p.Kappa) != 2.0/14 || p.CensoredFrac != 0.25 || float64(p.MeanExit) != 2 || len(p.Reasons) != 0 {
		t.Errorf("mixed: %+v", p)
	}
}

// The 1-D grid, the slow phase of a fine grid on a large data set, reports
// its progress.
func TestGridReportsProgress(t *testing.T) {
	c := PaperEscape("quick")
	c.Grid = 1001
	var mu sync.Mutex
	var notes []string
	last := 0
	_, _, _, err := Prepare(context.Background(), c, 2, func(done, total int, note string) {
		mu.Lock()
		defer mu.Unlock()
		notes, last = append(notes, note), done
		if total != 16 {
			t.Errorf("total %d, want 16 chunks of 64 points", total)
		}
	})
	if err != nil || len(notes) == 0 || !strings.Contains(notes[0], "1-D grid of 1001 points") || last != 16 {
		t.Errorf("progress %v (last %d), %v", notes, last, err)
	}
}

// Settings that cannot give a result are refused by Validate (hence before
// any work, by every front end): a β whose ηh* = B/β overflows, a worst case
// of days of steps, and the laboratory's own checks.
func TestValidateRefusesBeforeWork(t *testing.T) {
	for _, c := range []struct {
		mod  func(*LabConfig)
		want string
	}{
		{func(c *LabConfig) { c.Betas = []float64{1e-320} }, "beta = 1e-320"},
		{func(c *LabConfig) { c.Betas = []float64{1e-16} }, "jump out"},
		{func(c *LabConfig) { c.MaxSteps = 1e12 }, "maxsteps"},
		{func(c *LabConfig) { c.B = c.Helix.N }, "B = 1000 must be smaller than N = 1000"},
		{func(c *LabConfig) { c.Model = "mlp" }, "model"},
		{func(c *LabConfig) { c.Bs = []int{1, 2, 1} }, "listed twice"},
		{func(c *LabConfig) { c.Ns = []int{1, 2000} }, "n = 2000"},
		{func(c *LabConfig) { c.Dynamics = GLD }, "dynamics"},
		{func(c *LabConfig) { c.GLDBetas = nil }, "gld-beta"},
		{func(c *LabConfig) { c.BetaFix = math.Inf(1) }, "beta-fix"},
	} {
		cfg := PaperLab("quick")
		c.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v (want one line mentioning %q)", err, c.want)
		}
		if _, err := Lab(context.Background(), run.Env{}, cfg); !run.IsBadInput(err) {
			t.Errorf("Lab: %v is not an input error", err)
		}
	}
	if err := PaperLab("paper").Validate(); err != nil {
		t.Error(err)
	}
}

// The laboratory runs every part once, keyed by name, B and n (never by
// position): each part equals the Escape of its own configuration, and the
// curves span the search and escape intervals.
func TestLabPartsAreKeyed(t *testing.T) {
	c := PaperLab("quick")
	c.Betas, c.Runs, c.Grid, c.BetaFix, c.Bs, c.Ns, c.GLDBetas, c.GLDRuns = []float64{5, 6}, 8, 501, 5, []int{2, 1}, []int{2, 1}, []float64{3}, 5
	r, err := Lab(context.Background(), run.Env{}, c)
	if err != nil {
		t.Fatal(err)
	}
	l := r.Result
	if l.SGD.Sampling != Epoch || l.IID.Sampling != IID || l.Gauss.Dynamics != Gauss || l.GLD.Dynamics != GLD || len(l.GLD.Points) != 1 {
		t.Errorf("parts: %s %s %s %s", l.SGD.Sampling, l.IID.Sampling, l.Gauss.Dynamics, l.GLD.Dynamics)
	}
	if fmt.Sprint(l.Bs()) != "[1 2]" || fmt.Sprint(l.Ns()) != "[1 2]" || l.AtB[2].B != 2 || l.AtN[2].Landscape.N != 2 || l.AtB[1].Points[0].Beta != 5 {
		t.Errorf("B and n parts: %v %v", l.Bs(), l.Ns())
	}
	alone := c.Config
	alone.B, alone.Betas = 2, []float64{5}
	e, err := Escape(context.Background(), run.Env{}, alone)
	if err != nil || e.Result.Points[0].Kappa != l.AtB[2].Points[0].Kappa {
		t.Errorf("B = 2 part %v, its own Escape %v (%v)", l.AtB[2].Points[0].Kappa, e.Result.Points[0].Kappa, err)
	}
	cv := l.Curves
	if len(cv.Theta) != 2001 || cv.Theta[0] != c.Helix.SearchLo || len(cv.X) != 51 || cv.X[0] != l.SGD.Landscape.A || len(cv.W) != 51 || len(cv.C) != 51 {
		t.Errorf("curves: %d θ from %v, %d x from %v", len(cv.Theta), cv.Theta[0], len(cv.X), cv.X[0])
	}
	// W rises from θ* to its maximum at the saddle: ΔW of the points.
	top := math.Inf(-1)
	ls := l.SGD.Landscape
	for i, w := range cv.W {
		if (cv.X[i]-ls.ThetaStar)*(ls.ThetaSaddle-ls.ThetaStar) > 0 { // on the saddle's side
			top = math.Max(top, float64(w))
		}
	}
	if dw := float64(l.SGD.Points[0].DeltaW); math.Abs(top/dw-1) > 0.01 {
		t.Errorf("max W %v on the curve, ΔW %v", top, dw)
	}
	var b strings.Builder
	if err := l.WriteText(&b); err != nil || strings.Count(b.String(), "== ") != 8 {
		t.Errorf("text: %v\n%s", err, b.String())
	}
}
