package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
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

// hstarAlias rewrites the old spelling of -hstar: "-h 1" and "-h=1" (a
// number after -h) still mean h* = 1, while a bare -h asks for help.
func hstarAlias(args []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "h" {
			continue
		}
		if hasVal {
			out[i] = "-hstar=" + val
		} else if i+1 < len(out) {
			if _, err := strconv.ParseFloat(out[i+1], 64); err == nil || isRangeErr(err) {
				out[i] = "-hstar"
			}
		}
	}
	return out
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// theoryInputs says which flags each quantity of theory.Summary depends on,
// to name them when a quantity overflows.
var theoryInputs = []struct {
	name  string
	get   func(theory.Summary) float64
	flags string
}{
	{"temperature", func(s theory.Summary) float64 { return s.Temperature }, "-B, -eta, -hstar"},
	{"phi", func(s theory.Summary) float64 { return s.Phi }, "-B, -eta, -hstar"},
	{"n_c", func(s theory.Summary) float64 { return s.NC }, "-B, -eta, -hstar"},
	{"exponent", func(s theory.Summary) float64 { return s.Exponent }, "-B, -eta, -hstar, -n"},
	{"kappa_powerlaw", func(s theory.Summary) float64 { return s.KappaPowerLaw }, "-B, -eta, -hstar, -hs, -n, -Lstar, -Ls"},
	{"kappa_arrhenius", func(s theory.Summary) float64 { return s.KappaArrhenius }, "-B, -eta, -hstar, -hs, -Lstar, -Ls"},
	{"ln_kappa_powerlaw", func(s theory.Summary) float64 { return s.LogKappaPowerLaw }, "-B, -eta, -hstar, -hs, -n, -Lstar, -Ls"},
	{"ln_kappa_arrhenius", func(s theory.Summary) float64 { return s.LogKappaArrhenius }, "-B, -eta, -hstar, -hs, -Lstar, -Ls"},
	{"gld_D", func(s theory.Summary) float64 { return s.GLDDiffusion }, "-B, -eta, -hstar, -Lstar"},
	{"log_barrier", func(s theory.Summary) float64 { return s.LogBarrier }, "-Lstar, -Ls"},
	{"linear_barrier", func(s theory.Summary) float64 { return s.LinearBarrier }, "-Lstar, -Ls"},
}

// overflowError names the quantities of sum that are not finite numbers.
func overflowError(sum theory.Summary) error {
	var bad []string
	flags := ""
	for _, q := range theoryInputs {
		if v := q.get(sum); math.IsNaN(v) || math.IsInf(v, 0) {
			bad = append(bad, fmt.Sprintf("%s = %v", q.name, v))
			if flags == "" {
				flags = q.flags
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return usagef("the result overflows float64 (%s): the values of %s are too extreme; use values whose ratios stay within ±1e308", strings.Join(bad, ", "), flags)
}

func runTheory(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("theory", stderr)
	b := fs.Float64("B", 1, "mini-batch size B (≥ 1)")
	eta := fs.Float64("eta", 0.1, "learning rate η (> 0)")
	h := fs.Float64("hstar", 1, "h*, the outlier Hessian eigenvalue at the minimum (> 0); the old spelling -h <value> still works")
	hs := fs.Float64("hs", 0, "|h_eˢ|, the magnitude of the negative Hessian eigenvalue at the saddle (default: h*)")
	n := fs.Float64("n", 1, "effective dimension n, the number of Hessian outliers (≥ 1)")
	lstar := fs.Float64("Lstar", 0.5, "L(θ*), the loss at the minimum (> 0)")
	ls := fs.Float64("Ls", 1, "L(θˢ), the loss at the saddle (≥ Lstar)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, hstarAlias(args)); err != nil {
		return err
	}
	if err := positive(fs, "B", "eta", "hstar", "n", "Lstar", "Ls"); err != nil {
		return err
	}
	switch {
	case *b < 1:
		return usagef("-B %g: a mini-batch holds at least one sample (B ≥ 1)", *b)
	case *n < 1:
		return usagef("-n %g: the effective dimension counts Hessian outliers (n ≥ 1)", *n)
	case *hs < 0:
		return usagef("-hs %g: the saddle's curvature magnitude must be ≥ 0 (0 means h*)", *hs)
	case *ls < *lstar:
		return usagef("-Ls %g (the saddle's loss L(θˢ)) is below -Lstar %g (the minimum's L(θ*)): a barrier needs L(θˢ) ≥ L(θ*)", *ls, *lstar)
	}
	start := time.Now()
	s := theory.SGD{Eta: *eta, B: *b, HStar: *h}
	bar := theory.Barrier{LStar: *lstar, LSaddle: *ls, HSaddle: *hs, N: *n}
	sum, err := theory.Summarize(s, bar)
	if err != nil {
		return usageError{err}
	}
	if err := overflowError(sum); err != nil {
		return err
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
