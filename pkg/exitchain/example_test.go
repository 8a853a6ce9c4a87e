package exitchain_test

import (
	"fmt"

	"github.com/sgdescape/sgdescape/pkg/barrier"
	"github.com/sgdescape/sgdescape/pkg/exitchain"
)

// The exact escape rate of SGD (B = 1, i.i.d. samples) on the barrier
// laboratory's helix data set (seed 1) at β = B/(ηh*) = 8: the chain takes
// the data set's per-sample gradients as a function.
func ExampleChain_Rate() {
	d, err := barrier.PaperHelix().Draw()
	if err != nil {
		fmt.Println(err)
		return
	}
	ls, err := barrier.FindLandscape(d)
	if err != nil {
		fmt.Println(err)
		return
	}
	const beta, b = 8, 1
	c := exitchain.Chain{Grads: d.SampleGrads, N: d.N, Eta: b / (beta * ls.HStar), B: b, Lo: ls.A, Hi: ls.B}
	e, err := c.Rate(ls.ThetaStar, exitchain.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("T = %.4g steps, κ = %.4g per unit time, grid change %.1f %%\n", e.Steps, e.Kappa, 100*e.GridChange)
	// Output: T = 1.247e+05 steps, κ = 6.474e-05 per unit time, grid change 0.3 %
}
