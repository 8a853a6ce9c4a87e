package ncrit

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/minibatch"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// Config is a sweep of the dimension P of Gaussian linear regression
// (f = θᵀx, x and y i.i.d. N(0, 1), so n = P outliers with h* ≈ 1) at fixed
// η and B, with Chains independent SGD chains per P started at θ*.
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
	Seed     uint64  `json:"seed"`      // data from Seed, dynamics from Seed+1
	Workers  int     `json:"-"`
}

// PaperNcrit is B = 1, η = 0.1 (n_c ≈ 22), P = 4, 8, …, 40, N = 10⁴; quick
// scale runs 4 chains of 10⁶ steps, paper scale 8 chains of 10⁷.
func PaperNcrit(scale string) Config {
	c := Config{Ps: []int{4, 8, 12, 16, 20, 24, 28, 32, 36, 40}, N: 10000, B: 1, Eta: 0.1, Chains: 4,
		Steps: 1_000_000, Burn: 10_000, Every: 5, TailFrac: 0.01, Seed: 1}
	if scale == "paper" {
		c.Chains, c.Steps = 8, 10_000_000
	}
	return c
}

// MaxRecorded bounds the stored ℓ samples per P (8 bytes each).
const MaxRecorded = 400_000_000

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case len(c.Ps) == 0:
		return fmt.Errorf("ncrit: no P values given")
	case c.B < 1 || c.B > c.N:
		return fmt.Errorf("ncrit: batch size B = %d must satisfy 1 ≤ B ≤ N = %d", c.B, c.N)
	case !(c.Eta > 0) || math.IsInf(c.Eta, 0):
		return fmt.Errorf("ncrit: learning rate η must be positive and finite, got %v", c.Eta)
	case c.Chains < 2:
		return fmt.Errorf("ncrit: need at least 2 chains for an interval, got %d", c.Chains)
	case c.Steps < 1 || c.Burn < 0 || c.Every < 1:
		return fmt.Errorf("ncrit: steps ≥ 1, burn ≥ 0 and every ≥ 1 required (got %d, %d, %d)", c.Steps, c.Burn, c.Every)
	case !(c.TailFrac > 0 && c.TailFrac < 0.5):
		return fmt.Errorf("ncrit: tail fraction must be in (0, 0.5), got %v", c.TailFrac)
	case float64(c.Chains)*float64(c.Steps)/float64(c.Every) > MaxRecorded:
		return fmt.Errorf("ncrit: chains·steps/every = %.3g recorded samples exceeds %d; raise -every or lower -steps", float64(c.Chains)*float64(c.Steps)/float64(c.Every), MaxRecorded)
	case float64(c.Steps)/float64(c.Every)*c.TailFrac < 10:
		return fmt.Errorf("ncrit: steps/every·tail_frac = %.3g < 10 tail samples per chain; raise -steps", float64(c.Steps)/float64(c.Every)*c.TailFrac)
	}
	for _, p := range c.Ps {
		if p < 1 || p > 2000 {
			return fmt.Errorf("ncrit: P must be between 1 and 2000, got %d", p)
		}
		if c.N < p {
			return fmt.Errorf("ncrit: N = %d < P = %d: no unique minimum", c.N, p)
		}
		if float64(c.N)*float64(p) > 2e8 {
			return fmt.Errorf("ncrit: N·P = %.3g numbers exceeds the memory limit 2e8", float64(c.N)*float64(p))
		}
	}
	return nil
}

// PointResult is the measurement at one P.
type PointResult struct {
	P          int          `json:"P"`
	HMean      float64      `json:"h_star"` // mean Hessian eigenvalue (h* of the theory)
	HMax       float64      `json:"h_max"`  // largest eigenvalue
	LStar      float64      `json:"L_star"`
	Phi        float64      `json:"phi"`         // 1 + B/(ηh*)
	NC         float64      `json:"n_c"`         // 2φ
	TailTheory float64      `json:"tail_theory"` // φ − n/2 (≤ 0: the paper's density is not normalisable)
	TailKesten run.Float    `json:"tail_kesten"` // α/2 of discrete SGD (NaN when SGD has no stationary law)
	Kesten     Kesten       `json:"kesten"`
	Tail       run.Float    `json:"tail_index"`  // Hill estimate from all chains (NaN when every chain diverged)
	TailCI     run.Interval `json:"tail_ci"`     // 95 % t-interval over chains
	TailChains []float64    `json:"tail_chains"` // per-chain Hill estimates
	Exceed100  run.Float    `json:"exceed_1e2"`  // fraction of recorded ℓ > 10²
	Exceed1e4  run.Float    `json:"exceed_1e4"`  // fraction of recorded ℓ > 10⁴
	MaxEll     float64      `json:"max_ell"`
	Samples    int          `json:"samples"`
	Diverged   int          `json:"diverged"` // chains whose loss overflowed (counted, their samples dropped)
}

