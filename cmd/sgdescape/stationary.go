package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/escape"
	"github.com/sgdescape/sgdescape/pkg/linreg"
	"github.com/sgdescape/sgdescape/pkg/run"
)

func init() {
	commands["stationary"] = command{
		summary: "stationary distribution of SGD on linear regression: fit φ in P(θ) ∝ L^−φ (Eq. 17, Fig. 3a)",
		run:     runStationary,
	}
	commands["fpt"] = command{
		summary: "mean first-passage time of L ≥ c·L* against c, with the slope fit (Eq. 15, Fig. 3b/3c)",
		run:     runFPT,
	}
}

// commonFlags are shared by the experiment commands.
type commonFlags struct {
	json, noCache *bool
	seed          *uint64
}

func addCommon(fs *flag.FlagSet) commonFlags {
	return commonFlags{
		json:    fs.Bool("json", false, "print the result as JSON"),
		noCache: fs.Bool("nocache", false, "recompute even if a cached result exists (the new result is cached)"),
		seed:    fs.Uint64("seed", 1, "master seed (data from seed, dynamics from seed+1)"),
	}
}

func (c commonFlags) cache() run.Cache {
	if *c.noCache {
		return run.Cache{}
	}
	return run.DefaultCache()
}

func problemFlags(fs *flag.FlagSet) func() linreg.Problem {
	p := fs.Int("P", 1, "number of parameters P (the effective dimension n = P)")
	n := fs.Int("N", 10000, "number of samples N")
	xstd := fs.Float64("xstd", 1, "standard deviation of the entries of x (h* ≈ xstd²)")
	labels := fs.String("labels", data.LabelsGaussian, "label model: gaussian (i.i.d. N(0,1), the paper's) or teacher")
	noise := fs.Float64("noise", 0, "label-noise standard deviation for -labels teacher")
	return func() linreg.Problem {
		return linreg.Problem{P: *p, N: *n, XStd: *xstd, Labels: *labels, Noise: *noise}
	}
}

func parseFloats(s string) ([]float64, error) { return run.ParseFloats(s) }

func provenance(env run.Envelope) map[string]any {
	return map[string]any{
		"experiment": env.Experiment, "code_version": env.CodeVersion, "config": env.Config, "seed": env.Seed,
		"backend": env.Backend, "git_revision": env.GitRevision, "wall_seconds": env.WallSeconds,
		"started_at": env.StartedAt, "from_cache": env.FromCache, "cache_key": env.CacheKey,
	}
}

func ci(iv run.Interval) []any {
	out := make([]any, 2)
	for i, v := range iv {
		if f := float64(v); !math.IsNaN(f) {
			out[i] = f
		}
	}
	return out
}

