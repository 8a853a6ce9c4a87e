package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/passage"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/train"
)

func init() {
	commands["fpt"] = command{
		summary: "mean first-passage time of L ≥ c·L* against c, with the slope fit (Eq. 15, Fig. 3b/3c)",
		run:     runFPT,
	}
}

// fptFlags are the flags of `fpt` that both models share, with the
// defaults of the model's preset.
type fptFlags struct {
	eta      *float64
	b, runs  *int
	cs       *[]float64
	maxSteps *int64
	fitMin   *float64
	boot     *int
	com      commonFlags
}

func addFPTFlags(fs *flag.FlagSet, eta float64, b, runs int, cs string, maxSteps int64, fitMin float64, boot int, seed uint64) fptFlags {
	return fptFlags{
		com:      addCommon(fs, seed),
		b:        fs.Int("B", b, "mini-batch size B (1 ≤ B ≤ N)"),
		eta:      fs.Float64("eta", eta, "learning rate η (> 0)"),
		runs:     fs.Int("runs", runs, "independent runs"),
		cs:       optFloatList(fs, "c", cs, "threshold ratios c = L_th/L(θ*) > 1, comma-separated"+map[bool]string{true: " (default: the paper's grid for -P)", false: ""}[cs == ""]),
		maxSteps: fs.Int64("maxsteps", maxSteps, "steps per run before it is censored"),
		fitMin:   fs.Float64("fit-cmin", fitMin, "fit the slope over c ≥ this (linreg default: 1.5 × the stationary mode of L/L*; mlp: every threshold)"),
		boot:     fs.Int("boot", boot, "bootstrap resamples over runs"),
	}
}

func runFPT(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fpt", stderr)
	model := prescan(args, "model", "linreg") // the model decides which flags exist
	fs.String("model", "linreg", "model: linreg (section 5.3.1) or mlp (section 5.3.2)")
	scale, err := scaleFlag(fs, args)
	if err != nil {
		return err
	}
	switch model {
	case "mlp":
		return runNetworkFPT(fs, args, scale, stdout, stderr)
	case "linreg":
	default:
		return usagef("unknown -model %q (available: linreg, mlp)", model)
	}
	return runExperiment("fpt", args, stdout, stderr)
}

// estimateColumns splits the per-threshold estimates into columns.
func estimateColumns(fit passage.Result) (c, mean, se []float64, reliable []bool) {
	for _, e := range fit.Estimates {
		c, mean = append(c, e.C), append(mean, e.Mean)
		se, reliable = append(se, float64(e.SE)), append(reliable, e.Reliable)
	}
	return
}

// runNetworkFPT is `fpt -model mlp`.
func runNetworkFPT(fs *flag.FlagSet, args []string, scale run.Scale, stdout, stderr io.Writer) error {
	d := network.PaperFirstPassage(scale)
	f := addFPTFlags(fs, d.Eta, d.B, d.Runs, joinFloats(d.C), d.MaxSteps, d.FitCMin, d.Boot, d.Seed)
	pre := pretrainFlags(fs, d.Pretrain)
	every := fs.Int64("every", d.Every, "check the full-batch loss every this many steps (time resolution every·η)")
	allow := fs.Bool("allow-nonstationary", d.AllowNonStationary, "accept a θ* whose pre-training has not converged")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := positive(fs, "B", "eta", "runs", "maxsteps", "every"); err != nil {
		return err
	}
	cfg := d
	var err error
	if cfg.Pretrain, err = pre(); err != nil {
		return err
	}
	cfg.C = *f.cs
	if err := checkThresholds(cfg.C, *f.fitMin, *f.runs); err != nil {
		return err
	}
	if len(cfg.Pretrain.Run.Arch.Widths) != 1 {
		return usagef("-widths %v: the network escape experiment uses a one-hidden-layer MLP (the paper's 784-10-1): give one width", cfg.Pretrain.Run.Arch.Widths)
	}
	if *f.b >= cfg.Pretrain.Run.Data.N {
		return usagef("-B %d must be smaller than -N %d: B = N is full-batch gradient descent, which has no noise and never escapes", *f.b, cfg.Pretrain.Run.Data.N)
	}
	cfg.Eta, cfg.B, cfg.Runs, cfg.MaxSteps, cfg.Every = *f.eta, *f.b, *f.runs, *f.maxSteps, *every
	cfg.Seed, cfg.FitCMin, cfg.Boot, cfg.AllowNonStationary = *f.com.seed, *f.fitMin, *f.boot, *allow
	cfg.FreeSteps = min(cfg.MaxSteps, d.FreeSteps)
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if err := checkMemory("fpt -model mlp", cfg.MemoryBytes(), "-runs, -N or -widths"); err != nil {
		return err
	}
	if err := checkBoot(*f.boot, float64(*f.runs)*float64(len(cfg.C)), "-runs", bootWorkFPT); err != nil {
		return err
	}
	env, stop, err := f.com.env(stderr, "fpt")
	if err != nil {
		return err
	}
	r, err := network.FirstPassage(context.Background(), env, cfg)
	stop()
	if errors.Is(err, train.ErrDiverged) {
		return printPretrainDiverged(stdout, *f.com.json, "pretrain_diverged", env, cfg.Pretrain, err)
	}
	if err != nil {
		return err
	}
	res := r.Result
	return writeResult(stdout, r, *f.com.json, func() error {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		if res.Diverged > 0 {
			fmt.Fprintf(tw, "DIVERGED\t%d of %d runs blew up (%s): no first-passage statistics; lower -eta\n", res.Diverged, cfg.Runs, divergenceRule(cfg.Pretrain.Run))
			return tw.Flush()
		}
		fmt.Fprintln(tw, "c\tmean FPT\tse\tcensored\tCV")
		for i, e := range res.Fit.Estimates {
			fmt.Fprintf(tw, "%g\t%.4g\t%.2g\t%d\t%.2f\n", e.C, e.Mean, float64(e.SE), e.Censored, float64(res.FPTCV[i]))
		}
		fmt.Fprintf(tw, "slope fit\t%.4g  [%.4g, %.4g]\n", res.Fit.LogLog.Slope, float64(res.Fit.LogLog.CI[0]), float64(res.Fit.LogLog.CI[1]))
		fmt.Fprintf(tw, "h* = λ1(GN), L*\t%.4g, %.4g\n", res.HStar, res.LStar)
		for _, e := range res.Estimators {
			fmt.Fprintf(tw, "theory with n = %.3g (%s)\t%.4g\n", e.N, e.Name, e.Slope)
		}
		fmt.Fprintf(tw, "implied n\t%.3g\n", res.ImpliedN)
		for _, w := range res.Warnings {
			fmt.Fprintf(tw, "DEGENERATE\t%s\n", w)
		}
		return tw.Flush()
	})
}
