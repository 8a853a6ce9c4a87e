package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sgdescape/sgdescape/pkg/barrier"
	"github.com/sgdescape/sgdescape/pkg/run"
)

func init() {
	commands["barrier"] = command{
		summary: "escape over a real barrier (helix regression): SGD's κ against β with four predictions (Eq. 15, Eq. 5, exact diffusion, large deviations)",
		run:     runBarrier,
	}
}

// strictList parses a comma-separated list with run.ParseFloats (the CLI's
// one list parser: an empty item, a non-number or a non-finite number is an
// error), and adds one form of its own: "a,b,...,c" (or "…") continues the
// arithmetic progression a, b, … up to c.
func strictList(flagName, s string) ([]float64, error) {
	parts := strings.Split(s, ",")
	dots := -1
	for i, part := range parts {
		if p := strings.TrimSpace(part); p == "..." || p == "…" {
			dots = i
			break
		}
	}
	if dots < 0 {
		out, err := run.ParseFloats(s)
		if err != nil {
			return nil, usagef("-%s: %v", flagName, err)
		}
		return out, nil
	}
	if dots < 2 || dots != len(parts)-2 {
		return nil, usagef("-%s %q: \"...\" needs two numbers before it and one after it (a,b,...,c)", flagName, s)
	}
	nums, err := run.ParseFloats(strings.Join(append(parts[:dots:dots], parts[dots+1]), ","))
	if err != nil { // items are counted without the "..."
		return nil, usagef("-%s %q: %v", flagName, s, err)
	}
	out, end := nums[:len(nums)-1], nums[len(nums)-1]
	a, b := out[len(out)-2], out[len(out)-1]
	step := b - a
	if !(step > 0) || !(end >= b) || (end-b)/step > 10000 {
		return nil, usagef("-%s %q: a,b,...,c needs a < b ≤ c and at most 10000 items", flagName, s)
	}
	for k := 1; b+float64(k)*step <= end+1e-9*step; k++ {
		out = append(out, b+float64(k)*step)
	}
	return out, nil
}

// finiteFlag checks a float flag: finite and within [lo, hi] (open at the
// ends marked open).
func finiteFlag(name string, v, lo, hi float64, loOpen bool) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return usagef("-%s %v: must be a finite number", name, v)
	}
	if v < lo || (loOpen && v == lo) || v > hi {
		op := "≥"
		if loOpen {
			op = ">"
		}
		return usagef("-%s %v: must be %s %g and ≤ %g", name, v, op, lo, hi)
	}
	return nil
}

