package network

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// The results as tables, for the command line without -json.

// orNA prints v with verb, or "unavailable" when it is not finite.
func orNA(verb string, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "unavailable"
	}
	return fmt.Sprintf(verb, v)
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// WriteText prints the spectra's agreement at every stage; a diverged stage
// is flagged with the divergence rule.
func (r DecouplingResult) WriteText(w io.Writer) error {
	tw := newTable(w)
	k := 0
	for _, s := range r.Stages {
		k = max(k, s.Agreement.K)
	}
	fmt.Fprintf(tw, "epoch\tloss\taccuracy\tλ1 exact\tλ1 decoupled\tmedian rel. diff top-%d\tKS(log λ)\tW1 (decades)\n", k)
	for _, s := range r.Stages {
		if s.Diverged || len(s.Exact) == 0 || len(s.Decoupled) == 0 {
			fmt.Fprintf(tw, "%d\t%.4g\t%.3f\tDIVERGED\t\t\t\t\n", s.Epoch, s.Loss, s.Accuracy)
			continue
		}
		a := s.Agreement
		fmt.Fprintf(tw, "%d\t%.4g\t%.3f\t%.4g\t%.4g\t%s\t%s\t%s\n", s.Epoch, s.Loss, s.Accuracy, s.Exact[0], s.Decoupled[0],
			orNA("%.3f", a.MedianRelDiffTopK), orNA("%.3f", a.KS), orNA("%.3f", a.W1Decades))
	}
	if r.Diverged {
		fmt.Fprintf(tw, "DIVERGED\ttraining blew up (%s): lower eta\n", r.DivergenceRule)
	}
	return tw.Flush()
}

// WriteText prints the loss and noise strength at every measured epoch and
// the slopes (or the divergence).
func (c NoiseCurve) WriteText(w io.Writer) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "epoch\tloss\taccuracy\t𝒩\tTr Σ\t2L·mean|∇f|²")
	for _, p := range c.Points {
		fmt.Fprintf(tw, "%d\t%.4g\t%.3f\t%.4g\t%.4g\t%.4g\n", p.Epoch, p.Loss, p.Accuracy, p.Noise, p.TraceSigma, p.Decoupled)
	}
	if c.Diverged {
		fmt.Fprintf(tw, "DIVERGED\tat epoch %d (%s): no slopes; lower eta\n", c.DivergedAt, c.DivergenceRule)
		return tw.Flush()
	}
	fmt.Fprintf(tw, "late slope d log 𝒩 / d log L (epochs ≥ %d)\t%s  [%s, %s]\n", c.LateFrom, orNA("%.3f", c.LateSlope),
		orNA("%.3f", float64(c.LateSlopeCI[0])), orNA("%.3f", float64(c.LateSlopeCI[1])))
	fmt.Fprintf(tw, "early slope\t%s\n", orNA("%.3f", c.EarlySlope))
	return tw.Flush()
}

// WriteText prints every panel's curve under its name.
func (r NoisePanelsResult) WriteText(w io.Writer) error {
	for _, p := range r.Panels {
		fmt.Fprintf(w, "== %s (%s, %d parameters)\n", p.Name, p.Curve.Arch, p.Curve.Params)
		if err := p.Curve.WriteText(w); err != nil {
			return err
		}
	}
	return nil
}

// WriteText prints θ*, the Gauss–Newton spectrum and the exact-Hessian
// estimates, or the pre-training's divergence.
func (m MinimumResult) WriteText(w io.Writer) error {
	if m.Diverged {
		_, err := fmt.Fprintf(w, "DIVERGED  pre-training blew up (%s; rule: %s): no minimum θ*, no spectrum; lower pretrain-eta\n", m.Note, m.DivergenceRule)
		return err
	}
	tw := newTable(w)
	p, ms := m.Pretrained, m.Spectrum
	fmt.Fprintf(tw, "L(θ*) after %d epochs\t%.5g (%s)\n", p.Epoch, p.LStar, p.Note)
	fmt.Fprintf(tw, "h* = λ1 of (1/N)Σ∇f∇fᵀ (%s route)\t%.5g\n", ms.Route, ms.HStar)
	fmt.Fprintf(tw, "trace\t%.5g\n", ms.Trace)
	fmt.Fprintf(tw, "n: trace ratio / participation / entropy / above λ1/10\t%.3g / %.3g / %.3g / %d\n",
		ms.Estimators.TraceRatio, ms.Estimators.Participation, ms.Estimators.Entropy, ms.Estimators.AboveTenth)
	fmt.Fprintf(tw, "top eigenvalues\t%.4g\n", ms.Top[:min(10, len(ms.Top))])
	if ex := m.Exact; ex != nil {
		if len(ex.Top) > 0 {
			fmt.Fprintf(tw, "exact Hessian top (Lanczos)\t%.4g\n", ex.Top)
		}
		if tr := float64(ex.Trace); !math.IsNaN(tr) {
			fmt.Fprintf(tw, "exact Hessian trace (Hutchinson)\t%.5g ± %.2g\n", tr, float64(ex.TraceSE))
		}
	}
	return tw.Flush()
}

// WriteText prints the mean first-passage times, the slope fit against the
// theory for every estimator of n, or the divergence.
func (r FirstPassageResult) WriteText(w io.Writer) error {
	tw := newTable(w)
	switch {
	case r.PretrainDiverged:
		fmt.Fprintf(tw, "DIVERGED\tpre-training blew up (%s; rule: %s): no minimum θ*, no first passages; lower pretrain-eta\n", r.Note, r.DivergenceRule)
		return tw.Flush()
	case r.Diverged > 0:
		fmt.Fprintf(tw, "DIVERGED\t%d runs blew up (%s): no first-passage statistics; lower eta\n", r.Diverged, r.DivergenceRule)
		return tw.Flush()
	}
	fmt.Fprintln(tw, "c\tmean FPT\tse\tcensored\tCV")
	for i, e := range r.Fit.Estimates {
		cv := math.NaN()
		if i < len(r.FPTCV) {
			cv = float64(r.FPTCV[i])
		}
		fmt.Fprintf(tw, "%g\t%.4g\t%.2g\t%d\t%s\n", e.C, e.Mean, float64(e.SE), e.Censored, orNA("%.2f", cv))
	}
	if r.SlowerThanBudget {
		fmt.Fprintf(tw, "SLOWER THAN THE BUDGET\t%s\n", r.Undetermined)
		return tw.Flush()
	}
	fmt.Fprintf(tw, "slope fit\t%.4g  [%.4g, %.4g]\n", r.Fit.LogLog.Slope, float64(r.Fit.LogLog.CI[0]), float64(r.Fit.LogLog.CI[1]))
	fmt.Fprintf(tw, "h* = λ1(GN), L*\t%.4g, %.4g\n", r.HStar, r.LStar)
	for _, e := range r.Estimators {
		fmt.Fprintf(tw, "theory with n = %.3g (%s)\t%.4g\n", e.N, e.Name, e.Slope)
	}
	fmt.Fprintf(tw, "implied n\t%.3g\n", r.ImpliedN)
	for _, w := range r.Warnings {
		fmt.Fprintf(tw, "DEGENERATE\t%s\n", w)
	}
	return tw.Flush()
}
