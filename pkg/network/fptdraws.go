package network

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

// FirstPassageDrawsConfig is Fig. 3c over pre-training seeds: the network
// first-passage experiment (FirstPassageConfig, its pretrain-seed replaced)
// from the minimum θ* of each pre-training seed of PretrainSeeds, so that
// the implied n and the effective-dimension estimators at θ* are compared
// over several minima, not one. Each seed's pre-training, spectrum and
// first passages are FirstPassage's cached pieces: seed 1 shares notebook
// 04's and 05's, and a sweep of `fpt -model mlp` over pretrain-seed
// sharing the cache fills the same pieces.
type FirstPassageDrawsConfig struct {
	FirstPassageConfig
	PretrainSeeds []int `json:"pretrain_seeds"`
}

// PaperFirstPassageDraws is PaperFirstPassage over pre-training seeds 1…5
// at paper scale. Quick scale keeps PaperFirstPassage's quick settings and
// takes seeds 1 and 2 only: each new seed costs a pre-training of 2 750
// epochs, a dense spectrum of P = 7 861 eigenvalues and the runs (about
// 2 minutes on 2 cores, 4 under load), and the quick over-draws work must
// stay within 5 minutes; seed 1 comes from notebook 04's own run.
func PaperFirstPassageDraws(scale run.Scale) FirstPassageDrawsConfig {
	return FirstPassageDrawsConfig{FirstPassageConfig: PaperFirstPassage(scale), PretrainSeeds: run.Pick(scale, []int{1, 2}, []int{1, 2, 3, 4, 5})}
}

// Declare declares the first-passage experiment's parameters without
// pretrain-seed, and the list of pre-training seeds.
func (c *FirstPassageDrawsConfig) Declare(s *param.Set) {
	s.Except(&c.FirstPassageConfig, "pretrain-seed")
	s.Ints(&c.PretrainSeeds, "pretrain-seeds", "pre-training seeds, one minimum θ* each (initialisation and pre-training mini-batches)", param.Progression, param.MaxItems(1000))
}

// at returns the first-passage experiment of one pre-training seed.
func (c FirstPassageDrawsConfig) at(seed int) FirstPassageConfig {
	x := c.FirstPassageConfig
	x.C = append([]float64(nil), c.C...)
	x.Pretrain.Run.Arch.Widths = append([]int(nil), c.Pretrain.Run.Arch.Widths...)
	x.Pretrain.Run.Train.Seed = uint64(seed)
	return x
}

// Validate checks the seeds and the experiment of the first seed (the
// others differ only in their seed).
func (c FirstPassageDrawsConfig) Validate() error {
	if len(c.PretrainSeeds) == 0 {
		return fmt.Errorf("pretrain-seeds: give at least one pre-training seed")
	}
	seen := map[int]bool{}
	for _, s := range c.PretrainSeeds {
		if s < 0 {
			return fmt.Errorf("pretrain-seeds = %v: %d is negative", c.PretrainSeeds, s)
		}
		if seen[s] {
			return fmt.Errorf("pretrain-seeds = %v: %d is listed twice", c.PretrainSeeds, s)
		}
		seen[s] = true
	}
	return c.at(c.PretrainSeeds[0]).Validate()
}

// MemoryBytes is one seed's: they run one after another.
func (c FirstPassageDrawsConfig) MemoryBytes() float64 { return c.FirstPassageConfig.MemoryBytes() }

// SeedDraw is the first-passage experiment from the minimum of one
// pre-training seed (the spectrum's full list of eigenvalues left out).
// ImpliedNCI is the implied n over the fitted slope's 95 % interval
// (n = 2(1 + B/(ηh*) − slope) falls as the slope rises). Excluded says why
// the seed has no statistics (θ* not stationary, pre-training or runs
// diverged, escape slower than the budget); it is empty otherwise.
type SeedDraw struct {
	PretrainSeed uint64             `json:"pretrain_seed"`
	Result       FirstPassageResult `json:"result"`
	ImpliedNCI   run.Interval       `json:"implied_n_ci"`
	Excluded     string             `json:"excluded,omitempty"`
}

