package dynamics

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sgdescape/sgdescape/pkg/minibatch"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

// Kind names a dynamics.
type Kind string

// The dynamics of the paper.
const (
	SGD   Kind = "sgd"   // discrete SGD, Eq. 2, mini-batches by random division of the data per epoch
	SDE4  Kind = "sde4"  // dθ = −∇L dt + sqrt(ηΣ(θ)) dW with the exact Σ of Eq. 8 (Itô, Euler–Maruyama)
	SDE12 Kind = "sde12" // dθ = −∇L dt + sqrt((2ηL(θ)/B)H*) dW, Eq. 12
	SDE14 Kind = "sde14" // Eq. 14 in τ-time on log L, mapped back by dt = dτ/L
	GLD   Kind = "gld"   // dθ = −∇L dt + sqrt(2D) dW, Eq. 5, D = ηL*h*/B
)

// Kinds lists every dynamics.
var Kinds = []Kind{SGD, SDE4, SDE12, SDE14, GLD}

// DivergenceFactor: a run whose loss exceeds DivergenceFactor·L(θ*), or
// becomes non-finite, is stopped and reported as diverged.
const DivergenceFactor = 1e12

// Config selects a dynamics and its parameters. Time is t = η·steps for SGD
// and the SDE time for the others; with the default DT = η one SDE step
// corresponds to one SGD step.
type Config struct {
	Kind Kind    `json:"kind"`
	Eta  float64 `json:"eta"` // learning rate η
	B    int     `json:"B"`   // mini-batch size
	// DT is the Euler–Maruyama step of the SDEs (default η). For SDE14 the
	// fixed τ-step is DT·L(θ*), so that dt = dτ/L ≈ DT near the minimum.
	DT float64 `json:"dt,omitempty"`
	// HStar is the h* of GLD's matched diffusion D = ηL*h*/B (default: the
	// mean Hessian eigenvalue).
	HStar float64 `json:"h_star,omitempty"`
}

// TimeStep is the time one step advances: η for SGD, DT (default η) for
// the SDEs. Relaxation times in steps, such as the automatic burn-in
// 20/(h·λ_min), divide by it.
func (c Config) TimeStep() float64 {
	if c.Kind == SGD || c.DT == 0 {
		return c.Eta
	}
	return c.DT
}

// Validate checks the configuration against the problem.
func (c Config) Validate(q *Quadratic) error { return c.ValidateFor(q.N) }

// ValidateFor checks the configuration for a data set of n samples.
func (c Config) ValidateFor(n int) error {
	known := false
	for _, k := range Kinds {
		known = known || k == c.Kind
	}
	switch {
	case !known:
		return fmt.Errorf("dynamics: unknown kind %q (known: %v)", c.Kind, Kinds)
	case !(c.Eta > 0) || math.IsInf(c.Eta, 0):
		return fmt.Errorf("dynamics: learning rate η must be positive, got %v", c.Eta)
	case c.B < 1 || c.B > n:
		return fmt.Errorf("dynamics: batch size B=%d must satisfy 1 ≤ B ≤ N=%d", c.B, n)
	case c.DT < 0 || math.IsNaN(c.DT) || math.IsInf(c.DT, 0):
		return fmt.Errorf("dynamics: SDE step dt must be positive, got %v", c.DT)
	case c.HStar < 0 || math.IsNaN(c.HStar):
		return fmt.Errorf("dynamics: h* must be positive, got %v", c.HStar)
	}
	return nil
}

// State is one run's state, handed to the Observer after every step.
type State struct {
	Run      int
	Z        []float64 // eigen-coordinates z = Qᵀ(θ−θ*)
	Loss     float64   // L(θ)
	T        float64   // time t (η·steps for SGD)
	Steps    int64
	Diverged bool

	rng     *rand.Rand
	batch   *minibatch.Batcher
	scratch []float64
	sigma   []float64
	sqrtSig []float64
	step    func(*State)
	limit   float64 // divergence: a loss at or above limit
}

// Observer receives every run's state at the start (Steps = 0) and after
// every step, and returns true to stop that run. Runs are simulated in
// parallel, so Observe is called concurrently for different runs; it must
// only touch per-run data.
type Observer interface {
	Observe(s *State) (stop bool)
}

// Options of Run.
type Options struct {
	Runs     int
	Seed     uint64
	MaxSteps int64 // steps per run before it is stopped (censored)
	// Init sets a run's starting z (default: the minimum, z = 0).
	Init func(run int, z []float64)
	// Progress receives the number of finished runs.
	Progress run.Progress
	// Workers caps the parallelism (default GOMAXPROCS).
	Workers int
}

// Summary of a Run.
type Summary struct {
	Runs       int   `json:"runs"`
	Diverged   int   `json:"diverged"`
	TotalSteps int64 `json:"total_steps"`
}

