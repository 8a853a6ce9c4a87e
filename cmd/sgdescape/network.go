package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/train"
)

func init() {
	commands["decoupling"] = command{
		summary: "exact vs decoupled noise spectra along training (Eq. 7, section 5.1, Fig. 1)",
		run:     runDecoupling,
	}
	commands["noise"] = command{
		summary: "noise strength 𝒩 and Tr Σ against the loss along training (Eq. 6, 8, section 5.2, Fig. 2)",
		run:     runNoise,
	}
}

// divergenceRule is printed with every network result that has diverged.
func divergenceRule(r network.RunSpec) string {
	return fmt.Sprintf("full-batch loss non-finite or above %g × the zero-output loss %.3g = %.3g", float64(network.DivergenceFactor), r.ReferenceLoss(), r.DivergenceThreshold())
}

// trainImages is the size of each data set's training split.
var trainImages = map[string]int{data.MNIST: 60000, data.Fashion: 60000, data.CIFAR10: 50000}

// checkImages refuses an -N outside 1 … the training split's size.
func checkImages(set string, n int) error {
	if m, ok := trainImages[set]; ok && (n < 1 || n > m) {
		return usagef("-N %d: %s has %d training images; use 1 ≤ N ≤ %d", n, set, m, m)
	}
	return nil
}

// checkPositive refuses a list with an item below 1 (widths, channels).
func checkPositive(flagName string, v []int) error {
	for i, x := range v {
		if x < 1 {
			return usagef("-%s: item %d is %d; every item must be ≥ 1", flagName, i+1, x)
		}
	}
	return nil
}

func knownSet(s string) error {
	for _, n := range data.Names {
		if n == s {
			return nil
		}
	}
	return usagef("unknown -data %q (use %s)", s, strings.Join(data.Names, ", "))
}

