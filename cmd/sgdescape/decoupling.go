package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/sgdescape/sgdescape/pkg/network"
)

func init() {
	commands["decoupling"] = command{
		summary: "exact vs decoupled noise spectra along training (Eq. 7, section 5.1, Fig. 1)",
		run:     runDecoupling,
	}
}

func runDecoupling(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("decoupling", stderr)
	scale, err := scaleFlag(fs, args)
	if err != nil {
		return err
	}
	d := network.PaperDecoupling(scale)
	set := fs.String("data", d.Run.Data.Set, "data set (the paper: mnist, even/odd targets ±1)")
	n := fs.Int("N", d.Run.Data.N, "the first N training images (paper: 10000)")
	widths := fs.String("widths", joinInts(d.Run.Arch.Widths), "hidden widths of the MLP (paper: 100,100)")
	eta := fs.Float64("eta", d.Run.Train.Eta, "learning rate η (paper: 0.01)")
	b := fs.Int("B", d.Run.Train.B, "mini-batch size B (paper: 100)")
	epochs := fs.String("epochs", joinInts(d.Epochs), "stages (epochs) at which the spectra are compared (paper: 0,50,500)")
	topk := fs.Int("topk", d.TopK, "number of top eigenvalues compared")
	cutoff := fs.Float64("cutoff", d.Cutoff, "eigenvalues below cutoff·λ_max are left out of the distribution distances")
	com := addCommon(fs, d.Run.Train.Seed)
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
	cfg := d
	cfg.Run.Data.Set, cfg.Run.Data.N, cfg.Run.Arch.Widths = *set, *n, w
	cfg.Run.Train.Eta, cfg.Run.Train.B, cfg.Run.Train.Seed = *eta, *b, *com.seed
	cfg.Epochs, cfg.TopK, cfg.Cutoff = eps, *topk, *cutoff
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if *b > *n || *b < 1 {
		return usagef("batch size B=%d must satisfy 1 ≤ B ≤ N=%d", *b, *n)
	}
	env, err := com.env(stderr, "decoupling")
	if err != nil {
		return err
	}
	r, err := network.Decoupling(context.Background(), env, cfg)
	if err != nil {
		return err
	}
	return writeResult(stdout, r, *com.json, func() error {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "epoch\tloss\taccuracy\tλ1 exact\tλ1 decoupled\tmedian rel. diff top-%d\tKS(log λ)\tW1 (decades)\n", cfg.TopK)
		for _, s := range r.Result.Stages {
			a := s.Agreement
			fmt.Fprintf(tw, "%d\t%.4g\t%.3f\t%.4g\t%.4g\t%.3f\t%.3f\t%.3f\n", s.Epoch, s.Loss, s.Accuracy, s.Exact[0], s.Decoupled[0], a.MedianRelDiffTopK, a.KS, a.W1Decades)
		}
		return tw.Flush()
	})
}
