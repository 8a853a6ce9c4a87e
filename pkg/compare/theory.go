package compare

import (
	"fmt"
	"math"

	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

// TheoryRow is one check of pkg/theory against a value worked out by hand.
type TheoryRow struct {
	Quantity string  `json:"quantity"`
	Ours     float64 `json:"ours"`
	Theory   float64 `json:"theory"`
	Paper    string  `json:"paper"`
	Agree    bool    `json:"agree"`
}

// TheoryChecks evaluates the closed forms at η = 0.1, B = 1, h* = 1 against
// their values by hand: the log–log slope of κ(L(θˢ)/L(θ*)) of Eq. 15
// (measured by least squares on 30 ratios from 1.1 to 10) against
// B/(ηh*) + 1 − n/2 for n = 1, 2, 5, 10; φ = 11 (Eq. 17); n_c = 22 (Eq. 16);
// the exponent 0 at n = n_c; κ = 1/(128π) for the CLI example.
func TheoryChecks() ([]TheoryRow, bool, error) {
	s := theory.SGD{Eta: 0.1, B: 1, HStar: 1}
	var rows []TheoryRow
	ratios := theory.LogSpace(1.1, 10, 30)
	lx := make([]float64, len(ratios))
	for i, r := range ratios {
		lx[i] = math.Log(r)
	}
	for _, n := range []float64{1, 2, 5, 10} {
		ys, err := theory.KappaCurve(s, n, ratios)
		if err != nil {
			return nil, false, err
		}
		ly := make([]float64, len(ys))
		for i, y := range ys {
			ly[i] = math.Log(y)
		}
		_, slope, err := estimate.OLS(lx, ly)
		if err != nil {
			return nil, false, err
		}
		measured := -slope
		byHand := 1/(0.1*1) + 1 - n/2 // B/(ηh*) + 1 − n/2 with η = 0.1, B = 1, h* = 1
		rows = append(rows, TheoryRow{fmt.Sprintf("escape exponent, η=0.1, B=1, h*=1, n=%g", n), measured, byHand,
			"B/(ηh*)+1−n/2 (Fig. 3b dashed lines; values stripped)", math.Abs(measured-byHand) < 1e-9})
	}
	phi, _ := theory.Phi(s)
	rows = append(rows, TheoryRow{"φ, η=0.1, B=1, h*=1", phi, 11, "1 + B/(ηh*) (Eq. 17)", phi == 11})
	nc, _ := theory.CriticalDim(s)
	rows = append(rows, TheoryRow{"n_c, η=0.1, B=1, h*=1", nc, 22, "2(1 + B/(ηh*)) (Eq. 16)", nc == 22})
	e, _ := theory.EscapeExponent(s, nc)
	rows = append(rows, TheoryRow{"exponent at n = n_c", e, 0, "escape rate independent of the barrier (Eq. 16)", math.Abs(e) < 1e-12})
	k1, _ := theory.KappaPowerLaw(s, theory.Barrier{LStar: 0.5, LSaddle: 1, N: 10})
	rows = append(rows, TheoryRow{"κ, n=10, L*=0.5, Lˢ=1 (CLI example)", k1, 1 / (128 * math.Pi), "(1/2π)·2^−6", math.Abs(k1*128*math.Pi-1) < 1e-12})
	all := true
	for _, r := range rows {
		all = all && r.Agree
	}
	return rows, all, nil
}

// TheoryTable shows the checks.
func TheoryTable(rows []TheoryRow) Table {
	t := Table{Caption: "ours vs theory vs paper", Header: []string{"quantity", "ours (computed)", "theory (by hand)", "paper", "agree"}}
	for _, r := range rows {
		t.Rows = append(t.Rows, []string{r.Quantity, fmt.Sprintf("%.10g", r.Ours), fmt.Sprintf("%.10g", r.Theory), r.Paper, fmt.Sprint(r.Agree)})
	}
	return t
}

// TheoryVerdict says whether every check agreed.
func TheoryVerdict(all bool) string {
	if all {
		return "**All rows agree**: the code reproduces the closed forms, and the measured log–log slope equals the exponent of Eq. 15."
	}
	return "**Disagreement** in at least one row above — a bug in `pkg/theory`."
}

// WhatIf is the what-if table of one configuration.
func WhatIf(s theory.Summary) Table {
	return Table{Caption: "what-if", Header: []string{"quantity", "value"}, Rows: [][]string{
		{"temperature ηh*/B", fmt.Sprintf("%.4g", s.Temperature)},
		{"φ (Eq. 17)", fmt.Sprintf("%.4g", s.Phi)},
		{"n_c (Eq. 16)", fmt.Sprintf("%.4g", s.NC)},
		{"exponent B/(ηh*)+1−n/2", fmt.Sprintf("%.4g", s.Exponent)},
		{"stable", fmt.Sprint(s.Stable)},
		{"κ power law (Eq. 15)", fmt.Sprintf("%.4g", s.KappaPowerLaw)},
		{"κ Arrhenius (Eq. 5)", fmt.Sprintf("%.4g", s.KappaArrhenius)},
	}}
}
