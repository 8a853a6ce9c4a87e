// Package diagnose is the paper's measurements on a user's own trained
// network, imported from ONNX (pkg/onnxmodel) with its inputs and targets
// (pkg/data): at the given weights and for a given learning rate η and
// batch size B, is the SGD noise proportional to the loss and aligned with
// the Hessian (Eq. 6, 8, 9), what are h* and the effective dimension n,
// is the minimum stable (n < n_c, Eq. 16), and how fast would SGD leave it
// (the escape rate of Eq. 15, with the Arrhenius rate of Eq. 5 beside it).
//
// Everything runs on the shared layers: noise.Evaluator for L, the
// accuracy, the per-sample gradient norms, 𝒩, Tr Σ and the decoupled
// prediction; hessian.NewHVP and spectrum.LanczosRitz for the top
// eigenvalues of the Hessian and of the Gauss–Newton matrix (Eq. 44, as
// Hessian-vector products of ½|f − f(θ)|²), hessian.GaussNewton for the
// dense Gauss–Newton spectrum when it is small enough; spectrum.Estimate
// for the estimators of n; theory for φ (Eq. 17), n_c (Eq. 16), the escape
// exponent and both rates; train for the optional SGD continuation.
package diagnose

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// Version is the code version of the diagnosis (part of its cache key).
const Version = "diagnose/v1"

// Curvature operators: the matrix whose top eigenvalue is h* and whose
// spectrum gives the estimators of n.
const (
	CurvatureAuto    = "auto"    // the Gauss–Newton matrix for the mean-square loss, the Hessian for cross-entropy
	CurvatureGN      = "gn"      // the Gauss–Newton matrix (1/N)Σ_μΣ_k ∇f_μk∇f_μkᵀ (Eq. 44), as the paper's appendix E
	CurvatureHessian = "hessian" // the Hessian of L
)

// Limits of the configuration (beyond them a run takes hours or memory the
// machine cannot have, without a better answer).
const (
	MaxLanczos  = 1000
	MaxDense    = 20000
	MaxContinue = 100_000_000
)

// Config is one diagnosis. The zero values of Lanczos, TopK and DenseMax
// are invalid; start from Defaults or a fixture preset and override.
type Config struct {
	// Model is the .onnx file (exported from PyTorch with
	// torch.onnx.export(..., dynamo=False) and a dynamic batch axis).
	Model string `json:"model"`
	// Data holds the inputs: .npy, .npz ("file.npz:name" for one array of
	// several) or .csv, one sample per row of the first axis, in the
	// model's input layout (or flat rows of the same size).
	Data string `json:"data"`
	// Targets, in the same formats: [N, K] rows (one-hot or real values),
	// or [N] class labels 0…K−1 (one-hot encoded here), or [N] real values
	// for a single-output model.
	Targets string `json:"targets"`
	// Loss is model.MSE (½|f − y|², Eq. 1) or model.CE (softmax cross-entropy).
	Loss string `json:"loss"`
	// Eta is the learning rate η > 0 and B the batch size, 1 ≤ B ≤ N.
	Eta float64 `json:"eta"`
	B   int     `json:"B"`
	// LossRatio is L(θˢ)/L(θ*) > 1, the height of the barrier as a ratio
	// of losses, at which the escape rates of Eq. 15 and Eq. 5 are given.
	LossRatio float64 `json:"loss_ratio"`
	// Lanczos is the number of Lanczos steps on each operator (Hessian and
	// Gauss–Newton), 1…MaxLanczos and at most P; TopK (1…Lanczos) Ritz
	// values are reported.
	Lanczos int `json:"lanczos_steps"`
	TopK    int `json:"top_k"`
	// DenseMax: the whole Gauss–Newton spectrum is computed (and the
	// estimators of n come from it, as in appendix E) when its dense
	// problem is at most DenseMax × DenseMax: N×N for a dense network with
	// one output and N < P, P×P otherwise; 0 never. 0…MaxDense.
	DenseMax int `json:"dense_max"`
	// Curvature picks the operator that gives h* and n: CurvatureGN or
	// CurvatureHessian; CurvatureAuto (or "") means the Gauss–Newton matrix for the
	// mean-square loss (the paper's choice) and the Hessian for
	// cross-entropy (whose Hessian is not Eq. 44).
	Curvature string `json:"curvature"`
	// Seed draws the Lanczos start vectors and the continuation's
	// mini-batches.
	Seed uint64 `json:"seed"`
	// ContinueSteps > 0 continues SGD from the imported weights with η and
	// B for about that many steps (whole epochs of ⌊N/B⌋ steps) and
	// measures 𝒩 against L after each epoch (Eq. 6: 𝒩 ∝ L); 0 skips it.
	ContinueSteps int `json:"continue_steps"`
}

// Defaults are the settings of a diagnosis apart from the files: the
// mean-square loss, η = 0.1, B = 32, a barrier of 5 × L (the middle of the
// paper's thresholds c = 2.5…6 of Fig. 3c), 20 Lanczos steps, the top 10
// eigenvalues, the dense Gauss–Newton spectrum up to dimension 3000, seed 1.
func Defaults() Config {
	return Config{Loss: model.MSE, Eta: 0.1, B: 32, LossRatio: 5, Lanczos: 20, TopK: 10, DenseMax: 3000, Curvature: CurvatureAuto, Seed: 1}
}

