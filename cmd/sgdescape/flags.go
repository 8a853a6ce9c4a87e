package main

// Shared flag handling. Every command (the ones here and any added later)
// parses its flags the same way, and gets the same checks for free:
//
//	fs := newFlags("mycommand", stderr)        // a FlagSet that never exits or prints usage on errors
//	n := fs.Int("N", 100, "samples N (≥ 1)")   // ordinary flag declarations
//	cs := floatList(fs, "c", "1.5,2", "thresholds c > 1")   // a list flag: strict, finite items
//	ws := intList(fs, "widths", "10", "hidden widths")       // a list of whole numbers ≥ 0
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
//   - list flags have no empty items ("10,,10" is an error, not "10,10"),
//     only finite numbers, and whole numbers for intList;
//   - no positional arguments are left over.
// Range checks that depend on the experiment (B ≤ N, η > 0, …) stay in the
// configuration's Validate; memory checks use pkg/memcheck.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"

	"github.com/sgdescape/sgdescape/pkg/run"
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
	m := invalidValue.FindStringSubmatch(msg)
	if m == nil {
		return err // "flag provided but not defined: -x" and the like already name the flag (and tools parse them)
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

// floatListValue is a comma-separated list of finite numbers (flag.Value).
type floatListValue struct {
	s    string
	vals []float64
}

func (l *floatListValue) String() string {
	if l == nil {
		return ""
	}
	return l.s
}

func (l *floatListValue) Set(s string) error {
	v, err := run.ParseFloats(s)
	if err != nil {
		return err
	}
	l.s, l.vals = s, v
	return nil
}

func (l *floatListValue) Get() any { return l.vals }

// floatList declares a list flag of finite numbers with a default list.
func floatList(fs *flag.FlagSet, name, def, usage string) *[]float64 {
	l := &floatListValue{}
	if err := l.Set(def); err != nil {
		panic(fmt.Sprintf("flag -%s: bad default %q: %v", name, def, err)) // a programming error
	}
	fs.Var(l, name, usage)
	return &l.vals
}

// intListValue is a comma-separated list of whole numbers ≥ 0 (flag.Value).
type intListValue struct {
	s    string
	vals []int
}

func (l *intListValue) String() string {
	if l == nil {
		return ""
	}
	return l.s
}

func (l *intListValue) Set(s string) error {
	fl, err := run.ParseFloats(s)
	if err != nil {
		return err
	}
	out := make([]int, len(fl))
	for i, f := range fl {
		if f != math.Trunc(f) || f < 0 || f > 1<<53 {
			return fmt.Errorf("item %d (%v) is not a whole number ≥ 0", i+1, f)
		}
		out[i] = int(f)
	}
	l.s, l.vals = s, out
	return nil
}

func (l *intListValue) Get() any { return l.vals }

// intList declares a list flag of whole numbers ≥ 0 with a default list.
func intList(fs *flag.FlagSet, name, def, usage string) *[]int {
	l := &intListValue{}
	if err := l.Set(def); err != nil {
		panic(fmt.Sprintf("flag -%s: bad default %q: %v", name, def, err))
	}
	fs.Var(l, name, usage)
	return &l.vals
}

// atMost refuses a count above limit, saying why the limit is there.
func atMost(flagName string, v, limit int64, why string) error {
	if v > limit {
		return usagef("-%s %d is more than %d: %s", flagName, v, limit, why)
	}
	return nil
}

// finite returns v, or nil when v is NaN or ±Inf: for JSON members that
// may be unavailable (encoding/json refuses non-finite numbers).
func finite(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// fmtFloat prints v with verb, or "unavailable" when it is not finite.
func fmtFloat(verb string, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "unavailable"
	}
	return fmt.Sprintf(verb, v)
}

// finiteAll maps finite over a slice (non-finite entries become null).
func finiteAll(v []float64) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = finite(x)
	}
	return out
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

// optFloatList is floatList with an optional default: def "" leaves the
// list nil (the command then picks its own default).
func optFloatList(fs *flag.FlagSet, name, def, usage string) *[]float64 {
	if def != "" {
		return floatList(fs, name, def, usage)
	}
	l := &floatListValue{}
	fs.Var(l, name, usage)
	return &l.vals
}
