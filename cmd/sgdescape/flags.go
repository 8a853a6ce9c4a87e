package main

// Shared flag handling. Every command (the ones here and any added later)
// parses its flags the same way, and gets the same checks for free:
//
//	fs := newFlags("mycommand", stderr)        // a FlagSet that never exits or prints usage on errors
//	n := fs.Int("N", 100, "samples N (≥ 1)")   // ordinary flag declarations
//	if err := parse(fs, args); err != nil { return err }
//
// parse (and checkFlags, which it calls after parsing) guarantees:
//   - -h, -help, --help print the command's help to stderr (exit status 0);
//   - every parse error becomes a single line naming the flag and what it
//     wants (exit status 2), never the flag package's usage dump;
//   - every float64 flag holds a finite number (NaN, ±Inf refused);
//   - every int, int64 and uint64 flag is ≥ 0: counts and sizes cannot be
//     negative (a flag that must accept negative whole numbers should use its
//     own flag.Value type, which the walk leaves alone);
//   - no positional arguments are left over.
// Registered experiments get their flags from their parameter declarations
// (pkg/param, experiment.go); range checks that depend on the experiment
// (B ≤ N, η > 0, …) stay in the configuration's Validate.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"
)

// newFlags returns a FlagSet that reports errors instead of exiting; parse
// prints its help on -h.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sgdescape "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	return fs
}

var invalidValue = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-([^:]+): (.*)$`)

// parse parses flags, prints help for -h/-help, turns parse errors into one
// line, runs checkFlags and rejects stray positional arguments.
func parse(fs *flag.FlagSet, args []string, help ...func(io.Writer) error) error {
	out := fs.Output()
	fs.SetOutput(io.Discard) // the flag package would print the error and the whole usage
	err := fs.Parse(args)
	fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		if len(help) > 0 {
			if herr := help[0](out); herr != nil {
				return herr
			}
			return err
		}
		printFlagHelp(fs, out)
		return err
	}
	if err != nil {
		return usageError{explainParseError(fs, err)}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (every value goes with a flag, -name value; see -h)", fs.Arg(0))
	}
	return checkFlags(fs)
}

// explainParseError rewrites the flag package's message so that it names
// the flag first and says what kind of value it wants.
func explainParseError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		// Keep the flag package's words (tools parse them) and point to the
		// spelling that exists: -max-steps → -maxsteps, -Eta → -eta.
		norm := func(s string) string { return strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(s)) }
		var near []string
		fs.VisitAll(func(f *flag.Flag) {
			if norm(f.Name) == norm(name) {
				near = append(near, "-"+f.Name)
			}
		})
		if len(near) > 0 {
			return fmt.Errorf("%s (did you mean %s?)", msg, strings.Join(near, " or "))
		}
		return err
	}
	m := invalidValue.FindStringSubmatch(msg)
	if m == nil {
		return err // other messages already name the flag
	}
	val, name, why := m[1], m[2], m[3]
	want := ""
	if f := fs.Lookup(name); f != nil {
		if g, ok := f.Value.(flag.Getter); ok {
			switch g.Get().(type) {
			case int, int64:
				want = "a whole number ≥ 0"
			case uint, uint64:
				want = "a whole number ≥ 0"
			case float64:
				want = "a finite number"
			case bool:
				want = "true or false"
			}
		}
	}
	switch {
	case why == "parse error" && want != "":
		return fmt.Errorf("-%s: %q is not %s", name, val, want)
	case why == "value out of range":
		return fmt.Errorf("-%s: %q is out of range", name, val)
	}
	if strings.Contains(why, fmt.Sprintf("%q", val)) || strings.Contains(why, "item ") {
		return fmt.Errorf("-%s: %s", name, why) // a parameter's own message already shows the value
	}
	return fmt.Errorf("-%s: invalid value %q: %s", name, val, why)
}

// checkFlags walks every flag of fs and applies the class-wide checks: float
// flags finite, integer flags non-negative.
func checkFlags(fs *flag.FlagSet) error {
	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		if bad != nil {
			return
		}
		g, ok := f.Value.(flag.Getter)
		if !ok {
			return
		}
		switch v := g.Get().(type) {
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				bad = usagef("-%s: %v is not a finite number", f.Name, v)
			}
		case int:
			if v < 0 {
				bad = usagef("-%s: %d is negative; it is a count or size and must be ≥ 0", f.Name, v)
			}
		case int64:
			if v < 0 {
				bad = usagef("-%s: %d is negative; it is a count or size and must be ≥ 0", f.Name, v)
			}
		}
	})
	return bad
}

// printFlagHelp writes a command's usage line, summary and flags.
func printFlagHelp(fs *flag.FlagSet, w io.Writer) {
	name := strings.TrimPrefix(fs.Name(), "sgdescape ")
	fmt.Fprintf(w, "usage: sgdescape %s [flags]\n", name)
	if c, ok := commands[strings.Fields(name)[0]]; ok {
		fmt.Fprintf(w, "%s\n", c.summary)
	}
	fmt.Fprintln(w, "flags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// finite returns v, or nil when v is NaN or ±Inf: for JSON members that
// may be unavailable (encoding/json refuses non-finite numbers).
func finite(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// positive refuses flags (float or integer) whose value is not > 0, naming
// the flag; call it after parse for every flag that must be positive, so
// that the error names the flag rather than the configuration field.
func positive(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		f := fs.Lookup(n)
		if f == nil {
			panic("positive: no flag -" + n) // a programming error
		}
		g, ok := f.Value.(flag.Getter)
		if !ok {
			continue
		}
		bad := false
		switch v := g.Get().(type) {
		case float64:
			bad = !(v > 0)
		case int:
			bad = v <= 0
		case int64:
			bad = v <= 0
		}
		if bad {
			return usagef("-%s: %s must be > 0", n, f.Value.String())
		}
	}
	return nil
}
