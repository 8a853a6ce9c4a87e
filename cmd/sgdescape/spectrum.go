package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"text/tabwriter"
	"time"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/hessian"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/spectrum"
	"github.com/sgdescape/sgdescape/pkg/train"
)

func init() {
	commands["spectrum"] = command{
		summary: "Gauss–Newton spectrum and effective dimension at a pre-trained minimum (appendix E)",
		run:     runSpectrum,
	}
}

// pretrainFlags are shared by `spectrum` and `fpt -model mlp`.
func pretrainFlags(fs *flag.FlagSet) func() (network.PretrainConfig, error) {
	set := fs.String("data", data.MNIST, "data set (even/odd targets ±1; the paper: mnist)")
	n := fs.Int("N", 10000, "the first N training images (paper: 10000)")
	widths := fs.String("widths", "10", "hidden width of the one-hidden-layer MLP (paper: 10)")
	eta := fs.Float64("pretrain-eta", 0.1, "pre-training learning rate")
	b := fs.Int("pretrain-B", 100, "pre-training batch size")
	epochs := fs.Int("pretrain-epochs", 2750, "pre-training epochs (the maximum with -until-stationary)")
	until := fs.Bool("until-stationary", false, "stop pre-training once the full-batch loss is stationary")
	check := fs.Int("check-every", 25, "epochs between full-batch loss checks")
	window := fs.Int("window", 10, "checks per window of the stationarity criterion")
	tol := fs.Float64("stationary-tol", 0.02, "stationarity: relative difference of the last two window means below this")
	seed := fs.Uint64("pretrain-seed", 1, "seed of the initialisation and pre-training mini-batches")
	return func() (network.PretrainConfig, error) {
		if err := knownSet(*set); err != nil {
			return network.PretrainConfig{}, err
		}
		w, err := parseInts(*widths)
		if err != nil {
			return network.PretrainConfig{}, usagef("-widths: %v", err)
		}
		if *b < 1 || *b > *n {
			return network.PretrainConfig{}, usagef("-pretrain-B %d must satisfy 1 ≤ B ≤ N=%d", *b, *n)
		}
		c := network.PretrainConfig{
			Run: network.RunSpec{Data: network.DataSpec{Set: *set, N: *n, Targets: network.EvenOdd}, Arch: network.ArchSpec{Kind: "mlp", Widths: w},
				Train: train.Config{Loss: model.MSE, Eta: *eta, B: *b, Seed: *seed}},
			Epochs: *epochs, UntilStationary: *until, CheckEvery: *check, Window: *window, Tol: *tol,
		}
		if err := c.Validate(); err != nil {
			return c, usageError{err}
		}
		return c, nil
	}
}

func runSpectrum(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("spectrum", stderr)
	pre := pretrainFlags(fs)
	lanczos := fs.Int("lanczos", 0, "also compute the top-k eigenvalues of the exact Hessian by Lanczos (k ≤ P)")
	hutch := fs.Int("hutchinson", 0, "also estimate the trace of the exact Hessian with this many Rademacher probes")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	noCache := fs.Bool("nocache", false, "recompute even if cached")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := pre()
	if err != nil {
		return err
	}
	cache := run.DefaultCache()
	if *noCache {
		cache = run.Cache{}
	}
	be, err := backend.New()
	if err != nil {
		return err
	}
	ctx := context.Background()
	prog := run.TextProgress(stderr, "spectrum", 2*time.Second)
	sess, p, err := network.Pretrain(ctx, be, backend.Name(), cache, cfg, prog)
	if err != nil {
		return err
	}
	if *lanczos < 0 || *lanczos > sess.Arch.NumParams() {
		return usagef("-lanczos %d must be between 0 and P = %d (the number of parameters); for the whole spectrum use the dense Gauss–Newton result", *lanczos, sess.Arch.NumParams())
	}
	start := time.Now()
	ms, err := network.Spectrum(ctx, be, backend.Name(), cache, cfg, sess)
	if err != nil {
		return err
	}
	out := map[string]any{
		"L_star": p.LStar, "pretrain_epochs": p.Epoch, "stationary": p.Stationary, "pretrain_note": p.Note,
		"h_star": ms.HStar, "top": ms.Top[:min(20, len(ms.Top))], "trace": ms.Trace, "route": ms.Route, "P": ms.P, "N": ms.N,
		"n_trace_ratio": ms.Estimators.TraceRatio, "n_participation": ms.Estimators.Participation,
		"n_entropy": ms.Estimators.Entropy, "n_above_tenth": ms.Estimators.AboveTenth,
	}
	if *lanczos > 0 || *hutch > 0 {
		h, err := hessian.NewHVP(be, sess.Arch, model.MSE, sess.Params(), sess.Data.X, sess.Data.Y, sess.Data.N())
		if err != nil {
			return err
		}
		rng := rand.New(rand.NewPCG(cfg.Run.Train.Seed, 77))
		if *lanczos > 0 {
			top, err := spectrum.TopK(h, *lanczos, 0, rng)
			if err != nil {
				return err
			}
			out["hessian_top"] = top
		}
		if *hutch > 0 {
			tr, se, err := spectrum.Hutchinson(h, *hutch, rng)
			if err != nil {
				return usageError{err}
			}
			out["hessian_trace"], out["hessian_trace_se"] = tr, se
		}
	}
	out["provenance"] = map[string]any{"config": cfg, "backend": backend.Name(), "git_revision": run.GitRevision(), "wall_seconds": time.Since(start).Seconds()}
	if *asJSON {
		return writeJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "L(θ*) after %d epochs\t%.5g (%s)\n", p.Epoch, p.LStar, p.Note)
	fmt.Fprintf(tw, "h* = λ1 of (1/N)Σ∇f∇fᵀ (%s route)\t%.5g\n", ms.Route, ms.HStar)
	fmt.Fprintf(tw, "trace\t%.5g\n", ms.Trace)
	fmt.Fprintf(tw, "n: trace ratio / participation / entropy / above λ1/10\t%.3g / %.3g / %.3g / %d\n",
		ms.Estimators.TraceRatio, ms.Estimators.Participation, ms.Estimators.Entropy, ms.Estimators.AboveTenth)
	fmt.Fprintf(tw, "top eigenvalues\t%.4g\n", ms.Top[:min(10, len(ms.Top))])
	if v, ok := out["hessian_top"]; ok {
		fmt.Fprintf(tw, "exact Hessian top (Lanczos)\t%.4g\n", v)
	}
	return tw.Flush()
}

