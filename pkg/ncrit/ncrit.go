package ncrit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/estimate"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

// Config is a sweep of the dimension P of Gaussian linear regression
// (f = θᵀx, x and y i.i.d. N(0, 1), so n = P outliers with h* ≈ 1) at fixed
// η and B, with Chains independent SGD chains per P started at θ*. The data
// come from Seed, the chains from Seed + 1 (rng.DynamicsOffset).
type Config struct {
	Ps       []int   `json:"P"`
	N        int     `json:"N"`
	B        int     `json:"B"`
	Eta      float64 `json:"eta"`
	Chains   int     `json:"chains"`
	Steps    int64   `json:"steps"`     // steps per chain after burn-in
	Burn     int64   `json:"burn"`      // steps discarded at the start of each chain
	Every    int     `json:"every"`     // steps between recorded ℓ
	TailFrac float64 `json:"tail_frac"` // fraction of recorded ℓ used by the Hill estimator
	Seed     uint64  `json:"seed"`      // master seed
}

// PaperNcrit is B = 1, η = 0.1 (n_c ≈ 22), N = 10⁴ and P from 4 to 40,
// dense around n_c and SGD's own instability near P = 18; quick scale runs
// 4 chains of 10⁶ steps, paper scale 8 chains of 10⁷.
func PaperNcrit(scale run.Scale) Config {
	return Config{Ps: []int{4, 8, 12, 14, 16, 17, 18, 19, 20, 24, 28, 32, 36, 40}, N: 10000, B: 1, Eta: 0.1,
		Chains: run.Pick(scale, 4, 8), Steps: run.Pick[int64](scale, 1_000_000, 10_000_000), Burn: 10_000, Every: 5, TailFrac: 0.01, Seed: 1}
}

// Declare declares the sweep's parameters (pkg/param).
func (c *Config) Declare(s *param.Set) {
	s.Ints(&c.Ps, "P", "dimensions P (= n) to sweep", param.Min(1), param.Max(2000), param.Progression, param.MaxItems(200))
	s.Int(&c.N, "N", "samples in the data set (N > P)", param.Min(2))
	s.Int(&c.B, "B", "mini-batch size B (1 ≤ B < N)", param.Min(1))
	s.Float(&c.Eta, "eta", "learning rate η", param.Positive)
	s.Int(&c.Chains, "chains", "independent SGD chains per P (the interval is over chains)", param.Min(2))
	s.Int64(&c.Steps, "steps", "SGD steps per chain after the burn-in", param.Min(1))
	s.Int64(&c.Burn, "burn", "burn-in steps per chain", param.NonNegative)
	s.Int(&c.Every, "every", "steps between recorded values of L/L*", param.Min(1))
	s.Float(&c.TailFrac, "tail-frac", "fraction of the largest recorded L/L* used by the Hill estimator", param.Positive, param.Below(0.5))
	s.Uint64(&c.Seed, "seed", "master seed: the data from seed, the chains from seed+1")
}

// MaxRecorded bounds the stored ℓ samples per P (8 bytes each).
const MaxRecorded = 400_000_000

// maxSteps bounds the SGD steps of a sweep (the paper preset takes
// 1.1·10⁹; 10¹¹ is hours at the 10⁷ steps/s of P ≈ 20).
const maxSteps = 1e11

