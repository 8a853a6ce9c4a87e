package main

// `sgdescape suite`: every figure's experiments, headless, as records (pkg/suite).

import (
	"flag"
	"io"
	"os"
	"strings"

	"github.com/sgdescape/sgdescape/pkg/experiment"
	"github.com/sgdescape/sgdescape/pkg/registry"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/suite"
)

func init() {
	commands["suite"] = command{
		summary: "run every figure's experiments headless (quick|paper), resumable, as records that make report RECORDS=DIR renders elsewhere",
		run:     runSuite,
	}
}

func runSuite(args []string, stdout, stderr io.Writer) error {
	name := "quick" // sgdescape suite paper …, or -scale paper
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	fs := newFlags("suite", stderr)
	fs.StringVar(&name, "scale", name, "quick or paper (also the first word: sgdescape suite paper …)")
	var o suite.Options
	fs.StringVar(&o.Out, "out", "", "records folder (created; finished records are kept, so a rerun resumes)")
	fs.StringVar(&o.Only, "only", "", "comma-separated notebooks or experiments to run (default: all)")
	fs.StringVar(&o.Set, "set", os.Getenv("SGDESCAPE_SET"), "overrides as the notebooks take them: experiment.name=value;… (default: $SGDESCAPE_SET)")
	fs.StringVar(&o.Item, "item", os.Getenv("SLURM_ARRAY_TASK_ID"), "run only item i of -list (default: $SLURM_ARRAY_TASK_ID, as a job-array task)")
	fs.BoolVar(&o.List, "list", false, "list the suite's experiments and whether each is recorded, then stop")
	fs.BoolVar(&o.SBatch, "sbatch", false, "print a Slurm job-array script, one task per item, instead of running")
	noCache := fs.Bool("nocache", false, nocacheHelp)
	if err := parse(fs, args); err != nil {
		return err
	}
	var emptyItem bool
	fs.Visit(func(f *flag.Flag) { emptyItem = emptyItem || (f.Name == "item" && o.Item == "") })
	if emptyItem {
		return usagef("-item: empty; give an item number of -list (or leave -item out to run every item)")
	}
	scale, err := run.ParseScale(name)
	if err != nil {
		return usageError{err}
	}
	o.Scale = scale
	ctx, stop := signalContext()
	defer stop()
	return suite.Command(ctx, registry.All(), o, func(e experiment.Entry) (run.Env, func(), error) {
		return envFor(e, runOptions{noCache: *noCache}, stderr)
	}, stdout, stderr)
}