func runBarrier(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("barrier", stderr)
	def := barrier.PaperEscape("quick")
	model := fs.String("model", "helix", "model with a barrier (helix)")
	n := fs.Int("n", 1, "outliers n: the helix angle plus n−1 linear spectator coordinates")
	N := fs.Int("N", def.Helix.N, "samples in the data set")
	seed := fs.Uint64("seed", 1, "seed: the data set from seed, the dynamics from seed+1")
	B := fs.Int("B", def.B, "batch size B")
	betas := fs.String("beta", "7,8,9", "β = B/(ηh*) values (η is chosen from β for the data set's h*); a,b,...,c for a range")
	runs := fs.Int("runs", def.Runs, "independent runs per β, all started at θ*")
	maxSteps := fs.Int64("max-steps", def.MaxSteps, "step budget per run; runs that have not escaped are censored")
	sampling := fs.String("sampling", barrier.Epoch, "mini-batches: epoch (fresh permutation each epoch, the paper's) or iid")
	dyn := fs.String("dynamics", barrier.SGD, "sgd (real mini-batches), gauss (Gaussian steps of the exact variance, n = 1) or gld (Langevin, Eq. 5)")
	R := fs.Float64("R", def.Helix.R, "helix radius")
	pitch := fs.Float64("c", def.Helix.C, "helix pitch c (w₃ = cθ)")
	sigma := fs.Float64("sigma", def.Helix.Sigma, "label noise σ")
	teacher := fs.Float64("teacher", def.Helix.Teacher, "teacher angle")
	spect := fs.Float64("spectator", def.Helix.Spectator, "teacher weight of each spectator input")
	start := fs.Float64("start", def.Helix.Start, "θ* is the local minimum nearest to this angle")
	slo := fs.Float64("search-lo", def.Helix.SearchLo, "lower end of the search for stationary points")
	shi := fs.Float64("search-hi", def.Helix.SearchHi, "upper end of the search for stationary points")
	grid := fs.Int("grid", def.Grid, "grid points of the 1-D exact predictions")
	workers := fs.Int("workers", 0, "parallel runs (0: all cores); results do not depend on it")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	noCache := fs.Bool("nocache", false, "recompute even if a cached result exists")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model != "helix" {
		return usagef("-model %q: the only model with a barrier is helix", *model)
	}
	bs, err := strictList("beta", *betas)
	if err != nil {
		return err
	}
	for _, b := range bs {
		if !(b > 0) {
			return usagef("-beta %v: β must be > 0 (β = B/(ηh*); β ≤ 0 would need η ≤ 0)", b)
		}
	}
	for _, f := range []struct {
		name   string
		v      float64
		lo, hi float64
		open   bool
	}{{"R", *R, 0, 1e6, true}, {"c", *pitch, 0, 1e6, false}, {"sigma", *sigma, 0, 1e6, false},
		{"teacher", *teacher, -1e6, 1e6, false}, {"spectator", *spect, -1e6, 1e6, false}, {"start", *start, -1e6, 1e6, false},
		{"search-lo", *slo, -1e6, 1e6, false}, {"search-hi", *shi, -1e6, 1e6, false}} {
		if err := finiteFlag(f.name, f.v, f.lo, f.hi, f.open); err != nil {
			return err
		}
	}
	switch {
	case *n < 1:
		return usagef("-n %d: the number of outliers must be ≥ 1", *n)
	case *runs < 1:
		return usagef("-runs %d: need at least one run", *runs)
	case *B < 1:
		return usagef("-B %d: batch size must be ≥ 1", *B)
	case *maxSteps < 1:
		return usagef("-max-steps %d: must be ≥ 1", *maxSteps)
	case *workers < 0:
		return usagef("-workers %d: must be ≥ 0", *workers)
	case *seed == math.MaxUint64:
		return usagef("-seed: must be below 2⁶⁴−1 (the dynamics uses seed+1)")
	}
	cfg := def
	cfg.Helix.Dim, cfg.Helix.N, cfg.Helix.Seed = *n, *N, *seed
	cfg.Helix.R, cfg.Helix.C, cfg.Helix.Sigma, cfg.Helix.Teacher, cfg.Helix.Spectator = *R, *pitch, *sigma, *teacher, *spect
	cfg.Helix.Start, cfg.Helix.SearchLo, cfg.Helix.SearchHi = *start, *slo, *shi
	cfg.B, cfg.Betas, cfg.Runs, cfg.MaxSteps, cfg.Sampling, cfg.Dynamics, cfg.Grid, cfg.Seed, cfg.Workers =
		*B, bs, *runs, *maxSteps, *sampling, *dyn, *grid, *seed+1, *workers
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	cache := run.DefaultCache()
	if *noCache {
		cache = run.Cache{}
	}
	env := run.Env{BackendName: "native", Cache: cache, Progress: run.TextProgress(stderr, "barrier runs", 2*time.Second)}
	r, err := barrier.Escape(context.Background(), env, cfg)
	if err != nil {
		if strings.Contains(err.Error(), "no saddle") || strings.Contains(err.Error(), "no local minimum") || strings.Contains(err.Error(), "no basin") {
			return usageError{err}
		}
		return err
	}
	res := r.Result
	if *asJSON {
		return writeJSON(stdout, jsonResult[map[string]any]{Result: barrierJSON(r), Provenance: r.Envelope})
	}
	ls := res.Landscape
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "θ*, θˢ (other saddle)\t%.5g, %.5g (%.5g)\n", ls.ThetaStar, ls.ThetaSaddle, ls.ThetaOther)
	fmt.Fprintf(tw, "L*, Lˢ, Lˢ/L*\t%.5g, %.5g, %.4g\n", ls.LStar, ls.LSaddle, ls.LSaddle/ls.LStar)
	fmt.Fprintf(tw, "h*, hˢ (Gauss–Newton parts)\t%.5g, %.5g (%.5g, %.5g)\n", ls.HStar, ls.HSaddle, ls.GNStar, ls.GNSaddle)
	fmt.Fprintf(tw, "escape interval of θ₁\t(%.5g, %.5g)\n", ls.A, ls.B)
	fmt.Fprintf(tw, "%s, B = %d, %s mini-batches, n = %d\n", res.Dynamics, res.B, res.Sampling, ls.N)
	fmt.Fprintln(tw, "β\tη\tκ (95% CI)\tescaped/censored/diverged\tCV\tpower law\tArrhenius\texact diffusion\tlarge deviation")
	for _, p := range res.Points {
		fmt.Fprintf(tw, "%g\t%.4g\t%.3g [%.3g, %.3g]\t%d/%d/%d\t%.2f\t%.3g\t%.3g\t%.3g\t%.3g\n", p.Beta, p.Eta, float64(p.Kappa),
			float64(p.KappaCI[0]), float64(p.KappaCI[1]), p.Escaped, p.Censored, p.Diverged, float64(p.CV),
			p.KappaPowerLaw, p.KappaArrhenius, float64(p.KappaExact), float64(p.KappaLD))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if math.IsNaN(float64(res.SlopeFit)) {
		fmt.Fprintln(stdout, "slope d ln κ/dβ: needs at least two β values with escaped runs")
	} else {
		fmt.Fprintf(stdout, "slope d ln κ/dβ: SGD %.4g [%.4g, %.4g]; power law %.4g, Arrhenius %.4g, exact diffusion %.4g, large deviation %.4g\n",
			float64(res.SlopeFit), float64(res.SlopeCI[0]), float64(res.SlopeCI[1]),
			float64(res.SlopePowerLaw), float64(res.SlopeArrh), float64(res.SlopeExact), float64(res.SlopeLD))
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	return nil
}

// barrierJSON is the result member of the -json output: the fields plus counts.
func barrierJSON(r run.Result[barrier.Result]) map[string]any {
	res := r.Result
	ls := res.Landscape
	col := func(f func(barrier.Point) float64) []run.Float {
		out := make([]run.Float, len(res.Points))
		for i, p := range res.Points {
			out[i] = run.Float(f(p))
		}
		return out
	}
	icol := func(f func(barrier.Point) int) []int {
		out := make([]int, len(res.Points))
		for i, p := range res.Points {
			out[i] = f(p)
		}
		return out
	}
	cis := make([]run.Interval, len(res.Points))
	for i, p := range res.Points {
		cis[i] = p.KappaCI
	}
	return map[string]any{
		"landscape": map[string]any{
			"theta_star": ls.ThetaStar, "theta_saddle": ls.ThetaSaddle, "L_star": ls.LStar, "L_saddle": ls.LSaddle,
			"h_star": ls.HStar, "h_saddle": ls.HSaddle, "gn_star": ls.GNStar, "gn_saddle": ls.GNSaddle,
			"theta_other_saddle": ls.ThetaOther, "L_other_saddle": ls.LOther, "escape_interval": []float64{ls.A, ls.B},
			"n": ls.N, "prefactor": ls.Prefactor, "stationary_points": ls.Points,
		},
		"B": res.B, "dynamics": res.Dynamics, "sampling": res.Sampling,
		"beta":                  col(func(p barrier.Point) float64 { return p.Beta }),
		"eta":                   col(func(p barrier.Point) float64 { return p.Eta }),
		"kappa":                 col(func(p barrier.Point) float64 { return float64(p.Kappa) }),
		"kappa_se":              col(func(p barrier.Point) float64 { return float64(p.KappaSE) }),
		"kappa_ci":              cis,
		"cv":                    col(func(p barrier.Point) float64 { return float64(p.CV) }),
		"escaped":               icol(func(p barrier.Point) int { return p.Escaped }),
		"censored":              icol(func(p barrier.Point) int { return p.Censored }),
		"diverged":              icol(func(p barrier.Point) int { return p.Diverged }),
		"exits_high":            icol(func(p barrier.Point) int { return p.ExitHigh }),
		"kappa_powerlaw":        col(func(p barrier.Point) float64 { return p.KappaPowerLaw }),
		"kappa_arrhenius":       col(func(p barrier.Point) float64 { return p.KappaArrhenius }),
		"kappa_exact_diffusion": col(func(p barrier.Point) float64 { return float64(p.KappaExact) }),
		"kappa_large_deviation": col(func(p barrier.Point) float64 { return float64(p.KappaLD) }),
		"slope_fit":             res.SlopeFit, "slope_ci": res.SlopeCI,
		"slope_powerlaw": res.SlopePowerLaw, "slope_arrhenius": res.SlopeArrh,
		"slope_exact_diffusion": res.SlopeExact, "slope_large_deviation": res.SlopeLD,
		"warnings": res.Warnings, "steps_per_second": res.StepsPerSec,
	}
}
