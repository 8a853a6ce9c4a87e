package main

// Flags shared by several commands, and the one way every command prints
// its result with -json.

import (
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/linreg"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/train"
)

// jsonResult is what every command prints with -json: the experiment's
// result and one provenance envelope (experiment, code version,
// configuration, seed, backend, plugin, git revision, wall time, cache key,
// from-cache).
type jsonResult[T any] struct {
	Result     T            `json:"result"`
	Provenance run.Envelope `json:"provenance"`
}

// writeResult prints r as JSON (asJSON) or calls text.
func writeResult[T any](w io.Writer, r run.Result[T], asJSON bool, text func() error) error {
	if asJSON {
		return writeJSON(w, jsonResult[T]{Result: r.Result, Provenance: r.Envelope})
	}
	return text()
}

// prescan returns the value of flag name in args (def when absent), before
// the flags are declared: some flags decide which other flags exist or what
// their defaults are (-model, -scale).
func prescan(args []string, name, def string) string {
	for i, a := range args {
		a = strings.TrimPrefix(a, "-")
		if a == "-" {
			break
		}
		a = strings.TrimPrefix(a, "-")
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return def
}

// scaleFlag declares -scale and returns the scale that the flag defaults of
// this command come from (read from args before parsing).
func scaleFlag(fs *flag.FlagSet, args []string) (run.Scale, error) {
	fs.String("scale", string(run.Quick), "defaults from the paper's configuration at this scale: quick (minutes on 2 cores, as the notebooks' quick scale) or paper")
	s, err := run.ParseScale(prescan(args, "scale", string(run.Quick)))
	if err != nil {
		return "", usagef("-scale: %v", err)
	}
	return s, nil
}

// commonFlags are shared by the experiment commands.
type commonFlags struct {
	json, noCache *bool
	seed          *uint64
}

func addCommon(fs *flag.FlagSet, seed uint64) commonFlags {
	c := addOutput(fs)
	c.seed = fs.Uint64("seed", seed, "master seed (linear regression: data from seed, dynamics from seed+1)")
	return c
}

// addOutput declares -json and -nocache only (for commands whose seeds have
// their own names).
func addOutput(fs *flag.FlagSet) commonFlags {
	return commonFlags{
		json:    fs.Bool("json", false, "print the result and its provenance as JSON"),
		noCache: fs.Bool("nocache", false, nocacheHelp),
	}
}

func (c commonFlags) cache(stderr io.Writer) run.Cache { return cacheFor(*c.noCache, stderr) }

// nativeEnv is the environment of the native-Go experiments (linear
// regression); stop ends its progress heartbeat (see progressFor).
func (c commonFlags) nativeEnv(stderr io.Writer, what string) (env run.Env, stop func()) {
	p, stop := progressFor(stderr, what)
	return run.Env{Cache: c.cache(stderr), Progress: p}, stop
}

// env starts the GoMLX backend for the network experiments; stop ends its
// progress heartbeat.
func (c commonFlags) env(stderr io.Writer, what string) (run.Env, func(), error) {
	p, stop := progressFor(stderr, what)
	env, err := backend.NewEnv(c.cache(stderr), p)
	if err != nil {
		stop()
	}
	return env, stop, err
}

// problemFlags declare the linear-regression data, with defaults from d.
func problemFlags(fs *flag.FlagSet, d linreg.Problem) func() linreg.Problem {
	p := fs.Int("P", d.P, "number of parameters P (the effective dimension n = P)")
	n := fs.Int("N", d.N, "number of samples N")
	xstd := fs.Float64("xstd", d.XStd, "standard deviation of the entries of x (h* ≈ xstd²)")
	labels := fs.String("labels", d.Labels, "label model: gaussian (i.i.d. N(0,1), the paper's) or teacher")
	noise := fs.Float64("noise", d.Noise, "label-noise standard deviation for -labels teacher")
	return func() linreg.Problem {
		return linreg.Problem{P: *p, N: *n, XStd: *xstd, Labels: *labels, Noise: *noise}
	}
}

// pretrainFlags declare the pre-training of `spectrum` and `fpt -model mlp`,
// with defaults from d.
func pretrainFlags(fs *flag.FlagSet, d network.PretrainConfig) func() (network.PretrainConfig, error) {
	set := fs.String("data", d.Run.Data.Set, "data set (even/odd targets ±1; the paper: mnist)")
	n := fs.Int("N", d.Run.Data.N, "the first N training images (paper: 10000)")
	widths := intList(fs, "widths", joinInts(d.Run.Arch.Widths), "hidden width of the one-hidden-layer MLP (paper: 10)")
	eta := fs.Float64("pretrain-eta", d.Run.Train.Eta, "pre-training learning rate")
	b := fs.Int("pretrain-B", d.Run.Train.B, "pre-training batch size")
	epochs := fs.Int("pretrain-epochs", d.Epochs, "pre-training epochs (the maximum with -until-stationary; paper: 2750)")
	until := fs.Bool("until-stationary", d.UntilStationary, "stop pre-training once the full-batch loss is stationary")
	check := fs.Int("check-every", d.CheckEvery, "epochs between full-batch loss checks")
	window := fs.Int("window", d.Window, "checks per window of the stationarity criterion")
	tol := fs.Float64("stationary-tol", d.Tol, "stationarity: relative difference of the last two window means below this")
	seed := fs.Uint64("pretrain-seed", d.Run.Train.Seed, "seed of the initialisation and pre-training mini-batches")
	return func() (network.PretrainConfig, error) {
		if err := positive(fs, "N", "pretrain-eta", "pretrain-B", "pretrain-epochs", "check-every", "window", "stationary-tol"); err != nil {
			return network.PretrainConfig{}, err
		}
		if err := knownSet(*set); err != nil {
			return network.PretrainConfig{}, err
		}
		if err := checkImages(*set, *n); err != nil {
			return network.PretrainConfig{}, err
		}
		if err := checkPositive("widths", *widths); err != nil {
			return network.PretrainConfig{}, err
		}
		w := *widths
		if *b < 1 || *b > *n {
			return network.PretrainConfig{}, usagef("-pretrain-B %d must satisfy 1 ≤ B ≤ N=%d", *b, *n)
		}
		if *epochs < *check {
			return network.PretrainConfig{}, usagef("-pretrain-epochs %d is below -check-every %d: the loss would be checked at epoch 0 only and θ* would be the untrained initialisation", *epochs, *check)
		}
		if *window < 2 {
			return network.PretrainConfig{}, usagef("-window %d: the stationarity test compares two windows of at least 2 loss checks each", *window)
		}
		c := d
		c.Run = network.RunSpec{Data: network.DataSpec{Set: *set, N: *n, Targets: network.EvenOdd}, Arch: network.ArchSpec{Kind: "mlp", Widths: w},
			Train: train.Config{Loss: model.MSE, Eta: *eta, B: *b, Seed: *seed}}
		c.Epochs, c.UntilStationary, c.CheckEvery, c.Window, c.Tol = *epochs, *until, *check, *window, *tol
		if err := c.Validate(); err != nil {
			return c, usageError{err}
		}
		return c, nil
	}
}

func parseFloats(s string) ([]float64, error) { return run.ParseFloats(s) }

func parseInts(s string) ([]int, error) {
	fs, err := parseFloats(s)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(fs))
	for i, f := range fs {
		if f != float64(int(f)) {
			return nil, fmt.Errorf("%v is not an integer", f)
		}
		out[i] = int(f)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

func joinFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

func knownSet(s string) error {
	for _, n := range data.Names {
		if n == s {
			return nil
		}
	}
	return usagef("unknown -data %q (use %s)", s, strings.Join(data.Names, ", "))
}

func checkKind(k string) error {
	for _, v := range dynamics.Kinds {
		if string(v) == k {
			return nil
		}
	}
	return usagef("unknown -dynamics %q (use sgd, sde4, sde12, sde14 or gld)", k)
}

// ci returns an interval's ends with unknown ends as nil (null in JSON).
func ci(iv run.Interval) []any {
	out := make([]any, 2)
	for i, v := range iv {
		if f := float64(v); !math.IsNaN(f) {
			out[i] = f
		}
	}
	return out
}
