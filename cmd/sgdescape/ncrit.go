package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"

	"github.com/sgdescape/sgdescape/pkg/ncrit"
	"github.com/sgdescape/sgdescape/pkg/run"
)

func init() {
	commands["ncrit"] = command{
		summary: "the n > n_c instability (Eq. 16) on linear regression: tail index of L/L* against P with theory and Kesten predictions",
		run:     runNcrit,
	}
}

func runNcrit(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ncrit", stderr)
	def := ncrit.PaperNcrit("quick")
	B := fs.Int("B", def.B, "batch size B")
	eta := fs.Float64("eta", def.Eta, "learning rate η")
	ps := fs.String("P", "4,8,...,40", "dimensions P (= n) to sweep; a,b,...,c for a range")
	N := fs.Int("N", def.N, "samples in the data set")
	chains := fs.Int("chains", def.Chains, "independent SGD chains per P (≥ 2; the interval is over chains)")
	steps := fs.Int64("steps", def.Steps, "SGD steps per chain after the burn-in")
	burn := fs.Int64("burn", def.Burn, "burn-in steps per chain")
	every := fs.Int("every", def.Every, "steps between recorded values of L/L*")
	frac := fs.Float64("tail-frac", def.TailFrac, "fraction of the largest recorded L/L* used by the Hill estimator")
	seed := fs.Uint64("seed", def.Seed, "seed: data from seed, dynamics from seed+1")
	workers := fs.Int("workers", 0, "parallel chains (0: all cores)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	noCache := fs.Bool("nocache", false, "recompute even if a cached result exists")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := finiteFlag("eta", *eta, 0, 1e6, true); err != nil {
		return err
	}
	if err := finiteFlag("tail-frac", *frac, 0, 0.5, true); err != nil {
		return err
	}
	pf, err := strictList("P", *ps)
	if err != nil {
		return err
	}
	pl := make([]int, len(pf))
	for i, f := range pf {
		if f != float64(int(f)) || f < 1 {
			return usagef("-P: %v is not a positive integer", f)
		}
		pl[i] = int(f)
	}
	if *workers < 0 {
		return usagef("-workers %d: must be ≥ 0", *workers)
	}
	cfg := ncrit.Config{Ps: pl, N: *N, B: *B, Eta: *eta, Chains: *chains, Steps: *steps, Burn: *burn, Every: *every,
		TailFrac: *frac, Seed: *seed, Workers: *workers}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	cache := run.DefaultCache()
	if *noCache {
		cache = run.Cache{}
	}
	env := run.Env{BackendName: "native", Cache: cache, Progress: run.TextProgress(stderr, "ncrit chains", 2*time.Second)}
	r, err := ncrit.Sweep(context.Background(), env, cfg)
	if err != nil {
		return err
	}
	res := r.Result
	if *asJSON {
		return writeJSON(stdout, jsonResult[map[string]any]{Result: map[string]any{
			"B": res.B, "eta": res.Eta, "points": res.Points,
			"second_moment_unstable_P": res.SecondMomentP, "kesten_P1_tail": res.KestenP1,
		}, Provenance: r.Envelope})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "P\tn_c\ttail index (Hill, 95% CI)\ttheory φ−n/2\tKesten α/2\tP(ℓ>1e2)\tP(ℓ>1e4)\tdiverged chains")
	for _, p := range res.Points {
		tail := "— (every chain diverged)"
		if !math.IsNaN(float64(p.Tail)) {
			tail = fmt.Sprintf("%.3g [%.3g, %.3g]", float64(p.Tail), float64(p.TailCI[0]), float64(p.TailCI[1]))
		}
		fmt.Fprintf(tw, "%d\t%.3g\t%s\t%.3g\t%s\t%s\t%s\t%d/%d\n", p.P, p.NC, tail, p.TailTheory,
			dashNaN(float64(p.TailKesten), "%.3g"), dashNaN(float64(p.Exceed100), "%.2g"), dashNaN(float64(p.Exceed1e4), "%.2g"), p.Diverged, cfg.Chains)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if res.SecondMomentP < 1 {
		fmt.Fprintln(stdout, "SGD's second moment (mean of ℓ) diverges at every P for this η and B")
	} else {
		fmt.Fprintf(stdout, "SGD's second moment (mean of ℓ) diverges from P ≥ %.3g\n", res.SecondMomentP)
	}
	fmt.Fprintln(stdout, "a dash in the Kesten column means a positive Lyapunov exponent: SGD has no stationary law there")
	return nil
}

// dashNaN formats v, or "—" when it is NaN.
func dashNaN(v float64, format string) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf(format, v)
}
