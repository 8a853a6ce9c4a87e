package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/linreg"
)

func init() {
	commands["stationary"] = command{
		summary: "stationary distribution of SGD on linear regression: fit φ in P(θ) ∝ L^−φ (Eq. 17, Fig. 3a)",
		run:     runStationary,
	}
}

func runStationary(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("stationary", stderr)
	scale, err := scaleFlag(fs, args)
	if err != nil {
		return err
	}
	d := linreg.PaperStationary(scale)
	prob := problemFlags(fs, d.Problem)
	com := addCommon(fs, d.Seed)
	b := fs.Int("B", d.B, "mini-batch size B (1 ≤ B ≤ N)")
	eta := fs.Float64("eta", d.Eta, "learning rate η (> 0)")
	dyn := fs.String("dynamics", string(d.Kind), "dynamics: sgd|sde4|sde12|sde14|gld")
	dt := fs.Float64("dt", d.DT, "SDE step (default η)")
	samples := fs.Int("samples", d.Samples, "number of samples of θ")
	every := fs.Int("every", d.Every, "steps between samples")
	burn := fs.Int64("burn", d.Burn, "burn-in steps (0: 20/(η·λ_min))")
	chains := fs.Int("chains", d.Chains, "independent chains")
	bins := fs.Int("bins", d.Bins, "histogram bins of the paper-style fit")
	boot := fs.Int("boot", d.Boot, "bootstrap resamples for the intervals")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := positive(fs, "P", "N", "xstd", "B", "eta", "samples", "every", "chains", "bins"); err != nil {
		return err
	}
	cfg := d
	cfg.Problem = prob()
	if err := checkProblem(cfg.Problem, *b); err != nil {
		return err
	}
	if *samples < minSamplesPerBin**bins {
		return usagef("-samples %d is too few for -bins %d: the histogram fit needs about %d samples per bin; use -samples ≥ %d or fewer -bins", *samples, *bins, minSamplesPerBin, minSamplesPerBin**bins)
	}
	if *chains > *samples/minSamplesPerBin {
		return usagef("-chains %d leaves fewer than %d samples per chain (-samples %d); use fewer chains", *chains, minSamplesPerBin, *samples)
	}
	if err := checkStationarySteps(cfg.Problem, *eta, *samples, *every, *chains, *burn); err != nil {
		return err
	}
	cfg.Seed = *com.seed
	cfg.Kind, cfg.Eta, cfg.B, cfg.DT = dynamics.Kind(*dyn), *eta, *b, *dt
	cfg.Samples, cfg.Every, cfg.Burn, cfg.Chains, cfg.Bins, cfg.Boot = *samples, *every, *burn, *chains, *bins, *boot
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if err := checkKind(*dyn); err != nil {
		return err
	}
	if err := checkMemory("stationary", cfg.MemoryBytes(), "-N, -P, -samples, -chains or -bins"); err != nil {
		return err
	}
	if err := checkBoot(*boot, float64(*samples), "-samples", bootWorkStationary); err != nil {
		return err
	}
	env, stop := com.nativeEnv(stderr, "stationary")
	r, err := linreg.Stationary(context.Background(), env, cfg)
	stop()
	if err != nil {
		return err
	}
	res := r.Result
	return writeResult(stdout, r, *com.json, func() error {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		if res.Diverged {
			fmt.Fprintf(tw, "DIVERGED\tthe run blew up (η too large for this problem); no stationary distribution\n")
		} else {
			fmt.Fprintf(tw, "φ fit (maximum likelihood)\t%.4g  [%.4g, %.4g]\n", res.Fit.MLE, float64(res.Fit.MLECI[0]), float64(res.Fit.MLECI[1]))
			fmt.Fprintf(tw, "φ fit (histogram, as the paper)\t%.4g  [%.4g, %.4g]\n", res.Fit.Hist, float64(res.Fit.HistCI[0]), float64(res.Fit.HistCI[1]))
		}
		fmt.Fprintf(tw, "φ theory 1 + B/(ηh*), h* = mean eigenvalue %.4g\t%.4g\n", res.HMean, res.PhiMean)
		fmt.Fprintf(tw, "φ theory with h* = λ_max %.4g\t%.4g\n", res.HMax, res.PhiMax)
		if res.Eq4 != nil {
			fmt.Fprintf(tw, "Eq. 4 exact density: φ-equivalent, tail φ\t%.4g, %.4g\n", res.Eq4.PhiEquivalent, res.Eq4.TailPhi)
			fmt.Fprintf(tw, "KS vs Eq. 4 density: D, p (n_eff)\t%.3g, %.3g (%.0f)\n", res.Eq4.KS.D, res.Eq4.KS.PValue, res.Eq4.KS.NEff)
		}
		return tw.Flush()
	})
}
