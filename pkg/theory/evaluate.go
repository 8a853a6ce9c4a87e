package theory

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// Inputs is one configuration of the closed forms: the `theory` experiment
// evaluates Eq. 15, 16, 17 and the Arrhenius rate of Eq. 5 for it.
type Inputs struct {
	B       float64 `json:"B"`        // mini-batch size
	Eta     float64 `json:"eta"`      // learning rate η
	HStar   float64 `json:"h_star"`   // h* at the minimum
	HSaddle float64 `json:"h_saddle"` // |h_eˢ| at the saddle (0: h*)
	N       float64 `json:"n"`        // effective dimension
	LStar   float64 `json:"L_star"`   // L(θ*)
	LSaddle float64 `json:"L_saddle"` // L(θˢ)
}

// Version is the code version of Evaluate.
const Version = "theory/v1"

// Example is the default configuration of the `theory` command (the same
// at both scales): B = 1, η = 0.1, h* = 1, n = 1, L(θ*) = 0.5, L(θˢ) = 1.
func Example(run.Scale) Inputs {
	return Inputs{B: 1, Eta: 0.1, HStar: 1, N: 1, LStar: 0.5, LSaddle: 1}
}

// Declare declares the parameters (pkg/param).
func (c *Inputs) Declare(s *param.Set) {
	s.Float(&c.B, "B", "mini-batch size B (a number, so that what-if grids can vary it continuously)", param.Min(1))
	s.Float(&c.Eta, "eta", "learning rate η", param.Positive)
	s.Float(&c.HStar, "hstar", "h*, the outlier Hessian eigenvalue at the minimum", param.Positive)
	s.Float(&c.HSaddle, "hs", "|h_eˢ|, the magnitude of the negative Hessian eigenvalue at the saddle", param.Positive, param.Auto("h*"))
	s.Float(&c.N, "n", "effective dimension n, the number of Hessian outliers", param.Min(1))
	s.Float(&c.LStar, "Lstar", "L(θ*), the loss at the minimum", param.Positive)
	s.Float(&c.LSaddle, "Ls", "L(θˢ), the loss at the saddle (≥ Lstar)", param.Positive)
}

func (c Inputs) parts() (SGD, Barrier) {
	return SGD{Eta: c.Eta, B: c.B, HStar: c.HStar}, Barrier{LStar: c.LStar, LSaddle: c.LSaddle, HSaddle: c.HSaddle, N: c.N}
}

// Validate checks the inputs and that every quantity is a finite number
// (values whose ratios leave float64 are refused, naming the inputs).
func (c Inputs) Validate() error {
	if c.LSaddle < c.LStar {
		return fmt.Errorf("Ls = %g (the saddle's loss L(θˢ)) is below Lstar = %g (the minimum's L(θ*)): a barrier needs L(θˢ) ≥ L(θ*)", c.LSaddle, c.LStar)
	}
	s, b := c.parts()
	sum, err := Summarize(s, b)
	if err != nil {
		return err
	}
	return sum.overflow()
}

// overflow names the quantities that are not finite numbers, with the inputs they depend on.
func (s Summary) overflow() error {
	for _, q := range []struct {
		name   string
		v      float64
		inputs string
	}{
		{"temperature", s.Temperature, "B, eta, hstar"}, {"phi", s.Phi, "B, eta, hstar"}, {"n_c", s.NC, "B, eta, hstar"},
		{"exponent", s.Exponent, "B, eta, hstar, n"}, {"kappa_powerlaw", s.KappaPowerLaw, "B, eta, hstar, hs, n, Lstar, Ls"},
		{"kappa_arrhenius", s.KappaArrhenius, "B, eta, hstar, hs, Lstar, Ls"}, {"ln_kappa_powerlaw", s.LogKappaPowerLaw, "B, eta, hstar, hs, n, Lstar, Ls"},
		{"ln_kappa_arrhenius", s.LogKappaArrhenius, "B, eta, hstar, hs, Lstar, Ls"}, {"gld_D", s.GLDDiffusion, "B, eta, hstar, Lstar"},
		{"log_barrier", s.LogBarrier, "Lstar, Ls"}, {"linear_barrier", s.LinearBarrier, "Lstar, Ls"},
	} {
		if math.IsNaN(q.v) || math.IsInf(q.v, 0) {
			return fmt.Errorf("the result overflows float64 (%s = %v): the values of %s are too extreme; use values whose ratios stay within ±1e308", q.name, q.v, q.inputs)
		}
	}
	return nil
}

// Evaluate is the `theory` experiment: every closed form for one configuration.
func Evaluate(_ context.Context, env run.Env, c Inputs) (run.Result[Summary], error) {
	start := time.Now()
	if err := c.Validate(); err != nil {
		return run.Result[Summary]{}, run.BadInput(err)
	}
	s, b := c.parts()
	sum, _ := Summarize(s, b)
	return run.Compose(run.Spec{Experiment: "theory", CodeVersion: Version, Config: c, Backend: "closed form"}, start, false, sum)
}

// WriteText prints the summary as a table.
func (s Summary) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"temperature ηh*/B", g6(s.Temperature)}, {"φ = 1 + B/(ηh*)   (Eq. 17)", g6(s.Phi)}, {"n_c = 2φ   (Eq. 16)", g6(s.NC)},
		{"exponent B/(ηh*) + 1 − n/2", g6(s.Exponent)}, {"stable (n < n_c)", fmt.Sprint(s.Stable)},
		{"κ power law   (Eq. 15)", g6(s.KappaPowerLaw)}, {"κ Arrhenius, GLD at D = ηL*h*/B   (Eq. 5)", g6(s.KappaArrhenius)},
		{"log barrier ln(Ls/L*)", g6(s.LogBarrier)}, {"linear barrier Ls − L*", g6(s.LinearBarrier)},
	}
	for _, w := range s.Warnings {
		rows = append(rows, [2]string{"WARNING", w})
	}
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r[:], "\t"))
	}
	return tw.Flush()
}

func g6(v float64) string { return fmt.Sprintf("%.6g", v) }
