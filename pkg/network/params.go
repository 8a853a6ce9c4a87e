package network

// The network experiments' parameters, declared once (pkg/param): the flags
// of `sgdescape decoupling`, `noise`, `noise-panels`, `spectrum` and
// `fpt -model mlp`, the notebooks' overrides and the sweep axes all come
// from these declarations, and every check that involves several of them
// is in the configurations' Validate.

import (
	"fmt"
	"math"
	"strings"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/passage"
)

// Architectures of ArchSpec.Kind.
const (
	MLP = "mlp"
	CNN = "cnn"
)

// Archs lists the architectures.
var Archs = []string{MLP, CNN}

// maxStacks is the most CNN stacks a 32×32 image allows: each halves its side.
const maxStacks = 5

// MaxProbes bounds Hutchinson's probes: the trace estimate's standard error
// falls as 1/√probes, and 100–1000 probes suffice.
const MaxProbes = 10000

// declareData declares -data and -N.
func declareData(s *param.Set, d *DataSpec, help string) {
	param.Choice(s, &d.Set, "data", help, data.Names)
	s.Int(&d.N, "N", "the first N training images", param.Min(1))
}

// Declare declares the decoupling experiment's parameters (Fig. 1).
func (c *DecouplingConfig) Declare(s *param.Set) {
	declareData(s, &c.Run.Data, "data set (even/odd targets ±1; the paper: mnist)")
	s.Ints(&c.Run.Arch.Widths, "widths", "hidden widths of the MLP", param.Min(1))
	s.Float(&c.Run.Train.Eta, "eta", "learning rate η", param.Positive)
	s.Int(&c.Run.Train.B, "B", "mini-batch size B (≤ N)", param.Min(1))
	s.Ints(&c.Epochs, "epochs", "stages (epochs, increasing) at which the exact and decoupled spectra are compared")
	s.Int(&c.TopK, "topk", "number of top eigenvalues compared", param.Min(1))
	s.Float(&c.Cutoff, "cutoff", "eigenvalues below cutoff·λ_max are left out of the distribution distances", param.Positive, param.Below(1))
	s.Uint64(&c.Run.Train.Seed, "seed", "master seed: the initialisation and the mini-batch order")
}

// Declare declares the noise experiment's parameters (Fig. 2, appendix D).
func (c *NoiseCurveConfig) Declare(s *param.Set) {
	param.Choice(s, &c.Run.Data.Set, "data", "data set with one-hot targets: fashion-mnist (the paper's MLP), cifar10 (its CNN) or mnist", data.Names)
	param.Choice(s, &c.Run.Arch.Kind, "arch", "architecture: mlp (-widths) or cnn (-channels, -convs; needs cifar10)", Archs)
	s.Ints(&c.Run.Arch.Widths, "widths", "MLP hidden widths", param.Min(1))
	s.Ints(&c.Run.Arch.Channels, "channels", "CNN channels per stack of convolutions (each stack halves the image: at most 5)", param.Min(1))
	s.Int(&c.Run.Arch.ConvsPerStack, "convs", "CNN convolutions per stack", param.Min(1))
	s.Int(&c.Run.Data.N, "N", "the first N training images", param.Min(1))
	s.Float(&c.Run.Train.Eta, "eta", "learning rate η", param.Positive)
	s.Int(&c.Run.Train.B, "B", "mini-batch size B (≤ N)", param.Min(1))
	s.Int(&c.Epochs, "epochs", "epochs of training", param.Min(2))
	s.Int(&c.Every, "every", "measure 𝒩 every this many epochs (1: every epoch, as the paper)", param.Min(1))
	param.Choice(s, &c.Run.Train.Loss, "loss", "loss: mse (section 5.2) or ce (cross-entropy, appendix D)", []string{model.MSE, model.CE})
	s.Bool(&c.Decoupled, "decoupled", "also measure the decoupled prediction 2L·(1/N)Σ|∇f|² (Eq. 9; mean-square loss only)")
	s.Int(&c.Boot, "boot", "bootstrap resamples of the late slope's interval", param.Max(estimate.MaxBoot))
	s.Uint64(&c.Run.Train.Seed, "seed", "master seed: the initialisation and the mini-batch order")
}

