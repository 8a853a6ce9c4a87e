package train_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/hessian"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/noise"
	"github.com/sgdescape/sgdescape/pkg/spectrum"
	"github.com/sgdescape/sgdescape/pkg/train"
)

// Cross-backend agreement: the same seed on SimpleGo (pure Go, im2col
// convolutions) and on XLA's CPU runtime (its own convolution and gradient,
// fused kernels, other summation orders) gives the same numbers to float32
// tolerance.
//
// Tolerances and why. Both backends compute in float32 (unit roundoff
// u = 6·10⁻⁸). A reduction over k terms in a different order differs by up to
// ~k·u relatively; the widest reductions here have a few hundred terms, so a
// single evaluation (loss, gradient, per-sample norms, spectra) agrees to
// ~10⁻⁵ relative: checked at relTol1 = 1e-4. Along an SGD trajectory these
// differences are propagated by the Jacobian of the update map, which for a
// stable learning rate (η·λ_max < 2) does not amplify them by more than a
// modest factor over a few hundred steps: losses along the trajectory are
// checked at relTolTraj = 1e-3 and parameters at absTolState = 1e-4 (their
// scale is ~0.1–1). The state tolerance is looser than a single evaluation
// because the differences accumulate over 320 steps; it would be meaningless
// for a chaotic run (η near the stability edge), which these configurations
// are not.
const (
	relTol1     = 1e-4
	relTolTraj  = 1e-3
	absTolState = 1e-4
)

func bothBackends(t *testing.T) (simple, xla backends.Backend) {
	t.Helper()
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	if !backend.IsXLA() {
		t.Skipf("cross-backend agreement needs XLA (backend is %s): build with -tags xla and run `make setup`", backend.Name())
	}
	sg, err := backend.SimpleGo()
	if err != nil {
		t.Fatal(err)
	}
	return sg, be
}

func relClose(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1e-30, math.Max(math.Abs(a), math.Abs(b)))
}

func synth(arch model.Arch, n int, seed uint64) (x, y []float32) {
	rng := rand.New(rand.NewPCG(seed, 7))
	x = make([]float32, n*arch.InputSize())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y = make([]float32, n*arch.Outputs)
	for i := 0; i < n; i++ {
		if arch.Outputs == 1 {
			y[i] = float32(math.Tanh(float64(x[i*arch.InputSize()] - x[i*arch.InputSize()+1])))
		} else {
			y[i*arch.Outputs+rng.IntN(arch.Outputs)] = 1
		}
	}
	return x, y
}

func TestCrossBackendTraining(t *testing.T) {
	sg, xla := bothBackends(t)
	mlp, _ := model.MLP(12, []int{16, 16}, 1)
	cnn, _ := model.CNN(8, 8, 2, []int{4, 6}, 1, 3)
	for _, c := range []struct {
		arch model.Arch
		cfg  train.Config
	}{
		{mlp, train.Config{Loss: model.MSE, Eta: 0.05, B: 4, Seed: 11, StepsPerExec: 8}},
		{cnn, train.Config{Loss: model.CE, Eta: 0.05, B: 4, Seed: 12, StepsPerExec: 8}},
	} {
		t.Run(c.arch.Name+"/"+c.cfg.Loss, func(t *testing.T) {
			const n, epochs = 64, 20 // 16 steps per epoch, 320 steps
			x, y := synth(c.arch, n, c.cfg.Seed)
			a, err := train.New(sg, c.arch, c.cfg, x, y, n)
			if err != nil {
				t.Fatal(err)
			}
			b, err := train.New(xla, c.arch, c.cfg, x, y, n)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			var first, last float64
			for e := 0; e < epochs; e++ {
				la, err := a.RunEpoch()
				if err != nil {
					t.Fatal(err)
				}
				lb, err := b.RunEpoch()
				if err != nil {
					t.Fatal(err)
				}
				worst = math.Max(worst, math.Abs(la-lb)/math.Abs(la))
				if !relClose(la, lb, relTolTraj) {
					t.Fatalf("epoch %d: mean mini-batch loss %v (SimpleGo) vs %v (XLA)", e, la, lb)
				}
				if e == 0 {
					first = la
				}
				last = la
			}
			if !(last < 0.8*first) {
				t.Errorf("training did not progress (%v → %v): the comparison would be vacuous", first, last)
			}
			dmax := 0.0
			for i := range a.Params() {
				pa := tensors.MustCopyFlatData[float32](a.Params()[i])
				pb := tensors.MustCopyFlatData[float32](b.Params()[i])
				for j := range pa {
					dmax = math.Max(dmax, math.Abs(float64(pa[j]-pb[j])))
				}
			}
			t.Logf("%d steps: loss %.4g → %.4g; worst relative loss difference %.2g, worst parameter difference %.2g", epochs*n/c.cfg.B, first, last, worst, dmax)
			if dmax > absTolState {
				t.Errorf("parameters after %d steps differ by %v > %v", epochs*n/c.cfg.B, dmax, absTolState)
			}
		})
	}
}

