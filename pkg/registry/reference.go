package registry

import (
	"fmt"
	"io"
	"strings"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// Reference writes the parameter reference of every experiment as
// Markdown (PARAMETERS.md is this output; a test keeps it current).
func Reference(w io.Writer) error {
	fmt.Fprintln(w, "# Parameter reference")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Generated from the registry (`pkg/registry`) by `sgdescape help params`; do not edit.")
	fmt.Fprintln(w, "Each parameter has one name everywhere: the flag `-name`, the notebook override")
	fmt.Fprintln(w, "`SGDESCAPE_SET=\"experiment.name=value\"` and the sweep axis `\"name\"`.")
	for _, e := range All() {
		quick, paper := e.Params(run.Quick), e.Params(run.Paper)
		title := e.Name
		if e.Variant != "" {
			title += fmt.Sprintf(" -%s %s", e.Selector, e.Variant)
		}
		fmt.Fprintf(w, "\n## %s\n\n%s\n\n| parameter | type | meaning | quick | paper |\n|---|---|---|---|---|\n", title, e.Summary)
		for _, p := range quick.Params() {
			pd := ""
			if q, ok := paper.Lookup(p.Name); ok {
				pd = q.Default
			}
			fmt.Fprintf(w, "| `%s` | %s | %s | `%s` | `%s` |\n", p.Name, p.Kind.Name(), strings.ReplaceAll(p.Describe(), "|", "\\|"), p.Default, pd)
		}
	}
	return nil
}
