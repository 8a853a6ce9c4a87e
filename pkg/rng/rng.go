// Package rng names every random stream of sgdescape in one place.
//
// A stream is a PCG generator rand.NewPCG(seed, stream): the seed is the
// experiment's (or the training run's) master seed, the stream constant says
// what the numbers are for. Two uses with different constants never share
// numbers, so adding a use never shifts another's numbers; changing a
// constant changes results (bump the experiment's code version).
//
// Experiments also derive sub-seeds as Seed + offset (the Offset constants)
// so that, for example, the dynamics of a linear-regression experiment do not
// reuse the stream that drew its data.
package rng

import (
	"math/bits"
	"math/rand/v2"
)

// Stream is the second PCG word of a named random stream.
type Stream uint64

// The named streams. The values are historical (they are part of every
// cached result); they carry no meaning beyond being distinct.
const (
	// LinRegData draws the synthetic regression data x, y (pkg/data).
	LinRegData Stream = 0x11e9
	// Subset draws the random subset of a data set (pkg/data).
	Subset Stream = 0x5eed
	// ModelInit draws a network's initial parameters (pkg/model).
	ModelInit Stream = 0x9107
	// TrainEpoch, xor the epoch number, draws the mini-batch order of one
	// training epoch (pkg/train), so that a resumed run draws the same batches.
	TrainEpoch Stream = 0xe90c
	// Run, xor the run index, drives run r of an ensemble (mini-batches and
	// Gaussian noise): run r's numbers do not depend on how many workers
	// simulate the ensemble (pkg/dynamics, pkg/network's continuation).
	Run Stream = 0x9e3779b97f4a7c15
	// FPTBootstrap resamples runs for first-passage intervals (pkg/passage).
	FPTBootstrap Stream = 0xb007
	// PhiBootstrap draws the moving-block bootstrap of the φ fits (pkg/estimate).
	PhiBootstrap Stream = 0xf17
	// NoiseSlopeBootstrap resamples epochs for the slope of log 𝒩 against
	// log L (pkg/network, the noise experiment).
	NoiseSlopeBootstrap Stream = 0x5109e
	// ExactHessian draws the Lanczos start vector and then the Hutchinson
	// probes of the exact-Hessian experiment at a pre-trained minimum.
	ExactHessian Stream = 5
	// LanczosDefault is the start vector of spectrum.TopK when the caller
	// passes no generator (with seed 1).
	LanczosDefault Stream = 2
	// HelixData draws the helix inputs and label noise of the barrier data
	// set (pkg/barrier), HelixSpectators its spectator inputs: data sets with
	// different numbers of spectators share their helix part.
	HelixData       Stream = 0x4e11c5
	HelixSpectators Stream = 0x5bec7a
	// BarrierRun, xor (β index << 40 | run index), drives one run of the
	// barrier experiment (its mini-batches and Gaussian noise), so that a run's
	// numbers depend neither on the worker count nor on the other β values.
	BarrierRun Stream = 0
	// ExitChainData draws the per-sample gradients of the test chains of
	// pkg/exitchain (chains that are not a barrier data set).
	ExitChainData Stream = 0xe717da7a
	// ExitChainMC, xor the run index, drives run r of the direct Monte-Carlo
	// simulation that checks pkg/exitchain's exact mean exit times (high
	// bits set so that no run index reaches another stream's value).
	ExitChainMC Stream = 0xe717c4a1 << 32
	// DiagnoseLanczos, xor 0 (Hessian) or 1 (Gauss–Newton), draws the
	// Lanczos start vectors of the diagnosis of an imported network
	// (pkg/diagnose); xor 2, the bootstrap of its continuation's slope.
	DiagnoseLanczos Stream = 0xd1a60000
)

// Offsets added to an experiment's master seed (linear regression and the
// network escape experiment): the data come from Seed itself.
const (
	// DynamicsOffset: the simulated runs use Seed+1 (one Run stream each).
	DynamicsOffset uint64 = 1
	// BootstrapOffset: the bootstrap of the analysis uses Seed+2.
	BootstrapOffset uint64 = 2
	// ProbeOffset: the divergence probe of the first-passage experiment
	// uses Seed+3.
	ProbeOffset uint64 = 3
	// FreeRunsOffset: the free runs of the network escape experiment (runs
	// that never stop at a threshold) use Seed+7.
	FreeRunsOffset uint64 = 7
)

// New returns the generator of stream s for seed.
func New(seed uint64, s Stream) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(s)))
}

// Indexed returns the generator of stream s xor i for seed: one independent
// generator per run (Run) or per epoch (TrainEpoch).
func Indexed(seed uint64, s Stream, i uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(s)^i))
}

// BarrierIndex is the index of run r at the i-th β of the barrier
// experiment in the BarrierRun stream.
func BarrierIndex(i, r int) uint64 { return uint64(i)<<40 | uint64(r) }

// Fast is a PCG stream for hot loops. Held by value, its Uint64 and IntN are
// direct calls the compiler can inline, where (*rand.Rand) dispatches every
// draw through the rand.Source interface. IntN is Lemire's unbiased
// multiply-shift for every n, powers of two included; math/rand/v2 masks
// powers of two instead, so the two agree draw for draw except for those
// (the barrier experiment's epoch shuffles were drawn this way and keep
// their numbers).
type Fast struct{ pcg rand.PCG }

// NewFast returns stream s xor i for seed (as Indexed, by value).
func NewFast(seed uint64, s Stream, i uint64) Fast {
	return Fast{pcg: *rand.NewPCG(seed, uint64(s)^i)}
}

// Uint64 returns the next 64 random bits.
func (f *Fast) Uint64() uint64 { return f.pcg.Uint64() }

// IntN returns a uniform integer in [0, n), n > 0.
func (f *Fast) IntN(n int) int {
	un := uint64(n)
	hi, lo := bits.Mul64(f.pcg.Uint64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(f.pcg.Uint64(), un)
		}
	}
	return int(hi)
}

// Rand returns a *rand.Rand that draws from f's state (for NormFloat64):
// its draws and f's own continue one sequence.
func (f *Fast) Rand() *rand.Rand { return rand.New(&f.pcg) }
