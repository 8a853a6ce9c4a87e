// Package barrier is the escape-over-a-barrier laboratory: a regression
// model whose empirical loss has a shallow minimum, a saddle and a deeper
// minimum (helix regression, optionally with n − 1 linear "spectator"
// coordinates so the minimum has n Hessian outliers), the exact landscape of
// the drawn data set (stationary points, curvatures, per-sample gradient
// variance, large-deviation quasi-potential), a fast SGD escape simulation
// (mini-batches without replacement as the paper draws them, or i.i.d.; also
// Gaussian-noise and GLD controls), and four escape-rate predictions computed
// from the same data set: the paper's power law (Eq. 15), Arrhenius (Eq. 5),
// the exact-variance 1-D diffusion and the large-deviation quasi-potential.
package barrier

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/rng"
)

// Helix describes the model and its data set.
//
// f(θ, x) = w(θ₁)·x₁:₃ + Σ_{i=2..n} θ_i x_{i+2}, w(θ₁) = (R cos θ₁, R sin θ₁, C θ₁),
// x ~ N(0, I_{n+2}); the teacher is y = w(Teacher)·x₁:₃ + Σ_i Spectator·x_{i+2} + Sigma·ε.
// The loss is L(θ) = (1/2N) Σ_μ (f(θ, x_μ) − y_μ)².
// The helix inputs and label noise come from one random stream
// (rng.HelixData) and the spectator inputs from another (rng.HelixSpectators),
// so data sets with different n share their helix part.
type Helix struct {
	N         int     `json:"N"`                 // samples
	Dim       int     `json:"n"`                 // outliers n = 1 + number of spectators
	R         float64 `json:"R"`                 // helix radius (1)
	C         float64 `json:"c"`                 // helix pitch per radian (0.2)
	Sigma     float64 `json:"sigma"`             // label noise (0.6)
	Teacher   float64 `json:"teacher_theta"`     // teacher angle (2π)
	Spectator float64 `json:"spectator_teacher"` // teacher weight of each spectator input (0.5)
	Seed      uint64  `json:"seed"`              // draws the data set
	Start     float64 `json:"start"`             // θ* is the local minimum nearest to this θ₁ (0)
	SearchLo  float64 `json:"search_lo"`         // stationary points are sought in [SearchLo, SearchHi] of θ₁
	SearchHi  float64 `json:"search_hi"`         //
	GridSteps int     `json:"grid_steps"`        // bracketing grid for the search (20000)
}

// PaperHelix returns the helix: R = 1, c = 0.2, σ = 0.6, teacher at
// 2π, N = 1000, n = 1, seed 1, start near 0, search over [−3π, 5π].
func PaperHelix() Helix {
	return Helix{N: 1000, Dim: 1, R: 1, C: 0.2, Sigma: 0.6, Teacher: 2 * math.Pi, Spectator: 0.5, Seed: 1,
		Start: 0, SearchLo: -3 * math.Pi, SearchHi: 5 * math.Pi, GridSteps: 20000}
}

// Declare declares the data set's parameters (pkg/param); its seed is the
// experiment's master seed, declared by Config.
func (h *Helix) Declare(s *param.Set) {
	s.Int(&h.Dim, "n", "outliers n: the helix angle plus n − 1 linear spectator coordinates", param.Min(1), param.Max(1000))
	s.Int(&h.N, "N", "samples in the data set", param.Min(4))
	s.Float(&h.R, "R", "helix radius R", param.Positive, param.Max(1e6))
	s.Float(&h.C, "c", "helix pitch c (w₃ = cθ)", param.NonNegative, param.Max(1e6))
	s.Float(&h.Sigma, "sigma", "label noise σ", param.NonNegative, param.Max(1e6))
	s.Float(&h.Teacher, "teacher", "teacher angle", param.Min(-1e6), param.Max(1e6))
	s.Float(&h.Spectator, "spectator", "teacher weight of each spectator input", param.Min(-1e6), param.Max(1e6))
	s.Float(&h.Start, "start", "θ* is the local minimum nearest to this angle", param.Min(-1e6), param.Max(1e6))
	s.Float(&h.SearchLo, "search-lo", "lower end of the search for stationary points", param.Min(-1e6), param.Max(1e6))
	s.Float(&h.SearchHi, "search-hi", "upper end of the search for stationary points", param.Min(-1e6), param.Max(1e6))
}

// MaxSamples bounds N·(n+3) stored numbers (about 1.6 GB).
const MaxSamples = 200_000_000