// Validate checks the configuration: everything that would make the sweep
// unable to give a result is refused before any work.
func (c Config) Validate() error {
	switch {
	case len(c.Ps) == 0:
		return fmt.Errorf("P: no dimensions given")
	case c.B < 1 || c.B > c.N:
		return fmt.Errorf("B = %d: the batch size must satisfy 1 ≤ B ≤ N = %d", c.B, c.N)
	case c.B == c.N:
		return fmt.Errorf("B = %d must be smaller than N = %d: B = N is gradient descent, which has no noise, so L/L* has no tail to measure", c.B, c.N)
	case !(c.Eta > 0) || math.IsInf(c.Eta, 0):
		return fmt.Errorf("eta = %v: the learning rate η must be positive and finite", c.Eta)
	case c.Chains < 2:
		return fmt.Errorf("chains = %d: need at least 2 chains for an interval", c.Chains)
	case c.Steps < 1 || c.Burn < 0 || c.Every < 1:
		return fmt.Errorf("steps = %d, burn = %d, every = %d: steps ≥ 1, burn ≥ 0 and every ≥ 1 required", c.Steps, c.Burn, c.Every)
	case c.Eta*float64(c.Burn) < 1 && !(1/c.Eta < maxSteps):
		return fmt.Errorf("eta = %g is too small: one relaxation time 1/(ηh*) is %.3g steps (h* ≈ 1 for these data), more than any run can take; use a larger η", c.Eta, 1/c.Eta)
	case c.Eta*float64(c.Burn) < 1:
		// The relaxation time of unit-variance inputs is about 1/(ηh*) ≈ 1/η steps.
		return fmt.Errorf("eta = %g, burn = %d: the burn-in is %.3g relaxation times 1/(ηh*) (h* ≈ 1 for these data), so the chains would still sit at θ*; use burn ≥ %.3g or a larger η", c.Eta, c.Burn, c.Eta*float64(c.Burn), math.Ceil(1/c.Eta))
	case !(c.TailFrac > 0 && c.TailFrac < 0.5):
		return fmt.Errorf("tail-frac = %v must be in (0, 0.5)", c.TailFrac)
	case float64(c.Chains)*float64(c.Steps)/float64(c.Every) > MaxRecorded:
		return fmt.Errorf("chains·steps/every = %.3g recorded samples exceeds %d; raise every or lower steps", float64(c.Chains)*float64(c.Steps)/float64(c.Every), MaxRecorded)
	case float64(len(c.Ps))*float64(c.Chains)*float64(c.Burn+c.Steps) > maxSteps:
		return fmt.Errorf("P values × chains × (burn + steps) = %.3g steps is more than %.0g (hours of work); lower steps, burn or chains", float64(len(c.Ps))*float64(c.Chains)*float64(c.Burn+c.Steps), maxSteps)
	case float64(c.Steps)/float64(c.Every)*c.TailFrac < 10:
		return fmt.Errorf("steps/every·tail-frac = %.3g < 10 tail samples per chain; raise steps", float64(c.Steps)/float64(c.Every)*c.TailFrac)
	}
	for _, p := range c.Ps {
		switch {
		case p < 1 || p > 2000:
			return fmt.Errorf("P = %d must be between 1 and 2000", p)
		case c.N <= p:
			return fmt.Errorf("N = %d must be larger than P = %d: with N ≤ P samples the regression interpolates, L(θ*) = 0 and ℓ = L/L* is undefined", c.N, p)
		case float64(c.N)*float64(p) > 2e8:
			return fmt.Errorf("N·P = %.3g numbers exceeds the memory limit 2e8; lower N or P", float64(c.N)*float64(p))
		}
	}
	return nil
}

// MemoryBytes estimates the memory: every P's data (inputs and their
// rotated copy) and the recorded ℓ of every chain (kept until the end), with
// the Hill estimator's sorted copy.
func (c Config) MemoryBytes() float64 {
	m := 0.0
	for _, p := range c.Ps {
		m += 8 * (2*float64(c.N)*float64(p) + 2*float64(c.N) + 4*float64(p)*float64(p))
	}
	per := float64(c.Chains) * float64(c.Steps) / float64(c.Every)
	return m + 8*per*float64(len(c.Ps)) + 2*8*per
}