// Fixture files under pkg/onnxmodel/testdata (see make_fixtures.py there).
const (
	FixtureMNIST = "mlp_mnist"   // MLP on 256 MNIST images, mean-square loss
	FixtureCIFAR = "cnn_cifar10" // CNN on 160 CIFAR-10 images, cross-entropy
)

// Fixture returns the diagnosis of a committed PyTorch fixture with the
// η, B and loss it was trained with (the MLP: η = 0.5, B = 20, mean-square
// loss; the CNN: η = 0.05, B = 20, cross-entropy), other settings from
// Defaults. Paths are relative to the repository root (Diagnose finds
// them from any working directory inside the repository).
func Fixture(name string) (Config, error) {
	c := Defaults()
	switch name {
	case FixtureMNIST:
		c.Eta, c.B, c.Loss = 0.5, 20, model.MSE
	case FixtureCIFAR:
		c.Eta, c.B, c.Loss = 0.05, 20, model.CE
	default:
		return c, fmt.Errorf("diagnose: unknown fixture %q (known: %s, %s)", name, FixtureMNIST, FixtureCIFAR)
	}
	dir := filepath.Join("pkg", "onnxmodel", "testdata")
	c.Model = filepath.Join(dir, name+".onnx")
	c.Data = filepath.Join(dir, name+"_x.npy")
	c.Targets = filepath.Join(dir, name+"_y.npy")
	return c, nil
}

// PaperFixture is the registry's preset of `diagnose` and notebook 08's
// diagnosis: the committed PyTorch MLP on MNIST (FixtureMNIST) at the η and
// B it was trained with, continued for 2 400 SGD steps (200 epochs of its
// 256 images) to measure 𝒩 against L, at both scales (the fixture is small).
func PaperFixture(run.Scale) Config {
	c, _ := Fixture(FixtureMNIST)
	c.ContinueSteps = 2400
	return c
}

// Validate checks the settings that do not need the files; the rest (B ≤
// N, Lanczos ≤ P, the shapes) is checked when the files are read. Every
// error is an input error (run.IsBadInput).
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return run.BadInput(fmt.Errorf("diagnose: "+format, args...))
	}
	switch {
	case c.Model == "":
		return bad("no model: give the .onnx file")
	case c.Data == "":
		return bad("no inputs: give a .npy, .npz or .csv file of inputs")
	case c.Targets == "":
		return bad("no targets: give a .npy, .npz or .csv file of targets")
	case c.Loss != model.MSE && c.Loss != model.CE:
		return bad("unknown loss %q; use %q (mean square) or %q (cross-entropy)", c.Loss, model.MSE, model.CE)
	case !(c.Eta > 0) || math.IsInf(c.Eta, 0):
		return bad("the learning rate η must be a positive finite number, got %v", c.Eta)
	case c.B < 1:
		return bad("the batch size B must be ≥ 1, got %d", c.B)
	case !(c.LossRatio > 1) || math.IsInf(c.LossRatio, 0):
		return bad("the loss ratio L(θˢ)/L(θ*) must be a finite number > 1, got %v", c.LossRatio)
	case c.Lanczos < 1 || c.Lanczos > MaxLanczos:
		return bad("the number of Lanczos steps must be between 1 and %d, got %d", MaxLanczos, c.Lanczos)
	case c.TopK < 1 || c.TopK > c.Lanczos:
		return bad("the number of eigenvalues reported must be between 1 and the Lanczos steps (%d), got %d", c.Lanczos, c.TopK)
	case c.DenseMax < 0 || c.DenseMax > MaxDense:
		return bad("the largest dense spectrum must be between 0 (never) and %d, got %d", MaxDense, c.DenseMax)
	case c.Curvature != "" && c.Curvature != CurvatureAuto && c.Curvature != CurvatureGN && c.Curvature != CurvatureHessian:
		return bad("unknown curvature %q; use %q, %q or %q", c.Curvature, CurvatureAuto, CurvatureGN, CurvatureHessian)
	case c.ContinueSteps < 0 || c.ContinueSteps > MaxContinue:
		return bad("the continuation must be between 0 and %d SGD steps, got %d", MaxContinue, c.ContinueSteps)
	}
	return nil
}

// curvature resolves the default operator.
func (c Config) curvature() string {
	if c.Curvature != "" && c.Curvature != CurvatureAuto {
		return c.Curvature
	}
	if c.Loss == model.CE {
		return CurvatureHessian
	}
	return CurvatureGN
}

// inputErr marks err as an input error (run.BadInput: a file that is not
// ONNX, an unsupported operator, shapes that do not match, non-finite data,
// a model too large for the memory, a network without trainable weights),
// with the "diagnose: " prefix; the command line exits with status 2 on it.
func inputErr(err error) error {
	if err == nil || run.IsBadInput(err) {
		return err
	}
	return run.BadInput(fmt.Errorf("diagnose: %w", err))
}
