package diagnose

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph-building code reads best with dot import
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/hessian"
	"github.com/sgdescape/sgdescape/pkg/memcheck"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/noise"
	"github.com/sgdescape/sgdescape/pkg/onnxmodel"
	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/spectrum"
	"github.com/sgdescape/sgdescape/pkg/theory"
	"github.com/sgdescape/sgdescape/pkg/train"
)

// ConvRoute says how convolutions are differentiated (twice, for the
// Hessian-vector products): GoMLX v0.26 cannot differentiate its own
// convolution twice, so the adapter computes every convolution as
// im2col patches (model.PatchesMasked: one Gather and a padding mask) times
// the kernel matrix, which every backend differentiates twice.
const ConvRoute = "im2col: model.PatchesMasked (Gather + padding mask) times the kernel matrix, differentiable twice on every backend: exact Hessian-vector products"

// Result is the diagnosis of a network at its weights.
type Result struct {
	Model ModelInfo `json:"model"`
	Data  DataInfo  `json:"data"`
	// L is the full-batch loss (1/N)Σℓ_μ at the weights, Accuracy the share
	// of samples classified right (AccuracyRule: the argmax of the outputs
	// against the argmax of the targets, or for one output the sign).
	L            float64 `json:"L"`
	Accuracy     float64 `json:"accuracy"`
	AccuracyRule string  `json:"accuracy_rule"`
	Noise        Noise   `json:"noise"`
	// Hessian and GaussNewton are the top Ritz values of the Hessian of L
	// and of the Gauss–Newton matrix of Eq. 44, with their residuals.
	Hessian     Ritz `json:"hessian"`
	GaussNewton Ritz `json:"gauss_newton"`
	// DenseGN is the whole Gauss–Newton spectrum, when it is small enough (Config.DenseMax).
	DenseGN *hessian.GNSpectrum `json:"dense_gauss_newton,omitempty"`
	// Curvature names the operator that gives h* and n (see Config.Curvature).
	Curvature string `json:"curvature"`
	// HStar is h*, the largest eigenvalue of that operator.
	HStar float64 `json:"h_star"`
	// Estimators of n (appendix E) and the spectrum they come from.
	Estimators     spectrum.EffectiveDimension `json:"estimators"`
	EstimatorsFrom string                      `json:"estimators_from"`
	// TraceRatioExact is Tr G/λ₁ with the exact trace Tr G = (1/N)Σ|∇f_μ|²
	// of the Gauss–Newton matrix (NaN when h* is not its top eigenvalue).
	TraceRatioExact run.Float `json:"n_trace_ratio_exact"`
	Stability       Stability `json:"stability"`
	// Continuation is the optional SGD continuation (Config.ContinueSteps).
	Continuation *Continuation `json:"continuation,omitempty"`
	Notes        []string      `json:"notes"`
}

// ModelInfo describes the imported network.
type ModelInfo struct {
	Path      string            `json:"path"`
	SHA256    string            `json:"sha256"`
	Input     []int             `json:"input"`
	Outputs   int               `json:"outputs"`
	P         int               `json:"P"`
	Layers    []onnxmodel.Layer `json:"layers"`
	LastOp    string            `json:"last_op"`
	ConvRoute string            `json:"conv_route"` // "" without convolutions
	// Pools are the MaxPool nodes computed by the adapter (see onnxmodel.Model.Pools).
	Pools []string `json:"pools"`
}

// DataInfo describes the inputs and targets.
type DataInfo struct {
	N             int        `json:"N"`
	Inputs        data.Array `json:"inputs"`
	Targets       data.Array `json:"targets"`
	InputsSHA256  string     `json:"inputs_sha256"`
	TargetsSHA256 string     `json:"targets_sha256"`
	// TargetKind: "rows" ([N, K] as given), "labels" (one-hot encoded
	// here) or "scalar" (one output).
	TargetKind string `json:"target_kind"`
}