// PointResult is the measurement at one P. A number that cannot be given
// is NaN (null in JSON) and Reasons, keyed by its JSON name, says why.
type PointResult struct {
	P          int          `json:"P"`
	HMean      float64      `json:"h_star"` // mean Hessian eigenvalue (h* of the theory)
	HMax       float64      `json:"h_max"`  // largest eigenvalue
	LStar      float64      `json:"L_star"`
	Phi        float64      `json:"phi"`         // 1 + B/(ηh*) (Eq. 17)
	NC         float64      `json:"n_c"`         // 2φ (Eq. 16)
	TailTheory float64      `json:"tail_theory"` // φ − n/2 (≤ 0: the paper's density is not normalisable)
	TailKesten run.Float    `json:"tail_kesten"` // α/2 of discrete SGD (NaN when SGD has no stationary law)
	Kesten     Kesten       `json:"kesten"`
	Tail       run.Float    `json:"tail_index"`  // Hill estimate from all chains (NaN when every chain diverged)
	TailCI     run.Interval `json:"tail_ci"`     // 95 % t-interval over chains
	TailChains []float64    `json:"tail_chains"` // per-chain Hill estimates
	Exceed100  run.Float    `json:"exceed_1e2"`  // fraction of recorded ℓ > 10²
	Exceed1e4  run.Float    `json:"exceed_1e4"`  // fraction of recorded ℓ > 10⁴
	MaxEll     run.Float    `json:"max_ell"`
	Samples    int          `json:"samples"`
	Diverged   int          `json:"diverged"` // chains whose loss overflowed (counted, their samples dropped)
	// Reasons says, for each number that is NaN, why (keyed by its JSON name).
	Reasons map[string]string `json:"reasons,omitempty"`
}

// Result is the sweep.
type Result struct {
	B      int           `json:"B"`
	Eta    float64       `json:"eta"`
	Chains int           `json:"chains"`
	Points []PointResult `json:"points"`
	// SecondMomentP is the smallest P at which E‖A e₁‖² ≥ 1: SGD's second
	// moment (the mean of ℓ) diverges from there on.
	SecondMomentP float64 `json:"second_moment_unstable_P"`
	// KestenP1 is pkg/dynamics' one-dimensional Kesten exponent α/2 at P = 1 (reference).
	KestenP1 run.Float `json:"kesten_P1_tail"`
}

// Experiment names the cached experiment.
const (
	Experiment = "ncrit/tail"
	// CodeVersion 2: the chains are pkg/dynamics' linear-regression
	// ensemble (streams rng.Run xor chain, eigen-coordinates), Student-t
	// quantiles from gonum, reasons for undefined numbers.
	CodeVersion = "2"
	// Engine names the native Go engine in provenance.
	Engine = "native-go"
)

// Sweep runs (or loads) the experiment.
func Sweep(ctx context.Context, env run.Env, cfg Config) (run.Result[Result], error) {
	return run.Checked(ctx, env, Engine, Experiment, CodeVersion, cfg, cfg.Seed, func(ctx context.Context, env run.Env) (Result, error) {
		return sweep(ctx, env, cfg)
	})
}

// At returns the point at P (false when P was not swept).
func (r Result) At(p int) (PointResult, bool) {
	for _, pt := range r.Points {
		if pt.P == p {
			return pt, true
		}
	}
	return PointResult{}, false
}

// divergeEll: a chain whose ℓ = L/L* reaches this has diverged (far beyond
// any power-law tail that the Hill estimator could measure).
const divergeEll = 1e150

// chains is one ensemble of every P's chains: run r is chain r mod Chains
// of the P at index r / Chains, with its own stream (dynamics.RunRNG).
type chains struct {
	ens []dynamics.Ensemble
	per int
}

func (c chains) Walker(r int, seed uint64) (dynamics.Walker, error) {
	return c.ens[r/c.per].Walker(r, seed)
}

