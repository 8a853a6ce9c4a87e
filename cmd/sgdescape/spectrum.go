package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/sgdescape/sgdescape/pkg/network"
)

func init() {
	commands["spectrum"] = command{
		summary: "Gauss–Newton spectrum and effective dimension at a pre-trained minimum (appendix E)",
		run:     runSpectrum,
	}
}

func runSpectrum(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("spectrum", stderr)
	scale, err := scaleFlag(fs, args)
	if err != nil {
		return err
	}
	d := network.PaperMinimum(scale)
	pre := pretrainFlags(fs, d.Pretrain)
	lanczos := fs.Int("lanczos", 0, fmt.Sprintf("also compute the top-k eigenvalues of the exact Hessian by Lanczos (k ≤ P; notebook 05: %d)", d.K))
	hutch := fs.Int("hutchinson", 0, fmt.Sprintf("also estimate the trace of the exact Hessian with this many Rademacher probes (notebook 05: %d)", d.Probes))
	com := addOutput(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *lanczos < 0 || *hutch < 0 {
		return usagef("-lanczos and -hutchinson must be ≥ 0")
	}
	cfg := d
	if cfg.Pretrain, err = pre(); err != nil {
		return err
	}
	cfg.K, cfg.Probes = *lanczos, *hutch
	if cfg.K > 0 {
		p, err := cfg.Pretrain.Run.NumParams()
		if err != nil {
			return err
		}
		if cfg.K > p {
			return usagef("-lanczos %d must be between 0 and P = %d (the number of parameters); for the whole spectrum use the dense Gauss–Newton result", cfg.K, p)
		}
	}
	env, err := com.env(stderr, "spectrum")
	if err != nil {
		return err
	}
	r, err := network.Minimum(context.Background(), env, cfg)
	if err != nil {
		return err
	}
	p, ms := r.Result.Pretrained, r.Result.Spectrum
	return writeResult(stdout, r, *com.json, func() error {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "L(θ*) after %d epochs\t%.5g (%s)\n", p.Epoch, p.LStar, p.Note)
		fmt.Fprintf(tw, "h* = λ1 of (1/N)Σ∇f∇fᵀ (%s route)\t%.5g\n", ms.Route, ms.HStar)
		fmt.Fprintf(tw, "trace\t%.5g\n", ms.Trace)
		fmt.Fprintf(tw, "n: trace ratio / participation / entropy / above λ1/10\t%.3g / %.3g / %.3g / %d\n",
			ms.Estimators.TraceRatio, ms.Estimators.Participation, ms.Estimators.Entropy, ms.Estimators.AboveTenth)
		fmt.Fprintf(tw, "top eigenvalues\t%.4g\n", ms.Top[:min(10, len(ms.Top))])
		if ex := r.Result.Exact; ex != nil {
			if len(ex.Top) > 0 {
				fmt.Fprintf(tw, "exact Hessian top (Lanczos)\t%.4g\n", ex.Top)
			}
			if cfg.Probes > 0 {
				fmt.Fprintf(tw, "exact Hessian trace (Hutchinson, %d probes)\t%.5g ± %.2g\n", cfg.Probes, float64(ex.Trace), float64(ex.TraceSE))
			}
		}
		return tw.Flush()
	})
}
