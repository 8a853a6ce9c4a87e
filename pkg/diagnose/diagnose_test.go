package diagnose

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/backend"
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

func testEnv(t *testing.T) run.Env {
	t.Helper()
	be, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	return run.Env{Backend: be, BackendName: backend.Name()}
}

func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Max(math.Abs(want), 1e-12) }

// The PyTorch fixtures through Diagnose: L, the accuracy, every per-sample
// gradient norm, 𝒩 and the top Hessian and Gauss–Newton eigenvalues equal
// the numbers torch.func and a dense Hessian gave in float64 (make_fixtures.py),
// to float32 rounding of the forward pass (relative 10⁻⁴; the top Ritz
// values after enough Lanczos steps to converge, residuals checked).
func TestFixturesMatchPyTorch(t *testing.T) {
	env := testEnv(t)
	for _, name := range []string{FixtureMNIST, FixtureCIFAR} {
		t.Run(name, func(t *testing.T) {
			ref := readReference(t, name)
			cfg, err := Fixture(name)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Lanczos, cfg.TopK, cfg.DenseMax = 60, 5, 0
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
				{"mean |∇ℓ|²", r.Noise.MeanGrad2, ref.MeanGrad2, 1e-4},
				{"|∇L|²", r.Noise.GradNorm2, ref.GradNorm2, 1e-3},
				{"𝒩", r.Noise.Strength, ref.Noise, 1e-4},
			} {
				if e := relErr(c.got, c.want); e > c.tol {
					t.Errorf("%s = %.8g, PyTorch %.8g (relative error %.2g > %.0g)", c.what, c.got, c.want, e, c.tol)
				}
			}
			if len(r.Noise.PerSampleGrad2) != len(ref.PerSampleGrad2) {
				t.Fatalf("%d per-sample norms, PyTorch %d", len(r.Noise.PerSampleGrad2), len(ref.PerSampleGrad2))
			}
			worst := 0.0
			for i, v := range ref.PerSampleGrad2 {
				worst = math.Max(worst, math.Abs(r.Noise.PerSampleGrad2[i]-v)/math.Max(v, 1e-3*ref.MeanGrad2))
			}
			if worst > 1e-3 {
				t.Errorf("per-sample |∇ℓ_μ|² differ from torch.func by up to %.2g (relative)", worst)
			}
			for _, sp := range []struct {
				what string
				got  Ritz
				want []float64
			}{{"Hessian", r.Hessian, ref.HessianTop}, {"Gauss–Newton", r.GaussNewton, ref.GaussNewtonTop}} {
				for i := 0; i < 3; i++ {
					if e := relErr(sp.got.Values[i], sp.want[i]); e > 1e-4 || sp.got.Residuals[i] > 1e-3*sp.want[0] {
						t.Errorf("%s eigenvalue %d: Lanczos %.8g (residual %.2g), dense PyTorch %.8g (relative error %.2g)",
							sp.what, i+1, sp.got.Values[i], sp.got.Residuals[i], sp.want[i], e)
					}
				}
			}
			t.Logf("%s: L = %.5g, 𝒩 = %.5g, h* = %.5g (%s), verdict %s: %s", name, r.L, r.Noise.Strength, r.HStar, r.Curvature, r.Stability.Verdict, r.Stability.Summary)
		})
	}
}
