package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

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
		noCache: fs.Bool("nocache", false, nocacheHelp),
		seed:    fs.Uint64("seed", 1, "master seed (data from seed, dynamics from seed+1)"),
	}
}

func (c commonFlags) cache(stderr io.Writer) run.Cache { return cacheFor(*c.noCache, stderr) }

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
	if err := positive(fs, "P", "N", "xstd", "B", "eta", "samples", "every", "chains", "bins"); err != nil {
		return err
	}
	p := prob()
	p.Seed = *com.seed
	if err := checkProblem(p, *b); err != nil {
		return err
	}
	if *samples < minSamplesPerBin**bins {
		return usagef("-samples %d is too few for -bins %d: the histogram fit needs about %d samples per bin; use -samples ≥ %d or fewer -bins", *samples, *bins, minSamplesPerBin, minSamplesPerBin**bins)
	}
	if *chains > *samples/minSamplesPerBin {
		return usagef("-chains %d leaves fewer than %d samples per chain (-samples %d); use fewer chains", *chains, minSamplesPerBin, *samples)
	}
	if err := checkStationarySteps(p, *eta, *samples, *every, *chains, *burn); err != nil {
		return err
	}
	cfg := linreg.StationaryConfig{Problem: p, Dynamics: dynamics.Kind(*dyn), Eta: *eta, B: *b, DT: *dt,
		Samples: *samples, Every: *every, Burn: *burn, Chains: *chains, Bins: *bins, Boot: *boot}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if err := checkKind(*dyn); err != nil {
		return err
	}
	if err := checkMemory("stationary", cfg.MemoryBytes(), "-N, -P, -samples, -chains or -bins"); err != nil {
		return err
	}
	if err := checkBoot(*boot, float64(*samples), "-samples", bootWorkStationary); err != nil {
		return err
	}
	prog, stop := progressFor(stderr, "stationary")
	r, err := linreg.Stationary(context.Background(), com.cache(stderr), linreg.Engine, cfg, prog)
	stop()
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
	cs := floatList(fs, "c", "1.2,1.5,2,3", "threshold ratios c = L_th/L(θ*) > 1, comma-separated")
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
		if err := positive(fs, "B", "eta", "runs", "maxsteps", "every"); err != nil {
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
	if err := positive(fs, "P", "N", "xstd", "B", "eta", "runs", "maxsteps"); err != nil {
		return err
	}
	if err := checkKind(*dyn); err != nil {
		return err
	}
	c := *cs
	p := prob()
	p.Seed = *com.seed
	if err := checkProblem(p, *b); err != nil {
		return err
	}
	if err := checkThresholds(c, *fitMin, *runs); err != nil {
		return err
	}
	cfg := linreg.FPTConfig{Problem: p, Dynamics: dynamics.Kind(*dyn), Eta: *eta, B: *b, DT: *dt, Runs: *runs,
		C: c, MaxSteps: *maxSteps, FitCMin: *fitMin, Boot: *boot}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if err := checkMemory("fpt", cfg.MemoryBytes(), "-runs, -N or -P"); err != nil {
		return err
	}
	if err := checkBoot(*boot, float64(*runs)*float64(len(c)), "-runs", bootWorkFPT); err != nil {
		return err
	}
	prog, stop := progressFor(stderr, "fpt runs")
	r, err := linreg.FPT(context.Background(), com.cache(stderr), linreg.Engine, cfg, prog)
	stop()
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
	out["degenerate"] = len(res.Warnings) > 0
	if len(res.Warnings) > 0 {
		out["warnings"] = res.Warnings
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
	for _, w := range res.Warnings {
		fmt.Fprintf(tw, "DEGENERATE\t%s\n", w)
	}
	return tw.Flush()
}
