package network

import (
	"context"

	"github.com/gomlx/gomlx/backends"

	"github.com/sgdescape/sgdescape/pkg/hessian"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/spectrum"
)

// SpectrumVersion is the code version of the spectrum at θ*.
const SpectrumVersion = "gn-spectrum/v1"

// MinimumSpectrum describes the Gauss–Newton matrix at θ* (appendix E).
type MinimumSpectrum struct {
	Route      hessian.Route               `json:"route"`
	P          int                         `json:"P"`
	N          int                         `json:"N"`
	Top        []float64                   `json:"top"` // the 100 largest eigenvalues
	All        []float64                   `json:"all"` // every eigenvalue (for histograms)
	HStar      float64                     `json:"h_star"`
	Trace      float64                     `json:"trace"`
	Estimators spectrum.EffectiveDimension `json:"estimators"`
}

// Spectrum computes (or loads) the dense Gauss–Newton spectrum at θ*.
func Spectrum(ctx context.Context, be backends.Backend, backendName string, cache run.Cache, c PretrainConfig, sess *Session) (MinimumSpectrum, error) {
	spec := run.Spec{Experiment: "network/spectrum", CodeVersion: SpectrumVersion, Config: c, Seed: c.Run.Train.Seed, Backend: backendName}
	r, err := run.Do(ctx, cache, spec, func(ctx context.Context) (MinimumSpectrum, error) {
		gn, err := hessian.GaussNewton(be, sess.Arch, sess.Params(), sess.Data.X, sess.Data.N(), "")
		if err != nil {
			return MinimumSpectrum{}, err
		}
		ms := MinimumSpectrum{Route: gn.Route, P: gn.P, N: gn.N, All: gn.Eigenvalues, HStar: gn.Eigenvalues[0]}
		ms.Top = gn.Eigenvalues[:min(100, len(gn.Eigenvalues))]
		for _, v := range gn.Eigenvalues {
			ms.Trace += v
		}
		ms.Estimators, err = spectrum.Estimate(gn.Eigenvalues)
		return ms, err
	})
	return r.Result, err
}
