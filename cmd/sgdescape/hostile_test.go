package main

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/registry"
)

// helpFlags runs `<variant> -h` and returns the flags it lists with their
// kinds as PrintDefaults names them: float, int, uint, string, value (list
// flags and other flag.Value types) and "" for booleans.
func helpFlags(t *testing.T, variant []string) map[string]string {
	t.Helper()
	code, out, errs := call(append(append([]string{}, variant...), "-h")...)
	if code != 0 || out != "" {
		t.Errorf("%v -h: exit %d, stdout %q (every command must answer -h)", variant, code, out)
		return nil
	}
	flags := map[string]string{}
	re := regexp.MustCompile(`^  -(\S+)(?: (\S+))?`)
	for _, line := range strings.Split(errs, "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			flags[m[1]] = m[2]
			if m[2] == "text" && strings.Contains(line, "(one of ") {
				flags[m[1]] = "choice" // a registered parameter with choices
			}
		}
	}
	return flags
}

// variants lists every registered command, plus the model-specific flag
// sets of fpt.
func variants() [][]string {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	for _, n := range registry.Names() {
		if _, dup := commands[n]; !dup {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out [][]string
	for _, n := range names {
		out = append(out, []string{n})
		if n == "fpt" {
			out = append(out, []string{"fpt", "-model", "mlp"})
		}
	}
	return out
}

// assertRefused checks the contract for bad input: exit status 2, nothing on
// stdout, exactly one line on stderr that names the flag, no stack trace.
func assertRefused(t *testing.T, args []string, flagName string) {
	t.Helper()
	code, out, errs := call(args...)
	lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
	switch {
	case code != 2:
		t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, errs)
	case out != "":
		t.Errorf("%q: printed to stdout: %q", args, out)
	case len(lines) != 1:
		t.Errorf("%q: %d lines on stderr, want 1: %q", args, len(lines), errs)
	case strings.Contains(errs, "goroutine") || strings.Contains(errs, "panic"):
		t.Errorf("%q: stack trace: %q", args, errs)
	case flagName != "" && !namesParam(lines[0], flagName):
		t.Errorf("%q: the error does not name -%s: %q", args, flagName, lines[0])
	}
}

// namesParam reports whether an error line names parameter name: as the
// flag -name, or as the word name (configuration checks say "N = 10 must
// be larger than P = 10").
func namesParam(line, name string) bool {
	return regexp.MustCompile(`(^|[^A-Za-z0-9-])-?` + regexp.QuoteMeta(name) + `([^A-Za-z0-9-]|$)`).MatchString(line)
}

// TestHostileValuesForEveryFlag gives every flag of every registered
// command (commands added later included) the hostile values of its kind.
func TestHostileValuesForEveryFlag(t *testing.T) {
	t.Setenv("SGDESCAPE_CACHE", t.TempDir())
	family := map[string][]string{
		"float": {"NaN", "nan", "+Inf", "-Inf", "inf", "1e400", "x", "", "1,2"},
		"int":   {"-1", "-1000000000000", "1e308", "1e12", "1.5", "x", ""},
		"uint":  {"-1", "1e308", "1.5", "x", ""},
		"value": {"", ",", "1,,2", "1,2,", "1,x", "NaN", "1,Inf"},
		"":      {"maybe", "2"}, // booleans
		// the kinds of registered experiments' parameters (pkg/param): every
		// integer is ≥ 0 and whole, every number finite, every list strict
		"number":     {"NaN", "nan", "+Inf", "-Inf", "inf", "1e400", "x", "", "1,2"},
		"integer":    {"-1", "-1000000000000", "1e308", "1.5", "x", "", "1,2"},
		"list":       {"", ",", "1,,2", "1,2,", "1,x", "NaN", "1,Inf", "1e400"},
		"true|false": {"maybe", "2"},
		"choice":     {"", "no-such-choice"},
		"text":       {"two\nlines", "nul\x00"}, // free text (a path): any one line
	}
	for _, v := range variants() {
		flags := helpFlags(t, v)
		if len(flags) == 0 {
			continue
		}
		for name, kind := range flags {
			if name == "model" {
				continue // chooses the flag set (tested below)
			}
			for _, val := range family[kind] {
				assertRefused(t, append(append([]string{}, v...), "-"+name+"="+val), name)
			}
		}
	}
}

// TestHostileValuesByMeaning covers values that parse but make no sense
// (zero, negative, huge, empty or unknown names): each is refused up front,
// before any data is loaded or any training starts.
func TestHostileValuesByMeaning(t *testing.T) {
	t.Setenv("SGDESCAPE_CACHE", t.TempDir())
	for _, c := range []struct {
		flag string
		args []string
	}{
		{"B", []string{"theory", "-B", "1e308"}},
		{"Lstar", []string{"theory", "-Lstar", "1e-320"}},
		{"n", []string{"theory", "-n", "1e308"}},
		{"eta", []string{"theory", "-eta", "0"}},
		{"eta", []string{"theory", "-eta", "-1"}},
		{"eta", []string{"stationary", "-eta", "0"}},
		{"N", []string{"stationary", "-N", "1000000000000"}},
		{"bins", []string{"stationary", "-samples", "1000", "-bins", "1000000000000"}},
		{"samples", []string{"stationary", "-samples", "1000000000000"}},
		{"P", []string{"stationary", "-P", "1000", "-N", "2000", "-dynamics", "sde4"}},
		{"boot", []string{"stationary", "-boot", "1000000000000"}},
		{"boot", []string{"stationary", "-samples", "100000", "-boot", "10000"}},
		{"sets", []string{"data", "-sets", "mnist,,cifar10"}},
		{"sets", []string{"data", "-sets", ""}},
		{"sets", []string{"data", "-sets", "imagenet"}},
		{"runs", []string{"fpt", "-runs", "1000000000000"}},
		{"runs", []string{"fpt", "-runs", "0"}},
		{"runs", []string{"fpt", "-runs", "2"}},
		{"c", []string{"fpt", "-c", "1.5"}},
		{"c", []string{"fpt", "-c", "1.5,1.5"}},
		{"c", []string{"fpt", "-c", "0.5,2"}},
		{"fit-cmin", []string{"fpt", "-fit-cmin", "1e308"}},
		{"N", []string{"fpt", "-P", "10", "-N", "10"}},
		{"B", []string{"stationary", "-N", "2", "-B", "2"}},
		{"noise", []string{"stationary", "-labels", "teacher"}},
		{"xstd", []string{"stationary", "-xstd", "1e-300"}},
		{"eta", []string{"stationary", "-eta", "1e-308"}},
		{"eta", []string{"stationary", "-eta", "1e-10"}},
		{"burn", []string{"stationary", "-burn", "1000000000000000000"}},
		{"every", []string{"stationary", "-every", "1000000000000", "-samples", "200"}},
		{"samples", []string{"stationary", "-samples", "10"}},
		{"hs", []string{"theory", "-hs", "-1"}},
		{"Ls", []string{"theory", "-Lstar", "1", "-Ls", "0.5"}},
		{"B", []string{"theory", "-B", "0.5"}},
		{"B", []string{"fpt", "-model", "mlp", "-N", "100", "-B", "100"}},
		{"runs", []string{"fpt", "-model", "mlp", "-runs", "1"}},
		{"boot", []string{"fpt", "-P", "1", "-N", "100", "-runs", "100", "-boot", "1000000000000", "-maxsteps", "100000"}},
		{"boot", []string{"fpt", "-runs", "100000", "-boot", "100000"}},
		{"dynamics", []string{"fpt", "-dynamics", ""}},
		{"model", []string{"fpt", "-model", ""}},
		{"runs", []string{"fpt", "-model", "mlp", "-runs", "1000000000000"}},
		{"widths", []string{"fpt", "-model", "mlp", "-widths", "1000000000"}},
		{"widths", []string{"fpt", "-model", "mlp", "-widths", "0"}},
		{"N", []string{"fpt", "-model", "mlp", "-N", "0"}},
		{"N", []string{"decoupling", "-N", "1000000000000"}},
		{"N", []string{"decoupling", "-N", "0"}},
		{"widths", []string{"decoupling", "-widths", "1000000000"}},
		{"widths", []string{"decoupling", "-widths", "10,,10"}},
		{"widths", []string{"decoupling", "-widths", "0"}},
		{"epochs", []string{"decoupling", "-epochs", ""}},
		{"data", []string{"decoupling", "-data", ""}},
		{"widths", []string{"noise", "-widths", "1000000000"}},
		{"widths", []string{"noise", "-widths", ""}},
		{"epochs", []string{"noise", "-epochs", "1000000000000"}},
		{"convs", []string{"noise", "-arch", "cnn", "-data", "cifar10", "-convs", "1000000000000"}},
		{"N", []string{"noise", "-N", "1000000000000"}},
		{"epochs", []string{"noise", "-data", "fashion-mnist", "-widths", "10", "-N", "100", "-B", "10", "-epochs", "2"}},
		{"channels", []string{"noise", "-arch", "cnn", "-data", "cifar10", "-channels", "0"}},
		{"widths", []string{"spectrum", "-widths", "1000000000"}},
		{"pretrain-epochs", []string{"spectrum", "-N", "20", "-pretrain-B", "5", "-pretrain-epochs", "2"}},
		{"window", []string{"spectrum", "-window", "1"}},
		{"widths", []string{"fpt", "-model", "mlp", "-widths", "2,2"}},
		{"cutoff", []string{"decoupling", "-cutoff", "1"}},
		{"epochs", []string{"decoupling", "-epochs", "3,1"}},
		{"every", []string{"noise", "-epochs", "3", "-every", "4"}},
		{"channels", []string{"noise", "-arch", "cnn", "-data", "cifar10", "-channels", "1,1,1,1,1,1"}},
		{"hutchinson", []string{"spectrum", "-hutchinson", "-1"}},
		{"hutchinson", []string{"spectrum", "-hutchinson", "1000000000000"}},
		{"lanczos", []string{"spectrum", "-lanczos", "1000000000000"}},
		{"lanczos", []string{"spectrum", "-widths", "100000", "-lanczos", "50000"}},
		{"N", []string{"spectrum", "-N", "1000000000000"}},
		{"Ps", []string{"fpt-grid", "-Ps", "1,1"}},
		{"Ps", []string{"fpt-grid", "-Ps", "0"}},
		{"N", []string{"fpt-grid", "-Ps", "1,20000", "-N", "10000"}},
		{"runs", []string{"fpt-dynamics", "-runs", "2"}},
		{"dynamics", []string{"fpt-dynamics", "-dynamics", "sgd"}}, // every dynamics runs: no such flag
		{"B", []string{"noise-panels", "-cnn-B", "301"}},
		{"cnn-channels", []string{"noise-panels", "-cnn-channels", "1,1,,1"}},
		{"mlp-epochs", []string{"noise-panels", "-mlp-epochs", "1"}},
		{"fit-cmin", []string{"fpt", "-model", "mlp", "-fit-cmin", "6"}},
		{"c", []string{"fpt", "-model", "mlp", "-c", "2.5"}},
		{"allow-nonstationary", []string{"fpt", "-model", "mlp", "-allow-nonstationary=maybe"}},
	} {
		assertRefused(t, c.args, c.flag)
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, v := range variants() {
		for _, h := range []string{"-h", "-help", "--help"} {
			code, out, errs := call(append(append([]string{}, v...), h)...)
			if code != 0 || out != "" || !strings.Contains(errs, "sgdescape "+v[0]) {
				t.Errorf("%v %s: exit %d, stdout %q, help %q", v, h, code, out, errs)
			}
		}
		code, _, errs := call(append([]string{"help"}, v...)...)
		if code != 0 || !strings.Contains(errs, "sgdescape "+v[0]) {
			t.Errorf("help %v: exit %d, %q", v, code, errs)
		}
	}
	if code, _, _ := call("help", "nosuchcommand"); code != 2 {
		t.Errorf("help nosuchcommand: exit %d", code)
	}
}

// TestUnknownFlagNamesTheSpelling: a flag spelt with other case, "-" or "_"
// than the registry's is refused with the spelling that exists.
func TestUnknownFlagNamesTheSpelling(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"barrier", "-max-steps", "10"}, "did you mean -maxsteps?"},
		{[]string{"fpt", "-Eta", "1"}, "did you mean -eta?"},
		{[]string{"stationary", "-dt_", "1"}, "did you mean -dt?"},
	} {
		code, _, errs := call(c.args...)
		if code != 2 || !strings.Contains(errs, "flag provided but not defined") || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 and %q", c.args, code, lastLine(errs), c.want)
		}
	}
}

// TestSuiteEmptyItemRefused: -item given but empty is a typo, not "every item".
func TestSuiteEmptyItemRefused(t *testing.T) {
	code, _, errs := call("suite", "-out", t.TempDir(), "-item", "")
	if code != 2 || !strings.Contains(errs, "-item: empty") {
		t.Errorf("exit %d, %q", code, lastLine(errs))
	}
}
