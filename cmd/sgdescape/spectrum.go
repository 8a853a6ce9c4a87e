package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/train"
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
	if err := atMost("hutchinson", int64(*hutch), 10000, "the trace estimate's standard error falls as 1/√probes; 100–1000 probes suffice"); err != nil {
		return err
	}
	cfg := d
	if cfg.Pretrain, err = pre(); err != nil {
		return err
	}
	// Lanczos with full reorthogonalisation keeps its k Krylov vectors of P values.
	lanczosBytes := 8 * float64(*lanczos+2) * cfg.Pretrain.Run.Params()
	if err := checkMemory("spectrum", cfg.Pretrain.MemoryBytes()+lanczosBytes, "-N, -widths or -lanczos"); err != nil {
		return err
	}
	if np := cfg.Pretrain.Run.Params(); float64(*lanczos) > np {
		return usagef("-lanczos %d must be between 0 and P = %.0f (the number of parameters); for the whole spectrum use the dense Gauss–Newton result", *lanczos, np)
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
	env, stop, err := com.env(stderr, "spectrum")
	if err != nil {
		return err
	}
	r, err := network.Minimum(context.Background(), env, cfg)
	stop()
	if errors.Is(err, train.ErrDiverged) {
		return printPretrainDiverged(stdout, *com.json, "diverged", env, cfg.Pretrain, err)
	}
	if err != nil {
		return err
	}
	if bad, ok := cfg.Pretrain.Run.FirstDiverged(r.Result.Pretrained.History); ok {
		return printPretrainDiverged(stdout, *com.json, "diverged", env, cfg.Pretrain, fmt.Errorf("pre-training diverged at epoch %d (full-batch loss %.4g)", bad.Epoch, bad.Loss))
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
