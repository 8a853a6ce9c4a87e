package network

import (
	"io"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// namesParam reports whether msg names parameter name as a word.
func namesParam(msg, name string) bool {
	return regexp.MustCompile(`(^|[^A-Za-z0-9-])` + regexp.QuoteMeta(name) + `([^A-Za-z0-9-]|$)`).MatchString(msg)
}

// Every check that the command line used to make (cmd/sgdescape before the
// registry) is in Validate, and its error names the parameter to change.
func TestValidateNamesTheParameter(t *testing.T) {
	dec := func(f func(*DecouplingConfig)) error { c := PaperDecoupling(run.Quick); f(&c); return c.Validate() }
	noi := func(f func(*NoiseCurveConfig)) error {
		c := PaperNoise(run.Quick)
		f(&c)
		return c.effective().Validate()
	}
	pan := func(f func(*NoisePanelsConfig)) error { c := PaperNoisePanels(run.Quick); f(&c); return c.Validate() }
	mini := func(f func(*MinimumConfig)) error { c := PaperMinimum(run.Quick); f(&c); return c.Validate() }
	fpt := func(f func(*FirstPassageConfig)) error { c := PaperFirstPassage(run.Quick); f(&c); return c.Validate() }
	for _, c := range []struct {
		name string
		err  error
	}{
		{"N", dec(func(c *DecouplingConfig) { c.Run.Data.N = 60001 })},
		{"N", dec(func(c *DecouplingConfig) { c.Run.Data.N = 0 })},
		{"N", dec(func(c *DecouplingConfig) { c.Run.Data.N = 30000 })}, // the dense N×N eigendecomposition
		{"data", dec(func(c *DecouplingConfig) { c.Run.Data.Set = "imagenet" })},
		{"widths", dec(func(c *DecouplingConfig) { c.Run.Arch.Widths = []int{10, 0} })},
		{"widths", dec(func(c *DecouplingConfig) { c.Run.Arch.Widths = nil })},
		{"B", dec(func(c *DecouplingConfig) { c.Run.Train.B = 1001 })},
		{"eta", dec(func(c *DecouplingConfig) { c.Run.Train.Eta = 0 })},
		{"epochs", dec(func(c *DecouplingConfig) { c.Epochs = []int{3, 1} })},
		{"epochs", dec(func(c *DecouplingConfig) { c.Epochs = nil })},
		{"cutoff", dec(func(c *DecouplingConfig) { c.Cutoff = 1 })},
		{"topk", dec(func(c *DecouplingConfig) { c.TopK = 0 })},
		{"data", noi(func(c *NoiseCurveConfig) { c.Run.Arch.Kind = CNN })}, // the CNN needs cifar10
		{"channels", noi(func(c *NoiseCurveConfig) {
			c.Run.Arch.Kind, c.Run.Data.Set, c.Run.Arch.Channels = CNN, "cifar10", []int{1, 1, 1, 1, 1, 1}
		})},
		{"convs", noi(func(c *NoiseCurveConfig) {
			c.Run.Arch.Kind, c.Run.Data.Set, c.Run.Arch.ConvsPerStack = CNN, "cifar10", 0
		})},
		{"arch", noi(func(c *NoiseCurveConfig) { c.Run.Arch.Kind = "transformer" })},
		{"loss", noi(func(c *NoiseCurveConfig) { c.Run.Train.Loss = "hinge" })},
		{"every", noi(func(c *NoiseCurveConfig) { c.Epochs, c.Every = 3, 4 })},
		{"epochs", noi(func(c *NoiseCurveConfig) { c.Epochs, c.Every = 2, 1 })}, // three measurements
		{"boot", noi(func(c *NoiseCurveConfig) { c.Epochs, c.Every = 100000000, 1 })},
		{"B", pan(func(c *NoisePanelsConfig) { c.CNN.Run.Train.B = 301 })},
		{"pretrain-B", mini(func(c *MinimumConfig) { c.Pretrain.Run.Train.B = 10001 })},
		{"pretrain-eta", mini(func(c *MinimumConfig) { c.Pretrain.Run.Train.Eta = -1 })},
		{"pretrain-epochs", mini(func(c *MinimumConfig) { c.Pretrain.Epochs = 2 })},
		{"window", mini(func(c *MinimumConfig) { c.Pretrain.Window = 1 })},
		{"stationary-tol", mini(func(c *MinimumConfig) { c.Pretrain.Tol = 0 })},
		{"lanczos", mini(func(c *MinimumConfig) { c.K = 7862 })}, // P = 7861 for 784-10-1
		{"hutchinson", mini(func(c *MinimumConfig) { c.Probes = MaxProbes + 1 })},
		{"B", fpt(func(c *FirstPassageConfig) { c.B = 10000 })},
		{"widths", fpt(func(c *FirstPassageConfig) { c.Pretrain.Run.Arch.Widths = []int{2, 2} })},
		{"runs", fpt(func(c *FirstPassageConfig) { c.Runs = 2 })},
		{"c", fpt(func(c *FirstPassageConfig) { c.C = []float64{2} })},
		{"c", fpt(func(c *FirstPassageConfig) { c.C = []float64{2, 2} })},
		{"fit-cmin", fpt(func(c *FirstPassageConfig) { c.FitCMin = 6 })},
		{"boot", fpt(func(c *FirstPassageConfig) { c.Runs = 1000000000 })},
		{"maxsteps", fpt(func(c *FirstPassageConfig) { c.MaxSteps = 0 })},
	} {
		if c.err == nil || !namesParam(c.err.Error(), c.name) {
			t.Errorf("%s: %v", c.name, c.err)
		}
	}
	// Limits are inclusive where the command line's were.
	for name, err := range map[string]error{
		"lanczos = P":    mini(func(c *MinimumConfig) { c.K = 7861 }),
		"B = N":          dec(func(c *DecouplingConfig) { c.Run.Train.B = 1000 }),
		"pretrain-B = N": mini(func(c *MinimumConfig) { c.Pretrain.Run.Train.B = 10000 }),
		"N = 60000":      noi(func(c *NoiseCurveConfig) { c.Run.Data.N, c.Epochs, c.Every = 60000, 4, 1 }),
	} {
		if err != nil {
			t.Errorf("%s refused: %v", name, err)
		}
	}
}

// The four panels are the paper's configurations of Fig. 2 and appendix D,
// in the figure's order: the presets of each network and loss.
func TestPanelsAreThePapers(t *testing.T) {
	for _, scale := range []run.Scale{run.Quick, run.Paper} {
		ps := PaperNoisePanels(scale).Panels()
		want := []NoisePanel{
			{"Fashion-MNIST MLP, mean-square", PaperNoiseMLP(model.MSE, scale), false},
			{"CIFAR-10 CNN, mean-square", PaperNoiseCNN(model.MSE, scale), false},
			{"Fashion-MNIST MLP, cross-entropy", PaperNoiseMLP(model.CE, scale), false},
			{"CIFAR-10 CNN, cross-entropy", PaperNoiseCNN(model.CE, scale), false},
		}
		if !reflect.DeepEqual(ps, want) {
			t.Errorf("%s: panels\n%+v\nwant\n%+v", scale, ps, want)
		}
		res := NoisePanelsResult{}
		for _, p := range ps {
			res.Panels = append(res.Panels, NoisePanelResult{NoisePanel: p})
		}
		if p, ok := res.Panel(CNN, model.CE); !ok || p.Name != "CIFAR-10 CNN, cross-entropy" {
			t.Errorf("Panel(cnn, ce) = %q %v", p.Name, ok)
		}
		if _, ok := res.Panel(CNN, "hinge"); ok {
			t.Error("Panel found a loss that is not there")
		}
	}
}

// Effective drops the other architecture's fields and the decoupled
// prediction for cross-entropy: the command line's noise with its defaults
// is the MLP preset, its -arch cnn the CNN's architecture.
func TestNoiseEffective(t *testing.T) {
	c := PaperNoise(run.Quick)
	if e := c.effective(); !reflect.DeepEqual(e, PaperNoiseMLP(model.MSE, run.Quick)) {
		t.Errorf("noise preset as it runs: %+v", e)
	}
	c.Run.Arch.Kind, c.Run.Train.Loss = CNN, model.CE
	e := c.effective()
	if e.Decoupled || e.Run.Arch.Widths != nil || !reflect.DeepEqual(e.Run.Arch, PaperNoiseCNN(model.CE, run.Quick).Run.Arch) {
		t.Errorf("cnn, ce: %+v", e)
	}
}

// The parameters keep the command line's names.
func TestNetworkParameterNames(t *testing.T) {
	for _, c := range []struct {
		d     param.Declarer
		names string
	}{
		{&DecouplingConfig{}, "B N cutoff data epochs eta seed topk widths"},
		{&NoiseCurveConfig{}, "B N arch boot channels convs data decoupled epochs eta every loss seed widths"},
		{&MinimumConfig{}, "N check-every data hutchinson lanczos pretrain-B pretrain-epochs pretrain-eta pretrain-seed stationary-tol until-stationary widths window"},
		{&FirstPassageConfig{}, "B N allow-nonstationary boot c check-every data eta every fit-cmin maxsteps pretrain-B pretrain-epochs pretrain-eta pretrain-seed runs seed stationary-tol until-stationary widths window"},
	} {
		if got := strings.Join(param.Declare(c.d).Names(), " "); got != c.names {
			t.Errorf("%T: %s\nwant %s", c.d, got, c.names)
		}
	}
}

// A diverged pre-training is a flagged result that says why there is no θ*,
// in text and through NoMinimum; a good one is not flagged.
func TestPretrainDivergenceIsAResult(t *testing.T) {
	rule := PaperPretrain(run.Quick).Run.DivergenceRule()
	if !strings.Contains(rule, "zero-output loss 0.5 = 5") {
		t.Errorf("rule %q", rule)
	}
	m := MinimumResult{Diverged: true, DivergenceRule: rule, Note: "pre-training diverged at epoch 3 (full-batch loss 1e+09)"}
	f := FirstPassageResult{PretrainDiverged: true, DivergenceRule: rule, Note: m.Note}
	for _, err := range []error{m.NoMinimum(), f.NoMinimum()} {
		if err == nil || !strings.Contains(err.Error(), "epoch 3") || !strings.Contains(err.Error(), rule) {
			t.Errorf("NoMinimum: %v", err)
		}
	}
	var b strings.Builder
	for _, w := range []interface{ WriteText(io.Writer) error }{m, f} {
		b.Reset()
		if err := w.WriteText(&b); err != nil || !strings.Contains(b.String(), "DIVERGED") || !strings.Contains(b.String(), rule) {
			t.Errorf("%T text: %q %v", w, b.String(), err)
		}
	}
	if (MinimumResult{}).NoMinimum() != nil || (FirstPassageResult{}).NoMinimum() != nil {
		t.Error("a result without divergence has no minimum")
	}
}
