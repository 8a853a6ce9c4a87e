// Package ncrit tests the paper's critical dimension (Eq. 16): a minimum is
// stable only if its effective dimension n < n_c = 2(1 + B/(ηh*)). On linear
// regression with P parameters (n = P) it runs long SGD chains (the
// linear-regression ensemble of pkg/dynamics), measures the tail of
// ℓ = L/L* with a Hill estimator (pkg/estimate; intervals over independent
// chains) and exceedance frequencies, and compares the tail index with the
// continuous-time theory φ − n/2 (the density ℓ^{n/2−1−φ} of Eq. 17 has a
// CCDF ∝ ℓ^{n/2−φ}) and with discrete SGD's own Kesten exponent.
package ncrit

import (
	"fmt"
	"math"

	"github.com/sgdescape/sgdescape/pkg/diffusion"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// Kesten is the tail exponent of discrete SGD on isotropic Gaussian linear
// regression, z ← (I − (η/B) Σ_{i≤B} x_i x_iᵀ) z + noise with x ~ N(0, σ²I_P).
// The random matrix A is rotation invariant, so ‖A u‖ has the same law for
// every unit u and the tail of the stationary ‖z‖ is P(‖z‖ > r) ~ r^{−α}
// with E‖A e₁‖^α = 1 (Kesten–Goldie). With S = Σ x_{i1}² ~ σ²χ²_B and
// V ~ χ²_{P−1}: ‖A e₁‖² = (1 − ηS/B)² + η²σ²SV/B². For P = 1 this is
// dynamics.KestenExponent. ℓ − 1 ∝ ‖z‖² near an isotropic minimum, so the
// CCDF of ℓ falls as ℓ^{−α/2}.
type Kesten struct {
	Alpha    run.Float `json:"alpha"`      // tail exponent of ‖z‖ (+Inf, null in JSON: lighter than any power in reach; NaN when not stationary)
	Lyapunov float64   `json:"lyapunov"`   // E log‖A e₁‖: ≥ 0 means no stationary law (SGD diverges)
	Second   float64   `json:"second"`     // E‖A e₁‖²: ≥ 1 means the second moment of z (the mean of ℓ) diverges
	Stable   bool      `json:"stationary"` // Lyapunov < 0
}

// KestenIsotropic computes Kesten for step size eta, batch b, dimension p
// and input variance sigma2 by a two-dimensional quadrature in
// (log S, log V) with Gamma densities.
func KestenIsotropic(eta float64, b, p int, sigma2 float64) (Kesten, error) {
	if !(eta > 0) || b < 1 || p < 1 || !(sigma2 > 0) || math.IsInf(eta, 0) || math.IsInf(sigma2, 0) {
		return Kesten{}, fmt.Errorf("ncrit: Kesten exponent needs η > 0, B ≥ 1, P ≥ 1, σ² > 0 (got %v, %d, %d, %v)", eta, b, p, sigma2)
	}
	gs, ws := gammaGrid(float64(b)/2, 1500)
	var gv, wv []float64
	if p > 1 {
		gv, wv = gammaGrid(float64(p-1)/2, 600)
	} else {
		gv, wv = []float64{0}, []float64{1}
	}
	bb := float64(b)
	var logq, w []float64
	for i, g := range gs {
		s := sigma2 * g // S = σ² χ²_B
		a := (1 - eta*s/bb) * (1 - eta*s/bb)
		c := eta * eta * sigma2 * s / (bb * bb)
		for j, v := range gv {
			q := a + c*v
			if q <= 0 {
				q = 1e-300
			}
			logq = append(logq, 0.5*math.Log(q)) // log‖A e₁‖
			w = append(w, ws[i]*wv[j])
		}
	}
	total := 0.0
	for _, x := range w {
		total += x
	}
	moment := func(alpha float64) float64 {
		m := 0.0
		for i, l := range logq {
			m += w[i] * math.Exp(alpha*l)
		}
		return m / total
	}
	var k Kesten
	for i, l := range logq {
		k.Lyapunov += w[i] * l
	}
	k.Lyapunov /= total
	// E‖Ae₁‖² in closed form: 1 − 2ησ² + η²σ⁴(1 + (P+1)/B).
	k.Second = 1 - 2*eta*sigma2 + eta*eta*sigma2*sigma2*(1+float64(p+1)/bb)
	k.Alpha = run.Float(math.NaN())
	if k.Lyapunov >= 0 {
		return k, nil
	}
	k.Stable = true
	hi := 1.0
	for moment(hi) < 1 {
		hi *= 2
		if hi > 4096 {
			k.Alpha = run.Float(math.Inf(1))
			return k, nil
		}
	}
	a, err := diffusion.Root(func(x float64) float64 { return math.Log(moment(x)) }, 1e-9, hi, 1e-9)
	if err != nil {
		return k, err
	}
	k.Alpha = run.Float(a)
	return k, nil
}

// gammaGrid returns nodes g and weights w for integrating against the
// χ²_{2k} density (Gamma(k, 2)) by the trapezoid rule in u = ln g; the
// weights include the density and the Jacobian.
func gammaGrid(k float64, m int) (g, w []float64) {
	lg, _ := math.Lgamma(k)
	lo := -50.0 / math.Max(k, 0.5) // density ∝ g^k near 0: e^{k u} is negligible below
	hi := math.Log(2*k + 80 + 20*math.Sqrt(k))
	h := (hi - lo) / float64(m-1)
	for i := 0; i < m; i++ {
		u := lo + h*float64(i)
		x := math.Exp(u)
		logd := (k)*u - x/2 - k*math.Ln2 - lg // log of f(x)·x
		wt := h * math.Exp(logd)
		if i == 0 || i == m-1 {
			wt /= 2
		}
		g, w = append(g, x), append(w, wt)
	}
	return
}
