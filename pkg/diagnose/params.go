package diagnose

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/param"
)

// Declare declares the diagnosis's parameters (pkg/param): the flags of
// the command line, notebook overrides and sweep axes. The command
// line is -onnx model.onnx -data inputs.npy -targets targets.npy -loss mse
// -eta 0.1 -B 32.
func (c *Config) Declare(s *param.Set) {
	s.Text(&c.Model, "onnx", "the trained network, an .onnx file (PyTorch: torch.onnx.export(model, x, path, dynamo=False, dynamic_axes={'input': {0: 'batch'}}))")
	s.Text(&c.Data, "data", "inputs, one sample per row of the first axis: .npy, .npz (file.npz:name) or .csv, in the model's input layout or flat")
	s.Text(&c.Targets, "targets", "targets: [N, K] rows (one-hot or real), [N] class labels 0…K−1, or [N] values for one output; .npy, .npz or .csv")
	param.Choice(s, &c.Loss, "loss", "loss: mse (½|f − y|², Eq. 1) or ce (softmax cross-entropy)", []string{model.MSE, model.CE})
	s.Float(&c.Eta, "eta", "learning rate η of the SGD the predictions are for", param.Positive)
	s.Int(&c.B, "B", "mini-batch size B (≤ N)", param.Min(1))
	s.Float(&c.LossRatio, "loss-ratio", "barrier height as a loss ratio L(θˢ)/L(θ*) for the escape rates of Eq. 15 and Eq. 5", param.Above(1))
	s.Int(&c.Lanczos, "lanczos", "Lanczos steps on the Hessian and on the Gauss–Newton matrix (≤ P)", param.Min(1), param.Max(MaxLanczos))
	s.Int(&c.TopK, "topk", "top eigenvalues reported (≤ lanczos)", param.Min(1), param.Max(MaxLanczos))
	s.Int(&c.DenseMax, "dense-max", "largest dense Gauss–Newton problem (N×N or P×P) whose whole spectrum gives n; 0: never", param.Min(0), param.Max(MaxDense))
	param.Choice(s, &c.Curvature, "curvature", "the matrix whose top eigenvalue is h* and whose spectrum gives n: gn (Eq. 44), hessian, or auto (gn for mse, hessian for ce)", []string{CurvatureAuto, CurvatureGN, CurvatureHessian})
	s.Uint64(&c.Seed, "seed", "seed of the Lanczos start vectors and the continuation's mini-batches")
	s.Int(&c.ContinueSteps, "continue", "continue SGD from the weights for about this many steps and measure 𝒩 against L (Eq. 6); 0: no", param.Min(0), param.Max(MaxContinue))
}

func orNA(verb string, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "unavailable"
	}
	return fmt.Sprintf(verb, v)
}

// WriteText prints the diagnosis as a table for the command line without
// -json: the measurements, h* and n, the verdict and the rates.
func (r Result) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	m, d, nz := r.Model, r.Data, r.Noise
	fmt.Fprintf(tw, "model\t%s: input %v, %d outputs, P = %d, %d layers\n", m.Path, m.Input, m.Outputs, m.P, len(m.Layers))
	if m.ConvRoute != "" {
		fmt.Fprintf(tw, "convolutions\t%s\n", m.ConvRoute)
	}
	fmt.Fprintf(tw, "data\tN = %d, targets %s\n", d.N, d.TargetKind)
	fmt.Fprintf(tw, "L, accuracy (%s)\t%.6g, %.4g\n", r.AccuracyRule, r.L, r.Accuracy)
	fmt.Fprintf(tw, "|∇ℓ_μ|²: min / 10%% / median / 90%% / max\t%.4g\n", nz.Grad2Quantiles)
	fmt.Fprintf(tw, "𝒩 = (1/N)Σ|∇ℓ_μ|² − |∇L|²\t%.6g (|∇L|² = %.4g); 𝒩/L = %.4g\n", nz.Strength, nz.GradNorm2, nz.PerLoss)
	fmt.Fprintf(tw, "Tr Σ at B = %d (Eq. 8)\t%.6g\n", r.Stability.B, nz.TraceSigma)
	fmt.Fprintf(tw, "decoupled 2L·(1/N)Σ|∇f|² (Eq. 9)\t%s (𝒩/decoupled %s)\n", orNA("%.6g", float64(nz.Decoupled)), orNA("%.4g", float64(nz.Ratio)))
	fmt.Fprintf(tw, "Hessian top (Lanczos, residuals)\t%.5g (%.1g)\n", r.Hessian.Values, r.Hessian.Residuals)
	fmt.Fprintf(tw, "Gauss–Newton top (Lanczos, residuals)\t%.5g (%.1g)\n", r.GaussNewton.Values, r.GaussNewton.Residuals)
	fmt.Fprintf(tw, "h* (%s)\t%.6g\n", r.Curvature, r.HStar)
	e := r.Estimators
	fmt.Fprintf(tw, "n: trace ratio / participation / entropy / above λ1/10\t%.3g / %.3g / %.3g / %d (%s)\n", e.TraceRatio, e.Participation, e.Entropy, e.AboveTenth, r.EstimatorsFrom)
	s := r.Stability
	if s.NC > 0 {
		fmt.Fprintf(tw, "φ (Eq. 17), n_c (Eq. 16)\t%.4g, %.4g\n", s.Phi, s.NC)
		for _, v := range s.Estimators {
			fmt.Fprintf(tw, "  n = %.3g (%s)\tstable %v, margin n_c − n = %.3g; exponent %.4g; ln κ at ratio %g: %.4g (Arrhenius %.4g)\n",
				v.N, v.Estimator, v.Stable, v.Margin, v.Exponent, s.LossRatio, v.LnKappaPowerLaw, v.LnKappaArrhenius)
		}
	}
	fmt.Fprintf(tw, "verdict\t%s: %s\n", s.Verdict, s.Summary)
	if c := r.Continuation; c != nil {
		fmt.Fprintf(tw, "continuation\t%d epochs, %d steps; slope of log 𝒩 against log L %s [%s, %s] (Eq. 6: 1)", c.Epochs, c.Steps,
			orNA("%.3g", float64(c.Slope)), orNA("%.3g", float64(c.SlopeCI[0])), orNA("%.3g", float64(c.SlopeCI[1])))
		if c.Diverged {
			fmt.Fprint(tw, "; DIVERGED (lower η)")
		}
		fmt.Fprintln(tw)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(tw, "note\t%s\n", n)
	}
	return tw.Flush()
}