// Noise holds the noise measurements at the weights (section 3.1).
type Noise struct {
	// PerSampleGrad2 are |∇ℓ_μ|², in the order of the samples.
	PerSampleGrad2 []float64 `json:"per_sample_grad2"`
	// Grad2Quantiles are the 0, 10, 50, 90 and 100 % points of |∇ℓ_μ|².
	Grad2Quantiles []float64 `json:"grad2_quantiles"`
	MeanGrad2      float64   `json:"mean_grad2"` // (1/N)Σ|∇ℓ_μ|²
	GradNorm2      float64   `json:"grad_norm2"` // |∇L|²
	// Strength is 𝒩 = (1/N)Σ|∇ℓ_μ|² − |∇L|², and TraceSigma the exact
	// trace of the mini-batch noise covariance at batch size B,
	// (1/B)(N−B)/(N−1)·𝒩 (Eq. 8).
	Strength   float64 `json:"noise"`
	TraceSigma float64 `json:"trace_sigma"`
	// TraceGN is (1/N)Σ_μ|∇f_μ|² (summed over outputs), the trace of the
	// Gauss–Newton matrix of Eq. 44.
	TraceGN float64 `json:"trace_gauss_newton"`
	// Decoupled is the decoupled prediction 2L·(1/N)Σ|∇f_μ|² of 𝒩 (Eq. 9,
	// per output: Σ_k mean (f_k − y_k)² · mean |∇f_k|²), and Ratio =
	// 𝒩/Decoupled; both NaN (null) for cross-entropy.
	Decoupled run.Float `json:"decoupled"`
	Ratio     run.Float `json:"noise_over_decoupled"`
	// PerLoss is 𝒩/L; Eq. 6 says it stays constant near a minimum (see
	// the continuation).
	PerLoss float64 `json:"noise_over_L"`
}

// Ritz holds the top Ritz values of Lanczos on an operator, decreasing,
// with their residual norms |A·y − θ·y| (an eigenvalue lies within the
// residual of each Ritz value); Converged counts those whose residual is
// below 10⁻³·|θ₁|.
type Ritz struct {
	Values    []float64 `json:"values"`
	Residuals []float64 `json:"residuals"`
	Steps     int       `json:"steps"`
	Converged int       `json:"converged"`
}

// Stability holds the paper's predictions at (η, B, h*) for every estimator
// of n.
type Stability struct {
	Eta         float64 `json:"eta"`
	B           int     `json:"B"`
	LossRatio   float64 `json:"loss_ratio"`
	Temperature float64 `json:"temperature"` // ηh*/B
	Phi         float64 `json:"phi"`         // φ = 1 + B/(ηh*) (Eq. 17)
	NC          float64 `json:"n_c"`         // n_c = 2(1 + B/(ηh*)) (Eq. 16)
	// GLDDiffusion is the D = ηL h*/B of the Arrhenius rate beside Eq. 15.
	GLDDiffusion float64   `json:"gld_D"`
	Estimators   []Verdict `json:"estimators"`
	// Verdict is "stable" (n < n_c by every estimator), "unstable" (by
	// every estimator), "ambiguous" (the estimators disagree) or "not a
	// minimum" (h* ≤ 0 or L = 0: the theory does not apply).
	Verdict string `json:"verdict"`
	Summary string `json:"summary"`
}

// Verdict is the stability and escape prediction for one estimate of n.
type Verdict struct {
	Estimator string  `json:"estimator"`
	N         float64 `json:"n"`
	// Exponent is B/(ηh*) + 1 − n/2, the power of the loss ratio in Eq. 15
	// (κ ∝ ratio^−Exponent); Stable is n < n_c and Margin = n_c − n.
	Exponent float64 `json:"exponent"`
	Stable   bool    `json:"stable"`
	Margin   float64 `json:"margin"`
	// Rates at the loss ratio (time t = η·steps): ln κ of Eq. 15 and of
	// the Arrhenius law (Eq. 5), finite where κ itself underflows.
	LnKappaPowerLaw  float64 `json:"ln_kappa_powerlaw"`
	LnKappaArrhenius float64 `json:"ln_kappa_arrhenius"`
}

// Continuation is SGD continued from the imported weights: the loss and
// noise strength after every epoch, and the log–log slope of 𝒩 against L
// (Eq. 6 predicts 1) with its 95 % bootstrap interval.
type Continuation struct {
	Epochs   int          `json:"epochs"`
	Steps    int          `json:"steps"`
	Points   []Point      `json:"points"`
	Slope    run.Float    `json:"slope"`
	SlopeCI  run.Interval `json:"slope_ci"`
	Diverged bool         `json:"diverged"`
}

// Point is one measurement of the continuation.
type Point struct {
	Step  int     `json:"step"`
	L     float64 `json:"L"`
	Noise float64 `json:"noise"`
}

