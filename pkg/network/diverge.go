package network

import (
	"fmt"
	"math"

	"github.com/sgdescape/sgdescape/pkg/model"
)

// DivergenceFactor defines a diverged network run, the same for every
// network experiment (decoupling, noise curves, pre-training, escape): a
// run has diverged when its full-batch loss is not a finite number or
// exceeds DivergenceFactor × ReferenceLoss, the loss of a network that
// outputs zero for every input. Trained or freshly initialised networks sit
// at or below that scale (initial losses are about 0.5–1 times it); a loss
// ten times above it means SGD is unstable (η beyond the stability edge,
// exploding logits under cross-entropy), and spectra, slopes or passage
// times measured there describe the blow-up, not the paper's dynamics.
const DivergenceFactor = 10

// ReferenceLoss is the loss of the all-zero output for the run's targets
// and loss: ½·|y|² = ½ for the mean-square loss (even/odd targets ±1 and
// one-hot targets both have |y|² = 1), ln K for cross-entropy over K = 10
// classes.
func (r RunSpec) ReferenceLoss() float64 {
	if r.Train.Loss == model.CE {
		return math.Log(10)
	}
	return 0.5
}

// DivergenceThreshold is DivergenceFactor × ReferenceLoss.
func (r RunSpec) DivergenceThreshold() float64 { return DivergenceFactor * r.ReferenceLoss() }

// Diverged applies the divergence rule to one full-batch loss.
func (r RunSpec) Diverged(loss float64) bool { return !(loss <= r.DivergenceThreshold()) }

// FirstDiverged returns the first point of a loss history that meets the
// divergence rule.
func (r RunSpec) FirstDiverged(h []LossPoint) (LossPoint, bool) {
	for _, p := range h {
		if r.Diverged(p.Loss) {
			return p, true
		}
	}
	return LossPoint{}, false
}

// DivergenceRule says the divergence rule of the run in words, with its
// numbers; every diverged network result carries it.
func (r RunSpec) DivergenceRule() string {
	return fmt.Sprintf("full-batch loss non-finite or above %g × the zero-output loss %.3g = %.3g", float64(DivergenceFactor), r.ReferenceLoss(), r.DivergenceThreshold())
}
