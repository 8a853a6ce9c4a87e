package network

import (
	"context"
	"fmt"
	"time"

	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// NoisePanelsConfig is Fig. 2 with appendix D: two networks, each trained
// with the mean-square loss (Fig. 2) and with cross-entropy (appendix D),
// the noise strength measured along the way (Noise, four runs). The loss of
// MLP and CNN is set per panel; the decoupled prediction is measured for
// the mean-square MLP.
type NoisePanelsConfig struct {
	MLP NoiseCurveConfig `json:"mlp"`
	CNN NoiseCurveConfig `json:"cnn"`
}

// NoisePanel is one panel of Fig. 2 / appendix D: its name and the
// configuration it runs.
type NoisePanel struct {
	Name   string           `json:"name"`
	Config NoiseCurveConfig `json:"config"`
	// EarlyOnly marks a run too short to reach late training: a check of the
	// pipeline, not of the claim (no preset sets it since the quick CNN
	// reaches late training on XLA's CPU runtime).
	EarlyOnly bool `json:"early_only,omitempty"`
}

// Panels returns the four panels in the figure's order: the MLP and the
// CNN with the mean-square loss, then both with cross-entropy; each
// configuration as it runs (NoiseCurveConfig.effective).
func (c NoisePanelsConfig) Panels() []NoisePanel {
	var out []NoisePanel
	for _, l := range []struct{ loss, name string }{{model.MSE, "mean-square"}, {model.CE, "cross-entropy"}} {
		for _, n := range []struct {
			cfg  NoiseCurveConfig
			name string
		}{{c.MLP, "Fashion-MNIST MLP"}, {c.CNN, "CIFAR-10 CNN"}} {
			cfg := n.cfg
			cfg.Run.Train.Loss = l.loss
			out = append(out, NoisePanel{Name: n.name + ", " + l.name, Config: cfg.effective()})
		}
	}
	return out
}

// Validate checks every panel: everything that can be refused before any work.
func (c NoisePanelsConfig) Validate() error {
	if c.MLP.Run.Arch.Kind != MLP || c.CNN.Run.Arch.Kind != CNN {
		return fmt.Errorf("noise panels: the MLP panels need an mlp and the CNN panels a cnn (got %q and %q)", c.MLP.Run.Arch.Kind, c.CNN.Run.Arch.Kind)
	}
	for _, p := range c.Panels() {
		if err := p.Config.Validate(); err != nil {
			return fmt.Errorf("%s (parameters %s-…): %w", p.Name, p.Config.Run.Arch.Kind, err)
		}
	}
	return nil
}

// MemoryBytes is the largest panel's: the panels run one after the other.
func (c NoisePanelsConfig) MemoryBytes() float64 {
	return max(c.MLP.MemoryBytes(), c.CNN.MemoryBytes())
}

// NoisePanelResult is one panel with its measured curve.
type NoisePanelResult struct {
	NoisePanel
	Curve NoiseCurve `json:"curve"`
}

// NoisePanelsResult holds the panels in the figure's order; Panel finds
// one by architecture and loss.
type NoisePanelsResult struct {
	Panels []NoisePanelResult `json:"panels"`
}

// Panel returns the panel of architecture arch (MLP or CNN) trained with loss.
func (r NoisePanelsResult) Panel(arch, loss string) (NoisePanelResult, bool) {
	for _, p := range r.Panels {
		if p.Config.Run.Arch.Kind == arch && p.Config.Run.Train.Loss == loss {
			return p, true
		}
	}
	return NoisePanelResult{}, false
}

// NoisePanels trains and measures every panel (Noise; each measured epoch
// cached, training checkpointed).
func NoisePanels(ctx context.Context, env run.Env, c NoisePanelsConfig) (run.Result[NoisePanelsResult], error) {
	if err := c.Validate(); err != nil {
		return run.Result[NoisePanelsResult]{}, err
	}
	start, all := time.Now(), true
	var out NoisePanelsResult
	panels := c.Panels()
	for i, p := range panels {
		penv := env
		penv.Progress = panelProgress(env.Progress, i, len(panels), p.Name)
		r, err := Noise(ctx, penv, p.Config)
		if err != nil {
			return run.Result[NoisePanelsResult]{}, fmt.Errorf("%s: %w", p.Name, err)
		}
		all = all && r.FromCache
		out.Panels = append(out.Panels, NoisePanelResult{NoisePanel: p, Curve: r.Result})
	}
	return run.Compose(env.Spec("network/noise-panels", NoiseCurveVersion, c, c.MLP.Run.Train.Seed), start, all, out)
}

func panelProgress(p run.Progress, i, n int, name string) run.Progress {
	if p == nil {
		return nil
	}
	return func(done, total int, note string) {
		p(done, total, fmt.Sprintf("panel %d/%d (%s): %s", i+1, n, name, note))
	}
}