// Result is the sweep.
type Result struct {
	B      int           `json:"B"`
	Eta    float64       `json:"eta"`
	Points []PointResult `json:"points"`
	// SecondMomentP is the smallest P at which E‖A e₁‖² ≥ 1: SGD's second
	// moment (the mean of ℓ) diverges from there on.
	SecondMomentP float64 `json:"second_moment_unstable_P"`
	// KestenP1 is pkg/dynamics' one-dimensional Kesten exponent α/2 at P = 1 (reference).
	KestenP1 float64 `json:"kesten_P1_tail"`
}

// Experiment names the cached experiment.
const (
	Experiment  = "ncrit/tail"
	CodeVersion = "1"
)

// Sweep runs (or loads) the experiment.
func Sweep(ctx context.Context, env run.Env, cfg Config) (run.Result[Result], error) {
	if err := cfg.Validate(); err != nil {
		return run.Result[Result]{}, err
	}
	spec := run.Spec{Experiment: Experiment, CodeVersion: CodeVersion, Config: cfg, Seed: cfg.Seed, Backend: "native"}
	return run.Do(ctx, env.Cache, spec, func(ctx context.Context) (Result, error) { return sweep(ctx, env, cfg) })
}

const divergeEll = 1e150

func sweep(ctx context.Context, env run.Env, cfg Config) (Result, error) {
	res := Result{B: cfg.B, Eta: cfg.Eta}
	bb := float64(cfg.B)
	res.SecondMomentP = bb*(2/cfg.Eta-1) - 1 // 1 − 2η + η²(1 + (P+1)/B) ≥ 1 (σ² = 1)
	if a, err := dynamics.KestenExponent(cfg.Eta, cfg.B, 1); err == nil {
		res.KestenP1 = a / 2
	} else {
		res.KestenP1 = math.NaN()
	}
	type job struct{ pi, chain int }
	probs := make([]*data.LinRegProblem, len(cfg.Ps))
	for i, p := range cfg.Ps {
		lr, err := data.NewLinReg(data.LinRegConfig{N: cfg.N, P: p, Seed: cfg.Seed, XStd: 1, Labels: data.LabelsGaussian})
		if err != nil {
			return res, err
		}
		probs[i] = lr
	}
	samples := make([][][]float64, len(cfg.Ps))
	diverged := make([][]bool, len(cfg.Ps))
	for i := range samples {
		samples[i] = make([][]float64, cfg.Chains)
		diverged[i] = make([]bool, cfg.Chains)
	}
	err := run.Parallel(ctx, len(cfg.Ps)*cfg.Chains, cfg.Workers, env.Progress, nil, func(ctx context.Context, k int) error {
		pi, ch := k/cfg.Chains, k%cfg.Chains
		s, div, err := chain(ctx, probs[pi], cfg, uint64(pi)<<32|uint64(ch))
		samples[pi][ch], diverged[pi][ch] = s, div
		return err
	})
	if err != nil {
		return res, err
	}
	for i, p := range cfg.Ps {
		lr := probs[i]
		hm := 0.0
		for _, e := range lr.Eigenvalues {
			hm += e
		}
		hm /= float64(len(lr.Eigenvalues))
		pt := PointResult{P: p, HMean: hm, HMax: lr.Eigenvalues[0], LStar: lr.LStar}
		pt.Phi = 1 + bb/(cfg.Eta*hm)
		pt.NC = 2 * pt.Phi
		pt.TailTheory = pt.Phi - float64(p)/2
		k, err := KestenIsotropic(cfg.Eta, cfg.B, p, hm)
		if err != nil {
			return res, err
		}
		pt.Kesten = k
		pt.TailKesten = run.Float(math.NaN())
		if k.Stable {
			pt.TailKesten = run.Float(k.Alpha / 2)
		}
		var all []float64
		for c := 0; c < cfg.Chains; c++ {
			if diverged[i][c] {
				pt.Diverged++
				continue
			}
			s := samples[i][c]
			all = append(all, s...)
			if kk := int(cfg.TailFrac * float64(len(s))); kk >= 2 {
				if a, err := Hill(s, kk); err == nil {
					pt.TailChains = append(pt.TailChains, a)
				}
			}
		}
		pt.Samples = len(all)
		pt.Tail, pt.TailCI = run.Float(math.NaN()), run.Interval{run.Float(math.NaN()), run.Float(math.NaN())}
		pt.Exceed100, pt.Exceed1e4 = run.Float(math.NaN()), run.Float(math.NaN())
		if len(all) > 0 {
			if a, err := Hill(all, int(cfg.TailFrac*float64(len(all)))); err == nil {
				pt.Tail = run.Float(a)
			}
			e2, e4 := 0, 0
			for _, v := range all {
				if v > 100 {
					e2++
				}
				if v > 1e4 {
					e4++
				}
				pt.MaxEll = math.Max(pt.MaxEll, v)
			}
			pt.Exceed100 = run.Float(float64(e2) / float64(len(all)))
			pt.Exceed1e4 = run.Float(float64(e4) / float64(len(all)))
		}
		if n := len(pt.TailChains); n >= 2 {
			m, v := 0.0, 0.0
			for _, a := range pt.TailChains {
				m += a
			}
			m /= float64(n)
			for _, a := range pt.TailChains {
				v += (a - m) * (a - m)
			}
			half := tQuantile975(n-1) * math.Sqrt(v/float64(n-1)/float64(n))
			t := float64(pt.Tail)
			pt.TailCI = run.NewInterval(t-half, t+half)
		}
		res.Points = append(res.Points, pt)
	}
	return res, nil
}

