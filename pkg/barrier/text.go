package barrier

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// G3 formats v with three significant digits, "—" when it is not a number.
func G3(v run.Float) string {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return "—"
	}
	return fmt.Sprintf("%.3g", float64(v))
}

// KappaText is κ with its 95 % interval, "< bound (95 %)" when no run
// escaped (censored: escape slower than the budget), "—" when every run
// diverged.
func (p Point) KappaText() string {
	switch p.Status {
	case StatusSlower:
		return "< " + G3(p.KappaUpper) + " (95%, none escaped)"
	case StatusDiverged:
		return "— (every run diverged)"
	}
	return fmt.Sprintf("%s [%s, %s]", G3(p.Kappa), G3(p.KappaCI[0]), G3(p.KappaCI[1]))
}

// Counts is "escaped/censored/diverged", marked when runs were censored.
func (p Point) Counts() string {
	s := fmt.Sprintf("%d/%d/%d", p.Escaped, p.Censored, p.Diverged)
	if p.Censored > 0 {
		s += fmt.Sprintf(" (%.0f%% censored)", 100*p.CensoredFrac)
	}
	return s
}

// Notes returns the reasons of the point's missing numbers, "name: reason"
// in name order.
func (p Point) Notes() []string { return notes(p.Reasons) }

func notes(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+": "+v)
	}
	sort.Strings(out)
	return out
}

// WriteText prints the landscape, one row per β and the slopes (the
// command line's table).
func (r Result) WriteText(w io.Writer) error {
	ls := r.Landscape
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "θ*, θˢ (other saddle)\t%.5g, %.5g (%.5g)\n", ls.ThetaStar, ls.ThetaSaddle, ls.ThetaOther)
	fmt.Fprintf(tw, "L*, Lˢ, Lˢ/L*\t%.5g, %.5g, %.4g\n", ls.LStar, ls.LSaddle, ls.LSaddle/ls.LStar)
	fmt.Fprintf(tw, "h*, hˢ (Gauss–Newton parts)\t%.5g, %.5g (%.5g, %.5g)\n", ls.HStar, ls.HSaddle, ls.GNStar, ls.GNSaddle)
	fmt.Fprintf(tw, "escape interval of θ₁\t(%.5g, %.5g)\n", ls.A, ls.B)
	fmt.Fprintf(tw, "%s, B = %d, %s mini-batches, n = %d, at most %d steps per run\n", r.Dynamics, r.B, r.Sampling, ls.N, r.MaxSteps)
	fmt.Fprintln(tw, "β\tη\tκ (95% CI)\tescaped/censored/diverged\tCV\tpower law\tArrhenius\texact diffusion\tlarge deviation")
	for _, p := range r.Points {
		fmt.Fprintf(tw, "%g\t%.4g\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Beta, p.Eta, p.KappaText(), p.Counts(), G3(p.CV),
			G3(p.KappaPowerLaw), G3(p.KappaArrhenius), G3(p.KappaExact), G3(p.KappaLD))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if math.IsNaN(float64(r.SlopeFit)) {
		fmt.Fprintln(w, "slope d ln κ/dβ: needs at least two β values with escaped runs")
	} else {
		fmt.Fprintf(w, "slope d ln κ/dβ: SGD %.4g [%.4g, %.4g]; power law %s, Arrhenius %s, exact diffusion %s, large deviation %s\n",
			float64(r.SlopeFit), float64(r.SlopeCI[0]), float64(r.SlopeCI[1]), G3(r.SlopePowerLaw), G3(r.SlopeArrh), G3(r.SlopeExact), G3(r.SlopeLD))
	}
	for _, p := range r.Points {
		for _, n := range p.Notes() {
			fmt.Fprintf(w, "note: β = %g: %s\n", p.Beta, n)
		}
	}
	for _, n := range notes(r.Reasons) {
		if !strings.HasPrefix(n, "slope_fit:") && len(r.Points) > 1 {
			fmt.Fprintf(w, "note: %s\n", n)
		}
	}
	for _, s := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
	return nil
}

// WriteText prints every part of the laboratory.
func (r LabResult) WriteText(w io.Writer) error {
	for i, p := range r.Parts() {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "== %s\n", p.Name)
		if err := p.Result.WriteText(w); err != nil {
			return err
		}
	}
	return nil
}