// declarePanel declares the parameters of one network of the noise panels
// (NoisePanelsConfig), who naming it in the help ("MLP", "CNN").
func (c *NoiseCurveConfig) declarePanel(s *param.Set, who string) {
	s.Int(&c.Run.Data.N, "N", who+": the first N training images", param.Min(1))
	if c.Run.Arch.Kind == CNN {
		s.Ints(&c.Run.Arch.Channels, "channels", who+": channels per stack (at most 5)", param.Min(1))
		s.Int(&c.Run.Arch.ConvsPerStack, "convs", who+": convolutions per stack", param.Min(1))
	} else {
		s.Ints(&c.Run.Arch.Widths, "widths", who+": hidden widths", param.Min(1))
	}
	s.Float(&c.Run.Train.Eta, "eta", who+": SGD learning rate η", param.Positive)
	s.Int(&c.Run.Train.B, "B", who+": SGD mini-batch size B (≤ N)", param.Min(1))
	s.Int(&c.Epochs, "epochs", who+": epochs of training", param.Min(2))
	s.Int(&c.Every, "every", who+": measure 𝒩 every this many epochs", param.Min(1))
	s.Int(&c.Boot, "boot", who+": bootstrap resamples of the late slope's interval", param.Max(estimate.MaxBoot))
	s.Uint64(&c.Run.Train.Seed, "seed", who+": seed of the initialisation and the mini-batch order")
}

// declarer adapts a function to param.Declarer.
type declarer func(*param.Set)

func (f declarer) Declare(s *param.Set) { f(s) }

// Declare declares the parameters of the four noise panels: those of the
// MLP prefixed mlp-, those of the CNN prefixed cnn-.
func (c *NoisePanelsConfig) Declare(s *param.Set) {
	s.Prefixed("mlp-", declarer(func(s *param.Set) { c.MLP.declarePanel(s, "MLP") }))
	s.Prefixed("cnn-", declarer(func(s *param.Set) { c.CNN.declarePanel(s, "CNN") }))
}

// Declare declares the pre-training's parameters (the minimum θ* of
// section 5.3.2 and appendix E), shared by spectrum and fpt -model mlp.
func (c *PretrainConfig) Declare(s *param.Set) {
	declareData(s, &c.Run.Data, "data set (even/odd targets ±1; the paper: mnist)")
	s.Ints(&c.Run.Arch.Widths, "widths", "hidden width of the one-hidden-layer MLP (the paper: 10)", param.Min(1))
	s.Float(&c.Run.Train.Eta, "pretrain-eta", "pre-training learning rate η", param.Positive)
	s.Int(&c.Run.Train.B, "pretrain-B", "pre-training batch size (≤ N)", param.Min(1))
	s.Int(&c.Epochs, "pretrain-epochs", "pre-training epochs (the most with -until-stationary)", param.Min(1))
	s.Bool(&c.UntilStationary, "until-stationary", "stop pre-training once the full-batch loss is stationary")
	s.Int(&c.CheckEvery, "check-every", "epochs between full-batch loss checks", param.Min(1))
	s.Int(&c.Window, "window", "loss checks per window of the stationarity criterion", param.Min(2))
	s.Float(&c.Tol, "stationary-tol", "stationarity: the last window's mean loss is at most this much (relative) below the previous one's", param.Positive)
	s.Uint64(&c.Run.Train.Seed, "pretrain-seed", "seed of the initialisation and the pre-training mini-batches")
}

// Declare declares the appendix-E parameters: the pre-training and the
// exact-Hessian estimates at θ*.
func (c *MinimumConfig) Declare(s *param.Set) {
	c.Pretrain.Declare(s)
	s.Int(&c.K, "lanczos", "top eigenvalues of the exact Hessian by Lanczos (k ≤ P; 0: none)")
	s.Int(&c.Probes, "hutchinson", "Rademacher probes of Hutchinson's estimate of the exact Hessian's trace (0: none)", param.Max(MaxProbes))
}

