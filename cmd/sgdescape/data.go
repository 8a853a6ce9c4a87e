package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/run"
)

func init() {
	commands["data"] = command{
		summary: "list the data sets (present, records, checksums); 'data fetch' acquires them",
		run:     runData,
	}
}

func runData(args []string, stdout, stderr io.Writer) error {
	fetch := len(args) > 0 && args[0] == "fetch"
	if fetch {
		args = args[1:]
	}
	name := "data"
	if fetch {
		name = "data fetch"
	}
	fs := newFlags(name, stderr)
	all := strings.Join(append(append([]string{}, data.Names...), data.LinReg), ",")
	setsFlag := fs.String("sets", all, "comma-separated data sets")
	dir := fs.String("dir", "", "data directory (default: data/ in the repository, or $SGDESCAPE_DATA)")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	download := false
	if fetch {
		fs.BoolVar(&download, "download", false, "download from the official locations when no local copy exists")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	var sets []string
	known := map[string]bool{data.LinReg: true}
	for _, n := range data.Names {
		known[n] = true
	}
	for i, s := range strings.Split(*setsFlag, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			return usagef("-sets: item %d of %q is empty", i+1, *setsFlag)
		}
		if !known[s] {
			return usagef("-sets: unknown data set %q (known: %s)", s, all)
		}
		sets = append(sets, s)
	}
	if len(sets) == 0 {
		return usagef("-sets is empty")
	}
	d := *dir
	if d == "" {
		d = data.Dir()
	}
	var fetchErr error
	if fetch {
		src := data.DefaultSources()
		src.Dir, src.Download, src.Log = d, download, stderr
		fetchErr = data.Fetch(context.Background(), src, sets)
	}
	var statuses []data.Status
	var unusable []string
	for _, s := range sets {
		st := data.SetStatus(d, s)
		statuses = append(statuses, st)
		if !st.Usable {
			unusable = append(unusable, s)
		}
	}
	if *asJSON {
		if err := writeJSON(stdout, map[string]any{
			"dir": d, "sets": statuses,
			"provenance": map[string]any{"git_revision": run.GitRevision()},
		}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "set\tusable\ttrain\ttest\tchecksums\tpath")
		for _, st := range statuses {
			fmt.Fprintf(tw, "%s\t%v\t%d\t%d\t%s\t%s\n", st.Name, st.Usable, st.Records["train"], st.Records["test"], st.Checksums, st.Path)
		}
		tw.Flush()
		for _, st := range statuses {
			if st.Error != "" {
				fmt.Fprintf(stdout, "%s: %s\n", st.Name, st.Error)
			}
		}
	}
	if fetchErr != nil {
		return fetchErr
	}
	if len(unusable) > 0 {
		return fmt.Errorf("unusable data sets: %s (run `make data`)", strings.Join(unusable, ", "))
	}
	return nil
}