func runDecoupling(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("decoupling", stderr)
	set := fs.String("data", data.MNIST, "data set (the paper: mnist, even/odd targets ±1)")
	n := fs.Int("N", 1000, "the first N training images (paper: 10000)")
	widths := intList(fs, "widths", "100,100", "hidden widths of the MLP (paper: 100,100)")
	eta := fs.Float64("eta", 0.01, "learning rate η (paper: 0.01)")
	b := fs.Int("B", 100, "mini-batch size B (paper: 100)")
	epochs := intList(fs, "epochs", "0,5,20", "stages (epochs) at which the spectra are compared (paper: 0,50,500)")
	topk := fs.Int("topk", 20, "number of top eigenvalues compared")
	cutoff := fs.Float64("cutoff", 1e-6, "eigenvalues below cutoff·λ_max are left out of the distribution distances")
	com := addCommon(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := positive(fs, "N", "B", "eta", "topk", "cutoff"); err != nil {
		return err
	}
	if *cutoff >= 1 {
		return usagef("-cutoff %g: eigenvalues below cutoff·λ_max are dropped, so it must be below 1", *cutoff)
	}
	for i := 1; i < len(*epochs); i++ {
		if (*epochs)[i] <= (*epochs)[i-1] {
			return usagef("-epochs %v: the stages must be increasing", *epochs)
		}
	}
	if err := knownSet(*set); err != nil {
		return err
	}
	if err := checkImages(*set, *n); err != nil {
		return err
	}
	if err := checkPositive("widths", *widths); err != nil {
		return err
	}
	w, eps := *widths, *epochs
	cfg := network.DecouplingConfig{
		Run: network.RunSpec{Data: network.DataSpec{Set: *set, N: *n, Targets: network.EvenOdd},
			Arch:  network.ArchSpec{Kind: "mlp", Widths: w},
			Train: train.Config{Loss: model.MSE, Eta: *eta, B: *b, Seed: *com.seed}},
		Epochs: eps, TopK: *topk, Cutoff: *cutoff,
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if *b > *n || *b < 1 {
		return usagef("batch size B=%d must satisfy 1 ≤ B ≤ N=%d", *b, *n)
	}
	if err := checkMemory("decoupling", cfg.MemoryBytes(), "-N or -widths"); err != nil {
		return err
	}
	be, err := backend.New()
	if err != nil {
		return err
	}
	prog, stop := progressFor(stderr, "decoupling")
	rs, err := network.Decoupling(context.Background(), be, backend.Name(), com.cache(stderr), cfg, prog)
	stop()
	if err != nil {
		return err
	}
	k := *topk
	// A stage whose loss meets the divergence rule (network.DivergenceFactor)
	// is flagged and shows no spectra or agreement: they would describe the
	// blow-up. The rule is applied here to the loss, so cached stages from
	// before the rule existed are flagged too.
	type stageOut struct {
		Epoch        int            `json:"epoch"`
		Loss         any            `json:"loss"`
		Accuracy     float64        `json:"accuracy"`
		Diverged     bool           `json:"diverged"`
		TopExact     []float64      `json:"top_exact"`
		TopDecoupled []float64      `json:"top_decoupled"`
		MedianRel    any            `json:"median_rel_diff_top20"`
		TopRel       any            `json:"top_rel_diff"`
		KS           any            `json:"ks_log_eigs"`
		W1           any            `json:"w1_decades"`
		Provenance   map[string]any `json:"provenance"`
	}
	var stages []stageOut
	diverged := false
	for _, r := range rs {
		s := r.Result
		o := stageOut{Epoch: s.Epoch, Loss: finite(s.Loss), Accuracy: s.Accuracy, Diverged: s.Diverged || cfg.Run.Diverged(s.Loss), Provenance: provenance(r.Envelope)}
		if !o.Diverged && len(s.Exact) > 0 && len(s.Decoupled) > 0 {
			o.TopExact, o.TopDecoupled = s.Exact[:min(k, len(s.Exact))], s.Decoupled[:min(k, len(s.Decoupled))]
			o.MedianRel, o.TopRel, o.KS, o.W1 = finite(s.Agreement.MedianRelDiffTopK), finite(s.Agreement.TopRelDiff), finite(s.Agreement.KS), finite(s.Agreement.W1Decades)
		}
		diverged = diverged || o.Diverged
		stages = append(stages, o)
	}
	if *com.json {
		out := map[string]any{"stages": stages, "top_k": k, "N": *n, "diverged": diverged}
		if diverged {
			out["divergence_rule"] = divergenceRule(cfg.Run)
		}
		return writeJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "epoch\tloss\taccuracy\tλ1 exact\tλ1 decoupled\tmedian rel. diff top-%d\tKS(log λ)\tW1 (decades)\n", k)
	for i, s := range stages {
		l := rs[i].Result.Loss
		if s.Diverged {
			fmt.Fprintf(tw, "%d\t%.4g\t%.3f\tDIVERGED\t\t\t\t\n", s.Epoch, l, s.Accuracy)
			continue
		}
		fmt.Fprintf(tw, "%d\t%.4g\t%.3f\t%.4g\t%.4g\t%s\t%s\t%s\n", s.Epoch, l, s.Accuracy, s.TopExact[0], s.TopDecoupled[0],
			fmtFloat("%.3f", rs[i].Result.Agreement.MedianRelDiffTopK), fmtFloat("%.3f", rs[i].Result.Agreement.KS), fmtFloat("%.3f", rs[i].Result.Agreement.W1Decades))
	}
	if diverged {
		fmt.Fprintf(tw, "DIVERGED\ttraining blew up (%s): lower -eta\n", divergenceRule(cfg.Run))
	}
	return tw.Flush()
}

func runNoise(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("noise", stderr)
	set := fs.String("data", data.Fashion, "data set: fashion-mnist, cifar10 or mnist (one-hot targets)")
	arch := fs.String("arch", "mlp", "architecture: mlp or cnn")
	widths := intList(fs, "widths", "200,200,200", "MLP hidden widths (paper: 2000,2000,2000)")
	channels := intList(fs, "channels", "64,128,256", "CNN channels per stack (paper: 64,128,256)")
	convs := fs.Int("convs", 3, "CNN convolutions per stack (paper: 3)")
	n := fs.Int("N", 2000, "the first N training images")
	eta := fs.Float64("eta", 0.1, "learning rate η (paper: 0.1)")
	b := fs.Int("B", 100, "mini-batch size B (paper: 100)")
	epochs := fs.Int("epochs", 30, "epochs of training")
	every := fs.Int("every", 1, "measure every this many epochs")
	loss := fs.String("loss", model.MSE, "loss: mse (section 5.2) or ce (appendix D)")
	decoupled := fs.Bool("decoupled", true, "also measure the decoupled prediction 2L·(1/N)Σ|∇f|² (mean-square loss)")
	boot := fs.Int("boot", 1000, "bootstrap resamples for the late slope")
	com := addCommon(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := positive(fs, "N", "B", "eta", "epochs", "every"); err != nil {
		return err
	}
	if *every > *epochs {
		return usagef("-every %d is more than -epochs %d", *every, *epochs)
	}
	if err := knownSet(*set); err != nil {
		return err
	}
	if err := checkImages(*set, *n); err != nil {
		return err
	}
	spec := network.ArchSpec{Kind: *arch}
	switch *arch {
	case "mlp":
		if err := checkPositive("widths", *widths); err != nil {
			return err
		}
		spec.Widths = *widths
	case "cnn":
		if err := checkPositive("channels", *channels); err != nil {
			return err
		}
		if len(*channels) > 5 {
			return usagef("-channels lists %d stacks; each halves the 32×32 image, so at most 5 fit", len(*channels))
		}
		if *convs < 1 {
			return usagef("-convs %d: need at least 1 convolution per stack", *convs)
		}
		spec.Channels, spec.ConvsPerStack = *channels, *convs
		if *set != data.CIFAR10 {
			return usagef("-arch cnn needs -data cifar10")
		}
	default:
		return usagef("unknown -arch %q (use mlp or cnn)", *arch)
	}
	if *loss != model.MSE && *loss != model.CE {
		return usagef("unknown -loss %q (use mse or ce)", *loss)
	}
	if *b < 1 || *b > *n {
		return usagef("batch size B=%d must satisfy 1 ≤ B ≤ N=%d", *b, *n)
	}
	cfg := network.NoiseCurveConfig{
		Run: network.RunSpec{Data: network.DataSpec{Set: *set, N: *n, Targets: network.OneHot}, Arch: spec,
			Train: train.Config{Loss: *loss, Eta: *eta, B: *b, Seed: *com.seed}},
		Epochs: *epochs, Every: *every, Decoupled: *decoupled && *loss == model.MSE, Boot: *boot,
	}
	if m := cfg.Measurements(); *every <= *epochs && m < network.MinNoiseMeasurements {
		return usagef("-epochs %d with -every %d gives %d measurements; the early and late slopes need at least %d: use -epochs ≥ %d × -every", *epochs, *every, m, network.MinNoiseMeasurements, network.MinNoiseMeasurements-1)
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	lower := "-N, -widths or -epochs (measured epochs)"
	if *arch == "cnn" {
		lower = "-N, -channels, -convs or -epochs (measured epochs)"
	}
	if err := checkMemory("noise", cfg.MemoryBytes(), lower); err != nil {
		return err
	}
	if err := checkBoot(*boot, float64(cfg.Measurements()), "-epochs", bootWorkSmall); err != nil {
		return err
	}
	be, err := backend.New()
	if err != nil {
		return err
	}
	start := time.Now()
	prog, stop := progressFor(stderr, "noise")
	res, err := network.RunNoiseCurve(context.Background(), be, backend.Name(), com.cache(stderr), cfg, prog)
	stop()
	if err != nil {
		return err
	}
	var ep []int
	var l, nz, tr, dec, acc []float64
	for _, p := range res.Points {
		ep, l, nz, tr, dec, acc = append(ep, p.Epoch), append(l, p.Loss), append(nz, p.Noise), append(tr, p.TraceSigma), append(dec, p.Decoupled), append(acc, p.Accuracy)
	}
	out := map[string]any{"epoch": ep, "loss": finiteAll(l), "noise": finiteAll(nz), "trace_sigma": finiteAll(tr), "accuracy": acc,
		"late_slope": finite(res.LateSlope), "late_slope_ci": ci(res.LateSlopeCI), "early_slope": finite(res.EarlySlope), "late_from_epoch": res.LateFrom,
		"arch": res.Arch, "params": res.Params, "diverged": res.Diverged,
		"provenance": map[string]any{"config": cfg, "seed": *com.seed, "backend": backend.Name(), "git_revision": run.GitRevision(),
			"wall_seconds": time.Since(start).Seconds()}}
	if cfg.Decoupled {
		out["decoupled"] = finiteAll(dec)
	}
	if res.Diverged {
		out["diverged_at_epoch"] = res.DivergedAt
		out["divergence_rule"] = divergenceRule(cfg.Run)
	}
	if *com.json {
		return writeJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "epoch\tloss\taccuracy\t𝒩\tTr Σ\t2L·mean|∇f|²")
	for i := range ep {
		fmt.Fprintf(tw, "%d\t%.4g\t%.3f\t%.4g\t%.4g\t%.4g\n", ep[i], l[i], acc[i], nz[i], tr[i], dec[i])
	}
	if res.Diverged {
		fmt.Fprintf(tw, "DIVERGED\tat epoch %d (%s): no slopes; lower -eta\n", res.DivergedAt, divergenceRule(cfg.Run))
		return tw.Flush()
	}
	fmt.Fprintf(tw, "late slope d log 𝒩 / d log L (epochs ≥ %d)\t%s  [%s, %s]\n", res.LateFrom, fmtFloat("%.3f", res.LateSlope), fmtFloat("%.3f", float64(res.LateSlopeCI[0])), fmtFloat("%.3f", float64(res.LateSlopeCI[1])))
	fmt.Fprintf(tw, "early slope\t%s\n", fmtFloat("%.3f", res.EarlySlope))
	return tw.Flush()
}
