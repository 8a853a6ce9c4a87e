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

func parseInts(s string) ([]int, error) {
	fs, err := parseFloats(s)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(fs))
	for i, f := range fs {
		if f != float64(int(f)) {
			return nil, fmt.Errorf("%v is not an integer", f)
		}
		out[i] = int(f)
	}
	return out, nil
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
	widths := fs.String("widths", "100,100", "hidden widths of the MLP (paper: 100,100)")
	eta := fs.Float64("eta", 0.01, "learning rate η (paper: 0.01)")
	b := fs.Int("B", 100, "mini-batch size B (paper: 100)")
	epochs := fs.String("epochs", "0,5,20", "stages (epochs) at which the spectra are compared (paper: 0,50,500)")
	topk := fs.Int("topk", 20, "number of top eigenvalues compared")
	cutoff := fs.Float64("cutoff", 1e-6, "eigenvalues below cutoff·λ_max are left out of the distribution distances")
	com := addCommon(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := knownSet(*set); err != nil {
		return err
	}
	w, err := parseInts(*widths)
	if err != nil {
		return usagef("-widths: %v", err)
	}
	eps, err := parseInts(*epochs)
	if err != nil {
		return usagef("-epochs: %v", err)
	}
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
	be, err := backend.New()
	if err != nil {
		return err
	}
	rs, err := network.Decoupling(context.Background(), be, backend.Name(), com.cache(), cfg, run.TextProgress(stderr, "decoupling", 2*time.Second))
	if err != nil {
		return err
	}
	k := *topk
	type stageOut struct {
		Epoch        int            `json:"epoch"`
		Loss         float64        `json:"loss"`
		Accuracy     float64        `json:"accuracy"`
		TopExact     []float64      `json:"top_exact"`
		TopDecoupled []float64      `json:"top_decoupled"`
		MedianRel    float64        `json:"median_rel_diff_top20"`
		TopRel       float64        `json:"top_rel_diff"`
		KS           float64        `json:"ks_log_eigs"`
		W1           float64        `json:"w1_decades"`
		Provenance   map[string]any `json:"provenance"`
	}
	var stages []stageOut
	for _, r := range rs {
		s := r.Result
		stages = append(stages, stageOut{Epoch: s.Epoch, Loss: s.Loss, Accuracy: s.Accuracy,
			TopExact: s.Exact[:min(k, len(s.Exact))], TopDecoupled: s.Decoupled[:min(k, len(s.Decoupled))],
			MedianRel: s.Agreement.MedianRelDiffTopK, TopRel: s.Agreement.TopRelDiff, KS: s.Agreement.KS, W1: s.Agreement.W1Decades,
			Provenance: provenance(r.Envelope)})
	}
	if *com.json {
		return writeJSON(stdout, map[string]any{"stages": stages, "top_k": k, "N": *n})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "epoch\tloss\taccuracy\tλ1 exact\tλ1 decoupled\tmedian rel. diff top-%d\tKS(log λ)\tW1 (decades)\n", k)
	for _, s := range stages {
		fmt.Fprintf(tw, "%d\t%.4g\t%.3f\t%.4g\t%.4g\t%.3f\t%.3f\t%.3f\n", s.Epoch, s.Loss, s.Accuracy, s.TopExact[0], s.TopDecoupled[0], s.MedianRel, s.KS, s.W1)
	}
	return tw.Flush()
}

func runNoise(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("noise", stderr)
	set := fs.String("data", data.Fashion, "data set: fashion-mnist, cifar10 or mnist (one-hot targets)")
	arch := fs.String("arch", "mlp", "architecture: mlp or cnn")
	widths := fs.String("widths", "200,200,200", "MLP hidden widths (paper: 2000,2000,2000)")
	channels := fs.String("channels", "64,128,256", "CNN channels per stack (paper: 64,128,256)")
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
	if err := knownSet(*set); err != nil {
		return err
	}
	spec := network.ArchSpec{Kind: *arch}
	switch *arch {
	case "mlp":
		w, err := parseInts(*widths)
		if err != nil {
			return usagef("-widths: %v", err)
		}
		spec.Widths = w
	case "cnn":
		c, err := parseInts(*channels)
		if err != nil {
			return usagef("-channels: %v", err)
		}
		spec.Channels, spec.ConvsPerStack = c, *convs
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
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	be, err := backend.New()
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := network.RunNoiseCurve(context.Background(), be, backend.Name(), com.cache(), cfg, run.TextProgress(stderr, "noise", 2*time.Second))
	if err != nil {
		return err
	}
	var ep []int
	var l, nz, tr, dec, acc []float64
	for _, p := range res.Points {
		ep, l, nz, tr, dec, acc = append(ep, p.Epoch), append(l, p.Loss), append(nz, p.Noise), append(tr, p.TraceSigma), append(dec, p.Decoupled), append(acc, p.Accuracy)
	}
	out := map[string]any{"epoch": ep, "loss": l, "noise": nz, "trace_sigma": tr, "accuracy": acc,
		"late_slope": res.LateSlope, "late_slope_ci": ci(res.LateSlopeCI), "early_slope": res.EarlySlope, "late_from_epoch": res.LateFrom,
		"arch": res.Arch, "params": res.Params,
		"provenance": map[string]any{"config": cfg, "seed": *com.seed, "backend": backend.Name(), "git_revision": run.GitRevision(),
			"wall_seconds": time.Since(start).Seconds()}}
	if cfg.Decoupled {
		out["decoupled"] = dec
	}
	if *com.json {
		return writeJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "epoch\tloss\taccuracy\t𝒩\tTr Σ\t2L·mean|∇f|²")
	for i := range ep {
		fmt.Fprintf(tw, "%d\t%.4g\t%.3f\t%.4g\t%.4g\t%.4g\n", ep[i], l[i], acc[i], nz[i], tr[i], dec[i])
	}
	fmt.Fprintf(tw, "late slope d log 𝒩 / d log L (epochs ≥ %d)\t%.3f  [%.3f, %.3f]\n", res.LateFrom, res.LateSlope, float64(res.LateSlopeCI[0]), float64(res.LateSlopeCI[1]))
	fmt.Fprintf(tw, "early slope\t%.3f\n", res.EarlySlope)
	return tw.Flush()
}
