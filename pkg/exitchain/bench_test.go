package exitchain_test

import (
	"fmt"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/exitchain"
)

// BenchmarkHelixRate is the speed target: the exact discrete rate of
// one (data set, β) of the PaperEscape helix at the default grid (32 cells
// per root-mean-square step, where halving the spacing changes κ by < 0.2 %),
// including the half-grid check. Run on one core:
//
//	go test -run '^$' -bench HelixRate -cpu 1 ./pkg/exitchain
func BenchmarkHelixRate(b *testing.B) {
	d, ls := helix(b, 1)
	for _, tc := range []struct {
		beta    float64
		batch   int
		solver  string
		noCheck bool
	}{
		{7, 1, exitchain.SolverAuto, false},
		{9, 1, exitchain.SolverAuto, false},
		{11, 1, exitchain.SolverAuto, false},
		{9, 1, exitchain.SolverAuto, true},
		{7, 1, exitchain.SolverLU, false},
		{9, 1, exitchain.SolverLU, false},
		{11, 1, exitchain.SolverLU, false},
		{9, 2, exitchain.SolverAuto, false},
		{9, 4, exitchain.SolverAuto, false},
	} {
		solver := tc.solver
		if solver == exitchain.SolverAuto {
			solver = "auto"
		}
		name := fmt.Sprintf("beta%g/B%d/%s", tc.beta, tc.batch, solver)
		if tc.noCheck {
			name += "/nocheck"
		}
		b.Run(name, func(b *testing.B) {
			c, err := helixChain(d, ls, tc.beta, tc.batch)
			if err != nil {
				b.Fatal(err)
			}
			var e exitchain.Estimate
			for b.Loop() {
				if e, err = c.Rate(ls.ThetaStar, exitchain.Options{Solver: tc.solver, NoCheck: tc.noCheck}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(e.Points), "points")
			b.ReportMetric(e.Kappa, "kappa")
		})
	}
}
