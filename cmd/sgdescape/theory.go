package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

func init() {
	commands["theory"] = command{
		summary: "evaluate Eq. 15, 16, 17 and the Arrhenius (GLD) rate for one configuration",
		run:     runTheory,
	}
}

func runTheory(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("theory", stderr)
	b := fs.Float64("B", 1, "mini-batch size B (≥ 1)")
	eta := fs.Float64("eta", 0.1, "learning rate η (> 0)")
	h := fs.Float64("h", 1, "h*, the outlier Hessian eigenvalue at the minimum (> 0)")
	hs := fs.Float64("hs", 0, "|h_eˢ|, the magnitude of the negative Hessian eigenvalue at the saddle (default: h*)")
	n := fs.Float64("n", 1, "effective dimension n, the number of Hessian outliers (≥ 1)")
	lstar := fs.Float64("Lstar", 0.5, "L(θ*), the loss at the minimum (> 0)")
	ls := fs.Float64("Ls", 1, "L(θˢ), the loss at the saddle (≥ Lstar)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	start := time.Now()
	s := theory.SGD{Eta: *eta, B: *b, HStar: *h}
	bar := theory.Barrier{LStar: *lstar, LSaddle: *ls, HSaddle: *hs, N: *n}
	sum, err := theory.Summarize(s, bar)
	if err != nil {
		return usageError{err}
	}
	if *asJSON {
		cfg := map[string]any{"B": *b, "eta": *eta, "h_star": *h, "h_saddle": *hs, "n": *n, "L_star": *lstar, "L_saddle": *ls}
		r, err := run.Compose(run.Spec{Experiment: "theory", CodeVersion: "theory/v1", Config: cfg, Backend: "closed form"}, start, false, sum)
		if err != nil {
			return err
		}
		return writeResult(stdout, r, true, nil)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "temperature ηh*/B\t%.6g\n", sum.Temperature)
	fmt.Fprintf(tw, "φ = 1 + B/(ηh*)   (Eq. 17)\t%.6g\n", sum.Phi)
	fmt.Fprintf(tw, "n_c = 2φ   (Eq. 16)\t%.6g\n", sum.NC)
	fmt.Fprintf(tw, "exponent B/(ηh*) + 1 − n/2\t%.6g\n", sum.Exponent)
	fmt.Fprintf(tw, "stable (n < n_c)\t%v\n", sum.Stable)
	fmt.Fprintf(tw, "κ power law   (Eq. 15)\t%.6g\n", sum.KappaPowerLaw)
	fmt.Fprintf(tw, "κ Arrhenius, GLD at D = ηL*h*/B   (Eq. 5)\t%.6g\n", sum.KappaArrhenius)
	fmt.Fprintf(tw, "log barrier ln(Ls/L*)\t%.6g\n", sum.LogBarrier)
	fmt.Fprintf(tw, "linear barrier Ls − L*\t%.6g\n", sum.LinearBarrier)
	return tw.Flush()
}