// Declare declares the network first-passage experiment's parameters (Fig. 3c).
func (c *FirstPassageConfig) Declare(s *param.Set) {
	c.Pretrain.Declare(s)
	s.Float(&c.Eta, "eta", "learning rate η of the runs restarted from θ*", param.Positive)
	s.Int(&c.B, "B", "mini-batch size B of the restarted runs (B < N)", param.Min(1))
	s.Int(&c.Runs, "runs", "independent runs from θ*", param.Min(passage.MinRuns))
	s.Floats(&c.C, "c", "threshold ratios c = L_th/L(θ*)", param.Above(1), param.MaxItems(1000))
	s.Int64(&c.MaxSteps, "maxsteps", "steps per run before it is censored", param.Min(1))
	s.Int64(&c.Every, "every", "check the full-batch loss every this many steps (time resolution every·η)", param.Min(1))
	s.Float(&c.FitCMin, "fit-cmin", "fit the slope over thresholds c ≥ this", param.Above(1), param.Auto("every threshold"))
	s.Int(&c.Boot, "boot", "bootstrap resamples over runs", param.Max(estimate.MaxBoot))
	s.Uint64(&c.Seed, "seed", "master seed of the restarted runs: mini-batches from seed, free runs and bootstrap from offsets of it")
	s.Bool(&c.AllowNonStationary, "allow-nonstationary", "accept a θ* whose pre-training has not converged")
}

// check refuses a training run the loader or the trainer cannot carry out:
// an unknown data set, N outside the training split, an invalid
// architecture, a learning rate that is not positive, a batch outside
// 1 … N or an unknown loss. eta and b name the learning-rate and batch
// parameters in the errors.
func (r RunSpec) check(eta, b string) error {
	m, ok := data.TrainImages(r.Data.Set)
	if !ok {
		return fmt.Errorf("data = %q is not a data set; use %s", r.Data.Set, strings.Join(data.Names, ", "))
	}
	if r.Data.N < 1 || r.Data.N > m {
		return fmt.Errorf("N = %d: %s has %d training images; use 1 ≤ N ≤ %d", r.Data.N, r.Data.Set, m, m)
	}
	if err := r.Arch.check(); err != nil {
		return err
	}
	switch {
	case !(r.Train.Eta > 0) || math.IsInf(r.Train.Eta, 0):
		return fmt.Errorf("%s = %v must be a positive number", eta, r.Train.Eta)
	case r.Train.B < 1 || r.Train.B > r.Data.N:
		return fmt.Errorf("%s = %d must satisfy 1 ≤ %s ≤ N = %d", b, r.Train.B, b, r.Data.N)
	case r.Train.Loss != model.MSE && r.Train.Loss != model.CE:
		return fmt.Errorf("loss = %q: use %s or %s", r.Train.Loss, model.MSE, model.CE)
	}
	return nil
}

// check refuses an architecture that cannot be built.
func (a ArchSpec) check() error {
	switch a.Kind {
	case MLP:
		if len(a.Widths) == 0 {
			return fmt.Errorf("widths: give at least one hidden width")
		}
		return positiveItems("widths", a.Widths)
	case CNN:
		switch {
		case len(a.Channels) == 0:
			return fmt.Errorf("channels: give at least one stack")
		case len(a.Channels) > maxStacks:
			return fmt.Errorf("channels = %v lists %d stacks; each halves the 32×32 image, so at most %d fit", a.Channels, len(a.Channels), maxStacks)
		case a.ConvsPerStack < 1:
			return fmt.Errorf("convs = %d: need at least 1 convolution per stack", a.ConvsPerStack)
		}
		return positiveItems("channels", a.Channels)
	}
	return fmt.Errorf("arch = %q: use %s", a.Kind, strings.Join(Archs, " or "))
}

func positiveItems(name string, v []int) error {
	for i, x := range v {
		if x < 1 {
			return fmt.Errorf("%s: item %d is %d; every item must be ≥ 1", name, i+1, x)
		}
	}
	return nil
}

// only returns the architecture with the fields of its kind alone (an MLP
// without channels, a CNN without widths): the configuration's other
// fields do not describe the network and must not change cache keys.
func (a ArchSpec) only() ArchSpec {
	if a.Kind == CNN {
		return ArchSpec{Kind: a.Kind, Channels: a.Channels, ConvsPerStack: a.ConvsPerStack}
	}
	return ArchSpec{Kind: a.Kind, Widths: a.Widths}
}