// Run simulates opt.Runs independent runs of cfg on q, observed after every
// step, with the shared driver Simulate. Run r draws all its randomness
// (mini-batches and Gaussian noise) from its own PCG stream (seed, r), so
// results do not depend on the number of workers.
func Run(ctx context.Context, q *Quadratic, cfg Config, opt Options, obs Observer) (Summary, error) {
	if err := cfg.Validate(q); err != nil {
		return Summary{}, err
	}
	if opt.Runs < 1 {
		return Summary{}, fmt.Errorf("dynamics: runs must be ≥ 1, got %d", opt.Runs)
	}
	if opt.MaxSteps < 1 {
		return Summary{}, fmt.Errorf("dynamics: max steps must be ≥ 1, got %d", opt.MaxSteps)
	}
	e, err := NewEnsemble(q, cfg, opt.Init, 0)
	if err != nil {
		return Summary{}, err
	}
	return Simulate(ctx, e, Schedule{Runs: opt.Runs, Seed: opt.Seed, MaxSteps: opt.MaxSteps, Every: 1, Workers: opt.Workers, Progress: opt.Progress},
		func(_ int, _ int64, w Walker, _, _ float64, _ bool) bool { return obs.Observe(w.(*State)) })
}

// NewEnsemble returns the ensemble that Run simulates — cfg's dynamics on
// q, each run starting at the minimum (or where init puts its z) and
// diverging when its loss reaches divergeAt·L(θ*) (0: DivergenceFactor) —
// for callers that drive Simulate themselves: several problems in one
// ensemble, their own observation schedule, a higher divergence threshold
// for heavy tails (pkg/ncrit). Its walkers are *State.
func NewEnsemble(q *Quadratic, cfg Config, init func(run int, z []float64), divergeAt float64) (Ensemble, error) {
	if err := cfg.Validate(q); err != nil {
		return nil, err
	}
	if divergeAt == 0 {
		divergeAt = DivergenceFactor
	}
	if !(divergeAt > 1) || math.IsInf(divergeAt, 0) {
		return nil, fmt.Errorf("dynamics: the divergence threshold must be a finite factor > 1 of L(θ*), got %v", divergeAt)
	}
	if cfg.DT == 0 {
		cfg.DT = cfg.Eta
	}
	if cfg.HStar == 0 {
		cfg.HStar = q.MeanEigenvalue()
	}
	step, err := stepper(q, cfg)
	if err != nil {
		return nil, err
	}
	return &quadEnsemble{q: q, cfg: cfg, step: step, init: init, limit: divergeAt * q.LStar}, nil
}

// quadEnsemble is the Ensemble of a dynamics on a quadratic: its walkers are
// the runs' States.
type quadEnsemble struct {
	q     *Quadratic
	cfg   Config
	step  func(*State)
	init  func(run int, z []float64)
	limit float64 // a loss at or above limit has diverged
}

func (e *quadEnsemble) Walker(r int, seed uint64) (Walker, error) {
	s, err := newState(e.q, e.cfg, seed, r)
	if err != nil {
		return nil, err
	}
	s.step, s.limit = e.step, e.limit
	if e.init != nil {
		e.init(r, s.Z)
		s.Loss = e.q.Loss(s.Z)
	}
	return s, nil
}

// Step advances the run by one step of its dynamics and returns its time
// and loss (known after every step); the run has diverged when the loss
// exceeds DivergenceFactor·L(θ*) or is not finite.
func (s *State) Step(bool) (t, loss float64, diverged bool) {
	s.step(s)
	s.Steps++
	s.Diverged = !(s.Loss < s.limit) // also catches NaN
	return s.T, s.Loss, s.Diverged
}

// Observe returns the run's time and loss.
func (s *State) Observe() (t, loss float64) { return s.T, s.Loss }

// RunRNG returns the random stream of run r for a master seed (rng.Run xor r).
func RunRNG(seed uint64, r int) *rand.Rand {
	return rng.Indexed(seed, rng.Run, uint64(r))
}

func newState(q *Quadratic, cfg Config, seed uint64, r int) (*State, error) {
	s := &State{Run: r, Z: make([]float64, q.P), rng: RunRNG(seed, r), scratch: make([]float64, q.P)}
	s.Loss = q.LStar
	if cfg.Kind == SGD {
		b, err := minibatch.New(q.N, cfg.B, s.rng)
		if err != nil {
			return nil, err
		}
		s.batch = b
	}
	if cfg.Kind == SDE4 {
		s.sigma = make([]float64, q.P*q.P)
		s.sqrtSig = make([]float64, q.P*q.P)
	}
	return s, nil
}