// Validate checks the description.
func (h Helix) Validate() error {
	fin := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case h.Dim < 1:
		return fmt.Errorf("n (the number of outliers) must be ≥ 1, got %d", h.Dim)
	case h.Dim > 1000:
		return fmt.Errorf("n = %d spectators is beyond this laboratory (at most 1000)", h.Dim)
	case h.N < h.Dim+3:
		return fmt.Errorf("N = %d samples is too few for n = %d (need N ≥ n + 3)", h.N, h.Dim)
	case float64(h.N)*float64(h.Dim+3) > MaxSamples:
		return fmt.Errorf("N·(n+3) = %.3g numbers exceeds the memory limit %d; lower N or n", float64(h.N)*float64(h.Dim+3), MaxSamples)
	case !(h.R > 0) || !fin(h.R):
		return fmt.Errorf("helix radius R must be positive and finite, got %v", h.R)
	case !(h.C >= 0) || !fin(h.C):
		return fmt.Errorf("helix pitch c must be ≥ 0 and finite, got %v", h.C)
	case !(h.Sigma >= 0) || !fin(h.Sigma):
		return fmt.Errorf("label noise σ must be ≥ 0 and finite, got %v", h.Sigma)
	case !fin(h.Teacher) || !fin(h.Spectator) || !fin(h.Start):
		return fmt.Errorf("teacher angle, spectator teacher and start must be finite")
	case !fin(h.SearchLo) || !fin(h.SearchHi) || !(h.SearchHi > h.SearchLo):
		return fmt.Errorf("search interval [%v, %v] must be finite and non-empty", h.SearchLo, h.SearchHi)
	case !(h.Start > h.SearchLo && h.Start < h.SearchHi):
		return fmt.Errorf("start %v is outside the search interval [%v, %v]", h.Start, h.SearchLo, h.SearchHi)
	case h.GridSteps < 100 || h.GridSteps > 10_000_000:
		return fmt.Errorf("search grid steps must be in [100, 10⁷], got %d", h.GridSteps)
	}
	return nil
}

// Data is a drawn data set with its second moments.
type Data struct {
	Helix
	// D = n + 3 numbers per sample: z_μ = (x_μ (n+2 inputs), −y_μ), so that
	// f − y = z·ũ with ũ(θ) = (R cos θ₁, R sin θ₁, c θ₁, θ₂, …, θ_n, 1).
	D int
	Z []float64 // N×D, row-major
	// M = (1/N) Σ_μ z_μ z_μᵀ (D×D): L(θ) = ½ ũᵀ M ũ.
	M []float64
	// S is the 4×4 Schur complement of the spectator block of M on the
	// coordinates (x₁, x₂, x₃, −y): the profile loss with the spectators at
	// their optimum is L_p(θ₁) = ½ ûᵀ S û, û = (R cos θ₁, R sin θ₁, c θ₁, 1).
	S [16]float64
	// VOpt maps û to the optimal spectators: v*(θ₁) = VOpt·û ((n−1)×4).
	VOpt []float64
}

// Draw draws the data set from the seed.
func (h Helix) Draw() (*Data, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	d := h.Dim + 3
	dt := &Data{Helix: h, D: d, Z: make([]float64, h.N*d)}
	main := rng.New(h.Seed, rng.HelixData)
	spec := rng.New(h.Seed, rng.HelixSpectators)
	wt := [3]float64{h.R * math.Cos(h.Teacher), h.R * math.Sin(h.Teacher), h.C * h.Teacher}
	for mu := 0; mu < h.N; mu++ {
		z := dt.Z[mu*d : (mu+1)*d]
		y := 0.0
		for i := 0; i < 3; i++ {
			z[i] = main.NormFloat64()
			y += wt[i] * z[i]
		}
		y += h.Sigma * main.NormFloat64()
		for i := 3; i < d-1; i++ {
			z[i] = spec.NormFloat64()
			y += h.Spectator * z[i]
		}
		z[d-1] = -y
	}
	dt.M = make([]float64, d*d)
	for mu := 0; mu < h.N; mu++ {
		z := dt.Z[mu*d : (mu+1)*d]
		for i := 0; i < d; i++ {
			for j := 0; j <= i; j++ {
				dt.M[i*d+j] += z[i] * z[j]
			}
		}
	}
	for i := 0; i < d; i++ {
		for j := 0; j <= i; j++ {
			dt.M[i*d+j] /= float64(h.N)
			dt.M[j*d+i] = dt.M[i*d+j]
		}
	}
	// Schur complement over U = {0,1,2,d−1}, V = {3,…,d−2}.
	U := [4]int{0, 1, 2, d - 1}
	nv := d - 4
	for a := 0; a < 4; a++ {
		for b := 0; b < 4; b++ {
			dt.S[a*4+b] = dt.M[U[a]*d+U[b]]
		}
	}
	if nv > 0 {
		mvv := mat.NewSymDense(nv, nil)
		mvu := mat.NewDense(nv, 4, nil)
		for i := 0; i < nv; i++ {
			for j := 0; j < nv; j++ {
				mvv.SetSym(i, j, dt.M[(3+i)*d+3+j])
			}
			for b := 0; b < 4; b++ {
				mvu.Set(i, b, dt.M[(3+i)*d+U[b]])
			}
		}
		var ch mat.Cholesky
		if !ch.Factorize(mvv) {
			return nil, fmt.Errorf("barrier: the spectator inputs are degenerate (singular Gram matrix); raise N")
		}
		var x mat.Dense
		if err := ch.SolveTo(&x, mvu); err != nil {
			return nil, fmt.Errorf("barrier: spectator solve: %w", err)
		}
		dt.VOpt = make([]float64, nv*4)
		for i := 0; i < nv; i++ {
			for b := 0; b < 4; b++ {
				dt.VOpt[i*4+b] = -x.At(i, b)
			}
		}
		for a := 0; a < 4; a++ {
			for b := 0; b < 4; b++ {
				s := 0.0
				for i := 0; i < nv; i++ {
					s += mvu.At(i, a) * x.At(i, b)
				}
				dt.S[a*4+b] -= s
			}
		}
	}
	return dt, nil
}

