package data

import (
	"fmt"
	"math"
	"sort"

	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/rng"
	"gonum.org/v1/gonum/mat"
)

// Label models of the synthetic regression.
const (
	LabelsGaussian = "gaussian" // y_μ i.i.d. N(0,1), independent of x (section 5.3.1)
	LabelsTeacher  = "teacher"  // y_μ = θ_tᵀx_μ + noise·N(0,1)
)

// LinRegConfig describes a Gaussian linear-regression problem f(θ, x) = θᵀx.
type LinRegConfig struct {
	N      int     `json:"N"`      // samples
	P      int     `json:"P"`      // parameters (input dimension)
	Seed   uint64  `json:"seed"`   // fixes X, y (and the teacher)
	XStd   float64 `json:"x_std"`  // standard deviation of the entries of x (1 in the paper; h* ≈ XStd²)
	Labels string  `json:"labels"` // LabelsGaussian (paper) or LabelsTeacher
	Noise  float64 `json:"noise"`  // label-noise standard deviation for LabelsTeacher
}

// Validate checks the configuration.
func (c LinRegConfig) Validate() error {
	switch {
	case c.P < 1:
		return fmt.Errorf("data: linear regression needs P ≥ 1 parameters, got %d", c.P)
	case c.N < c.P:
		return fmt.Errorf("data: linear regression needs N ≥ P samples for a unique minimiser, got N=%d, P=%d", c.N, c.P)
	case !(c.XStd > 0) || math.IsInf(c.XStd, 0):
		return fmt.Errorf("data: x standard deviation must be positive, got %v", c.XStd)
	case c.Labels != LabelsGaussian && c.Labels != LabelsTeacher:
		return fmt.Errorf("data: labels must be %q or %q, got %q", LabelsGaussian, LabelsTeacher, c.Labels)
	case c.Noise < 0 || math.IsNaN(c.Noise) || math.IsInf(c.Noise, 0):
		return fmt.Errorf("data: label noise must be ≥ 0, got %v", c.Noise)
	}
	return nil
}

// LinRegProblem is a generated regression problem with its exact minimum.
type LinRegProblem struct {
	Config LinRegConfig
	X      []float64 // N×P, row μ is x_μ
	Y      []float64 // N labels
	// Hessian is the exact, constant Hessian (1/N)XᵀX (P×P, row-major).
	Hessian []float64
	// Eigenvalues of the Hessian in decreasing order: h* is their mean
	// (≈ XStd² for N ≫ P) and λ_max the first.
	Eigenvalues []float64
	ThetaStar   []float64 // the minimiser (XᵀX)⁻¹Xᵀy
	LStar       float64   // L(θ*) = (1/2N)|Xθ* − y|²
	Teacher     []float64 // θ_t for LabelsTeacher (entries N(0, 1/(P·XStd²)))
}

