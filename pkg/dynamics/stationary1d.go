package dynamics

import (
	"fmt"
	"math"
	"sort"
)

// Density1D is the exact stationary density of the one-dimensional (P = 1)
// Itô diffusion of Eq. 4 with the exact mini-batch noise of Eq. 8,
//
//	dz = −λz dt + sqrt(ηΣ(z)) dW,  Σ(z) = κ_B·[m4·z² + 2m3·z + m2 − λ²z²],
//
// κ_B = (N−B)/(B(N−1)). With D(z) = ηΣ(z)/2 the zero-flux solution of the
// Fokker–Planck equation is p(z) ∝ exp(−∫₀^z λs/D(s) ds)/D(z), evaluated here
// by quadrature on a grid that is dense near the minimum and reaches far into
// the power-law tails (p ∝ |z|^(−2−λ/c₂) with c₂ = ηκ_B(m4−λ²)/2).
type Density1D struct {
	Z, PDF, CDF []float64
	Lambda      float64
	LStar       float64
	TailPhi     float64 // φ-equivalent of the tail: p(θ) ∝ L^(−TailPhi) for large |z|
}

// Stationary1D computes the density for a P = 1 problem.
func Stationary1D(q *Quadratic, eta float64, B int) (*Density1D, error) {
	if q.P != 1 {
		return nil, fmt.Errorf("dynamics: the closed-form stationary density needs P = 1, got P = %d", q.P)
	}
	if !(eta > 0) || B < 1 || B > q.N {
		return nil, fmt.Errorf("dynamics: need η > 0 and 1 ≤ B ≤ N, got η=%v B=%d", eta, B)
	}
	q.moments()
	lam := q.Lambda[0]
	kb := float64(q.N-B) / (float64(B) * float64(q.N-1))
	m2, m3, m4 := q.m2[0], q.m3[0], q.m4[0]
	D := func(z float64) float64 { return 0.5 * eta * kb * ((m4-lam*lam)*z*z + 2*m3*z + m2) }
	if !(m4-lam*lam > 0) || !(D(0) > 0) {
		return nil, fmt.Errorf("dynamics: degenerate noise (m4−λ² = %v, D(0) = %v)", m4-lam*lam, D(0))
	}
	c2 := 0.5 * eta * kb * (m4 - lam*lam)
	tailPow := 2 + lam/c2 // p ∝ |z|^−tailPow
	sigma := math.Sqrt(D(0) / lam)
	// Reach where the tail density has fallen by 1e-14 relative to the bulk.
	zmax := sigma * math.Max(40, math.Pow(1e14, 1/tailPow)*4)
	const n = 40001
	d := &Density1D{Z: make([]float64, n), PDF: make([]float64, n), CDF: make([]float64, n), Lambda: lam, LStar: q.LStar,
		TailPhi: tailPow / 2}
	umax := math.Asinh(zmax / sigma)
	for i := range d.Z {
		u := -umax + 2*umax*float64(i)/float64(n-1)
		d.Z[i] = sigma * math.Sinh(u)
	}
	// Cumulative integral of the drift ratio from the grid centre (z = 0) outwards.
	mid := n / 2
	g := make([]float64, n) // g = −∫₀^z λs/D(s) ds
	f := func(z float64) float64 { return -lam * z / D(z) }
	for i := mid + 1; i < n; i++ {
		g[i] = g[i-1] + simpson(f, d.Z[i-1], d.Z[i])
	}
	for i := mid - 1; i >= 0; i-- {
		g[i] = g[i+1] - simpson(f, d.Z[i], d.Z[i+1])
	}
	gmax := math.Inf(-1)
	for i := range g {
		g[i] -= math.Log(D(d.Z[i]))
		gmax = math.Max(gmax, g[i])
	}
	for i := range g {
		d.PDF[i] = math.Exp(g[i] - gmax)
	}
	for i := 1; i < n; i++ {
		d.CDF[i] = d.CDF[i-1] + 0.5*(d.PDF[i]+d.PDF[i-1])*(d.Z[i]-d.Z[i-1])
	}
	total := d.CDF[n-1]
	for i := range d.PDF {
		d.PDF[i] /= total
		d.CDF[i] /= total
	}
	return d, nil
}

func simpson(f func(float64) float64, a, b float64) float64 {
	return (b - a) / 6 * (f(a) + 4*f(0.5*(a+b)) + f(b))
}

// CDFAt interpolates the cumulative distribution at z.
func (d *Density1D) CDFAt(z float64) float64 {
	i := sort.SearchFloat64s(d.Z, z)
	switch {
	case i <= 0:
		return 0
	case i >= len(d.Z):
		return 1
	}
	t := (z - d.Z[i-1]) / (d.Z[i] - d.Z[i-1])
	return d.CDF[i-1] + t*(d.CDF[i]-d.CDF[i-1])
}

// PDFAt interpolates the density at z (0 outside the grid).
func (d *Density1D) PDFAt(z float64) float64 {
	i := sort.SearchFloat64s(d.Z, z)
	if i <= 0 || i >= len(d.Z) {
		return 0
	}
	t := (z - d.Z[i-1]) / (d.Z[i] - d.Z[i-1])
	return d.PDF[i-1] + t*(d.PDF[i]-d.PDF[i-1])
}

// MeanLogEll returns E[log(L/L*)] under the density, the statistic that the
// maximum-likelihood φ fit matches: the density's "φ-equivalent" is the φ
// whose power law has the same E[log ℓ].
func (d *Density1D) MeanLogEll() float64 {
	s := 0.0
	for i := 1; i < len(d.Z); i++ {
		f0 := d.PDF[i-1] * math.Log1p(0.5*d.Lambda*d.Z[i-1]*d.Z[i-1]/d.LStar)
		f1 := d.PDF[i] * math.Log1p(0.5*d.Lambda*d.Z[i]*d.Z[i]/d.LStar)
		s += 0.5 * (f0 + f1) * (d.Z[i] - d.Z[i-1])
	}
	return s
}