// runNetworkFPT is `fpt -model mlp`.
func runNetworkFPT(pre func() (network.PretrainConfig, error), stdout, stderr io.Writer,
	eta *float64, b *int, runs *int, cs *string, maxSteps *int64, fitMin *float64, boot *int, com commonFlags, every *int64, allow *bool) error {
	cfgPre, err := pre()
	if err != nil {
		return err
	}
	c, err := parseFloats(*cs)
	if err != nil {
		return usagef("-c: %v", err)
	}
	cfg := network.EscapeConfig{Pretrain: cfgPre, Eta: *eta, B: *b, Runs: *runs, C: c, MaxSteps: *maxSteps, Every: *every,
		Seed: *com.seed, FitCMin: *fitMin, Boot: *boot, FreeRuns: 8, FreeSteps: min(*maxSteps, 20000), AllowNonStationary: *allow}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	be, err := backend.New()
	if err != nil {
		return err
	}
	r, err := network.RunEscape(context.Background(), be, backend.Name(), com.cache(), cfg, run.TextProgress(stderr, "fpt", 2*time.Second))
	if err != nil {
		return err
	}
	res := r.Result
	out := map[string]any{
		"h_star": res.HStar, "L_star": res.LStar, "pretrain_epochs": res.Pretrained.Epoch, "stationary": res.Pretrained.Stationary,
		"diverged": res.Diverged, "total_steps": res.TotalSteps, "time_resolution": res.TimeStep,
		"n_trace_ratio": res.Spectrum.Estimators.TraceRatio, "n_participation": res.Spectrum.Estimators.Participation,
		"n_entropy": res.Spectrum.Estimators.Entropy, "n_above_tenth": res.Spectrum.Estimators.AboveTenth,
		"estimators": res.Estimators, "provenance": provenance(r.Envelope),
	}
	if res.Diverged == 0 {
		cc, mean, se, _ := estimateColumns(res.Fit)
		out["c"], out["mean_fpt"], out["mean_fpt_se"], out["censored"] = cc, mean, se, res.Censored
		out["slope_fit"], out["slope_ci"] = res.Fit.LogLog.Slope, ci(res.Fit.LogLog.CI)
		out["implied_n"] = res.ImpliedN
		out["local_slopes"] = res.Fit.LocalSlopes
		out["fpt_cv"] = res.FPTCV
		if len(res.Estimators) > 0 {
			out["slope_theory"] = res.Estimators[0].Slope // with the trace-ratio n; every estimator is listed in "estimators"
		}
		out["n"] = res.Spectrum.Estimators.TraceRatio
	}
	if *com.json {
		return writeJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if res.Diverged > 0 {
		fmt.Fprintf(tw, "DIVERGED\t%d runs blew up\n", res.Diverged)
		return tw.Flush()
	}
	fmt.Fprintln(tw, "c\tmean FPT\tse\tcensored\tCV")
	for i, e := range res.Fit.Estimates {
		fmt.Fprintf(tw, "%g\t%.4g\t%.2g\t%d\t%.2f\n", e.C, e.Mean, float64(e.SE), e.Censored, float64(res.FPTCV[i]))
	}
	fmt.Fprintf(tw, "slope fit\t%.4g  [%.4g, %.4g]\n", res.Fit.LogLog.Slope, float64(res.Fit.LogLog.CI[0]), float64(res.Fit.LogLog.CI[1]))
	fmt.Fprintf(tw, "h* = λ1(GN), L*\t%.4g, %.4g\n", res.HStar, res.LStar)
	for _, e := range res.Estimators {
		fmt.Fprintf(tw, "theory with n = %.3g (%s)\t%.4g\n", e.N, e.Name, e.Slope)
	}
	fmt.Fprintf(tw, "implied n\t%.3g\n", res.ImpliedN)
	return tw.Flush()
}