// NewLinReg draws the problem from the seed and solves it exactly.
func NewLinReg(c LinRegConfig) (*LinRegProblem, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	rng := rng.New(c.Seed, rng.LinRegData)
	p := &LinRegProblem{Config: c, X: make([]float64, c.N*c.P), Y: make([]float64, c.N)}
	for i := range p.X {
		p.X[i] = c.XStd * rng.NormFloat64()
	}
	switch c.Labels {
	case LabelsGaussian:
		for i := range p.Y {
			p.Y[i] = rng.NormFloat64()
		}
	case LabelsTeacher:
		p.Teacher = make([]float64, c.P)
		for j := range p.Teacher {
			p.Teacher[j] = rng.NormFloat64() / (math.Sqrt(float64(c.P)) * c.XStd)
		}
		for i := range p.Y {
			p.Y[i] = dot(p.X[i*c.P:(i+1)*c.P], p.Teacher) + c.Noise*rng.NormFloat64()
		}
	}
	X := mat.NewDense(c.N, c.P, p.X)
	var h mat.SymDense
	h.SymOuterK(1/float64(c.N), X.T())
	p.Hessian = make([]float64, c.P*c.P)
	for i := 0; i < c.P; i++ {
		for j := 0; j < c.P; j++ {
			p.Hessian[i*c.P+j] = h.At(i, j)
		}
	}
	var chol mat.Cholesky
	if ok := chol.Factorize(&h); !ok {
		return nil, fmt.Errorf("data: the Hessian (1/N)XᵀX is singular for N=%d, P=%d, seed %d; use more samples", c.N, c.P, c.Seed)
	}
	b := mat.NewVecDense(c.P, nil)
	b.MulVec(X.T(), mat.NewVecDense(c.N, p.Y))
	b.ScaleVec(1/float64(c.N), b)
	var theta mat.VecDense
	if err := chol.SolveVecTo(&theta, b); err != nil {
		return nil, fmt.Errorf("data: solving for θ*: %w", err)
	}
	p.ThetaStar = make([]float64, c.P)
	for j := range p.ThetaStar {
		p.ThetaStar[j] = theta.AtVec(j)
	}
	p.LStar = p.Loss(p.ThetaStar)
	var eig mat.EigenSym
	if ok := eig.Factorize(&h, false); !ok {
		return nil, fmt.Errorf("data: eigendecomposition of the Hessian failed")
	}
	p.Eigenvalues = eig.Values(nil)
	sort.Sort(sort.Reverse(sort.Float64Slice(p.Eigenvalues)))
	return p, nil
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// Loss returns L(θ) = (1/2N) Σ_μ (θᵀx_μ − y_μ)² (Eq. 1).
func (p *LinRegProblem) Loss(theta []float64) float64 {
	P := p.Config.P
	s := 0.0
	for mu := 0; mu < p.Config.N; mu++ {
		r := dot(p.X[mu*P:(mu+1)*P], theta) - p.Y[mu]
		s += r * r
	}
	return s / (2 * float64(p.Config.N))
}

// MeanEigenvalue returns h* as the mean Hessian eigenvalue Tr H / P (the
// paper's "all eigenvalues close to unity").
func (p *LinRegProblem) MeanEigenvalue() float64 {
	s := 0.0
	for _, v := range p.Eigenvalues {
		s += v
	}
	return s / float64(len(p.Eigenvalues))
}

// Declare declares the regression data's parameters (pkg/param): -P, -N,
// -seed (the data come from it; the dynamics from seed+1), -xstd, -labels, -noise.
func (c *LinRegConfig) Declare(s *param.Set) {
	s.Int(&c.P, "P", "number of parameters P (every Hessian eigenvalue is an outlier: n = P)", param.Min(1))
	s.Int(&c.N, "N", "number of samples N (> P)", param.Min(2))
	s.Uint64(&c.Seed, "seed", "master seed: the data from seed, the dynamics from seed+1, the bootstrap from seed+2")
	s.Float(&c.XStd, "xstd", "standard deviation of the inputs x (h* ≈ xstd²)", param.Min(1e-100), param.Max(1e100))
	param.Choice(s, &c.Labels, "labels", "label model: gaussian (i.i.d. N(0,1), the paper's) or teacher (θ_tᵀx + noise)", []string{LabelsGaussian, LabelsTeacher})
	s.Float(&c.Noise, "noise", "label-noise standard deviation of -labels teacher", param.NonNegative)
}

// CheckNoisy refuses problems whose minimum has L(θ*) = 0 (N ≤ P, noiseless
// teacher labels): SGD then has no noise and nothing can be measured.
func (c LinRegConfig) CheckNoisy() error {
	switch {
	case c.N <= c.P:
		return fmt.Errorf("N = %d must be larger than P = %d: with N ≤ P the model fits every label exactly, L(θ*) = 0, and SGD has no noise", c.N, c.P)
	case c.Labels == LabelsTeacher && c.Noise == 0:
		return fmt.Errorf("labels = teacher needs noise > 0: noiseless teacher labels give L(θ*) = 0 and SGD has no noise")
	}
	return nil
}
