package network

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/minibatch"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/noise"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/train"
)

// naive is SGD on the shallow network written out directly: forward of every
// sample for the loss, gradients by hand, no incremental pre-activations.
func naive(net Shallow, x, y []float64, n int, eta float64, batches [][]int32) []float64 {
	d, h := net.D, net.H
	w1 := append([]float64(nil), net.W1...)
	b1 := append([]float64(nil), net.B1...)
	w2 := append([]float64(nil), net.W2...)
	b2 := net.B2
	fwd := func(mu int) (float64, []float64) {
		a := append([]float64(nil), b1...)
		for i := 0; i < d; i++ {
			for j := 0; j < h; j++ {
				a[j] += x[mu*d+i] * w1[i*h+j]
			}
		}
		f := b2
		for j := range a {
			if a[j] > 0 {
				f += w2[j] * a[j]
			}
		}
		return f, a
	}
	var losses []float64
	for _, batch := range batches {
		gw1 := make([]float64, d*h)
		gb1 := make([]float64, h)
		gw2 := make([]float64, h)
		gb2 := 0.0
		for _, mu := range batch {
			f, a := fwd(int(mu))
			r := f - y[mu]
			gb2 += r
			for j := range a {
				if a[j] > 0 {
					gw2[j] += r * a[j]
					gb1[j] += r * w2[j]
					for i := 0; i < d; i++ {
						gw1[i*h+j] += r * w2[j] * x[int(mu)*d+i]
					}
				}
			}
		}
		s := eta / float64(len(batch))
		for i := range w1 {
			w1[i] -= s * gw1[i]
		}
		for j := range b1 {
			b1[j] -= s * gb1[j]
			w2[j] -= s * gw2[j]
		}
		b2 -= s * gb2
		l := 0.0
		for mu := 0; mu < n; mu++ {
			f, _ := fwd(mu)
			l += (f - y[mu]) * (f - y[mu])
		}
		losses = append(losses, l/(2*float64(n)))
	}
	return losses
}