func sweep(ctx context.Context, env run.Env, cfg Config) (Result, error) {
	res := Result{B: cfg.B, Eta: cfg.Eta, Chains: cfg.Chains}
	bb := float64(cfg.B)
	res.SecondMomentP = bb*(2/cfg.Eta-1) - 1 // 1 − 2η + η²(1 + (P+1)/B) ≥ 1 (σ² = 1)
	res.KestenP1 = run.Float(math.NaN())
	if a, err := dynamics.KestenExponent(cfg.Eta, cfg.B, 1); err == nil {
		res.KestenP1 = run.Float(a / 2)
	}
	lrs := make([]*data.LinRegProblem, len(cfg.Ps))
	qs := make([]*dynamics.Quadratic, len(cfg.Ps))
	ens := chains{ens: make([]dynamics.Ensemble, len(cfg.Ps)), per: cfg.Chains}
	for i, p := range cfg.Ps {
		lr, err := data.NewLinReg(data.LinRegConfig{N: cfg.N, P: p, Seed: cfg.Seed, XStd: 1, Labels: data.LabelsGaussian})
		if err != nil {
			return res, err
		}
		lrs[i] = lr
		if qs[i], err = dynamics.NewQuadratic(lr); err != nil {
			return res, run.BadInput(fmt.Errorf("P = %d: %w", p, err))
		}
		if ens.ens[i], err = dynamics.NewEnsemble(qs[i], dynamics.Config{Kind: dynamics.SGD, Eta: cfg.Eta, B: cfg.B}, nil, divergeEll); err != nil {
			return res, err
		}
	}
	runs := len(cfg.Ps) * cfg.Chains
	samples := make([][]float64, runs)
	diverged := make([]bool, runs)
	every := int64(cfg.Every)
	obs := every // observe only where samples are recorded
	if cfg.Burn%every != 0 {
		obs = 1
	}
	_, err := dynamics.Simulate(ctx, ens, dynamics.Schedule{Runs: runs, Seed: cfg.Seed + rng.DynamicsOffset, MaxSteps: cfg.Burn + cfg.Steps,
		Every: obs, Workers: env.Workers, Progress: env.Progress},
		func(r int, steps int64, _ dynamics.Walker, _, loss float64, div bool) bool {
			switch {
			case div:
				samples[r], diverged[r] = nil, true
			case steps == 0:
				samples[r] = make([]float64, 0, cfg.Steps/every+1)
			case steps > cfg.Burn && (steps-cfg.Burn)%every == 0:
				samples[r] = append(samples[r], loss/qs[r/cfg.Chains].LStar)
			}
			return false
		})
	if err != nil {
		return res, err
	}
	for i, p := range cfg.Ps {
		pt, err := point(cfg, p, lrs[i], samples[i*cfg.Chains:(i+1)*cfg.Chains], diverged[i*cfg.Chains:(i+1)*cfg.Chains])
		if err != nil {
			return res, err
		}
		res.Points = append(res.Points, pt)
	}
	return res, nil
}

// set stores v as the number called name, or NaN with a reason.
func (pt *PointResult) set(name string, v float64, why string) run.Float {
	if why == "" && !math.IsNaN(v) && !math.IsInf(v, 0) {
		return run.Float(v)
	}
	if why == "" {
		why = fmt.Sprintf("not a finite number (%v)", v)
	}
	if pt.Reasons == nil {
		pt.Reasons = map[string]string{}
	}
	pt.Reasons[name] = why
	return run.Float(math.NaN())
}

