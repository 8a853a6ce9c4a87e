package main

// The registry's front end: one command per registered experiment, its
// flags generated from the configuration's parameter declarations.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sgdescape/sgdescape/pkg/registry"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/experiment"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// runOptions are the flags every experiment command has besides its parameters.
type runOptions struct {
	json, noCache bool
	workers       int
	scale         string
}

func (o *runOptions) declare(fs *flag.FlagSet) {
	fs.StringVar(&o.scale, "scale", string(run.Quick), "defaults from the paper's configuration at this scale: quick or paper")
	fs.BoolVar(&o.json, "json", false, "print the result and its provenance as JSON")
	fs.BoolVar(&o.noCache, "nocache", false, nocacheHelp)
	fs.IntVar(&o.workers, "workers", 0, "parallel runs of native engines (0: all cores); results do not depend on it")
}

// entryFor picks the registry entry of command name from args: the
// variant's selector flag (fpt -model mlp) is read before parsing.
func entryFor(name string, args []string) (experiment.Entry, error) {
	vs := registry.Variants(name)
	if len(vs) == 0 {
		e, _ := registry.Lookup(name, "")
		return e, nil
	}
	first, _ := registry.Lookup(name, "")
	v := prescan(args, first.Selector, vs[0])
	if e, ok := registry.Lookup(name, v); ok && v != "" {
		return e, nil
	}
	return experiment.Entry{}, usagef("unknown -%s %q (available: %s)", first.Selector, v, strings.Join(vs, ", "))
}

// runExperiment runs the registered experiment name with the command-line args.
func runExperiment(name string, args []string, stdout, stderr io.Writer) error {
	e, err := entryFor(name, args)
	if err != nil {
		return err
	}
	var opt runOptions
	scale, err := run.ParseScale(prescan(args, "scale", string(run.Quick)))
	if err != nil {
		return usagef("-scale: %v", err)
	}
	in := e.New(scale)
	fs := newFlags(name, stderr)
	if e.Selector != "" {
		fs.String(e.Selector, e.Variant, "which experiment: "+strings.Join(registry.Variants(name), " or "))
	}
	in.Params.Flags(fs)
	opt.declare(fs)
	if err := parse(fs, args, func(w io.Writer) error { return e.WriteHelp(w, registry.Variants(e.Name)) }); err != nil {
		return err
	}
	if err := in.Check(); err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	env, stop, err := envFor(e, opt, stderr)
	if err != nil {
		return err
	}
	out, err := in.Run(ctx, env)
	stop()
	if err != nil {
		return err
	}
	return writeOutcome(stdout, stderr, out, opt.json)
}

// signalContext is cancelled by SIGTERM (a Slurm time limit, scancel) or Ctrl-C.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// envFor returns the environment of e: the GoMLX backend when e needs one,
// the cache (see cacheFor) and a progress line with a heartbeat.
func envFor(e experiment.Entry, opt runOptions, stderr io.Writer) (run.Env, func(), error) {
	p, stop := progressFor(stderr, e.Name)
	cache := cacheFor(opt.noCache, stderr)
	if e.Native != "" {
		return run.Env{Cache: cache, Progress: p, Workers: opt.workers}, stop, nil
	}
	env, err := backend.NewEnv(cache, p)
	if err != nil {
		stop()
		return env, stop, err
	}
	env.Workers = opt.workers
	return env, stop, nil
}

// writeOutcome prints the result as JSON or as text; numbers that are not
// finite are named on stderr (and listed under "non_finite" in JSON).
func writeOutcome(stdout, stderr io.Writer, out experiment.Outcome, asJSON bool) error {
	if !asJSON {
		return out.WriteText(stdout)
	}
	b, bad, err := out.Encode()
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		fmt.Fprintf(stderr, "sgdescape: warning: not a finite number, written as null: %s\n", strings.Join(bad, ", "))
	}
	_, err = stdout.Write(append(b, '\n'))
	return err
}
