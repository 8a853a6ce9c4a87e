// Package theory holds the closed-form predictions of Mori, Ziyin, Liu & Ueda,
// "Power-law escape rate of SGD" (ICML 2022): the temperature of SGD on the
// logarithmic loss landscape, the power-law stationary exponent (Eq. 17), the
// power-law escape rate (Eq. 15) and its exponent, the critical effective
// dimension (Eq. 16), and the Arrhenius/Kramers rate of gradient Langevin
// dynamics (Eq. 5) that the paper contrasts it with.
//
// All functions validate their inputs and return an error instead of NaN or
// ±Inf: η > 0, B ≥ 1, h* > 0, n ≥ 1, losses > 0 and L(θˢ) ≥ L(θ*).
package theory

import (
	"fmt"
	"math"
)

// SGD describes the optimiser and the minimum it sits in.
type SGD struct {
	Eta   float64 // learning rate η > 0
	B     float64 // mini-batch size B ≥ 1 (a float so that what-if sweeps may vary it continuously)
	HStar float64 // h*, the typical outlier Hessian eigenvalue at the minimum, > 0
}

// Validate reports the first invalid field with a message that says how to fix it.
// GradientDescentUnstable reports ηh* ≥ 2: even noiseless gradient descent
// overshoots along the outlier direction (|1 − ηh*| ≥ 1), outside the
// small-step limit ηh* ≪ 2 that Eqs. 15–17 assume.
func (s SGD) GradientDescentUnstable() bool { return s.Eta*s.HStar >= 2 }

func (s SGD) Validate() error {
	switch {
	case !(s.Eta > 0) || math.IsInf(s.Eta, 0):
		return fmt.Errorf("theory: learning rate η must be a positive finite number, got %v", s.Eta)
	case !(s.B >= 1) || math.IsInf(s.B, 0):
		return fmt.Errorf("theory: batch size B must be ≥ 1, got %v", s.B)
	case !(s.HStar > 0) || math.IsInf(s.HStar, 0):
		return fmt.Errorf("theory: Hessian eigenvalue h* must be a positive finite number, got %v", s.HStar)
	}
	return nil
}

// Temperature returns T = ηh*/B, the temperature of the Langevin dynamics on
// U = log L obtained from Eq. 14 after the random time change of Eq. 13.
func Temperature(s SGD) (float64, error) {
	if err := s.Validate(); err != nil {
		return 0, err
	}
	return s.Eta * s.HStar / s.B, nil
}

// Phi returns the exponent φ = 1 + B/(ηh*) of the stationary distribution
// P(θ) ∝ L(θ)^(−φ) (Eq. 17).
func Phi(s SGD) (float64, error) {
	t, err := Temperature(s)
	if err != nil {
		return 0, err
	}
	return 1 + 1/t, nil
}

// CriticalDim returns n_c = 2(1 + B/(ηh*)) (Eq. 16): a minimum whose effective
// dimension n satisfies n ≥ n_c is unstable under SGD.
func CriticalDim(s SGD) (float64, error) {
	phi, err := Phi(s)
	if err != nil {
		return 0, err
	}
	return 2 * phi, nil
}

func checkDim(n float64) error {
	if !(n >= 1) || math.IsInf(n, 0) {
		return fmt.Errorf("theory: effective dimension n must be ≥ 1, got %v", n)
	}
	return nil
}

// EscapeExponent returns B/(ηh*) + 1 − n/2, the power of the loss ratio in the
// escape rate κ ∝ [L(θˢ)/L(θ*)]^−(B/(ηh*)+1−n/2) of Eq. 15. It is also the
// predicted log-log slope of the mean first-passage time against the threshold
// ratio c = L_th/L(θ*). It is zero at n = n_c and negative beyond (Eq. 16).
func EscapeExponent(s SGD, n float64) (float64, error) {
	if err := checkDim(n); err != nil {
		return 0, err
	}
	phi, err := Phi(s)
	if err != nil {
		return 0, err
	}
	return phi - n/2, nil
}