// chain runs one SGD chain and returns the recorded ℓ = L/L* (nil and true
// when the loss overflowed).
func chain(ctx context.Context, lr *data.LinRegProblem, cfg Config, stream uint64) ([]float64, bool, error) {
	P, N := lr.Config.P, lr.Config.N
	rng := rand.New(rand.NewPCG(cfg.Seed+1, stream))
	bt, err := minibatch.New(N, cfg.B, rng)
	if err != nil {
		return nil, false, err
	}
	th := append([]float64(nil), lr.ThetaStar...)
	z := make([]float64, P)
	g := make([]float64, P)
	hz := make([]float64, P)
	out := make([]float64, 0, cfg.Steps/int64(cfg.Every)+1)
	etaB := cfg.Eta / float64(cfg.B)
	total := cfg.Burn + cfg.Steps
	for step := int64(1); step <= total; step++ {
		for j := range g {
			g[j] = 0
		}
		for _, mu := range bt.Next() {
			x := lr.X[int(mu)*P : int(mu)*P+P]
			r := -lr.Y[mu]
			for j, v := range x {
				r += v * th[j]
			}
			for j, v := range x {
				g[j] += r * v
			}
		}
		for j := range th {
			th[j] -= etaB * g[j]
		}
		if step > cfg.Burn && (step-cfg.Burn)%int64(cfg.Every) == 0 {
			// ℓ = 1 + ½ zᵀHz / L*, z = θ − θ*.
			for j := range z {
				z[j] = th[j] - lr.ThetaStar[j]
			}
			q := 0.0
			for a := 0; a < P; a++ {
				s := 0.0
				row := lr.Hessian[a*P : (a+1)*P]
				for b, v := range z {
					s += row[b] * v
				}
				hz[a] = s
				q += z[a] * s
			}
			ell := 1 + 0.5*q/lr.LStar
			if !(ell < divergeEll) {
				return nil, true, nil
			}
			out = append(out, ell)
			if len(out)&1023 == 0 && ctx.Err() != nil {
				return nil, false, ctx.Err()
			}
		}
		if step&255 == 0 && !(math.Abs(th[0]) < 1e75) {
			return nil, true, nil
		}
	}
	return out, false, nil
}

// tQuantile975 is the 97.5 % quantile of Student's t with df degrees of freedom.
func tQuantile975(df int) float64 {
	table := []float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086}
	if df >= 1 && df <= len(table) {
		return table[df-1]
	}
	return 1.96 + 2.4/float64(df) // large-df expansion
}