func (d *Data) uhat(t float64) (u, du, ddu [4]float64) {
	s, c := math.Sincos(t)
	R, C := d.R, d.C
	return [4]float64{R * c, R * s, C * t, 1}, [4]float64{-R * s, R * c, C, 0}, [4]float64{-R * c, -R * s, 0, 0}
}

func quad4(S *[16]float64, a, b [4]float64) float64 {
	s := 0.0
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			s += a[i] * S[i*4+j] * b[j]
		}
	}
	return s
}

// Profile returns the profile loss L_p(θ₁) (spectators at their optimum; for
// n = 1 the loss itself), its first and second derivatives, and the
// Gauss–Newton part of the second derivative (û′ᵀ S û′; for n = 1 exactly
// (1/N) Σ_μ (∂f_μ/∂θ)²).
func (d *Data) Profile(t float64) (l, dl, ddl, gn float64) {
	u, du, ddu := d.uhat(t)
	l = 0.5 * quad4(&d.S, u, u)
	dl = quad4(&d.S, du, u)
	gn = quad4(&d.S, du, du)
	ddl = quad4(&d.S, ddu, u) + gn
	return
}

// Theta returns the full parameter vector on the profile at θ₁: (θ₁, v*(θ₁)).
func (d *Data) Theta(t float64) []float64 {
	u, _, _ := d.uhat(t)
	th := make([]float64, d.Dim)
	th[0] = t
	for i := 0; i < d.Dim-1; i++ {
		for b := 0; b < 4; b++ {
			th[1+i] += d.VOpt[i*4+b] * u[b]
		}
	}
	return th
}

func (d *Data) utilde(th []float64) (u, du, ddu []float64) {
	u, du, ddu = make([]float64, d.D), make([]float64, d.D), make([]float64, d.D)
	s, c := math.Sincos(th[0])
	u[0], u[1], u[2] = d.R*c, d.R*s, d.C*th[0]
	du[0], du[1], du[2] = -d.R*s, d.R*c, d.C
	ddu[0], ddu[1] = -d.R*c, -d.R*s
	for i := 1; i < d.Dim; i++ {
		u[2+i] = th[i]
	}
	u[d.D-1] = 1
	return
}

func (d *Data) quad(a, b []float64) float64 {
	s := 0.0
	for i := 0; i < d.D; i++ {
		ai := a[i]
		if ai == 0 {
			continue
		}
		for j := 0; j < d.D; j++ {
			s += ai * d.M[i*d.D+j] * b[j]
		}
	}
	return s
}

// Loss returns L(θ) for the full parameter vector (length n).
func (d *Data) Loss(th []float64) float64 {
	u, _, _ := d.utilde(th)
	return 0.5 * d.quad(u, u)
}

// Grad returns ∇L(θ) (length n) from the second moments.
func (d *Data) Grad(th []float64, g []float64) {
	u, du, _ := d.utilde(th)
	g[0] = d.quad(du, u)
	for i := 1; i < d.Dim; i++ {
		row := d.M[(2+i)*d.D : (3+i)*d.D]
		s := 0.0
		for j, v := range u {
			s += row[j] * v
		}
		g[i] = s
	}
}

// Hessian returns the n×n Hessian of L at θ.
func (d *Data) Hessian(th []float64) *mat.SymDense {
	u, du, ddu := d.utilde(th)
	h := mat.NewSymDense(d.Dim, nil)
	h.SetSym(0, 0, d.quad(du, du)+d.quad(ddu, u))
	for i := 1; i < d.Dim; i++ {
		s := 0.0
		for j, v := range du {
			s += d.M[(2+i)*d.D+j] * v
		}
		h.SetSym(0, i, s)
		for k := i; k < d.Dim; k++ {
			h.SetSym(i, k, d.M[(2+i)*d.D+2+k])
		}
	}
	return h
}

// SampleGrads writes the per-sample gradients along θ₁, g_μ = ∂ℓ_μ/∂θ₁ =
// (f_μ − y_μ) ∂f_μ/∂θ₁, at the profile point of θ₁ into g (length N). Their
// mean is L_p′(θ₁).
func (d *Data) SampleGrads(t float64, g []float64) {
	th := d.Theta(t)
	u, du, _ := d.utilde(th)
	for mu := 0; mu < d.N; mu++ {
		z := d.Z[mu*d.D : (mu+1)*d.D]
		r := 0.0
		for j, v := range u {
			r += z[j] * v
		}
		g[mu] = r * (z[0]*du[0] + z[1]*du[1] + z[2]*du[2])
	}
}