// point summarises the chains of one P against the predictions (h* and the
// largest eigenvalue from the data's own spectrum).
func point(cfg Config, p int, lr *data.LinRegProblem, samples [][]float64, diverged []bool) (PointResult, error) {
	hm := lr.MeanEigenvalue()
	pt := PointResult{P: p, HMean: hm, HMax: lr.Eigenvalues[0], LStar: lr.LStar}
	s := theory.SGD{Eta: cfg.Eta, B: float64(cfg.B), HStar: hm}
	var err1, err2, err3 error
	pt.Phi, err1 = theory.Phi(s)
	pt.NC, err2 = theory.CriticalDim(s)
	pt.TailTheory, err3 = theory.EscapeExponent(s, float64(p))
	if err := errors.Join(err1, err2, err3); err != nil {
		return pt, err
	}
	k, err := KestenIsotropic(cfg.Eta, cfg.B, p, hm)
	if err != nil {
		return pt, err
	}
	pt.Kesten = k
	switch {
	case !k.Stable:
		pt.TailKesten = pt.set("tail_kesten", math.NaN(), fmt.Sprintf("E log‖(I − ηxxᵀ)e₁‖ = %.3g ≥ 0: discrete SGD has no stationary law", k.Lyapunov))
	case math.IsInf(float64(k.Alpha), 1):
		pt.TailKesten = pt.set("tail_kesten", math.NaN(), "the Kesten tail is lighter than any power within reach (α > 4096)")
	default:
		pt.TailKesten = run.Float(k.Alpha / 2)
	}
	var all []float64
	for c, s := range samples {
		if diverged[c] {
			pt.Diverged++
			continue
		}
		all = append(all, s...)
		if kk := int(cfg.TailFrac * float64(len(s))); kk >= 2 {
			if a, err := estimate.Hill(s, kk); err == nil {
				pt.TailChains = append(pt.TailChains, a)
			}
		}
	}
	pt.Samples = len(all)
	nan := run.Float(math.NaN())
	pt.Tail, pt.TailCI, pt.Exceed100, pt.Exceed1e4, pt.MaxEll = nan, run.Interval{nan, nan}, nan, nan, nan
	if len(all) == 0 {
		why := fmt.Sprintf("every chain diverged (ℓ reached %.0g): SGD has no stationary law here", divergeEll)
		for _, name := range []string{"tail_index", "tail_ci", "exceed_1e2", "exceed_1e4", "max_ell"} {
			pt.set(name, math.NaN(), why)
		}
		return pt, nil
	}
	if a, err := estimate.Hill(all, int(cfg.TailFrac*float64(len(all)))); err != nil {
		pt.Tail = pt.set("tail_index", math.NaN(), err.Error())
	} else {
		pt.Tail = run.Float(a)
	}
	e2, e4, mx := 0, 0, 0.0
	for _, v := range all {
		if v > 100 {
			e2++
		}
		if v > 1e4 {
			e4++
		}
		mx = math.Max(mx, v)
	}
	pt.Exceed100 = run.Float(float64(e2) / float64(len(all)))
	pt.Exceed1e4 = run.Float(float64(e4) / float64(len(all)))
	pt.MaxEll = run.Float(mx)
	if half := estimate.MeanHalfWidth95(pt.TailChains); !math.IsNaN(half) && !math.IsNaN(float64(pt.Tail)) {
		pt.TailCI = run.NewInterval(float64(pt.Tail)-half, float64(pt.Tail)+half)
	} else {
		pt.set("tail_ci", math.NaN(), fmt.Sprintf("an interval needs the tail index of at least two chains, got %d", len(pt.TailChains)))
	}
	return pt, nil
}

// WriteText prints one row per P with the predictions (the command line's table).
func (r Result) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "P\tn_c\ttail index (Hill, 95% CI)\ttheory φ−n/2\tKesten α/2\tP(ℓ>1e2)\tP(ℓ>1e4)\tdiverged chains")
	g := func(v run.Float, format string) string {
		if math.IsNaN(float64(v)) {
			return "—"
		}
		return fmt.Sprintf(format, float64(v))
	}
	for _, p := range r.Points {
		tail := "— (every chain diverged)"
		if !math.IsNaN(float64(p.Tail)) {
			tail = fmt.Sprintf("%.3g [%s, %s]", float64(p.Tail), g(p.TailCI[0], "%.3g"), g(p.TailCI[1], "%.3g"))
		} else if p.Samples > 0 {
			tail = "— (no tail)"
		}
		fmt.Fprintf(tw, "%d\t%.3g\t%s\t%.3g\t%s\t%s\t%s\t%d/%d\n", p.P, p.NC, tail, p.TailTheory,
			g(p.TailKesten, "%.3g"), g(p.Exceed100, "%.2g"), g(p.Exceed1e4, "%.2g"), p.Diverged, r.Chains)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.SecondMomentP < 1 {
		fmt.Fprintln(w, "SGD's second moment (mean of ℓ) diverges at every P for this η and B")
	} else {
		fmt.Fprintf(w, "SGD's second moment (mean of ℓ) diverges from P ≥ %.3g\n", r.SecondMomentP)
	}
	for _, p := range r.Points {
		var keys []string
		for k := range p.Reasons {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k != "tail_ci" && k != "tail_kesten" && !strings.HasPrefix(p.Reasons[k], "every chain diverged") {
				fmt.Fprintf(w, "note: P = %d: %s: %s\n", p.P, k, p.Reasons[k])
			}
		}
	}
	fmt.Fprintln(w, "a dash in the Kesten column means a positive Lyapunov exponent: SGD has no stationary law there")
	return nil
}
