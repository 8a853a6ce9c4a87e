package theory

import "math"

// LogSpace returns k ≥ 2 points from a to b (both > 0), equally spaced in
// log: the loss-ratio axes of the figures.
func LogSpace(a, b float64, k int) []float64 {
	out := make([]float64, k)
	for i := range out {
		out[i] = a * math.Pow(b/a, float64(i)/float64(k-1))
	}
	return out
}

// KappaCurve returns κ of Eq. 15 at each loss ratio r = L(θˢ)/L(θ*) for the
// barrier LStar = 1, LSaddle = r with n outlier directions.
func KappaCurve(s SGD, n float64, ratios []float64) ([]float64, error) {
	ys := make([]float64, len(ratios))
	for j, r := range ratios {
		k, err := KappaPowerLaw(s, Barrier{LStar: 1, LSaddle: r, N: n})
		if err != nil {
			return nil, err
		}
		ys[j] = k
	}
	return ys, nil
}

// ArrheniusComparison evaluates, for the minimum L* = lStar with n outlier
// directions and saddles at L(θˢ) = r·L* for each ratio r, the power-law
// rate of Eq. 15 and GLD's Arrhenius rate of Eq. 5 (at the matched
// D = ηL*h*/B). Ratios whose Arrhenius rate underflows (below 1e-300) are
// left out, so a plot's curve stops rather than dropping to zero.
func ArrheniusComparison(s SGD, n, lStar float64, ratios []float64) (r, powerLaw, arrhenius []float64, err error) {
	for _, x := range ratios {
		b := Barrier{LStar: lStar, LSaddle: x * lStar, N: n}
		lp, err := LogKappaPowerLaw(s, b)
		if err != nil {
			return nil, nil, nil, err
		}
		if la, _ := LogKappaArrhenius(s, b); la >= math.Log(1e-300) {
			r, powerLaw, arrhenius = append(r, x), append(powerLaw, math.Exp(lp)), append(arrhenius, math.Exp(la))
		}
	}
	return r, powerLaw, arrhenius, nil
}

// FixedLinearBarrier evaluates, for minima of depth L* ∈ lStars under a
// saddle a fixed dL above them, the power-law rate of Eq. 15 and the
// Kramers rate of GLD at the fixed D = ηL*h*/B of refLStar (Eq. 5), which
// depends on dL/D only: the comparison in which SGD prefers flat-and-deep
// minima and GLD cannot tell them apart. It returns the rates and D.
func FixedLinearBarrier(s SGD, n, dL, refLStar float64, lStars []float64) (powerLaw, arrhenius []float64, d float64, err error) {
	if d, err = GLDDiffusion(s, refLStar); err != nil {
		return nil, nil, 0, err
	}
	for _, ls := range lStars {
		k, err := KappaPowerLaw(s, Barrier{LStar: ls, LSaddle: ls + dL, N: n})
		if err != nil {
			return nil, nil, 0, err
		}
		powerLaw, arrhenius = append(powerLaw, k), append(arrhenius, math.Sqrt(s.HStar*s.HStar)/(2*math.Pi)*math.Exp(-dL/d))
	}
	return powerLaw, arrhenius, d, nil
}

// CriticalDimCurve returns n_c (Eq. 16) at each B/(ηh*) = x.
func CriticalDimCurve(xs []float64) ([]float64, error) {
	out := make([]float64, len(xs))
	for i, x := range xs {
		nc, err := CriticalDim(SGD{Eta: 1 / x, B: 1, HStar: 1})
		if err != nil {
			return nil, err
		}
		out[i] = nc
	}
	return out, nil
}