// keyed is what the cache key is made of: the configuration and the
// contents of the three files.
type keyed struct {
	Config        Config `json:"config"`
	ModelSHA256   string `json:"model_sha256"`
	InputsSHA256  string `json:"inputs_sha256"`
	TargetsSHA256 string `json:"targets_sha256"`
}

// locate returns the path to open for p: p itself when it exists (relative
// to the working directory), else p under the repository root when it is
// there (the fixtures' paths are relative to the root, so presets and
// records do not depend on where the repository is), else p.
func locate(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	if _, err := os.Stat(filePart(p)); err == nil {
		return p
	}
	if root, ok := run.RepoRoot(); ok {
		if _, err := os.Stat(filepath.Join(root, filePart(p))); err == nil {
			return filepath.Join(root, p)
		}
	}
	return p
}

// filePart strips an .npz member name ("data.npz:x" → "data.npz").
func filePart(p string) string {
	if i := strings.LastIndex(p, ".npz:"); i >= 0 {
		return p[:i+4]
	}
	return p
}

// Diagnose measures the network of cfg.Model at its weights on cfg.Data
// and cfg.Targets (see Result), cached by the configuration and the
// contents of the files. Errors caused by the files or settings are input
// errors (run.IsBadInput), one line each.
func Diagnose(ctx context.Context, env run.Env, cfg Config) (run.Result[Result], error) {
	if err := cfg.Validate(); err != nil {
		return run.Result[Result]{}, err
	}
	if env.Backend == nil {
		return run.Result[Result]{}, fmt.Errorf("diagnose: no GoMLX backend in the environment (use backend.NewEnv)")
	}
	k := keyed{Config: cfg}
	for _, f := range []struct {
		path string
		dst  *string
		what string
	}{{cfg.Model, &k.ModelSHA256, "model"}, {filePart(cfg.Data), &k.InputsSHA256, "inputs"}, {filePart(cfg.Targets), &k.TargetsSHA256, "targets"}} {
		h, err := data.FileSHA256(locate(f.path))
		if err != nil {
			return run.Result[Result]{}, run.BadInput(fmt.Errorf("diagnose: cannot read the %s file %s: %v", f.what, f.path, oneLine(err)))
		}
		*f.dst = h
	}
	return run.Checked(ctx, env, "", "diagnose", Version, k, cfg.Seed, func(ctx context.Context, env run.Env) (Result, error) {
		return diagnose(ctx, env, cfg, k)
	})
}

// Validate lets the key go through run.Checked (the configuration was
// validated before the files were hashed).
func (k keyed) Validate() error { return k.Config.Validate() }

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

// problem is a session of the diagnosis: the model, the data and the backend.
type problem struct {
	be     backends.Backend
	m      *onnxmodel.Model
	arch   model.Arch
	params []*tensors.Tensor
	x, y   []float32
	n      int
	cfg    Config
	kind   string
	xs, ys *data.Array
}