func TestContinuationMatchesNaiveSGD(t *testing.T) {
	fakeMNIST(t, 50)
	spec := DataSpec{Set: "mnist", N: 50, Targets: EvenOdd}
	ds, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := model.MLP(ds.D(), []int{5}, 1)
	ps := a.Init(4)
	net, err := ShallowFromParams(a, ps)
	if err != nil {
		t.Fatal(err)
	}
	for _, B := range []int{1, 3} {
		c, err := NewContinuation(net, ds.X, ds.Y, ds.N(), 0.05, B)
		if err != nil {
			t.Fatal(err)
		}
		c.RefreshEvery = 7 // exercise the exact refresh too
		const steps = 40
		got := map[int64]float64{}
		var mu sync.Mutex
		_, _, err = c.Run(context.Background(), 1, 9, steps, 1, func(_ int, s int64, _, l float64) bool {
			mu.Lock()
			got[s] = l
			mu.Unlock()
			return false
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		bt, _ := minibatch.New(ds.N(), B, dynamics.RunRNG(9, 0))
		var batches [][]int32
		for i := 0; i < steps; i++ {
			batches = append(batches, append([]int32(nil), bt.Next()...))
		}
		want := naive(net, c.X, c.Y, ds.N(), 0.05, batches)
		for i, w := range want {
			if g := got[int64(i+1)]; math.Abs(g-w) > 1e-9*w {
				t.Fatalf("B=%d step %d: engine loss %v, naive SGD %v", B, i+1, g, w)
			}
		}
	}
}

// One step of the engine against GoMLX autodiff of the mini-batch loss.
func TestContinuationGradientMatchesAutodiff(t *testing.T) {
	fakeMNIST(t, 20)
	ds, _ := DataSpec{Set: "mnist", N: 20, Targets: EvenOdd}.Load()
	a, _ := model.MLP(ds.D(), []int{4}, 1)
	ps := a.Init(2)
	net, _ := ShallowFromParams(a, ps)
	c, _ := NewContinuation(net, ds.X, ds.Y, ds.N(), 0.1, 4)
	rep := c.newReplica()
	batch := []int32{3, 7, 11, 19}
	c.step(rep, batch, false)
	be, _ := backend.New()
	D := ds.D()
	var xb, yb []float32
	for _, mu := range batch {
		xb = append(xb, ds.X[int(mu)*D:(int(mu)+1)*D]...)
		yb = append(yb, ds.Y[mu])
	}
	rows, err := noise.Rows(be, a, model.MSE, noise.LossGradient, ps, xb, yb, len(batch))
	if err != nil {
		t.Fatal(err)
	}
	var theta []float64
	for _, p := range ps {
		for _, v := range tensors.MustCopyFlatData[float32](p) {
			theta = append(theta, float64(v))
		}
	}
	after := append(append(append(append([]float64(nil), rep.w1...), rep.b1...), rep.w2...), rep.b2)
	for j := range theta {
		g := 0.0
		for i := range batch {
			g += rows.At(i, j) / float64(len(batch))
		}
		if want := theta[j] - 0.1*g; math.Abs(after[j]-want) > 1e-5*(1+math.Abs(want)) {
			t.Fatalf("parameter %d after one step: engine %v, autodiff %v", j, after[j], want)
		}
	}
}

// The loss fused into a step's pass over the pre-activations is the loss
// computed after the step, to the bit, for B = 1 (its own loop) and B > 1.
func TestContinuationFusedLossIsLoss(t *testing.T) {
	fakeMNIST(t, 30)
	ds, _ := DataSpec{Set: "mnist", N: 30, Targets: EvenOdd}.Load()
	a, _ := model.MLP(ds.D(), []int{6}, 1)
	net, _ := ShallowFromParams(a, a.Init(3))
	for _, batch := range [][]int32{{5}, {2, 9, 29}} {
		c, _ := NewContinuation(net, ds.X, ds.Y, ds.N(), 0.2, len(batch))
		fused, plain := c.newReplica(), c.newReplica()
		for s := 0; s < 5; s++ {
			got := c.step(fused, batch, true)
			c.step(plain, batch, false)
			if want := c.loss(plain); got != want || got == 0 {
				t.Fatalf("B=%d step %d: fused loss %v, loss after the step %v", len(batch), s, got, want)
			}
		}
		for i := range fused.a1 {
			if fused.a1[i] != plain.a1[i] {
				t.Fatalf("B=%d: pre-activation %d differs: %v vs %v", len(batch), i, fused.a1[i], plain.a1[i])
			}
		}
	}
}

func TestFirstPassageSmall(t *testing.T) {
	fakeMNIST(t, 60)
	be, _ := backend.New()
	cache := run.Cache{Dir: t.TempDir()}
	pre := PretrainConfig{
		Run: RunSpec{Data: DataSpec{Set: "mnist", N: 60, Targets: EvenOdd}, Arch: ArchSpec{Kind: "mlp", Widths: []int{4}},
			Train: train.Config{Loss: model.MSE, Eta: 0.1, B: 10, Seed: 1}},
		Epochs: 5000, UntilStationary: true, CheckEvery: 20, Window: 5, Tol: 0.05,
	}
	cfg := FirstPassageConfig{Pretrain: pre, Eta: 0.05, B: 1, Runs: 12, C: []float64{1.3, 1.6, 2}, MaxSteps: 50000, Every: 1, Seed: 3,
		Boot: 50, FreeRuns: 2, FreeSteps: 200}
	r, err := FirstPassage(context.Background(), run.Env{Backend: be, BackendName: "test", Cache: cache}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := r.Result
	if !res.Pretrained.Stationary || res.LStar <= 0 || res.HStar <= 0 || len(res.Estimators) != 4 || len(res.Free.T) == 0 {
		t.Fatalf("incomplete result: %+v", res)
	}
	if math.IsNaN(res.Fit.LogLog.Slope) || math.IsNaN(res.ImpliedN) {
		t.Errorf("no slope: %+v", res.Fit.LogLog)
	}
	// The implied n makes the theory slope equal the fit.
	phi := 1 + float64(cfg.B)/(cfg.Eta*res.HStar)
	if math.Abs(phi-res.ImpliedN/2-res.Fit.LogLog.Slope) > 1e-9*math.Abs(phi) {
		t.Errorf("implied n %v does not reproduce slope %v", res.ImpliedN, res.Fit.LogLog.Slope)
	}
	again, err := FirstPassage(context.Background(), run.Env{Backend: be, BackendName: "test", Cache: cache}, cfg)
	if err != nil || !again.FromCache {
		t.Errorf("second call not cached: %v", err)
	}
	// A pre-training cut short is refused.
	short := cfg
	short.Pretrain.Epochs, short.Pretrain.UntilStationary, short.Pretrain.Tol = 20, false, 1e-9
	if _, err := FirstPassage(context.Background(), run.Env{Backend: be, BackendName: "test", Cache: cache}, short); err == nil || !strings.Contains(err.Error(), "not converged") {
		t.Errorf("non-stationary θ* accepted: %v", err)
	}
	// Censored is data: runs stopped after one step pass no threshold; the
	// result says so, with the slope and the implied n undefined.
	censored := cfg
	censored.MaxSteps = 1
	cr, err := FirstPassage(context.Background(), run.Env{Backend: be, BackendName: "test", Cache: cache}, censored)
	if err != nil || !cr.Result.SlowerThanBudget || cr.Result.Undetermined == "" || !math.IsNaN(cr.Result.ImpliedN) || len(cr.Result.Estimators) != 4 {
		t.Errorf("censored: %v %+v", err, cr.Result)
	}
	bad := cfg
	bad.C = []float64{0.9}
	if _, err := FirstPassage(context.Background(), run.Env{Backend: be, BackendName: "test", Cache: cache}, bad); err == nil {
		t.Error("c ≤ 1 accepted")
	}
}

func TestStationarityCriterion(t *testing.T) {
	mk := func(v ...float64) []LossPoint {
		var h []LossPoint
		for i, x := range v {
			h = append(h, LossPoint{i, x})
		}
		return h
	}
	// Clearly falling: 10 % lower, tiny spread.
	d, se, ok := windowDrift(mk(1, 1.01, 0.99, 0.9, 0.91, 0.89), 3)
	if !ok || !stillFalling(d, se, 0.02) {
		t.Errorf("falling loss judged stationary: drift %v se %v", d, se)
	}
	// Flat but noisy: 3 % lower with a spread of ±10 %.
	d, se, _ = windowDrift(mk(1.1, 0.9, 1.0, 0.87, 1.07, 0.97), 3)
	if stillFalling(d, se, 0.02) {
		t.Errorf("noisy flat loss judged falling: drift %v se %v", d, se)
	}
	// Below tolerance: stationary whatever the noise.
	d, se, _ = windowDrift(mk(1, 1, 1, 0.99, 0.99, 0.99), 3)
	if stillFalling(d, se, 0.02) {
		t.Errorf("1 %% decrease with tolerance 2 %% judged falling")
	}
	if _, _, ok := windowDrift(mk(1, 2, 3), 2); ok {
		t.Error("three checks cannot make two windows of two")
	}
}

// Minimum shares the pre-training and spectrum cache of FirstPassage; its exact
// Hessian (Lanczos and Hutchinson from one stream) is reproducible and its
// trace agrees with the sum of the exact eigenvalues' scale.
func TestMinimumSharesTheCacheAndExactHessian(t *testing.T) {
	fakeMNIST(t, 60)
	be, _ := backend.New()
	env := run.Env{Backend: be, BackendName: "test", Cache: run.Cache{Dir: t.TempDir()}}
	pre := PretrainConfig{
		Run: RunSpec{Data: DataSpec{Set: "mnist", N: 60, Targets: EvenOdd}, Arch: ArchSpec{Kind: "mlp", Widths: []int{4}},
			Train: train.Config{Loss: model.MSE, Eta: 0.1, B: 10, Seed: 1}},
		Epochs: 40, CheckEvery: 20, Window: 2, Tol: 0.05,
	}
	ms, err := Spectrum(context.Background(), env, pre)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Minimum(context.Background(), env, MinimumConfig{Pretrain: pre, K: 3, Probes: 40})
	if err != nil {
		t.Fatal(err)
	}
	if m.Result.Spectrum.HStar != ms.Result.HStar || m.Result.Exact == nil || len(m.Result.Exact.Top) != 3 {
		t.Fatalf("minimum: %+v", m.Result.Exact)
	}
	top := m.Result.Exact.Top
	if !(top[0] >= top[1] && top[1] >= top[2]) || math.IsNaN(float64(m.Result.Exact.Trace)) {
		t.Errorf("exact Hessian: top %v, trace %v", top, m.Result.Exact.Trace)
	}
	ex, err := ExactHessian(context.Background(), env, ExactHessianConfig{Pretrain: pre, K: 3, Probes: 40})
	if err != nil || !ex.FromCache || ex.Result.Top[0] != top[0] {
		t.Errorf("ExactHessian does not share Minimum's cached result: %v %+v", err, ex)
	}
	fresh := env
	fresh.Cache = run.Cache{}
	again, err := ExactHessian(context.Background(), fresh, ExactHessianConfig{Pretrain: pre, K: 3, Probes: 40})
	if err != nil || math.Abs(again.Result.Top[0]-top[0]) > 1e-9*top[0] || again.Result.Trace != m.Result.Exact.Trace {
		t.Errorf("not reproducible: %v, %v vs %v", err, again.Result, m.Result.Exact)
	}
	if _, err := ExactHessian(context.Background(), env, ExactHessianConfig{Pretrain: pre, K: 100000}); err == nil {
		t.Error("k > P accepted")
	}
	if _, err := ExactHessian(context.Background(), env, ExactHessianConfig{Pretrain: pre}); err == nil {
		t.Error("nothing asked, accepted")
	}
}

func TestPresetsAreValid(t *testing.T) {
	for _, s := range []run.Scale{run.Quick, run.Paper} {
		for name, err := range map[string]error{
			"decoupling": PaperDecoupling(s).Validate(),
			"noise mlp":  PaperNoiseMLP(model.MSE, s).Validate(),
			"noise cnn":  PaperNoiseCNN(model.CE, s).Validate(),
			"pretrain":   PaperPretrain(s).Validate(),
			"escape":     PaperFirstPassage(s).Validate(),
			"minimum":    PaperMinimum(s).Validate(),
		} {
			if err != nil {
				t.Errorf("%s at %s scale: %v", name, s, err)
			}
		}
	}
	if q, p := PaperPretrain(run.Quick), PaperPretrain(run.Paper); q.Run.Data.N != 10000 || q.Epochs != 2750 || p.Run.Data.N != 10000 || p.Epochs != 2750 || p.CheckEvery != 25 {
		t.Errorf("pre-training presets: %+v / %+v", q, p)
	}
	if PaperFirstPassage(run.Quick).AllowNonStationary {
		t.Error("the quick escape preset must insist on a stationary θ* too")
	}
	if e := PaperFirstPassage(run.Paper); e.AllowNonStationary || e.Eta != 0.016 || e.Pretrain.Run.Arch.Widths[0] != 10 {
		t.Errorf("escape preset: %+v", e)
	}
}
