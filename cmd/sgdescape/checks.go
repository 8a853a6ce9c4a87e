package main

// Checks shared by the experiment commands: settings that pass the
// configurations' own validation but can never give a result, refused up
// front with the flag to change; and the divergence report.

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/linreg"
	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// checkProblem refuses linear-regression settings that pass the
// configuration's checks but cannot give a result, before anything runs:
// N ≤ P or noiseless teacher labels (L(θ*) = 0: nothing to measure), B ≥ N
// (full-batch gradient descent has no noise and never leaves θ*), and
// input scales whose h* ≈ xstd² leaves the normal float64 range.
func checkProblem(p linreg.Problem, b int) error {
	switch {
	case p.N <= p.P:
		return usagef("-N %d must be larger than -P %d: with N ≤ P the model fits every label exactly, L(θ*) = 0, and SGD has no noise", p.N, p.P)
	case p.Labels == data.LabelsTeacher && p.Noise == 0:
		return usagef("-labels teacher needs -noise > 0: noiseless teacher labels give L(θ*) = 0 and SGD has no noise")
	case b >= p.N:
		return usagef("-B %d must be smaller than -N %d: B = N is full-batch gradient descent, which has no noise and never leaves θ*", b, p.N)
	case p.XStd < 1e-100 || p.XStd > 1e100:
		return usagef("-xstd %g: use a value between 1e-100 and 1e100 (h* ≈ xstd² must stay within float64)", p.XStd)
	}
	return nil
}

// maxStationarySteps bounds the steps of a stationary run (all chains): at
// the measured 1.3·10⁷ steps/s of the native engine (P = 1), 10¹¹ steps are
// about two hours.
const maxStationarySteps = 1e11

// checkStationarySteps refuses a stationary run whose burn-in and sampling
// would take more than maxStationarySteps steps (or overflow a step count).
// The automatic burn-in is 20/(η·λ_min); λ_min is estimated before the data
// exist by the Marchenko–Pastur edge xstd²·(1 − √(P/N))².
func checkStationarySteps(p linreg.Problem, eta float64, samples, every, chains int, burn int64) error {
	b, how := float64(burn), "-burn"
	if burn == 0 {
		how = "20/(η·λ_min), the default of -burn 0"
		r := 1 - math.Sqrt(float64(p.P)/float64(p.N))
		lmin := p.XStd * p.XStd * r * r
		b = 20 / (eta * lmin)
	}
	per := b + math.Ceil(float64(samples)/float64(chains))*float64(every)
	if total := per * float64(chains); !(total <= maxStationarySteps) {
		return usagef("-eta %g, -every %d, -samples %d: the run needs about %.3g steps (a burn-in of %.3g from %s, then samples × every), more than %.0g (hours of work); raise -eta or lower -every, -samples or -burn", eta, every, samples, total, b, how, maxStationarySteps)
	}
	return nil
}

// minSamplesPerBin: the φ histogram fit drops bins with fewer than 5
// samples and needs 3 bins; 5 samples per bin on average is the least that
// gives it a chance.
const minSamplesPerBin = 5

// minRuns is the fewest runs that can make a threshold reliable: escape's
// Analyze needs 3 passages (events) per threshold.
const minRuns = 3

// checkThresholds refuses threshold settings that can never give a slope:
// fewer than two thresholds, a -fit-cmin that leaves fewer than two, or a
// number of runs below minRuns.
func checkThresholds(c []float64, fitMin float64, runs int) error {
	for _, v := range c {
		if !(v > 1) {
			return usagef("-c: threshold ratio %g must be > 1 (c = L_th/L(θ*))", v)
		}
	}
	seen := map[float64]bool{}
	for _, v := range c {
		if seen[v] {
			return usagef("-c lists the threshold %g twice", v)
		}
		seen[v] = true
	}
	if len(c) < 2 {
		return usagef("-c %v: a slope needs at least two thresholds", c)
	}
	if fitMin > 0 {
		n := 0
		for _, v := range c {
			if v >= fitMin {
				n++
			}
		}
		if n < 2 {
			return usagef("-fit-cmin %g leaves %d of the thresholds -c %v in the fit; a slope needs two (lower -fit-cmin or add thresholds)", fitMin, n, c)
		}
	}
	if runs < minRuns {
		return usagef("-runs %d: a threshold's mean first-passage time counts as reliable only with %d passages or more; use -runs ≥ %d", runs, minRuns, minRuns)
	}
	return nil
}

// divergenceRule is printed with every network result that has diverged.
func divergenceRule(r network.RunSpec) string {
	return fmt.Sprintf("full-batch loss non-finite or above %g × the zero-output loss %.3g = %.3g", float64(network.DivergenceFactor), r.ReferenceLoss(), r.DivergenceThreshold())
}

// trainImages is the size of each data set's training split.
var trainImages = map[string]int{data.MNIST: 60000, data.Fashion: 60000, data.CIFAR10: 50000}

// checkImages refuses an -N outside 1 … the training split's size.
func checkImages(set string, n int) error {
	if m, ok := trainImages[set]; ok && (n < 1 || n > m) {
		return usagef("-N %d: %s has %d training images; use 1 ≤ N ≤ %d", n, set, m, m)
	}
	return nil
}

// checkPositive refuses a list with an item below 1 (widths, channels).
func checkPositive(flagName string, v []int) error {
	for i, x := range v {
		if x < 1 {
			return usagef("-%s: item %d is %d; every item must be ≥ 1", flagName, i+1, x)
		}
	}
	return nil
}

// printPretrainDiverged reports a pre-training that blew up as a flagged
// result (key: "diverged" for spectrum, "pretrain_diverged" for fpt, whose
// "diverged" counts continuation runs).
func printPretrainDiverged(stdout io.Writer, asJSON bool, key string, env run.Env, cfg network.PretrainConfig, why error) error {
	rule := divergenceRule(cfg.Run)
	if asJSON {
		r, err := run.Compose(env.Spec("network/pretrain", network.PretrainVersion, cfg, cfg.Run.Train.Seed), time.Now(), false,
			map[string]any{key: true, "divergence_rule": rule, "note": why.Error()})
		if err != nil {
			return err
		}
		return writeResult(stdout, r, true, nil)
	}
	fmt.Fprintf(stdout, "DIVERGED  pre-training blew up (%v; rule: %s): no minimum θ*, no spectrum or escape; lower -pretrain-eta\n", why, rule)
	return nil
}
