package linreg

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/sgdescape/sgdescape/pkg/dynamics"
)

// WriteText prints the stationary result as a table (the CLI without -json).
func (res StationaryResult) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	switch {
	case res.Diverged:
		fmt.Fprintf(tw, "DIVERGED\t%s\n", res.Reason)
	case res.Reason != "":
		fmt.Fprintf(tw, "NO ESTIMATE\t%s\n", res.Reason)
	default:
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
}

// WriteText prints the first-passage result as a table (the CLI without -json).
func (res FPTResult) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if res.Diverged > 0 {
		fmt.Fprintf(tw, "DIVERGED\t%d of the runs blew up (loss non-finite or above %g·L*); no first-passage statistics\n", res.Diverged, dynamics.DivergenceFactor)
		return tw.Flush()
	}
	fmt.Fprintln(tw, "c\tmean FPT\tse\tcensored\treliable")
	for i, e := range res.Fit.Estimates {
		mean := fmt.Sprintf("%.4g", e.Mean)
		if e.Method == "km-restricted" { // a lower bound: runs were censored
			mean = "≥ " + mean
		}
		fmt.Fprintf(tw, "%g\t%s\t%.2g\t%d\t%v\n", e.C, mean, float64(e.SE), res.Censored[i], e.Reliable)
	}
	switch ll := res.Fit.LogLog; {
	case math.IsNaN(ll.Slope):
		fmt.Fprintf(tw, "slope fit\tnone (see below)\n")
	default:
		fmt.Fprintf(tw, "slope fit (c ≥ %.3g)\t%.4g  [%.4g, %.4g]\n", res.FitCMin, ll.Slope, float64(ll.CI[0]), float64(ll.CI[1]))
	}
	fmt.Fprintf(tw, "slope theory B/(ηh*)+1−n/2, h* = mean %.4g\t%.4g\n", res.HMean, res.SlopeMean)
	fmt.Fprintf(tw, "slope theory with h* = λ_max %.4g\t%.4g\n", res.HMax, res.SlopeMax)
	if res.FitNote != "" {
		fmt.Fprintf(tw, "note\t%s\n", res.FitNote)
	}
	if res.Undetermined != "" {
		fmt.Fprintf(tw, "CENSORED\t%s\n", res.Undetermined)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(tw, "DEGENERATE\t%s\n", w)
	}
	return tw.Flush()
}
