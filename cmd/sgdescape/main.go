// Command sgdescape runs the experiments of "Power-law escape rate of SGD"
// (Mori, Ziyin, Liu, Ueda, ICML 2022) from the command line.
//
// Usage:
//
//	sgdescape <command> [flags]
//
// Every command takes -json to print {"result": …, "provenance": …}: the
// experiment's result and one run.Envelope (experiment, code version,
// configuration, seed, backend, plugin, git revision, wall time, cache key,
// from-cache). Flag defaults come from the paper's presets at -scale quick
// (the notebooks' quick configuration) or -scale paper.
// Bad input gives a one-line error and a non-zero exit status.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/sgdescape/sgdescape/pkg/registry"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// command is one subcommand: it parses its own flags from args and writes its
// result to stdout; progress and diagnostics go to stderr.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

// commands is the table of subcommands (filled by each command's file).
var commands = map[string]command{}

// usageError marks errors caused by the command line; they exit with status 2.
type usageError struct{ error }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) >= 2 && args[0] == "help" && args[1] == "params" { // the generated parameter reference
		if err := registry.Reference(stdout); err != nil {
			fmt.Fprintf(stderr, "sgdescape help params: %v\n", err)
			return 1
		}
		return 0
	}
	if len(args) >= 2 && args[0] == "help" { // help <command> [flags]: the command's own help
		if _, ok := lookupCommand(args[1]); ok {
			return runMain(append(append([]string{args[1]}, args[2:]...), "-h"), stdout, stderr)
		}
		fmt.Fprintf(stderr, "sgdescape help: unknown command %q; run 'sgdescape help' for the list\n", args[1])
		return 2
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := lookupCommand(args[0])
	if !ok {
		fmt.Fprintf(stderr, "sgdescape: unknown command %q; run 'sgdescape help' for the list\n", args[0])
		return 2
	}
	err := cmd.run(args[1:], stdout, stderr)
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(stderr, "sgdescape %s: %s\n", args[0], msg)
	var ue usageError
	if errors.As(err, &ue) || run.IsBadInput(err) {
		return 2
	}
	return 1
}

// lookupCommand returns the command called name: a registered experiment
// (pkg/experiment) or one of the verbs that are commands (sweep, data, …).
func lookupCommand(name string) (command, bool) {
	for _, e := range registry.All() {
		if e.Name != name {
			continue
		}
		return command{summary: e.Summary, run: func(args []string, stdout, stderr io.Writer) error {
			return runExperiment(name, args, stdout, stderr)
		}}, true
	}
	c, ok := commands[name]
	return c, ok
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: sgdescape <command> [flags]   (sgdescape <command> -h or sgdescape help <command> lists a command's flags)")
	fmt.Fprintln(w, "commands:")
	seen := map[string]bool{}
	for _, n := range registry.Names() {
		c, _ := lookupCommand(n)
		fmt.Fprintf(w, "  %-12s %s\n", n, c.summary)
		seen[n] = true
	}
	names := make([]string, 0, len(commands))
	for n := range commands {
		if !seen[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "  help params  the parameter reference of every experiment (Markdown)")
}

// writeJSON prints v as indented JSON. It encodes the whole value before
// writing anything, so nothing is ever printed half. A value holding NaN or
// ±Inf (which JSON cannot hold) is written with those numbers as null, and
// warnf names them (see safeTree); warnf may be nil.
func writeJSON(w io.Writer, v any, warnf ...func(format string, args ...any)) error {
	b, bad, err := run.MarshalJSON(v)
	if err == nil && len(bad) > 0 && len(warnf) > 0 && warnf[0] != nil {
		warnf[0]("not a finite number, written as null: %s", strings.Join(bad, ", "))
	}
	if err != nil {
		return fmt.Errorf("internal error: the result cannot be written as JSON (%v); nothing was printed — please report this with the command line", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
