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
	widths := intList(fs, "widths", joinInts(d.Run.Arch.Widths), "hidden widths of the MLP (paper: 100,100)")
	eta := fs.Float64("eta", d.Run.Train.Eta, "learning rate η (paper: 0.01)")
	b := fs.Int("B", d.Run.Train.B, "mini-batch size B (paper: 100)")
	epochs := intList(fs, "epochs", joinInts(d.Epochs), "stages (epochs) at which the spectra are compared (paper: 0,50,500)")
	topk := fs.Int("topk", d.TopK, "number of top eigenvalues compared")
	cutoff := fs.Float64("cutoff", d.Cutoff, "eigenvalues below cutoff·λ_max are left out of the distribution distances")
	com := addCommon(fs, d.Run.Train.Seed)
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
	if err := checkMemory("decoupling", cfg.MemoryBytes(), "-N or -widths"); err != nil {
		return err
	}
	env, stop, err := com.env(stderr, "decoupling")
	if err != nil {
		return err
	}
	r, err := network.Decoupling(context.Background(), env, cfg)
	stop()
	if err != nil {
		return err
	}
	// A stage whose loss meets the divergence rule (network.DivergenceFactor)
	// is flagged and has no spectra: they would describe the blow-up. The rule
	// is applied here to the loss too, so that stages cached before the rule
	// existed are flagged as well.
	diverged := false
	for i, s := range r.Result.Stages {
		if s.Diverged || cfg.Run.Diverged(s.Loss) {
			r.Result.Stages[i].Diverged, diverged = true, true
		}
	}
	r.Result.Diverged = diverged
	return writeResult(stdout, r, *com.json, func() error {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "epoch\tloss\taccuracy\tλ1 exact\tλ1 decoupled\tmedian rel. diff top-%d\tKS(log λ)\tW1 (decades)\n", cfg.TopK)
		for _, s := range r.Result.Stages {
			if s.Diverged || len(s.Exact) == 0 || len(s.Decoupled) == 0 {
				fmt.Fprintf(tw, "%d\t%.4g\t%.3f\tDIVERGED\t\t\t\t\n", s.Epoch, s.Loss, s.Accuracy)
				continue
			}
			a := s.Agreement
			fmt.Fprintf(tw, "%d\t%.4g\t%.3f\t%.4g\t%.4g\t%s\t%s\t%s\n", s.Epoch, s.Loss, s.Accuracy, s.Exact[0], s.Decoupled[0],
				fmtFloat("%.3f", a.MedianRelDiffTopK), fmtFloat("%.3f", a.KS), fmtFloat("%.3f", a.W1Decades))
		}
		if diverged {
			fmt.Fprintf(tw, "DIVERGED\ttraining blew up (%s): lower -eta\n", divergenceRule(cfg.Run))
		}
		return tw.Flush()
	})
}