func diagnose(ctx context.Context, env run.Env, cfg Config, k keyed) (Result, error) {
	var res Result
	progress := env.Progress
	progress.Report(0, 5, "reading the model and the data")
	p, err := load(cfg)
	if err != nil {
		return res, err
	}
	m := p.m
	res.Model = ModelInfo{Path: cfg.Model, SHA256: k.ModelSHA256, Input: m.Input, Outputs: m.Outputs, P: m.P, Layers: m.Layers, LastOp: m.LastOp, Pools: m.Pools}
	for _, l := range m.Layers {
		if l.Op == onnxmodel.OpConv {
			res.Model.ConvRoute = ConvRoute
		}
	}
	p.be = env.Backend
	res.Data.N = p.n
	res.Data.InputsSHA256, res.Data.TargetsSHA256 = k.InputsSHA256, k.TargetsSHA256
	if err := p.readData(&res.Data); err != nil {
		return res, err
	}
	if err := p.checkMemory(); err != nil {
		return res, err
	}
	if m.LastOp == "Softmax" || m.LastOp == "LogSoftmax" {
		res.Notes = append(res.Notes, fmt.Sprintf("the network ends in %s: its outputs are probabilities, not logits", m.LastOp))
	}

	// L, accuracy, per-sample gradient norms, 𝒩, Tr Σ, decoupled prediction.
	if err := ctx.Err(); err != nil {
		return res, err
	}
	progress.Report(1, 5, "per-sample gradients")
	ev, err := noise.NewEvaluator(p.be, p.arch, cfg.Loss, true)
	if err != nil {
		return res, err
	}
	st, err := ev.Stats(p.params, p.x, p.y, p.n)
	if err != nil {
		if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) || math.IsNaN(st.Noise) {
			return res, inputErr(fmt.Errorf("the loss is not finite at the imported weights (L = %v); check the weights, the inputs' scale and the targets", st.Loss))
		}
		return res, err
	}
	res.L, res.Accuracy = st.Loss, st.Accuracy
	res.AccuracyRule = "argmax"
	if m.Outputs == 1 {
		res.AccuracyRule = "sign"
	}
	res.Noise = noiseOf(st, cfg)

	// Spectra.
	hvp, err := hessian.NewHVP(p.be, p.arch, cfg.Loss, p.params, p.x, p.y, p.n)
	if err != nil {
		return res, err
	}
	progress.Report(2, 5, fmt.Sprintf("Lanczos on the Hessian (%d steps)", cfg.Lanczos))
	if res.Hessian, err = ritz(ctx, hvp, cfg, rng.Indexed(cfg.Seed, rng.DiagnoseLanczos, 0), progress, "Hessian"); err != nil {
		return res, err
	}
	f, err := outputs(p.be, p.arch, p.params, p.x, p.n)
	if err != nil {
		return res, err
	}
	// The Gauss–Newton matrix (1/N)Σ_μΣ_k ∇f_μk∇f_μkᵀ is the Hessian of
	// (1/N)Σ_μ ½|f_μ(θ) − f_μ(θ₀)|² at θ = θ₀, where the residual vanishes.
	gn, err := hessian.NewHVP(p.be, p.arch, model.MSE, p.params, p.x, f, p.n)
	if err != nil {
		return res, err
	}
	progress.Report(3, 5, fmt.Sprintf("Lanczos on the Gauss–Newton matrix (%d steps)", cfg.Lanczos))
	if res.GaussNewton, err = ritz(ctx, gn, cfg, rng.Indexed(cfg.Seed, rng.DiagnoseLanczos, 1), progress, "Gauss–Newton"); err != nil {
		return res, err
	}
	if dim := denseDim(p.arch, p.n); cfg.DenseMax > 0 && dim <= cfg.DenseMax {
		progress.Report(4, 5, "dense Gauss–Newton spectrum")
		d, err := hessian.GaussNewton(p.be, p.arch, p.params, p.x, p.n, "")
		if err != nil {
			return res, err
		}
		res.DenseGN = &d
	}

	// h*, n and the paper's predictions.
	res.Curvature = cfg.curvature()
	res.TraceRatioExact = run.Float(math.NaN())
	switch {
	case res.Curvature == CurvatureGN && res.DenseGN != nil:
		res.HStar = res.DenseGN.Eigenvalues[0]
		res.Estimators, err = spectrum.Estimate(res.DenseGN.Eigenvalues)
		res.EstimatorsFrom = fmt.Sprintf("the whole Gauss–Newton spectrum (dense, %s route, %d eigenvalues)", res.DenseGN.Route, len(res.DenseGN.Eigenvalues))
	case res.Curvature == CurvatureGN:
		res.HStar = res.GaussNewton.Values[0]
		res.Estimators, err = spectrum.Estimate(converged(res.GaussNewton))
		res.EstimatorsFrom = fmt.Sprintf("the %d converged Gauss–Newton Ritz values only (the spectrum is larger than dense_max): lower bounds of the trace ratio and participation", res.GaussNewton.Converged)
	default:
		res.HStar = res.Hessian.Values[0]
		res.Estimators, err = spectrum.Estimate(converged(res.Hessian))
		res.EstimatorsFrom = fmt.Sprintf("the %d converged Hessian Ritz values only: lower bounds of the trace ratio and participation", res.Hessian.Converged)
	}
	if err != nil {
		res.Notes = append(res.Notes, "no estimator of n: "+err.Error())
	}
	if res.Curvature == CurvatureGN && res.HStar > 0 {
		res.TraceRatioExact = run.Float(res.Noise.TraceGN / res.HStar)
	}
	res.Stability = stability(res, cfg)

	if cfg.ContinueSteps > 0 {
		progress.Report(4, 5, "SGD continuation")
		c, err := p.continuation(ctx, progress)
		if err != nil {
			return res, err
		}
		res.Continuation = c
	}
	progress.Report(5, 5, "done")
	if res.Notes == nil {
		res.Notes = []string{}
	}
	return res, nil
}