func runStationary(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("stationary", stderr)
	prob := problemFlags(fs)
	com := addCommon(fs)
	b := fs.Int("B", 1, "mini-batch size B (1 ≤ B ≤ N)")
	eta := fs.Float64("eta", 0.1, "learning rate η (> 0)")
	dyn := fs.String("dynamics", "sgd", "dynamics: sgd|sde4|sde12|sde14|gld")
	dt := fs.Float64("dt", 0, "SDE step (default η)")
	samples := fs.Int("samples", 10000, "number of samples of θ")
	every := fs.Int("every", 100, "steps between samples")
	burn := fs.Int64("burn", 0, "burn-in steps (0: 20/(η·λ_min))")
	chains := fs.Int("chains", 1, "independent chains")
	bins := fs.Int("bins", 40, "histogram bins of the paper-style fit")
	boot := fs.Int("boot", 200, "bootstrap resamples for the intervals")
	if err := parse(fs, args); err != nil {
		return err
	}
	p := prob()
	p.Seed = *com.seed
	cfg := linreg.StationaryConfig{Problem: p, Dynamics: dynamics.Kind(*dyn), Eta: *eta, B: *b, DT: *dt,
		Samples: *samples, Every: *every, Burn: *burn, Chains: *chains, Bins: *bins, Boot: *boot}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if err := checkKind(*dyn); err != nil {
		return err
	}
	r, err := linreg.Stationary(context.Background(), com.cache(), linreg.Engine, cfg, run.TextProgress(stderr, "stationary", 2*time.Second))
	if err != nil {
		return err
	}
	res := r.Result
	out := map[string]any{
		"diverged": res.Diverged, "h_star": res.HMean, "h_max": res.HMax, "L_star": res.LStar,
		"phi_theory": res.PhiMean, "phi_theory_max": res.PhiMax, "burn": res.Burn,
		"provenance": provenance(r.Envelope),
	}
	if !res.Diverged {
		out["phi_fit"] = res.Fit.MLE
		out["phi_ci"] = ci(res.Fit.MLECI)
		out["phi_hist"] = res.Fit.Hist
		out["phi_hist_ci"] = ci(res.Fit.HistCI)
		out["samples"] = res.Fit.Samples
		out["tau_int_samples"] = res.Fit.TauInt
		out["loglik_powerlaw_minus_gibbs"] = res.Fit.LogLikPerSample
		if res.Eq4 != nil {
			out["eq4"] = res.Eq4
		}
		if res.KestenPhi > 0 {
			out["kesten_phi"] = res.KestenPhi
		}
	}
	if *com.json {
		return writeJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if res.Diverged {
		fmt.Fprintf(tw, "DIVERGED\tthe run blew up (η too large for this problem); no stationary distribution\n")
	} else {
		fmt.Fprintf(tw, "φ fit (maximum likelihood)\t%.4g  [%.4g, %.4g]\n", res.Fit.MLE, float64(res.Fit.MLECI[0]), float64(res.Fit.MLECI[1]))
		fmt.Fprintf(tw, "φ fit (histogram, as the paper)\t%.4g  [%.4g, %.4g]\n", res.Fit.Hist, float64(res.Fit.HistCI[0]), float64(res.Fit.HistCI[1]))
	}
	fmt.Fprintf(tw, "φ theory 1 + B/(ηh*), h* = mean eigenvalue %.4g\t%.4g\n", res.HMean, res.PhiMean)
	fmt.Fprintf(tw, "φ theory with h* = λ_max %.4g\t%.4g\n", res.HMax, res.PhiMax)
	if res.Eq4 != nil {
		fmt.Fprintf(tw, "Eq. 4 exact density: φ-equivalent, tail φ\t%.4g, %.4g\n", res.Eq4.PhiEquivalent, res.Eq4.TailPhi)
		fmt.Fprintf(tw, "KS vs Eq. 4 density: D, p (n_eff)\t%.3g, %.3g (%.0f)\n", res.Eq4.KS.D, res.Eq4.KS.PValue, res.Eq4.KS.NEff)
	}
	return tw.Flush()
}

func checkKind(k string) error {
	for _, v := range dynamics.Kinds {
		if string(v) == k {
			return nil
		}
	}
	return usagef("unknown -dynamics %q (use sgd, sde4, sde12, sde14 or gld)", k)
}

func runFPT(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fpt", stderr)
	model := "linreg"
	for i, a := range args { // the model decides which flags exist
		if (a == "-model" || a == "--model") && i+1 < len(args) {
			model = args[i+1]
		} else if v, ok := strings.CutPrefix(a, "-model="); ok {
			model = v
		}
	}
	fs.String("model", "linreg", "model: linreg (section 5.3.1) or mlp (section 5.3.2)")
	com := addCommon(fs)
	b := fs.Int("B", 1, "mini-batch size B (1 ≤ B ≤ N)")
	eta := fs.Float64("eta", 0.1, "learning rate η (> 0)")
	runs := fs.Int("runs", 100, "independent runs")
	cs := fs.String("c", "1.2,1.5,2,3", "threshold ratios c = L_th/L(θ*) > 1, comma-separated")
	maxSteps := fs.Int64("maxsteps", 1000000, "steps per run before it is censored")
	fitMin := fs.Float64("fit-cmin", 0, "fit the slope over c ≥ this (linreg default: 1.5 × the stationary mode of L/L*; mlp: every threshold)")
	boot := fs.Int("boot", 1000, "bootstrap resamples over runs")
	switch model {
	case "mlp":
		pre := pretrainFlags(fs)
		every := fs.Int64("every", 1, "check the full-batch loss every this many steps (time resolution every·η)")
		allow := fs.Bool("allow-nonstationary", false, "accept a θ* whose pre-training has not converged")
		if err := parse(fs, args); err != nil {
			return err
		}
		return runNetworkFPT(pre, stdout, stderr, eta, b, runs, cs, maxSteps, fitMin, boot, com, every, allow)
	case "linreg":
	default:
		return usagef("unknown -model %q (available: linreg, mlp)", model)
	}
	prob := problemFlags(fs)
	dyn := fs.String("dynamics", "sgd", "dynamics: sgd|sde4|sde12|sde14|gld")
	dt := fs.Float64("dt", 0, "SDE step (default η)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkKind(*dyn); err != nil {
		return err
	}
	c, err := parseFloats(*cs)
	if err != nil {
		return usagef("-c: %v", err)
	}
	p := prob()
	p.Seed = *com.seed
	cfg := linreg.FPTConfig{Problem: p, Dynamics: dynamics.Kind(*dyn), Eta: *eta, B: *b, DT: *dt, Runs: *runs,
		C: c, MaxSteps: *maxSteps, FitCMin: *fitMin, Boot: *boot}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	r, err := linreg.FPT(context.Background(), com.cache(), linreg.Engine, cfg, run.TextProgress(stderr, "fpt runs", 2*time.Second))
	if err != nil {
		return err
	}
	return printFPT(stdout, r.Result, r.Envelope, *com.json)
}

// estimateColumns splits the per-threshold estimates into the JSON columns of `fpt`.
func estimateColumns(fit escape.Result) (c, mean, se []float64, reliable []bool) {
	for _, e := range fit.Estimates {
		c, mean = append(c, e.C), append(mean, e.Mean)
		se, reliable = append(se, float64(e.SE)), append(reliable, e.Reliable)
	}
	return
}

func printFPT(stdout io.Writer, res linreg.FPTResult, env run.Envelope, asJSON bool) error {
	out := map[string]any{
		"h_star": res.HMean, "h_max": res.HMax, "n": res.N, "L_star": res.LStar,
		"slope_theory": res.SlopeMean, "slope_theory_max": res.SlopeMax,
		"mode_ratio": res.ModeRatio, "fit_cmin": res.FitCMin, "diverged": res.Diverged,
		"total_steps": res.TotalSteps, "provenance": provenance(env),
	}
	if res.FitNote != "" {
		out["fit_note"] = res.FitNote
	}
	c, mean, se, reliable := estimateColumns(res.Fit)
	if res.Diverged == 0 {
		out["c"] = c
		out["mean_fpt"] = mean
		out["mean_fpt_se"] = se
		out["censored"] = res.Censored
		out["reliable"] = reliable
		out["slope_fit"] = res.Fit.LogLog.Slope
		out["slope_ci"] = ci(res.Fit.LogLog.CI)
		out["loglin_slope"] = res.Fit.LogLin.Slope
		out["loglin_slope_ci"] = ci(res.Fit.LogLin.CI)
		out["arrhenius_loglin_slope"] = res.ArrSlope
		out["local_slopes"] = res.Fit.LocalSlopes
		out["fit_c"] = res.Fit.FitC
	}
	if asJSON {
		return writeJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if res.Diverged > 0 {
		fmt.Fprintf(tw, "DIVERGED\t%d runs blew up; no first-passage statistics\n", res.Diverged)
		return tw.Flush()
	}
	fmt.Fprintln(tw, "c\tmean FPT\tse\tcensored\treliable")
	for i := range c {
		fmt.Fprintf(tw, "%g\t%.4g\t%.2g\t%d\t%v\n", c[i], mean[i], se[i], res.Censored[i], reliable[i])
	}
	fmt.Fprintf(tw, "slope fit (c ≥ %.3g)\t%.4g  [%.4g, %.4g]\n", res.FitCMin, res.Fit.LogLog.Slope, float64(res.Fit.LogLog.CI[0]), float64(res.Fit.LogLog.CI[1]))
	fmt.Fprintf(tw, "slope theory B/(ηh*)+1−n/2, h* = mean %.4g\t%.4g\n", res.HMean, res.SlopeMean)
	fmt.Fprintf(tw, "slope theory with h* = λ_max %.4g\t%.4g\n", res.HMax, res.SlopeMax)
	if res.FitNote != "" {
		fmt.Fprintf(tw, "note\t%s\n", res.FitNote)
	}
	return tw.Flush()
}