func TestCrossBackendGradientsNormsSpectra(t *testing.T) {
	sg, xla := bothBackends(t)
	mlp, _ := model.MLP(12, []int{16, 16}, 1)
	cnn, _ := model.CNN(8, 8, 2, []int{4, 6}, 1, 1)
	for _, arch := range []model.Arch{mlp, cnn} {
		t.Run(arch.Name, func(t *testing.T) {
			const n = 48
			x, y := synth(arch, n, 5)
			// GoMLX tensors attach to the backend that first used them: one copy each.
			ps, px := arch.Init(9), arch.Init(9)
			// Per-sample gradients (rows) and their norms.
			ra, err := noise.Rows(sg, arch, model.MSE, noise.LossGradient, ps, x, y, n)
			if err != nil {
				t.Fatal(err)
			}
			rb, err := noise.Rows(xla, arch, model.MSE, noise.LossGradient, px, x, y, n)
			if err != nil {
				t.Fatal(err)
			}
			_, P := ra.Dims()
			scale := 0.0
			for mu := 0; mu < n; mu++ {
				for j := 0; j < P; j++ {
					scale = math.Max(scale, math.Abs(ra.At(mu, j)))
				}
			}
			for mu := 0; mu < n; mu++ {
				na, nb := 0.0, 0.0
				for j := 0; j < P; j++ {
					if d := math.Abs(ra.At(mu, j) - rb.At(mu, j)); d > relTol1*scale {
						t.Fatalf("∂ℓ_%d/∂θ_%d: %v (SimpleGo) vs %v (XLA)", mu, j, ra.At(mu, j), rb.At(mu, j))
					}
					na += ra.At(mu, j) * ra.At(mu, j)
					nb += rb.At(mu, j) * rb.At(mu, j)
				}
				if !relClose(na, nb, relTol1) {
					t.Fatalf("|∇ℓ_%d|²: %v vs %v", mu, na, nb)
				}
			}
			// Loss, full gradient, mean per-sample norm, noise 𝒩, Jacobian norms.
			ea, _ := noise.NewEvaluator(sg, arch, model.MSE, true)
			eb, _ := noise.NewEvaluator(xla, arch, model.MSE, true)
			sa, err := ea.Stats(ps, x, y, n)
			if err != nil {
				t.Fatal(err)
			}
			sb, err := eb.Stats(px, x, y, n)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []struct {
				name string
				a, b float64
			}{{"L", sa.Loss, sb.Loss}, {"|∇L|²", sa.GradNorm2, sb.GradNorm2}, {"mean |∇ℓ|²", sa.MeanGrad2, sb.MeanGrad2},
				{"𝒩", sa.Noise, sb.Noise}, {"mean |∇f|²", sa.MeanJac2, sb.MeanJac2}} {
				if !relClose(q.a, q.b, relTol1) {
					t.Errorf("%s: %v (SimpleGo) vs %v (XLA)", q.name, q.a, q.b)
				}
			}
			// Spectra: the Gauss-Newton spectrum (dense) and the top Hessian
			// eigenvalues by Lanczos on exact Hessian-vector products.
			route := hessian.RouteGram
			if len(arch.Input) == 3 {
				route = hessian.RouteP // the N×N route is for dense networks
			}
			ga, err := hessian.GaussNewton(sg, arch, ps, x, n, route)
			if err != nil {
				t.Fatal(err)
			}
			gb, err := hessian.GaussNewton(xla, arch, px, x, n, route)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 5; i++ {
				if !relClose(ga.Eigenvalues[i], gb.Eigenvalues[i], relTol1) {
					t.Errorf("Gauss-Newton eigenvalue %d: %v vs %v", i, ga.Eigenvalues[i], gb.Eigenvalues[i])
				}
			}
			if len(arch.Input) == 3 {
				// SimpleGo cannot take second derivatives through the im2col
				// convolution (its gradient needs Pad), so Hessian-vector
				// products of CNNs run on XLA only.
				t.Logf("L %.6g/%.6g, 𝒩 %.6g/%.6g, λ_GN %.6g/%.6g", sa.Loss, sb.Loss, sa.Noise, sb.Noise, ga.Eigenvalues[0], gb.Eigenvalues[0])
				return
			}
			ha, err := hessian.NewHVP(sg, arch, model.MSE, ps, x, y, n)
			if err != nil {
				t.Fatal(err)
			}
			hb, err := hessian.NewHVP(xla, arch, model.MSE, px, x, y, n)
			if err != nil {
				t.Fatal(err)
			}
			ka, err := spectrum.TopK(ha, 3, 30, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			kb, err := spectrum.TopK(hb, 3, 30, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			for i := range ka {
				// Lanczos amplifies operator differences by at most the gap
				// ratio; the top eigenvalues are well separated here.
				if !relClose(ka[i], kb[i], 10*relTol1) {
					t.Errorf("Hessian eigenvalue %d: %v vs %v", i, ka[i], kb[i])
				}
			}
			t.Logf("L %.6g/%.6g, 𝒩 %.6g/%.6g, λ_GN %.6g/%.6g, λ_H %.6g/%.6g", sa.Loss, sb.Loss, sa.Noise, sb.Noise, ga.Eigenvalues[0], gb.Eigenvalues[0], ka[0], kb[0])
		})
	}
}