// denseDim is the dimension of the dense Gauss–Newton problem that
// hessian.GaussNewton solves: N×N (Gram route) for a dense single-output
// network with N < P, P×P otherwise.
func denseDim(a model.Arch, n int) int {
	p := a.NumParams()
	if a.Outputs == 1 && a.DenseOnly() && n < p {
		return n
	}
	return p
}

// load reads the files and checks that they fit together.
func load(cfg Config) (*problem, error) {
	xs, err := data.ReadArray(locate(cfg.Data))
	if err != nil {
		return nil, inputErr(fmt.Errorf("inputs: %w", err))
	}
	if err := xs.CheckFinite(); err != nil {
		return nil, inputErr(fmt.Errorf("inputs: %w", err))
	}
	ys, err := data.ReadArray(locate(cfg.Targets))
	if err != nil {
		return nil, inputErr(fmt.Errorf("targets: %w", err))
	}
	if err := ys.CheckFinite(); err != nil {
		return nil, inputErr(fmt.Errorf("targets: %w", err))
	}
	if xs.N() != ys.N() {
		return nil, inputErr(fmt.Errorf("%d input samples but %d targets; give one target row per sample", xs.N(), ys.N()))
	}
	n := xs.N()
	if n < 2 {
		return nil, inputErr(fmt.Errorf("%d samples; the noise needs at least 2", n))
	}
	if cfg.B >= n {
		return nil, inputErr(fmt.Errorf("batch size B = %d is not below the N = %d samples: B = N is gradient descent, with no SGD noise (Tr Σ = 0), so the noise, n_c and the escape rate are not defined; give B < N", cfg.B, n))
	}
	sample := xs.SampleShape()
	if len(sample) == 0 {
		sample = []int{1}
	}
	m, err := onnxmodel.Load(locate(cfg.Model), sample)
	if err != nil {
		return nil, inputErr(err)
	}
	if cfg.Lanczos > m.P {
		return nil, inputErr(fmt.Errorf("%d Lanczos steps exceed the P = %d parameters of the model; ask for at most %d", cfg.Lanczos, m.P, m.P))
	}
	if cfg.Loss == model.CE && (m.LastOp == "Softmax" || m.LastOp == "LogSoftmax") {
		return nil, inputErr(fmt.Errorf("the network ends in %s, but cross-entropy here takes logits (it applies log-softmax itself); export the model without its final %s", m.LastOp, m.LastOp))
	}
	y, kind, err := targets(ys, n, m.Outputs, cfg.Loss)
	if err != nil {
		return nil, inputErr(err)
	}
	p := &problem{m: m, arch: m.Arch(), params: m.Weights(), x: xs.Data, y: y, n: n, cfg: cfg}
	p.kind = kind
	p.xs, p.ys = xs, ys
	return p, nil
}

// targets turns the target array into [N, K] rows for the loss.
func targets(ys *data.Array, n, K int, loss string) ([]float32, string, error) {
	if loss == model.CE && K < 2 {
		return nil, "", fmt.Errorf("cross-entropy needs a model with at least 2 outputs; this one has %d (use -loss mse)", K)
	}
	per := ys.SampleSize()
	switch {
	case per == K && len(ys.SampleShape()) <= 1 && !(K == 1 && loss == model.CE):
		if loss == model.CE {
			for i := 0; i < n; i++ {
				s := 0.0
				for k := 0; k < K; k++ {
					v := float64(ys.Data[i*K+k])
					if v < 0 {
						return nil, "", fmt.Errorf("targets: row %d has the negative value %v; cross-entropy needs one-hot or probability rows", i, v)
					}
					s += v
				}
				if math.Abs(s-1) > 1e-3 {
					return nil, "", fmt.Errorf("targets: row %d sums to %v; cross-entropy needs one-hot or probability rows (or class labels 0…%d)", i, s, K-1)
				}
			}
		}
		if K == 1 {
			return ys.Data, "scalar", nil
		}
		return ys.Data, "rows", nil
	case per == 1 && K > 1:
		y := make([]float32, n*K)
		for i := 0; i < n; i++ {
			v := ys.Data[i]
			if v != float32(math.Trunc(float64(v))) || v < 0 || int(v) >= K {
				return nil, "", fmt.Errorf("targets: sample %d has the label %v; one value per sample is read as a class label 0…%d for the model's %d outputs", i, v, K-1, K)
			}
			y[i*K+int(v)] = 1
		}
		return y, "labels", nil
	}
	return nil, "", fmt.Errorf("targets of shape %v do not match the model's %d outputs; give [N, %d] rows or [N] class labels", ys.Shape, K, K)
}

