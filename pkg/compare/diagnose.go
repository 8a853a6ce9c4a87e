package compare

import (
	"fmt"
	"math"
	"strings"

	"github.com/sgdescape/sgdescape/pkg/diagnose"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// DiagnoseFigures are the key figures of a diagnosis (notebook 08).
type DiagnoseFigures struct {
	L                  float64      `json:"L"`
	Noise              float64      `json:"noise"`
	NoiseOverDecoupled run.Float    `json:"noise_over_decoupled"`
	HStar              float64      `json:"h_star"`
	NC                 float64      `json:"n_c"`
	NTraceRatio        float64      `json:"n_trace_ratio"`
	NParticipation     float64      `json:"n_participation"`
	Verdict            string       `json:"verdict"`
	ContinuationSlope  run.Float    `json:"continuation_slope"`
	ContinuationCI     run.Interval `json:"continuation_slope_ci"`
}

// Diagnose compares a diagnosis with the paper: the noise against its
// decoupled prediction (Eq. 9, mean-square loss), its proportionality to
// the loss along SGD from the weights (Eq. 6), and the stability of the
// minimum by every estimator of n (Eq. 16). It returns the key figures,
// the table and a plain-language verdict.
func Diagnose(r diagnose.Result) (f DiagnoseFigures, t Table, verdict string) {
	nan := math.NaN()
	f = DiagnoseFigures{L: r.L, Noise: r.Noise.Strength, NoiseOverDecoupled: r.Noise.Ratio, HStar: r.HStar, NC: r.Stability.NC,
		NTraceRatio: r.Estimators.TraceRatio, NParticipation: r.Estimators.Participation, Verdict: r.Stability.Verdict,
		ContinuationSlope: run.Float(nan), ContinuationCI: run.NewInterval(nan, nan)}
	t = Table{Caption: "the network against the paper: ours vs theory", Header: []string{"quantity", "ours", "theory", "agree"}}
	ratio := float64(r.Noise.Ratio)
	if !math.IsNaN(ratio) {
		t.Rows = append(t.Rows, []string{"𝒩 / decoupled prediction 2L·(1/N)Σ|∇f|² (Eq. 9)", fmt.Sprintf("%.3f", ratio), "1", yesNo(math.Abs(ratio-1) <= 0.1)})
	}
	var cont string
	if c := r.Continuation; c != nil {
		f.ContinuationSlope, f.ContinuationCI = c.Slope, c.SlopeCI
		in := c.SlopeCI.Contains(1)
		t.Rows = append(t.Rows, []string{fmt.Sprintf("slope of log 𝒩 against log L over %d SGD steps from the weights (Eq. 6)", c.Steps),
			fmt.Sprintf("%.3f [%.3f, %.3f]", float64(c.Slope), float64(c.SlopeCI[0]), float64(c.SlopeCI[1])), "1", yesNo(in)})
		if n := len(c.Points); n >= 2 && !c.Diverged && c.Points[n-1].L < 0.5*c.Points[0].L {
			defer func() {
				verdict += fmt.Sprintf(" Note: SGD from these weights kept lowering the loss (L from %.3g to %.3g), so the weights are not yet at a minimum; Eq. 16 and Eq. 15 describe the minimum with this curvature, and h* and n change as training goes on.", c.Points[0].L, c.Points[n-1].L)
			}()
		}
		switch {
		case c.Diverged:
			cont = "SGD from these weights diverged, so 𝒩 ∝ L could not be checked."
		case in:
			cont = fmt.Sprintf("Along %d SGD steps from these weights the noise stays proportional to the loss (slope %.2f, interval containing 1), as Eq. 6 says.", c.Steps, float64(c.Slope))
		default:
			cont = fmt.Sprintf("Along %d SGD steps from these weights log 𝒩 against log L has slope %.2f [%.2f, %.2f], not 1: the noise is not simply proportional to the loss here.", c.Steps, float64(c.Slope), float64(c.SlopeCI[0]), float64(c.SlopeCI[1]))
		}
	}
	var stable, unstable []string
	for _, v := range r.Stability.Estimators {
		t.Rows = append(t.Rows, []string{fmt.Sprintf("n (%s) against n_c = 2(1 + B/(ηh*)) (Eq. 16)", v.Estimator),
			fmt.Sprintf("%.3g", v.N), fmt.Sprintf("< %.3g", r.Stability.NC), yesNo(v.Stable)})
		if v.Stable {
			stable = append(stable, v.Estimator)
		} else {
			unstable = append(unstable, v.Estimator)
		}
	}
	noise := ""
	if !math.IsNaN(ratio) {
		noise = fmt.Sprintf("The noise strength 𝒩 = %.4g is %.2f times its decoupled prediction (Eq. 9). ", r.Noise.Strength, ratio)
	}
	verdict = fmt.Sprintf("**Verdict (%s).** %s%s At η = %g, B = %d the minimum is %s by %d of %d estimators of n (h* = %.4g, n_c = %.3g). %s",
		r.Stability.Verdict, noise, cont, r.Stability.Eta, r.Stability.B, map[bool]string{true: "stable", false: "not stable"}[len(unstable) == 0],
		len(stable), len(stable)+len(unstable), r.HStar, r.Stability.NC, strings.TrimSpace(r.Stability.Summary))
	return f, t, verdict
}