// FirstPassageDrawsResult holds the seeds in the order of PretrainSeeds.
type FirstPassageDrawsResult struct {
	Draws []SeedDraw `json:"draws"`
	Eta   float64    `json:"eta"`
	B     int        `json:"B"`
}

// Draw returns the draw of a pre-training seed (false when it was not run).
func (r FirstPassageDrawsResult) Draw(seed uint64) (SeedDraw, bool) {
	return run.Find(r.Draws, func(d SeedDraw) bool { return d.PretrainSeed == seed })
}

// FirstPassageDrawsVersion is the code version of the composite, with the
// first-passage experiment's.
const FirstPassageDrawsVersion = "network-fpt-draws/1+" + FirstPassageVersion

// FirstPassageDraws runs the first-passage experiment from the minimum of
// every pre-training seed (each piece cached by FirstPassage). A seed whose
// θ* is not stationary is recorded as excluded, with the reason, rather
// than failing the others.
func FirstPassageDraws(ctx context.Context, env run.Env, c FirstPassageDrawsConfig) (run.Result[FirstPassageDrawsResult], error) {
	if err := c.Validate(); err != nil {
		return run.Result[FirstPassageDrawsResult]{}, run.BadInput(err)
	}
	start := time.Now()
	out := FirstPassageDrawsResult{Eta: c.Eta, B: c.B}
	all := true
	for i, seed := range c.PretrainSeeds {
		penv := env
		if env.Progress != nil {
			penv.Progress = func(done, total int, note string) {
				env.Progress(done, total, fmt.Sprintf("pre-training seed %d (%d of %d): %s", seed, i+1, len(c.PretrainSeeds), note))
			}
		}
		d := SeedDraw{PretrainSeed: uint64(seed), ImpliedNCI: run.NewInterval(math.NaN(), math.NaN())}
		r, err := FirstPassage(ctx, penv, c.at(seed))
		switch {
		case errors.Is(err, ErrNotStationary):
			d.Excluded = err.Error()
			all = false
		case err != nil:
			return run.Result[FirstPassageDrawsResult]{}, fmt.Errorf("pretrain-seed %d: %w", seed, err)
		default:
			all = all && r.FromCache
			d.Result = r.Result
			if d.Result.Spectrum != nil {
				ms := *d.Result.Spectrum
				ms.All = nil
				d.Result.Spectrum = &ms
			}
			d.Excluded, d.ImpliedNCI = impliedInterval(d.Result, c.Eta, c.B)
		}
		out.Draws = append(out.Draws, d)
	}
	return run.Compose(env.Spec("network/fpt-draws", FirstPassageDrawsVersion, c, uint64(c.PretrainSeeds[0])), start, all, out)
}

// impliedInterval returns why a seed has no implied n ("" when it has one)
// and the implied n over the slope's 95 % interval.
func impliedInterval(r FirstPassageResult, eta float64, b int) (string, run.Interval) {
	none := run.NewInterval(math.NaN(), math.NaN())
	switch {
	case r.PretrainDiverged:
		return "pre-training diverged: " + r.Note, none
	case r.Diverged > 0:
		return fmt.Sprintf("%d continuation runs diverged", r.Diverged), none
	case r.SlowerThanBudget:
		return r.Undetermined, none
	case math.IsNaN(r.ImpliedN):
		return "no implied n (the slope is undefined)", none
	}
	s := theory.SGD{Eta: eta, B: float64(b), HStar: r.HStar}
	lo, err1 := theory.ImpliedDim(s, float64(r.Fit.LogLog.CI[1]))
	hi, err2 := theory.ImpliedDim(s, float64(r.Fit.LogLog.CI[0]))
	if err1 != nil || err2 != nil {
		return "", none
	}
	return "", run.NewInterval(lo, hi)
}