// readData fills the data description.
func (p *problem) readData(d *DataInfo) error {
	d.Inputs, d.Targets = *p.xs, *p.ys
	d.Inputs.Data, d.Targets.Data = nil, nil
	d.TargetKind = p.kind
	return nil
}

// checkMemory refuses, before allocating, a diagnosis whose Hessian-vector
// products (float64 copies of the data, two operators), Lanczos vectors
// and working buffers exceed the memory.
func (p *problem) checkMemory() error {
	D, K, P := float64(p.m.InputSize()), float64(p.m.Outputs), float64(p.m.P)
	need := 2*float64(p.n)*(D+K)*8 + float64(p.cfg.Lanczos+6)*P*8 + 4*float64(noise.MemoryBudget)
	return inputErr(memcheck.Check(need, "diagnose: the Hessian-vector products and Lanczos vectors of this model and data", "the number of samples N or the Lanczos steps"))
}

// noiseOf turns the evaluator's statistics into Noise.
func noiseOf(st noise.Stats, cfg Config) Noise {
	nz := Noise{PerSampleGrad2: st.PerSampleG2, MeanGrad2: st.MeanGrad2, GradNorm2: st.GradNorm2, Strength: st.Noise,
		TraceSigma: st.TraceSigma(cfg.B), TraceGN: st.MeanJac2, Decoupled: run.Float(math.NaN()), Ratio: run.Float(math.NaN())}
	for _, q := range []float64{0, 0.1, 0.5, 0.9, 1} {
		nz.Grad2Quantiles = append(nz.Grad2Quantiles, estimate.Percentile(st.PerSampleG2, q))
	}
	if cfg.Loss == model.MSE {
		nz.Decoupled = run.Float(st.Decoupled)
		if st.Decoupled > 0 {
			nz.Ratio = run.Float(st.Noise / st.Decoupled)
		}
	}
	if st.Loss > 0 {
		nz.PerLoss = st.Noise / st.Loss
	}
	return nz
}

// countingOp reports Lanczos progress and honours cancellation.
type countingOp struct {
	spectrum.Operator
	ctx         context.Context
	done, total int
	progress    run.Progress
	what        string
}

func (c *countingOp) Apply(v, out []float64) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	c.done++
	c.progress.Report(c.done, c.total, fmt.Sprintf("Lanczos on the %s: step %d of %d", c.what, c.done, c.total))
	return c.Operator.Apply(v, out)
}

// ritz runs Lanczos and keeps the top TopK Ritz values with their residuals.
func ritz(ctx context.Context, op spectrum.Operator, cfg Config, r *rand.Rand, progress run.Progress, what string) (Ritz, error) {
	c := &countingOp{Operator: op, ctx: ctx, total: cfg.Lanczos, progress: progress, what: what}
	rz, err := spectrum.LanczosRitz(c, cfg.Lanczos, nil, r)
	if err != nil {
		if ctx.Err() != nil {
			return Ritz{}, ctx.Err()
		}
		return Ritz{}, fmt.Errorf("diagnose: Lanczos on the %s: %w", what, err)
	}
	k := min(cfg.TopK, len(rz.Values))
	out := Ritz{Values: rz.Values[:k], Residuals: rz.Residuals[:k], Steps: len(rz.Values)}
	tol := 1e-3 * math.Abs(rz.Values[0])
	for _, e := range out.Residuals {
		if e <= tol {
			out.Converged++
		}
	}
	return out, nil
}

// converged returns the Ritz values whose residual is below 10⁻³·|θ₁|.
func converged(r Ritz) []float64 {
	var out []float64
	tol := 1e-3 * math.Abs(r.Values[0])
	for i, v := range r.Values {
		if r.Residuals[i] <= tol {
			out = append(out, v)
		}
	}
	return out
}

