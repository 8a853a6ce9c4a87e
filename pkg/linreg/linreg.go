// Package linreg runs the linear-regression experiments of section 5.3.1:
// the stationary distribution of SGD (Fig. 3a, Eq. 17) and the mean
// first-passage time against the threshold ratio c (Fig. 3b, Eq. 15), for
// discrete SGD and for the paper's continuous-time models. Results are cached
// through pkg/run, keyed by the full configuration.
//
// Seeds: the data (x, y) are drawn from Seed, the dynamics (mini-batches and
// Gaussian noise) from Seed+1 with one independent stream per run.
package linreg

import (
	"context"
	"fmt"
	"math"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

// Problem describes the regression data.
type Problem struct {
	P      int     `json:"P"`
	N      int     `json:"N"`
	XStd   float64 `json:"x_std"`
	Labels string  `json:"labels"`
	Noise  float64 `json:"noise,omitempty"`
	Seed   uint64  `json:"seed"`
}

func (p Problem) build() (*data.LinRegProblem, *dynamics.Quadratic, error) {
	lr, err := data.NewLinReg(data.LinRegConfig{N: p.N, P: p.P, Seed: p.Seed, XStd: p.XStd, Labels: p.Labels, Noise: p.Noise})
	if err != nil {
		return nil, nil, err
	}
	q, err := dynamics.NewQuadratic(lr)
	if err != nil {
		return nil, nil, err
	}
	return lr, q, nil
}

// Spectrum summarises the Hessian of the problem.
type Spectrum struct {
	HMean float64 `json:"h_mean"` // Tr H / P: the paper's h* for linear regression
	HMax  float64 `json:"h_max"`  // λ_max
	HMin  float64 `json:"h_min"`
	LStar float64 `json:"L_star"`
	N     int     `json:"n"` // effective dimension: P (every eigenvalue is an outlier)
}

func spectrum(q *dynamics.Quadratic) Spectrum {
	return Spectrum{HMean: q.MeanEigenvalue(), HMax: q.Lambda[0], HMin: q.Lambda[q.P-1], LStar: q.LStar, N: q.P}
}

func validateDyn(eta float64, b int, n int) error {
	if !(eta > 0) || math.IsInf(eta, 0) {
		return fmt.Errorf("learning rate η must be positive, got %v", eta)
	}
	if b < 1 || b > n {
		return fmt.Errorf("batch size B=%d must satisfy 1 ≤ B ≤ N=%d", b, n)
	}
	return nil
}

// Validate checks the data part.
func (p Problem) Validate() error {
	if p.P < 1 {
		return fmt.Errorf("P must be ≥ 1, got %d", p.P)
	}
	return data.LinRegConfig{N: p.N, P: p.P, XStd: p.XStd, Labels: p.Labels, Noise: p.Noise}.Validate()
}

// phiTheory returns 1 + B/(ηh) for a given h.
func phiTheory(eta float64, b int, h float64) float64 {
	v, _ := theory.Phi(theory.SGD{Eta: eta, B: float64(b), HStar: h})
	return v
}

// slopeTheory returns B/(ηh) + 1 − n/2.
func slopeTheory(eta float64, b int, h float64, n int) float64 {
	v, _ := theory.EscapeExponent(theory.SGD{Eta: eta, B: float64(b), HStar: h}, float64(n))
	return v
}

// Engine names the compute engine of these experiments in provenance
// records and cache keys: the native Go loop of dynamics.Run (the GoMLX
// lockstep engine, dynamics.RunGoMLX, follows the same trajectories and is
// used for accelerators and benchmarks).
const Engine = "native-go"

// StationarySweep runs Stationary for every (η, B) pair of the grid, in
// order, reporting progress per configuration; finished configurations are
// cached, so an interrupted sweep resumes where it stopped.
func StationarySweep(ctx context.Context, cache run.Cache, base StationaryConfig, etas []float64, bs []int, progress run.Progress) ([]run.Result[StationaryResult], error) {
	var out []run.Result[StationaryResult]
	total := len(etas) * len(bs)
	for _, eta := range etas {
		for _, b := range bs {
			c := base
			c.Eta, c.B = eta, b
			progress.Report(len(out), total, fmt.Sprintf("η=%g B=%d", eta, b))
			r, err := Stationary(ctx, cache, Engine, c, nil)
			if err != nil {
				return out, fmt.Errorf("η=%g, B=%d: %w", eta, b, err)
			}
			out = append(out, r)
		}
	}
	progress.Report(total, total, "done")
	return out, nil
}

// FPTSweep runs FPT for each configuration in order, cached one by one.
func FPTSweep(ctx context.Context, cache run.Cache, cfgs []FPTConfig, progress run.Progress) ([]run.Result[FPTResult], error) {
	var out []run.Result[FPTResult]
	for i, c := range cfgs {
		progress.Report(i, len(cfgs), fmt.Sprintf("%s P=%d η=%g B=%d", c.Dynamics, c.P, c.Eta, c.B))
		r, err := FPT(ctx, cache, Engine, c, nil)
		if err != nil {
			return out, fmt.Errorf("%s P=%d: %w", c.Dynamics, c.P, err)
		}
		out = append(out, r)
	}
	progress.Report(len(cfgs), len(cfgs), "done")
	return out, nil
}
