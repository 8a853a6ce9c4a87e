package theory

import (
	"context"
	"fmt"
	"time"

	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// Curves is the configuration of notebook 00 (the `theory-curves`
// experiment): one optimiser's closed forms drawn against the loss ratio —
// Eq. 15 for several effective dimensions and several B/η, the power law
// against Arrhenius (Eq. 5), and the stability map of Eq. 16.
type Curves struct {
	Inputs
	Dims     []float64 `json:"dims"`       // effective dimensions n of the Eq. 15 curves
	BOverEta []float64 `json:"b_over_eta"` // B/η of the curves at n = 2
	RatioMax float64   `json:"ratio_max"`  // largest L(θˢ)/L(θ*) drawn
}

// PaperCurves is notebook 00's configuration: η = 0.1, B = 1, h* = 1,
// n ∈ {1, 2, 5, 10, 20}, B/η ∈ {2, 5, 10, 20, 50}, L(θ*) = 0.5, loss
// ratios up to 10; the summary row at n = 10, L(θˢ) = 2L(θ*).
func PaperCurves(run.Scale) Curves {
	return Curves{Inputs: Inputs{B: 1, Eta: 0.1, HStar: 1, N: 10, LStar: 0.5, LSaddle: 1},
		Dims: []float64{1, 2, 5, 10, 20}, BOverEta: []float64{2, 5, 10, 20, 50}, RatioMax: 10}
}

// Declare declares the parameters (pkg/param).
func (c *Curves) Declare(s *param.Set) {
	c.Inputs.Declare(s)
	s.Floats(&c.Dims, "dims", "effective dimensions n of the Eq. 15 curves", param.Min(1), param.MaxItems(20))
	s.Floats(&c.BOverEta, "b-over-eta", "B/η of the Eq. 15 curves at n = 2", param.Positive, param.MaxItems(20))
	s.Float(&c.RatioMax, "ratio-max", "largest loss ratio L(θˢ)/L(θ*) drawn", param.Above(1.01), param.Max(1e6))
}

// Curve is one drawn line; Skipped says why it is not drawn (n ≥ n_c).
type Curve struct {
	Label   string    `json:"label"`
	X       []float64 `json:"x"`
	Y       []float64 `json:"y"`
	Skipped string    `json:"skipped,omitempty"`
}

// CurvesResult holds every curve of notebook 00.
type CurvesResult struct {
	Summary Summary `json:"summary"`
	// ByDim: κ of Eq. 15 against L(θˢ)/L(θ*) (at L* = 1) for each n.
	ByDim []Curve `json:"by_dim"`
	// ByBOverEta: the same at n = 2 for each B/η (at the configured h*).
	ByBOverEta []Curve `json:"by_b_over_eta"`
	// PowerLaw and Arrhenius at n = 2 for the same minimum and a rising saddle.
	PowerLaw, Arrhenius Curve
	// FixedBarrierPowerLaw and FixedBarrierArrhenius: the linear barrier ΔL =
	// L* fixed while the minimum deepens, GLD's D held at that of L*.
	FixedBarrierPowerLaw, FixedBarrierArrhenius Curve
	// CriticalDim is n_c = 2(1 + B/(ηh*)) against B/(ηh*) (Eq. 16).
	CriticalDim Curve `json:"critical_dim"`
}

// CurvesVersion is the code version of EvaluateCurves.
const CurvesVersion = "theory-curves/v1"

// Validate checks the configuration.
func (c Curves) Validate() error {
	if len(c.Dims) == 0 || len(c.BOverEta) == 0 {
		return fmt.Errorf("dims and b-over-eta need at least one value each")
	}
	return c.Inputs.Validate()
}

// EvaluateCurves is the `theory-curves` experiment.
func EvaluateCurves(_ context.Context, env run.Env, c Curves) (run.Result[CurvesResult], error) {
	start := time.Now()
	if err := c.Validate(); err != nil {
		return run.Result[CurvesResult]{}, run.BadInput(err)
	}
	s, b := c.parts()
	var res CurvesResult
	res.Summary, _ = Summarize(s, b)
	ratios := LogSpace(1.01, c.RatioMax, 60)
	for _, n := range c.Dims {
		cv := Curve{Label: fmt.Sprintf("n = %g", n), X: ratios}
		if n >= res.Summary.NC {
			cv.Skipped = fmt.Sprintf("n = %g ≥ n_c = %.3g: unstable minimum (Eq. 16), κ does not decay with the barrier", n, res.Summary.NC)
		} else if y, err := KappaCurve(s, n, ratios); err == nil {
			cv.Y = y
		} else {
			cv.Skipped = err.Error()
		}
		res.ByDim = append(res.ByDim, cv)
	}
	for _, r := range c.BOverEta {
		y, err := KappaCurve(SGD{Eta: 1, B: r, HStar: c.HStar}, 2, ratios)
		if err != nil {
			return run.Result[CurvesResult]{}, run.BadInput(err)
		}
		res.ByBOverEta = append(res.ByBOverEta, Curve{Label: fmt.Sprintf("B/η = %g", r), X: ratios, Y: y})
	}
	xs, pl, ar, err := ArrheniusComparison(s, 2, c.LStar, LogSpace(1.001, c.RatioMax, 80))
	if err != nil {
		return run.Result[CurvesResult]{}, run.BadInput(err)
	}
	res.PowerLaw, res.Arrhenius = Curve{Label: "SGD power law (Eq. 15)", X: xs, Y: pl}, Curve{Label: "GLD Arrhenius, D = ηL*h*/B (Eq. 5)", X: xs, Y: ar}
	lstars := LogSpace(c.LStar/1000, c.LStar, 60)
	pl2, ar2, dRef, err := FixedLinearBarrier(s, 2, c.LStar, c.LStar, lstars)
	if err != nil {
		return run.Result[CurvesResult]{}, run.BadInput(err)
	}
	res.FixedBarrierPowerLaw = Curve{Label: "SGD power law (Eq. 15)", X: lstars, Y: pl2}
	res.FixedBarrierArrhenius = Curve{Label: fmt.Sprintf("GLD, fixed D = %.3g (Eq. 5)", dRef), X: lstars, Y: ar2}
	bx := LogSpace(0.1, 1000, 50)
	nc, err := CriticalDimCurve(bx)
	if err != nil {
		return run.Result[CurvesResult]{}, err
	}
	res.CriticalDim = Curve{Label: "n_c = 2(1 + B/(ηh*))", X: bx, Y: nc}
	return run.Compose(run.Spec{Experiment: "theory-curves", CodeVersion: CurvesVersion, Config: c, Backend: "closed form"}, start, false, res)
}