// outputs evaluates f(θ) [n, K] in chunks.
func outputs(be backends.Backend, a model.Arch, params []*tensors.Tensor, x []float32, n int) ([]float32, error) {
	np := len(params)
	exec, err := NewExec(be, func(in []*Node) *Node {
		f, err := a.Apply(in[:np], in[np])
		if err != nil {
			panic(err)
		}
		return f
	})
	if err != nil {
		return nil, err
	}
	D, K := a.InputSize(), a.Outputs
	out := make([]float32, 0, n*K)
	chunk := noise.ChunkSize(a, 2048)
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		args := make([]any, 0, np+1)
		for _, p := range params {
			args = append(args, p)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(x[lo*D:hi*D], hi-lo, D))
		res, err := exec.Exec(args...)
		if err != nil {
			return nil, err
		}
		out = append(out, tensors.MustCopyFlatData[float32](res[0])...)
	}
	return out, nil
}

// estimatorNames are the estimators of n, in the order of pkg/network's
// escape experiment.
func estimatorValues(e spectrum.EffectiveDimension, exact run.Float) []struct {
	name string
	n    float64
} {
	out := []struct {
		name string
		n    float64
	}{{"trace ratio Σλ/λ1", e.TraceRatio}, {"participation (Σλ)²/Σλ²", e.Participation}, {"entropy exp(−Σw ln w)", e.Entropy}, {"count above λ1/10", float64(e.AboveTenth)}}
	if !math.IsNaN(float64(exact)) {
		out = append(out, struct {
			name string
			n    float64
		}{"trace ratio with the exact trace Tr G/λ1", float64(exact)})
	}
	return out
}

// stability evaluates the paper's closed forms (pkg/theory) for every
// estimator of n.
func stability(res Result, cfg Config) Stability {
	s := Stability{Eta: cfg.Eta, B: cfg.B, LossRatio: cfg.LossRatio, Estimators: []Verdict{}}
	sgd := theory.SGD{Eta: cfg.Eta, B: float64(cfg.B), HStar: res.HStar}
	if !(res.HStar > 0) || !(res.L > 0) || res.Estimators.TraceRatio == 0 {
		s.Verdict = "not a minimum"
		switch {
		case !(res.HStar > 0):
			s.Summary = fmt.Sprintf("h* = %.4g ≤ 0: the weights are not at a minimum, and the stability criterion (Eq. 16) and the escape rate (Eq. 15) do not apply.", res.HStar)
		case !(res.L > 0):
			s.Summary = "L = 0 at these weights: the escape rate of Eq. 15, a power of the loss ratio, is not defined."
		default:
			s.Summary = "no estimate of the effective dimension n: the stability criterion (Eq. 16) cannot be evaluated."
		}
		return s
	}
	s.Temperature, _ = theory.Temperature(sgd)
	s.Phi, _ = theory.Phi(sgd)
	s.NC, _ = theory.CriticalDim(sgd)
	s.GLDDiffusion, _ = theory.GLDDiffusion(sgd, res.L)
	stable, unstable := 0, 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, e := range estimatorValues(res.Estimators, res.TraceRatioExact) {
		n := math.Max(e.n, 1)
		sum, err := theory.Summarize(sgd, theory.Barrier{LStar: res.L, LSaddle: cfg.LossRatio * res.L, N: n})
		if err != nil {
			continue
		}
		v := Verdict{Estimator: e.name, N: e.n, Exponent: sum.Exponent, Stable: sum.Stable, Margin: sum.NC - n,
			LnKappaPowerLaw: sum.LogKappaPowerLaw, LnKappaArrhenius: sum.LogKappaArrhenius}
		s.Estimators = append(s.Estimators, v)
		if v.Stable {
			stable++
		} else {
			unstable++
		}
		lo, hi = math.Min(lo, e.n), math.Max(hi, e.n)
	}
	switch {
	case unstable == 0:
		s.Verdict = "stable"
		s.Summary = fmt.Sprintf("Stable: every estimate of n (%.3g to %.3g) is below n_c = 2(1 + B/(ηh*)) = %.3g (Eq. 16) at η = %g, B = %d, h* = %.4g; SGD stays near these weights, and leaves over a barrier of %g × L at a rate ∝ %g^−%.3g (Eq. 15) rather than the Arrhenius law.",
			lo, hi, s.NC, cfg.Eta, cfg.B, res.HStar, cfg.LossRatio, cfg.LossRatio, s.Estimators[0].Exponent)
	case stable == 0:
		s.Verdict = "unstable"
		s.Summary = fmt.Sprintf("Unstable: every estimate of n (%.3g to %.3g) reaches n_c = 2(1 + B/(ηh*)) = %.3g (Eq. 16) at η = %g, B = %d, h* = %.4g; SGD with these settings leaves this minimum (a smaller η or a larger B raises n_c).",
			lo, hi, s.NC, cfg.Eta, cfg.B, res.HStar)
	default:
		s.Verdict = "ambiguous"
		s.Summary = fmt.Sprintf("Ambiguous: the estimates of n (%.3g to %.3g) fall on both sides of n_c = 2(1 + B/(ηh*)) = %.3g (Eq. 16) at η = %g, B = %d, h* = %.4g; %d of %d say stable.",
			lo, hi, s.NC, cfg.Eta, cfg.B, res.HStar, stable, stable+unstable)
	}
	if sgd.GradientDescentUnstable() {
		// Outside the small-step limit the paper's formulas assume: even
		// gradient descent, without noise, leaves along the top direction.
		s.Verdict = "unstable"
		s.Summary = fmt.Sprintf("Unstable for gradient descent itself: ηh* = %.3g ≥ 2 at η = %g, h* = %.4g, so every step overshoots along the top Hessian direction (|1 − ηh*| ≥ 1) whatever B; Eq. 16's n_c = %.3g and Eq. 15 assume ηh* ≪ 2 and do not apply. Lower η below 2/h* = %.3g.",
			cfg.Eta*res.HStar, cfg.Eta, res.HStar, s.NC, 2/res.HStar)
	}
	return s
}