// stepper returns the function that advances one run by one step.
func stepper(q *Quadratic, cfg Config) (func(*State), error) {
	P, lam := q.P, q.Lambda
	eta, dt := cfg.Eta, cfg.DT
	switch cfg.Kind {
	case SGD:
		scale := eta / float64(cfg.B)
		if cfg.B == 1 {
			// One sample: the residual, the update and the loss in two passes
			// over P, no scratch vector (bit-identical to the general loop,
			// which is the hot path of Figs. 3a and 3b).
			return func(s *State) {
				mu := s.batch.Next()[0]
				x := q.XT[int(mu)*P : int(mu)*P+P]
				z, lam := s.Z[:len(x)], lam[:len(x)]
				r := q.E[mu]
				for i, xi := range x {
					r += xi * z[i]
				}
				l := 0.0
				for i, xi := range x {
					z[i] -= scale * (r * xi)
					l += lam[i] * z[i] * z[i]
				}
				s.Loss = q.LStar + 0.5*l
				s.T += eta
			}, nil
		}
		return func(s *State) {
			z := s.Z
			for i := range s.scratch {
				s.scratch[i] = 0
			}
			for _, mu := range s.batch.Next() {
				x := q.XT[int(mu)*P : int(mu)*P+P]
				r := q.E[mu]
				for i, xi := range x {
					r += xi * z[i]
				}
				for i, xi := range x {
					s.scratch[i] += r * xi
				}
			}
			l := 0.0
			for i := range z {
				z[i] -= scale * s.scratch[i]
				l += lam[i] * z[i] * z[i]
			}
			s.Loss = q.LStar + 0.5*l
			s.T += eta
		}, nil
	case SDE4:
		sq := math.Sqrt(eta * dt)
		q.moments()
		return func(s *State) {
			z := s.Z
			q.NoiseCov(z, cfg.B, s.sigma)
			sqrtPSD(s.sigma, P, s.sqrtSig)
			for i := range s.scratch {
				s.scratch[i] = s.rng.NormFloat64()
			}
			l := 0.0
			for i := 0; i < P; i++ {
				noise := 0.0
				row := s.sqrtSig[i*P : (i+1)*P]
				for j, v := range row {
					noise += v * s.scratch[j]
				}
				z[i] += -lam[i]*z[i]*dt + sq*noise
				l += lam[i] * z[i] * z[i]
			}
			s.Loss = q.LStar + 0.5*l
			s.T += dt
		}, nil
	case SDE12:
		c := 2 * eta * dt / float64(cfg.B)
		return func(s *State) {
			z := s.Z
			amp := math.Sqrt(c * s.Loss)
			l := 0.0
			for i := 0; i < P; i++ {
				z[i] += -lam[i]*z[i]*dt + amp*math.Sqrt(lam[i])*s.rng.NormFloat64()
				l += lam[i] * z[i] * z[i]
			}
			s.Loss = q.LStar + 0.5*l
			s.T += dt
		}, nil
	case SDE14:
		dtau := dt * q.LStar
		amp := math.Sqrt(2 * eta * dtau / float64(cfg.B))
		return func(s *State) {
			z := s.Z
			inv := 1 / s.Loss // ∇log L = ∇L/L, evaluated at the start of the step (Itô)
			s.T += dtau * inv // real time: dt = dτ/L
			l := 0.0
			for i := 0; i < P; i++ {
				z[i] += -lam[i]*z[i]*inv*dtau + amp*math.Sqrt(lam[i])*s.rng.NormFloat64()
				l += lam[i] * z[i] * z[i]
			}
			s.Loss = q.LStar + 0.5*l
		}, nil
	case GLD:
		d := GLDDiffusion(q, cfg)
		amp := math.Sqrt(2 * d * dt)
		return func(s *State) {
			z := s.Z
			l := 0.0
			for i := 0; i < P; i++ {
				z[i] += -lam[i]*z[i]*dt + amp*s.rng.NormFloat64()
				l += lam[i] * z[i] * z[i]
			}
			s.Loss = q.LStar + 0.5*l
			s.T += dt
		}, nil
	}
	return nil, fmt.Errorf("dynamics: unknown kind %q", cfg.Kind)
}

// GLDDiffusion returns the D that GLD uses for cfg on q: theory.GLDDiffusion,
// D = ηL*h*/B (Eq. 5), with h* = cfg.HStar or the mean eigenvalue; NaN for an
// invalid configuration.
func GLDDiffusion(q *Quadratic, cfg Config) float64 {
	h := cfg.HStar
	if h == 0 {
		h = q.MeanEigenvalue()
	}
	d, err := theory.GLDDiffusion(theory.SGD{Eta: cfg.Eta, B: float64(cfg.B), HStar: h}, q.LStar)
	if err != nil {
		return math.NaN()
	}
	return d
}

// Declare declares the dynamics' parameters (pkg/param): -dynamics, -eta,
// -B, -dt and, for GLD, -gld-hstar.
func (c *Config) Declare(s *param.Set) {
	param.Choice(s, &c.Kind, "dynamics", "dynamics: sgd (Eq. 2), sde4 (Eq. 4), sde12 (Eq. 12), sde14 (Eq. 14) or gld (Eq. 5)", Kinds)
	s.Float(&c.Eta, "eta", "learning rate η", param.Positive)
	s.Int(&c.B, "B", "mini-batch size B (1 ≤ B < N)", param.Min(1))
	s.Float(&c.DT, "dt", "Euler–Maruyama step of the SDEs", param.Positive, param.Auto("η"))
	s.Float(&c.HStar, "gld-hstar", "h* of GLD's matched diffusion D = ηL*h*/B", param.Positive, param.Auto("the mean Hessian eigenvalue"))
}
