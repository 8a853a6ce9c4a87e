package experiment

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// WriteHelp prints the entry's parameters for `sgdescape <name> -h`: each
// flag with its meaning, range and its default at quick and paper scale.
func (e Entry) WriteHelp(w io.Writer, variants []string) error {
	quick, paper := e.Params(run.Quick), e.Params(run.Paper)
	fmt.Fprintf(w, "usage: sgdescape %s [flags]\n%s\n", e.Name, e.Summary)
	if e.Variant != "" {
		fmt.Fprintf(w, "(-%s %s; the others: sgdescape %s -%s <%s> -h)\n", e.Selector, e.Variant, e.Name, e.Selector, strings.Join(variants, "|"))
	}
	fmt.Fprintln(w, "parameters (default at -scale quick; at -scale paper where it differs):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if e.Selector != "" {
		fmt.Fprintf(tw, "  -%s %s\twhich experiment of the %s family\t[%s]\n", e.Selector, strings.Join(variants, "|"), e.Name, variants[0])
	}
	for _, p := range quick.Params() {
		def := p.Default
		if q, ok := paper.Lookup(p.Name); ok && q.Default != p.Default {
			def += " (paper: " + q.Default + ")"
		}
		fmt.Fprintf(tw, "  -%s %s\t%s\t[%s]\n", p.Name, p.Kind.Name(), p.Describe(), def)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, `run options:
  -scale quick|paper   which preset the defaults come from (quick: minutes on 2 cores, as the notebooks; paper: the paper's sizes)
  -json                print {"result": …, "provenance": …}
  -nocache             recompute and replace cached results (training checkpoints are still reused)
  -workers n           parallel runs of native engines (0: all cores); results do not depend on it`)
	return err
}
