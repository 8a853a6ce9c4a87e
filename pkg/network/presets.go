package network

import (
	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/train"
)

// The paper's configurations (sections 5.1–5.3.2 and appendices D, E), as
// used by the notebooks, the CLI defaults and the tests. A caller overrides
// fields of the returned value; it never re-types a configuration. Quick
// scale keeps each experiment to minutes on 2 cores; paper scale is the
// paper's sizes.

// PaperDecoupling is the experiment of section 5.1 (Fig. 1): a 784-100-100-1
// MLP on MNIST with even/odd targets ±1, mean-square loss, η = 0.01,
// B = 100, seed 1, the exact and decoupled spectra compared at epochs
// 0, 50, 500 on N = 10⁴ images (quick: the same epochs on 1 000), top 20
// eigenvalues, distances over eigenvalues above 10⁻⁶·λ_max.
func PaperDecoupling(scale run.Scale) DecouplingConfig {
	return DecouplingConfig{
		Run: RunSpec{
			Data:  DataSpec{Set: data.MNIST, N: run.Pick(scale, 1000, 10000), Targets: EvenOdd},
			Arch:  ArchSpec{Kind: "mlp", Widths: []int{100, 100}},
			Train: train.Config{Loss: model.MSE, Eta: 0.01, B: 100, Seed: 1},
		},
		Epochs: []int{0, 50, 500}, TopK: 20, Cutoff: 1e-6,
	}
}

// PaperNoiseMLP is the Fashion-MNIST panel of Fig. 2 (loss model.MSE) and
// of appendix D (model.CE): a 2000-2000-2000 MLP on the 60 000 training
// images for 100 epochs, measured every epoch (quick: 200-200-200 on 1 000
// images for 200 epochs, every 4th), one-hot targets, η = 0.1, B = 100,
// seed 1, 1 000 bootstrap resamples. The decoupled prediction is measured
// for the mean-square loss.
func PaperNoiseMLP(loss string, scale run.Scale) NoiseCurveConfig {
	w := run.Pick(scale, 200, 2000)
	return NoiseCurveConfig{
		Run: RunSpec{
			Data:  DataSpec{Set: data.Fashion, N: run.Pick(scale, 1000, 60000), Targets: OneHot},
			Arch:  ArchSpec{Kind: "mlp", Widths: []int{w, w, w}},
			Train: train.Config{Loss: loss, Eta: 0.1, B: 100, Seed: 1},
		},
		Epochs: run.Pick(scale, 200, 100), Every: run.Pick(scale, 4, 1), Decoupled: loss == model.MSE, Boot: 1000,
	}
}

// PaperNoiseCNN is the CIFAR-10 panel of Fig. 2 / appendix D: the paper's
// CNN (three stacks of three convolutions, 64/128/256 channels) on 50 000
// images for 100 epochs, measured every epoch, η = 0.1, B = 100, seed 1.
// Quick: 8/16/32 channels on 300 images, B = 10 and η = 0.05, 100 epochs
// (3 000 SGD steps, about a minute on XLA's CPU runtime) measured every 5th:
// it memorises its 300 images and reaches late training (L ≈ 10⁻³ with the
// mean-square loss). B = 10 buys the SGD steps; η = 0.05 because at B = 10
// the cross-entropy CNN dies at η = 0.1 (every ReLU off in the first epochs).
func PaperNoiseCNN(loss string, scale run.Scale) NoiseCurveConfig {
	return NoiseCurveConfig{
		Run: RunSpec{
			Data:  DataSpec{Set: data.CIFAR10, N: run.Pick(scale, 300, 50000), Targets: OneHot},
			Arch:  ArchSpec{Kind: "cnn", Channels: run.Pick(scale, []int{8, 16, 32}, []int{64, 128, 256}), ConvsPerStack: 3},
			Train: train.Config{Loss: loss, Eta: run.Pick(scale, 0.05, 0.1), B: run.Pick(scale, 10, 100), Seed: 1},
		},
		Epochs: 100, Every: run.Pick(scale, 5, 1), Boot: 1000,
	}
}

// PaperPretrain finds the minimum θ* of section 5.3.2 and appendix E: a
// 784-10-1 MLP on MNIST (even/odd targets ±1, mean-square loss), SGD with
// η = 0.1, B = 100, seed 1 for 2 750 epochs on N = 10⁴ images, the
// full-batch loss checked every 25 epochs, the stationarity criterion over
// two windows of 10 checks with a 2 % tolerance. Quick scale is the same
// (about a minute on XLA's CPU runtime; θ* is stationary by that criterion).
func PaperPretrain(scale run.Scale) PretrainConfig {
	return PretrainConfig{
		Run: RunSpec{Data: DataSpec{Set: data.MNIST, N: 10000, Targets: EvenOdd},
			Arch:  ArchSpec{Kind: "mlp", Widths: []int{10}},
			Train: train.Config{Loss: model.MSE, Eta: 0.1, B: 100, Seed: 1}},
		Epochs: 2750, CheckEvery: 25, Window: 10, Tol: 0.02,
	}
}

// PaperFirstPassage is Fig. 3c: 100 SGD runs restarted from PaperPretrain's θ*
// with η = 0.016, B = 1, seed 11, the full-batch loss checked after every
// step, thresholds c = 2.5, 3, 4, 5, 6, at most 2·10⁶ steps per run, 8 free
// runs over the first 5·10⁴ steps; 2 000 bootstrap resamples. Both scales
// insist on a stationary θ*. Quick: the same θ*, runs, (η, B) and
// thresholds, at most 5 000 steps per run (about 50 times the mean
// first-passage time at c = 6; no run reaches it), free runs of 5 000 steps
// and 300 bootstrap resamples.
func PaperFirstPassage(scale run.Scale) FirstPassageConfig {
	max := int64(run.Pick(scale, 5000, 2000000))
	return FirstPassageConfig{Pretrain: PaperPretrain(scale), Eta: 0.016, B: 1, Runs: 100, C: []float64{2.5, 3, 4, 5, 6},
		MaxSteps: max, Every: 1, Seed: 11, Boot: run.Pick(scale, 300, 2000), FreeRuns: 8, FreeSteps: min(max, 50000),
		AllowNonStationary: false}
}

// PaperMinimum is appendix E at PaperPretrain's θ*: the Gauss–Newton
// spectrum, the top 10 exact-Hessian eigenvalues (Lanczos) and the trace
// with 100 Hutchinson probes.
func PaperMinimum(scale run.Scale) MinimumConfig {
	return MinimumConfig{Pretrain: PaperPretrain(scale), K: 10, Probes: 100}
}

// PaperNoisePanels is Fig. 2 with appendix D: PaperNoiseMLP and
// PaperNoiseCNN, each trained with the mean-square loss and with
// cross-entropy (NoisePanelsConfig.Panels).
func PaperNoisePanels(scale run.Scale) NoisePanelsConfig {
	return NoisePanelsConfig{MLP: PaperNoiseMLP(model.MSE, scale), CNN: PaperNoiseCNN(model.MSE, scale)}
}

// PaperNoise is the registry's preset of `noise`: PaperNoiseMLP with the
// mean-square loss, with PaperNoiseCNN's channels and convolutions for
// -arch cnn (the fields of the other architecture are dropped when it runs).
func PaperNoise(scale run.Scale) NoiseCurveConfig {
	c, cnn := PaperNoiseMLP(model.MSE, scale), PaperNoiseCNN(model.MSE, scale)
	c.Run.Arch.Channels, c.Run.Arch.ConvsPerStack = cnn.Run.Arch.Channels, cnn.Run.Arch.ConvsPerStack
	return c
}
