package suite

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sgdescape/sgdescape/pkg/experiment"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/sweep"
)

// Options are the settings of `sgdescape suite`.
type Options struct {
	Scale run.Scale
	// Out is the records folder; Only a comma-separated list of notebooks
	// or experiments; Set the overrides (experiment.name=value;…); Item one
	// item's index ("" for all; a Slurm array task's index).
	Out, Only, Set, Item string
	// List prints the items and their state; SBatch prints a Slurm
	// job-array script with one task per item. Neither runs anything.
	List, SBatch bool
}

// Command runs the suite of Figures as the command line asks: list it,
// write its Slurm script, or run it (all items, or one) into o.Out.
func Command(ctx context.Context, reg Registry, o Options, envFor func(experiment.Entry) (run.Env, func(), error), stdout, stderr io.Writer) error {
	if o.Out == "" {
		return run.BadInput(fmt.Errorf("-out: give the records folder (notebooks/records is the one make report SCALE=paper reads)"))
	}
	settings, err := param.ParseSettings(o.Set)
	if err != nil {
		return run.BadInput(fmt.Errorf("-set: %w", err))
	}
	for _, s := range settings {
		if err := reg.CheckSetting(s); err != nil {
			return run.BadInput(fmt.Errorf("-set: %w", err))
		}
	}
	var only []string
	if o.Only != "" {
		only = strings.Split(o.Only, ",")
	}
	items, err := Items(reg, Figures, o.Scale, settings, only)
	if err != nil {
		return err
	}
	dir, _ := filepath.Abs(o.Out)
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return run.BadInput(fmt.Errorf("-out %s: a file, not a folder; give the records folder (created if missing)", o.Out))
	}
	item := -1 // every item
	if o.Item != "" {
		i, err := strconv.Atoi(o.Item)
		if err != nil || i < 0 || i >= len(items) {
			return run.BadInput(fmt.Errorf("-item %q: the suite has %d items; give one of 0–%d (sgdescape suite %s -list)", o.Item, len(items), len(items)-1, o.Scale))
		}
		item = i
	}
	switch {
	case o.List:
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "item\tnotebook\texperiment\tstate")
		for i, it := range items {
			state := "recorded"
			if _, err := Load(dir, it); err != nil {
				state = "to run"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", i, it.Notebook, it.Instance.Entry.ID(), state)
		}
		return tw.Flush()
	case o.SBatch:
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		idx := make([]int, len(items))
		for i := range idx {
			idx[i] = i
		}
		args := []string{"suite", string(o.Scale), "-out", dir, "-set", o.Set}
		if o.Only != "" {
			args = append(args, "-only", o.Only)
		}
		b := sweep.Batch{Binary: exe, Snapshot: "the " + string(o.Scale) + " suite", Cache: run.DefaultCache().Dir, Workdir: dir, Indices: idx,
			Name: "sgdescape-suite", LogDir: filepath.Join(dir, "logs"), Command: args}
		_, err = fmt.Fprint(stdout, b.Script(time.Now()))
		return err
	}
	if item >= 0 {
		items = items[item : item+1]
	}
	ran, err := Run(ctx, items, dir, envFor, TextProgress(stderr))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%d of %d experiments run, the rest were recorded already; records and manifest.json in %s\n", ran, len(items), dir)
	return err
}
