package main

// `sgdescape suite`: every figure's experiments, headless, as records.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sgdescape/sgdescape/pkg/experiment"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/registry"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/suite"
	"github.com/sgdescape/sgdescape/pkg/sweep"
)

func init() {
	commands["suite"] = command{
		summary: "run every figure's experiments headless (quick|paper), resumable, as records that make report RECORDS=DIR renders elsewhere",
		run:     runSuite,
	}
}

func runSuite(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprintln(stderr, "usage: sgdescape suite quick|paper -out DIR [flags]   (sgdescape suite paper -h lists the flags)")
		return flag.ErrHelp
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("name the scale first: sgdescape suite quick|paper -out DIR (sgdescape suite paper -h lists the flags)")
	}
	scale, err := run.ParseScale(args[0])
	if err != nil {
		return usageError{err}
	}
	fs := newFlags("suite "+args[0], stderr)
	out := fs.String("out", "", "records folder (created; finished records are kept, so a rerun resumes)")
	only := fs.String("only", "", "comma-separated notebooks or experiments to run (default: all)")
	set := fs.String("set", os.Getenv("SGDESCAPE_SET"), "overrides as the notebooks take them: experiment.name=value;… (default: $SGDESCAPE_SET)")
	list := fs.Bool("list", false, "list the suite's experiments and whether each is recorded, then stop")
	itemFlag := fs.String("item", os.Getenv("SLURM_ARRAY_TASK_ID"), "run only item i of the list (default: $SLURM_ARRAY_TASK_ID, as a job-array task)")
	noCache := fs.Bool("nocache", false, nocacheHelp)
	sbatch := fs.Bool("sbatch", false, "print a Slurm job-array script, one task per item, instead of running")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *out == "" {
		return usagef("-out: give the records folder (notebooks/records is the one make report SCALE=paper reads)")
	}
	settings, err := param.ParseSettings(*set)
	if err != nil {
		return usagef("-set: %v", err)
	}
	var onlyList []string
	if *only != "" {
		onlyList = strings.Split(*only, ",")
	}
	items, err := suite.Items(registry.All(), suite.Figures, scale, settings, onlyList)
	if err != nil {
		return err
	}
	dir, _ := filepath.Abs(*out)
	if *list {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "item\tnotebook\texperiment\tstate")
		for i, it := range items {
			state := "recorded"
			if _, err := suite.Load(dir, it); err != nil {
				state = "to run"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", i, it.Notebook, it.Instance.Entry.ID(), state)
		}
		return tw.Flush()
	}
	if *sbatch {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		idx := make([]int, len(items))
		for i := range idx {
			idx[i] = i
		}
		b := sweep.Batch{Binary: exe, Snapshot: "the " + string(scale) + " suite", Cache: run.DefaultCache().Dir, Workdir: dir, Indices: idx,
			Name: "sgdescape-suite", LogDir: filepath.Join(dir, "logs"), Command: append([]string{"suite", string(scale), "-out", dir, "-set", *set}, onlyArgs(*only)...)}
		fmt.Fprint(stdout, b.Script(time.Now()))
		return nil
	}
	if *itemFlag != "" {
		i, err := strconv.Atoi(*itemFlag)
		if err != nil || i < 0 || i >= len(items) {
			return usagef("-item %q: the suite has %d items; give one of 0–%d (sgdescape suite %s -list)", *itemFlag, len(items), len(items)-1, scale)
		}
		items = items[i : i+1]
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	envFn := func(e experiment.Entry) (run.Env, func(), error) {
		return envFor(e, runOptions{noCache: *noCache}, stderr)
	}
	ran, err := suite.Run(ctx, items, dir, envFn, suite.TextProgress(stderr))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d of %d experiments run, the rest were recorded already; records and manifest.json in %s\n", ran, len(items), dir)
	return nil
}

func onlyArgs(only string) []string {
	if only == "" {
		return nil
	}
	return []string{"-only", only}
}
