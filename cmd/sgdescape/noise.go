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
	widths := fs.String("widths", joinInts(d.Run.Arch.Widths), "MLP hidden widths (paper: 2000,2000,2000)")
	channels := fs.String("channels", joinInts(dc.Run.Arch.Channels), "CNN channels per stack (paper: 64,128,256)")
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
	cfg := d
	cfg.Run = network.RunSpec{Data: network.DataSpec{Set: *set, N: *n, Targets: network.OneHot}, Arch: spec, Train: d.Run.Train}
	cfg.Run.Train.Loss, cfg.Run.Train.Eta, cfg.Run.Train.B, cfg.Run.Train.Seed = *loss, *eta, *b, *com.seed
	cfg.Epochs, cfg.Every, cfg.Decoupled, cfg.Boot = *epochs, *every, *decoupled && *loss == model.MSE, *boot
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	env, err := com.env(stderr, "noise")
	if err != nil {
		return err
	}
	r, err := network.Noise(context.Background(), env, cfg)
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
		fmt.Fprintf(tw, "late slope d log 𝒩 / d log L (epochs ≥ %d)\t%.3f  [%.3f, %.3f]\n", res.LateFrom, res.LateSlope, float64(res.LateSlopeCI[0]), float64(res.LateSlopeCI[1]))
		fmt.Fprintf(tw, "early slope\t%.3f\n", res.EarlySlope)
		return tw.Flush()
	})
}
