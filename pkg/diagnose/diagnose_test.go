package diagnose

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/noise"
	"github.com/sgdescape/sgdescape/pkg/onnxmodel"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// reference is what make_fixtures.py stores beside a fixture, computed once
// in PyTorch (float64).
type reference struct {
	Loss           string    `json:"loss_name"`
	N, P           int       `json:"-"`
	L              float64   `json:"L"`
	Accuracy       float64   `json:"accuracy"`
	PerSampleGrad2 []float64 `json:"per_sample_grad2"`
	MeanGrad2      float64   `json:"mean_grad2"`
	GradNorm2      float64   `json:"grad_norm2"`
	Noise          float64   `json:"noise"`
	HessianTop     []float64 `json:"hessian_top"`
	GaussNewtonTop []float64 `json:"gauss_newton_top"`
}

func readReference(t *testing.T, name string) reference {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "onnxmodel", "testdata", name+"_ref.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func testEnv(t testing.TB) run.Env {
	t.Helper()
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	return run.Env{Backend: be, BackendName: backend.Name()}
}

func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Max(math.Abs(want), 1e-12) }

// The PyTorch fixtures through Diagnose: L, the accuracy, every per-sample
// gradient norm, 𝒩 and the three top Hessian and Gauss–Newton eigenvalues
// equal the numbers torch.func and a dense Hessian gave in float64
// (make_fixtures.py), to the float32 rounding of the imported forward pass:
// relative 10⁻⁵ (|∇L|², a small difference of large sums, 10⁻⁴); the Ritz
// values after 30 Lanczos steps, with residuals below 10⁻³·λ1. (Measured:
// about 10⁻⁷ for the CNN, 10⁻⁶ for the MLP.)
func TestFixturesMatchPyTorch(t *testing.T) {
	env := testEnv(t)
	for _, name := range []string{FixtureMNIST, FixtureCIFAR} {
		t.Run(name, func(t *testing.T) {
			ref := readReference(t, name)
			cfg, err := Fixture(name)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Lanczos, cfg.TopK, cfg.DenseMax = 30, 5, 0
			res, err := Diagnose(context.Background(), env, cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := res.Result
			if cfg.Loss != ref.Loss {
				t.Fatalf("fixture loss %s, preset %s", ref.Loss, cfg.Loss)
			}
			for _, c := range []struct {
				what      string
				got, want float64
				tol       float64
			}{
				{"L", r.L, ref.L, 1e-5},
				{"accuracy", r.Accuracy, ref.Accuracy, 1e-12},
				{"mean |∇ℓ|²", r.Noise.MeanGrad2, ref.MeanGrad2, 1e-5},
				{"|∇L|²", r.Noise.GradNorm2, ref.GradNorm2, 1e-4},
				{"𝒩", r.Noise.Strength, ref.Noise, 1e-5},
			} {
				e := relErr(c.got, c.want)
				if e > c.tol {
					t.Errorf("%s = %.8g, PyTorch %.8g (relative error %.2g > %.0g)", c.what, c.got, c.want, e, c.tol)
				}
				t.Logf("%s = %.8g, PyTorch %.8g, relative error %.2g", c.what, c.got, c.want, e)
			}
			if len(r.Noise.PerSampleGrad2) != len(ref.PerSampleGrad2) {
				t.Fatalf("%d per-sample norms, PyTorch %d", len(r.Noise.PerSampleGrad2), len(ref.PerSampleGrad2))
			}
			worst := 0.0
			for i, v := range ref.PerSampleGrad2 {
				worst = math.Max(worst, math.Abs(r.Noise.PerSampleGrad2[i]-v)/math.Max(v, 1e-3*ref.MeanGrad2))
			}
			if worst > 1e-5 {
				t.Errorf("per-sample |∇ℓ_μ|² differ from torch.func by up to %.2g (relative)", worst)
			}
			t.Logf("per-sample |∇ℓ_μ|²: largest relative difference from torch.func %.2g", worst)
			for _, sp := range []struct {
				what string
				got  Ritz
				want []float64
			}{{"Hessian", r.Hessian, ref.HessianTop}, {"Gauss–Newton", r.GaussNewton, ref.GaussNewtonTop}} {
				for i := 0; i < 3; i++ {
					e := relErr(sp.got.Values[i], sp.want[i])
					t.Logf("%s λ%d: Lanczos %.8g (residual %.2g), dense PyTorch %.8g, relative error %.2g", sp.what, i+1, sp.got.Values[i], sp.got.Residuals[i], sp.want[i], e)
					if e > 1e-5 || sp.got.Residuals[i] > 1e-3*sp.want[0] {
						t.Errorf("%s eigenvalue %d: Lanczos %.8g (residual %.2g), dense PyTorch %.8g (relative error %.2g)",
							sp.what, i+1, sp.got.Values[i], sp.got.Residuals[i], sp.want[i], e)
					}
				}
			}
			t.Logf("%s: L = %.5g, 𝒩 = %.5g, h* = %.5g (%s), verdict %s: %s", name, r.L, r.Noise.Strength, r.HStar, r.Curvature, r.Stability.Verdict, r.Stability.Summary)
		})
	}
}

// The project's own 784-10-1 at a pre-trained minimum (pkg/network, a short
// pre-training on N = 1000 MNIST images), written to ONNX by
// onnxmodel.ExportMLP with its data and targets as .npy files, gives
// through Diagnose the same L, 𝒩, per-sample gradient norms, h* and
// estimators of n as the native path (noise.Evaluator and network.Spectrum
// on the session): to float32 rounding, relative 10⁻⁵ (the estimators
// 10⁻⁴, the count above λ1/10 exactly).
func TestNativeCrossCheck(t *testing.T) {
	env := testEnv(t)
	env.Cache = run.Cache{Dir: t.TempDir()}
	ctx := context.Background()
	pc := network.PaperPretrain(run.Quick)
	pc.Run.Data.N, pc.Epochs, pc.CheckEvery, pc.Window = 1000, 40, 20, 2
	sess, pre, err := network.PretrainSession(ctx, env, pc)
	if err != nil {
		var me *data.MissingError
		if errors.As(err, &me) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	ms, err := network.Spectrum(ctx, env, pc)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := noise.NewEvaluator(env.Backend, sess.Arch, model.MSE, true)
	if err != nil {
		t.Fatal(err)
	}
	n := sess.Data.N()
	st, err := ev.Stats(sess.Params(), sess.Data.X, sess.Data.Y, n)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := Defaults()
	cfg.Model, cfg.Data, cfg.Targets = filepath.Join(dir, "mlp.onnx"), filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	cfg.Eta, cfg.B = pc.Run.Train.Eta, pc.Run.Train.B
	if err := onnxmodel.ExportMLP(cfg.Model, sess.Arch, sess.Params()); err != nil {
		t.Fatal(err)
	}
	if err := data.WriteNPY(cfg.Data, []int{n, sess.Arch.InputSize()}, sess.Data.X); err != nil {
		t.Fatal(err)
	}
	if err := data.WriteNPY(cfg.Targets, []int{n}, sess.Data.Y); err != nil {
		t.Fatal(err)
	}
	res, err := Diagnose(ctx, env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := res.Result
	if r.DenseGN == nil || r.Curvature != CurvatureGN || r.Data.TargetKind != "scalar" {
		t.Fatalf("dense spectrum %v, curvature %s, targets %s", r.DenseGN != nil, r.Curvature, r.Data.TargetKind)
	}
	e, ne := r.Estimators, ms.Result.Estimators
	for _, c := range []struct {
		what      string
		got, want float64
		tol       float64
	}{
		{"L", r.L, st.Loss, 1e-5}, {"L*", r.L, pre.Result.LStar, 1e-5},
		{"𝒩", r.Noise.Strength, st.Noise, 1e-5}, {"Tr Σ", r.Noise.TraceSigma, st.TraceSigma(cfg.B), 1e-5},
		{"decoupled", float64(r.Noise.Decoupled), st.Decoupled, 1e-5},
		{"h*", r.HStar, ms.Result.HStar, 1e-5},
		{"trace ratio", e.TraceRatio, ne.TraceRatio, 1e-4}, {"participation", e.Participation, ne.Participation, 1e-4},
		{"entropy", e.Entropy, ne.Entropy, 1e-4}, {"count above λ1/10", float64(e.AboveTenth), float64(ne.AboveTenth), 0},
		{"Lanczos top GN", r.GaussNewton.Values[0], ms.Result.HStar, 1e-5},
		// Tr G from the per-sample Jacobian norms (noise) against the sum of the dense eigenvalues (hessian).
		{"trace ratio, exact trace", float64(r.TraceRatioExact), ne.TraceRatio, 1e-4},
	} {
		d := relErr(c.got, c.want)
		if d > c.tol {
			t.Errorf("%s: diagnose %.8g, native %.8g (relative %.2g > %.0g)", c.what, c.got, c.want, d, c.tol)
		}
		t.Logf("%s: diagnose %.8g, native %.8g, relative difference %.2g", c.what, c.got, c.want, d)
	}
	worst := 0.0
	for i, v := range st.PerSampleG2 {
		worst = math.Max(worst, math.Abs(r.Noise.PerSampleGrad2[i]-v)/math.Max(v, 1e-6*st.MeanGrad2))
	}
	if worst > 1e-4 {
		t.Errorf("per-sample |∇ℓ_μ|² differ by up to %.2g (relative)", worst)
	}
	t.Logf("784-10-1 at θ* (N = %d): per-sample norms agree to %.2g (relative); verdict %s: %s", n, worst, r.Stability.Verdict, r.Stability.Summary)
}