// ImpliedDim inverts EscapeExponent: the effective dimension n for which the
// theory exponent equals a measured slope, n = 2(1 + B/(ηh*) − slope). It may
// come out below 1 (or negative) when the measured slope exceeds the n = 1
// prediction; it is returned as is so that the caller can report it.
func ImpliedDim(s SGD, slope float64) (float64, error) {
	phi, err := Phi(s)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(slope) || math.IsInf(slope, 0) {
		return 0, fmt.Errorf("theory: slope must be finite, got %v", slope)
	}
	return 2 * (phi - slope), nil
}

// Barrier describes the minimum θ*, the saddle θˢ on the escape path, and the
// curvature along that path.
type Barrier struct {
	LStar   float64 // L(θ*) > 0
	LSaddle float64 // L(θˢ) ≥ L(θ*)
	// HSaddle is |h_eˢ|, the magnitude of the negative Hessian eigenvalue at the
	// saddle along the escape path; 0 means "equal to h*". The other saddle
	// eigenvalues are taken equal to those of the minimum, so that
	// det Ĥ(θ*)/|det Ĥ(θˢ)| = h*/|h_eˢ|.
	HSaddle float64
	N       float64 // effective dimension n ≥ 1 (number of Hessian outliers)
}

func (b Barrier) validate(s SGD) (hs float64, err error) {
	if err := s.Validate(); err != nil {
		return 0, err
	}
	if err := checkDim(b.N); err != nil {
		return 0, err
	}
	switch {
	case !(b.LStar > 0) || math.IsInf(b.LStar, 0):
		return 0, fmt.Errorf("theory: L(θ*) must be a positive finite loss, got %v", b.LStar)
	case !(b.LSaddle > 0) || math.IsInf(b.LSaddle, 0):
		return 0, fmt.Errorf("theory: L(θˢ) must be a positive finite loss, got %v", b.LSaddle)
	case b.LSaddle < b.LStar:
		return 0, fmt.Errorf("theory: the saddle loss L(θˢ)=%v is below the minimum's L(θ*)=%v; a barrier needs L(θˢ) ≥ L(θ*)", b.LSaddle, b.LStar)
	case b.HSaddle < 0 || math.IsNaN(b.HSaddle) || math.IsInf(b.HSaddle, 0):
		return 0, fmt.Errorf("theory: |h_eˢ| must be a non-negative finite number (0 means h*), got %v", b.HSaddle)
	}
	hs = b.HSaddle
	if hs == 0 {
		hs = s.HStar
	}
	return hs, nil
}

// KappaPowerLaw returns the SGD escape rate of Theorem 4.7 (Eq. 15):
//
//	κ = (|h_eˢ|/2π) · sqrt(det Ĥ(θ*)/|det Ĥ(θˢ)|) · [L(θˢ)/L(θ*)]^−(B/(ηh*)+1−n/2)
//	  = (1/2π) · sqrt(h*·|h_eˢ|) · [L(θˢ)/L(θ*)]^−(B/(ηh*)+1−n/2)
//
// with the other saddle eigenvalues equal to the minimum's. For n = 1 this is
// the paper's P = 1 form with exponent 1/2 + B/(ηh*). Time is t = η·steps.
func KappaPowerLaw(s SGD, b Barrier) (float64, error) {
	hs, err := b.validate(s)
	if err != nil {
		return 0, err
	}
	t, _ := Temperature(s)
	return PowerLawRate(math.Sqrt(s.HStar*hs)/(2*math.Pi), 1/t, b)
}

