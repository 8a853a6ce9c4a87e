package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/network"
)

func init() {
	commands["noise"] = command{
		summary: "noise strength 𝒩 and Tr Σ against the loss along training (Eq. 6, 8, section 5.2, Fig. 2)",
		run:     runNoise,
	}
}

func runNoise(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("noise", stderr)
	scale, err := scaleFlag(fs, args)
	if err != nil {
		return err
	}
	d, dc := network.PaperNoiseMLP(model.MSE, scale), network.PaperNoiseCNN(model.MSE, scale)
	set := fs.String("data", d.Run.Data.Set, "data set: fashion-mnist, cifar10 or mnist (one-hot targets)")
	arch := fs.String("arch", d.Run.Arch.Kind, "architecture: mlp or cnn")
	widths := intList(fs, "widths", joinInts(d.Run.Arch.Widths), "MLP hidden widths (paper: 2000,2000,2000)")
	channels := intList(fs, "channels", joinInts(dc.Run.Arch.Channels), "CNN channels per stack (paper: 64,128,256)")
	convs := fs.Int("convs", dc.Run.Arch.ConvsPerStack, "CNN convolutions per stack (paper: 3)")
	n := fs.Int("N", d.Run.Data.N, "the first N training images")
	eta := fs.Float64("eta", d.Run.Train.Eta, "learning rate η (paper: 0.1)")
	b := fs.Int("B", d.Run.Train.B, "mini-batch size B (paper: 100)")
	epochs := fs.Int("epochs", d.Epochs, "epochs of training")
	every := fs.Int("every", d.Every, "measure every this many epochs")
	loss := fs.String("loss", model.MSE, "loss: mse (section 5.2) or ce (appendix D)")
	decoupled := fs.Bool("decoupled", true, "also measure the decoupled prediction 2L·(1/N)Σ|∇f|² (mean-square loss)")
	boot := fs.Int("boot", d.Boot, "bootstrap resamples for the late slope")
	com := addCommon(fs, d.Run.Train.Seed)
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
	cfg := d
	cfg.Run = network.RunSpec{Data: network.DataSpec{Set: *set, N: *n, Targets: network.OneHot}, Arch: spec, Train: d.Run.Train}
	cfg.Run.Train.Loss, cfg.Run.Train.Eta, cfg.Run.Train.B, cfg.Run.Train.Seed = *loss, *eta, *b, *com.seed
	cfg.Epochs, cfg.Every, cfg.Decoupled, cfg.Boot = *epochs, *every, *decoupled && *loss == model.MSE, *boot
	if m := cfg.Measurements(); m < network.MinNoiseMeasurements {
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
	env, stop, err := com.env(stderr, "noise")
	if err != nil {
		return err
	}
	r, err := network.Noise(context.Background(), env, cfg)
	stop()
	if err != nil {
		return err
	}
	res := r.Result
	return writeResult(stdout, r, *com.json, func() error {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "epoch\tloss\taccuracy\t𝒩\tTr Σ\t2L·mean|∇f|²")
		for _, p := range res.Points {
			fmt.Fprintf(tw, "%d\t%.4g\t%.3f\t%.4g\t%.4g\t%.4g\n", p.Epoch, p.Loss, p.Accuracy, p.Noise, p.TraceSigma, p.Decoupled)
		}
		if res.Diverged {
			fmt.Fprintf(tw, "DIVERGED\tat epoch %d (%s): no slopes; lower -eta\n", res.DivergedAt, divergenceRule(cfg.Run))
			return tw.Flush()
		}
		fmt.Fprintf(tw, "late slope d log 𝒩 / d log L (epochs ≥ %d)\t%s  [%s, %s]\n", res.LateFrom, fmtFloat("%.3f", res.LateSlope), fmtFloat("%.3f", float64(res.LateSlopeCI[0])), fmtFloat("%.3f", float64(res.LateSlopeCI[1])))
		fmt.Fprintf(tw, "early slope\t%s\n", fmtFloat("%.3f", res.EarlySlope))
		return tw.Flush()
	})
}