// continuation continues SGD from the imported weights for whole epochs
// and measures L and 𝒩 after each.
func (p *problem) continuation(ctx context.Context, progress run.Progress) (*Continuation, error) {
	cfg := p.cfg
	per := p.n / cfg.B
	epochs := max(1, (cfg.ContinueSteps+per-1)/per)
	tr, err := train.New(p.be, p.arch, train.Config{Loss: cfg.Loss, Eta: cfg.Eta, B: cfg.B, Seed: cfg.Seed}, p.x, p.y, p.n)
	if err != nil {
		return nil, err
	}
	start := make([]*tensors.Tensor, len(p.params))
	for i, t := range p.params {
		start[i] = tensors.FromFlatDataAndDimensions(tensors.MustCopyFlatData[float32](t), t.Shape().Dimensions...)
	}
	if err := tr.SetState(start, 0); err != nil {
		return nil, err
	}
	ev, err := noise.NewEvaluator(p.be, p.arch, cfg.Loss, false)
	if err != nil {
		return nil, err
	}
	c := &Continuation{Epochs: epochs, Slope: run.Float(math.NaN()), SlopeCI: run.NewInterval(math.NaN(), math.NaN())}
	measure := func(step int) error {
		st, err := ev.Stats(tr.Params(), p.x, p.y, p.n)
		if err != nil {
			return err
		}
		c.Points = append(c.Points, Point{Step: step, L: st.Loss, Noise: st.Noise})
		return nil
	}
	if err := measure(0); err != nil {
		return nil, err
	}
	for e := 1; e <= epochs; e++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := tr.RunEpoch(); err != nil {
			if errors.Is(err, train.ErrDiverged) {
				c.Diverged = true
				break
			}
			return nil, err
		}
		c.Steps = e * per
		if err := measure(c.Steps); err != nil {
			if strings.Contains(err.Error(), "not finite") {
				c.Diverged = true
				break
			}
			return nil, err
		}
		progress.Report(e, epochs, fmt.Sprintf("SGD continuation: epoch %d of %d, L = %.4g", e, epochs, c.Points[len(c.Points)-1].L))
	}
	if len(c.Points) >= 3 && !c.Diverged {
		x, y := make([]float64, len(c.Points)), make([]float64, len(c.Points))
		for i, pt := range c.Points {
			x[i], y[i] = pt.L, pt.Noise
		}
		s, ci, err := estimate.LogLogSlope(x, y, 200, rng.Indexed(cfg.Seed, rng.DiagnoseLanczos, 2))
		if err == nil {
			c.Slope, c.SlopeCI = run.Float(s), ci
		}
	}
	return c, nil
}