// KramersPrefactor is the prefactor of Eq. 15 and of Kramers' law (Eq. 5)
// for a minimum and an index-1 saddle with their full Hessians:
// (|h_eˢ|/2π)·√(det H(θ*)/|det H(θˢ)|), with h_eˢ < 0 the saddle's negative
// eigenvalue. For n = 1 it is √(h*|hˢ|)/2π; KappaPowerLaw assumes the saddle's
// other eigenvalues equal the minimum's, which gives √(h*|h_eˢ|)/2π for any n.
func KramersPrefactor(hSaddle, detStar, detSaddle float64) (float64, error) {
	switch {
	case !(hSaddle < 0) || math.IsInf(hSaddle, 0):
		return 0, fmt.Errorf("theory: the saddle's escape eigenvalue h_eˢ must be negative and finite, got %v", hSaddle)
	case !(detStar > 0) || math.IsInf(detStar, 0):
		return 0, fmt.Errorf("theory: det H(θ*) must be positive and finite at a minimum, got %v", detStar)
	case !(detSaddle < 0) || math.IsInf(detSaddle, 0):
		return 0, fmt.Errorf("theory: det H(θˢ) must be negative and finite at an index-1 saddle, got %v", detSaddle)
	}
	return math.Abs(hSaddle) / (2 * math.Pi) * math.Sqrt(detStar/math.Abs(detSaddle)), nil
}

// checkRate validates the arguments of the rates in β.
func checkRate(prefactor, beta float64, b Barrier) error {
	switch {
	case !(prefactor > 0) || math.IsInf(prefactor, 0):
		return fmt.Errorf("theory: the prefactor must be positive and finite, got %v", prefactor)
	case !(beta > 0) || math.IsInf(beta, 0):
		return fmt.Errorf("theory: β = B/(ηh*) must be positive and finite, got %v", beta)
	case !(b.LStar > 0) || math.IsInf(b.LStar, 0) || !(b.LSaddle >= b.LStar) || math.IsInf(b.LSaddle, 0):
		return fmt.Errorf("theory: a barrier needs 0 < L(θ*) ≤ L(θˢ) < ∞, got %v and %v", b.LStar, b.LSaddle)
	}
	return checkDim(b.N)
}

// PowerLawRate is Eq. 15 in β = B/(ηh*) with a given prefactor (for example
// KramersPrefactor of a landscape's exact Hessians):
// prefactor·[L(θˢ)/L(θ*)]^−(β + 1 − n/2). b.HSaddle is not used.
func PowerLawRate(prefactor, beta float64, b Barrier) (float64, error) {
	if err := checkRate(prefactor, beta, b); err != nil {
		return 0, err
	}
	return prefactor * math.Pow(b.LSaddle/b.LStar, -(beta+1-b.N/2)), nil
}

// ArrheniusRate is Eq. 5 (Kramers) in β = B/(ηh*) with a given prefactor:
// with the matched D = ηL*h*/B = L*/β (GLDDiffusion),
// prefactor·exp(−β[L(θˢ) − L(θ*)]/L(θ*)). b.HSaddle is not used.
func ArrheniusRate(prefactor, beta float64, b Barrier) (float64, error) {
	if err := checkRate(prefactor, beta, b); err != nil {
		return 0, err
	}
	return prefactor * math.Exp(-(b.LSaddle-b.LStar)*beta/b.LStar), nil
}

// LogKappaPowerLaw returns ln κ of KappaPowerLaw, computed without forming κ,
// so that it stays finite where κ itself under- or overflows.
func LogKappaPowerLaw(s SGD, b Barrier) (float64, error) {
	hs, err := b.validate(s)
	if err != nil {
		return 0, err
	}
	e, _ := EscapeExponent(s, b.N)
	return 0.5*math.Log(s.HStar*hs) - math.Log(2*math.Pi) - e*math.Log(b.LSaddle/b.LStar), nil
}

// LogKappaArrhenius returns ln κ of KappaArrhenius without forming κ.
func LogKappaArrhenius(s SGD, b Barrier) (float64, error) {
	hs, err := b.validate(s)
	if err != nil {
		return 0, err
	}
	d, _ := GLDDiffusion(s, b.LStar)
	return 0.5*math.Log(s.HStar*hs) - math.Log(2*math.Pi) - (b.LSaddle-b.LStar)/d, nil
}

// GLDDiffusion returns the diffusion coefficient D of gradient Langevin
// dynamics (Eq. 5) that matches the SGD noise at the minimum: Eq. 12 has noise
// covariance (2ηL(θ*)/B)·H*, and along an outlier direction (eigenvalue h*)
// this equals 2D for D = ηL(θ*)h*/B.
func GLDDiffusion(s SGD, lStar float64) (float64, error) {
	if err := s.Validate(); err != nil {
		return 0, err
	}
	if !(lStar > 0) || math.IsInf(lStar, 0) {
		return 0, fmt.Errorf("theory: L(θ*) must be a positive finite loss, got %v", lStar)
	}
	return s.Eta * lStar * s.HStar / s.B, nil
}

// KappaArrhenius returns the Kramers escape rate of GLD (Eq. 5) at the noise
// strength D = GLDDiffusion(s, L(θ*)):
//
//	κ = (|h_eˢ|/2π) · sqrt(det H(θ*)/|det H(θˢ)|) · exp(−ΔL/D),  ΔL = L(θˢ) − L(θ*),
//
// the exponential ("Arrhenius") law that the paper's power law replaces.
func KappaArrhenius(s SGD, b Barrier) (float64, error) {
	hs, err := b.validate(s)
	if err != nil {
		return 0, err
	}
	d, err := GLDDiffusion(s, b.LStar)
	if err != nil {
		return 0, err
	}
	return math.Sqrt(s.HStar*hs) / (2 * math.Pi) * math.Exp(-(b.LSaddle-b.LStar)/d), nil
}

// Summary is every prediction for one (SGD, Barrier) pair, the payload of
// `sgdescape theory -json`.
type Summary struct {
	Temperature       float64 `json:"temperature"`        // ηh*/B
	Phi               float64 `json:"phi"`                // Eq. 17
	NC                float64 `json:"n_c"`                // Eq. 16
	Exponent          float64 `json:"exponent"`           // B/(ηh*) + 1 − n/2
	Stable            bool    `json:"stable"`             // n < n_c
	KappaPowerLaw     float64 `json:"kappa_powerlaw"`     // Eq. 15
	KappaArrhenius    float64 `json:"kappa_arrhenius"`    // Eq. 5 (Kramers) at D = ηL*h*/B
	LogKappaPowerLaw  float64 `json:"ln_kappa_powerlaw"`  // finite even where κ underflows
	LogKappaArrhenius float64 `json:"ln_kappa_arrhenius"` // finite even where κ underflows
	GLDDiffusion      float64 `json:"gld_D"`              // D = ηL(θ*)h*/B
	LogBarrier        float64 `json:"log_barrier"`        // ln[L(θˢ)/L(θ*)]
	LinearBarrier     float64 `json:"linear_barrier"`     // ΔL = L(θˢ) − L(θ*)
	// Warnings name inputs outside the formulas' domain (ηh* ≥ 2: the
	// minimum is unstable for gradient descent itself).
	Warnings []string `json:"warnings,omitempty"`
}

// Summarize evaluates every formula of this package for one configuration.
func Summarize(s SGD, b Barrier) (Summary, error) {
	if _, err := b.validate(s); err != nil {
		return Summary{}, err
	}
	var out Summary
	out.Temperature, _ = Temperature(s)
	out.Phi, _ = Phi(s)
	out.NC, _ = CriticalDim(s)
	out.Exponent, _ = EscapeExponent(s, b.N)
	out.Stable = b.N < out.NC
	out.KappaPowerLaw, _ = KappaPowerLaw(s, b)
	out.KappaArrhenius, _ = KappaArrhenius(s, b)
	out.GLDDiffusion, _ = GLDDiffusion(s, b.LStar)
	out.LogBarrier = math.Log(b.LSaddle / b.LStar)
	out.LinearBarrier = b.LSaddle - b.LStar
	out.LogKappaPowerLaw, _ = LogKappaPowerLaw(s, b)
	out.LogKappaArrhenius, _ = LogKappaArrhenius(s, b)
	if s.GradientDescentUnstable() {
		out.Warnings = append(out.Warnings, fmt.Sprintf("ηh* = %.3g ≥ 2: gradient descent is itself unstable along the outlier direction (|1 − ηh*| ≥ 1), so SGD diverges from this minimum whatever B; Eqs. 15–17 assume the small-step limit ηh* ≪ 2 and do not apply", s.Eta*s.HStar))
	}
	return out, nil
}
