package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/data"
)

// tiny are flags appended to a README command line so that it finishes in
// seconds: Go's flag package lets a later flag override an earlier one, so
// the README's own flags are all parsed and checked, only sizes shrink. The
// key is the command (fpt is split by -model). A command without an entry
// (one added to the README later) still has every flag and value parsed:
// it runs with -h appended.
var tiny = map[string][]string{
	"stationary": {"-N", "2000", "-samples", "300", "-every", "10", "-boot", "20"},
	"fpt linreg": {"-N", "1000", "-runs", "16", "-maxsteps", "20000", "-boot", "50"},
	"decoupling": {"-N", "100", "-epochs", "0,1", "-topk", "5"},
	"noise":      {"-N", "200", "-widths", "20", "-epochs", "4", "-every", "1", "-boot", "50"},
	"spectrum":   {"-N", "200", "-pretrain-epochs", "20", "-check-every", "5", "-window", "2"},
	"diagnose":   {"-continue", "0", "-lanczos", "5", "-topk", "3", "-dense-max", "0"},
	"fpt mlp": {"-N", "200", "-pretrain-epochs", "20", "-check-every", "5", "-window", "2", "-allow-nonstationary",
		"-eta", "0.016", "-c", "1.5,2", "-runs", "4", "-maxsteps", "20000", "-boot", "50"},
}

// readmeCommands returns every sgdescape command line of README.md: the
// lines of code blocks that start with `go run ./cmd/sgdescape` or
// `sgdescape`, and inline `sgdescape …` spans without placeholders (…, <name>).
func readmeCommands(t *testing.T) [][]string {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	inCode := false
	for _, line := range strings.Split(string(b), "\n") {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "```") {
			inCode = !inCode
			continue
		}
		if inCode {
			for _, p := range []string{"go run ./cmd/sgdescape ", "sgdescape ", "./sgdescape "} {
				if rest, ok := strings.CutPrefix(trim, p); ok {
					rest, _, _ = strings.Cut(rest, " #") // a shell comment
					out = append(out, strings.Fields(rest))
				}
			}
			continue
		}
		for _, m := range regexp.MustCompile("`sgdescape ([^`]*)`").FindAllStringSubmatch(line, -1) {
			if !strings.ContainsAny(m[1], "…<>") && !strings.Contains(m[1], "...") { // placeholders are not command lines
				out = append(out, strings.Fields(m[1]))
			}
		}
	}
	if len(out) < 5 {
		t.Fatalf("found only %d command lines in README.md", len(out))
	}
	return out
}

func TestReadmeCommandLines(t *testing.T) {
	t.Setenv("SGDESCAPE_CACHE", t.TempDir())
	for _, args := range readmeCommands(t) {
		name := args[0]
		key := name
		if name == "fpt" {
			key = "fpt linreg"
			for i, a := range args {
				if a == "-model" && i+1 < len(args) && args[i+1] == "mlp" {
					key = "fpt mlp"
				}
			}
		}
		full := append([]string{}, args...)
		switch {
		case name == "help" || name == "theory":
		case name == "data":
			full = append(full, "-sets", data.LinReg) // the data sets themselves are checked by `make data`
		case tiny[key] != nil:
			if needsImages(args) && !imagesPresent(args) {
				t.Logf("%v: data set not present, flags checked only", args)
				full = append(full, "-h")
				break
			}
			full = append(full, tiny[key]...)
		default:
			full = append(full, "-h")
		}
		code, out, errs := call(full...)
		if code != 0 {
			t.Errorf("README: sgdescape %s\n  exit %d: %s", strings.Join(args, " "), code, lastLine(errs))
			continue
		}
		if hasJSON(args) && full[len(full)-1] != "-h" {
			var v map[string]any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Errorf("README: sgdescape %s: invalid JSON: %v", strings.Join(args, " "), err)
			}
		}
	}
}

func hasJSON(args []string) bool {
	for _, a := range args {
		if a == "-json" {
			return true
		}
	}
	return false
}

func needsImages(args []string) bool {
	switch args[0] {
	case "decoupling", "noise", "spectrum":
		return true
	case "fpt":
		return strings.Contains(strings.Join(args, " "), "-model mlp")
	}
	return false
}

// imagesPresent reports whether the data set a command line asks for (or
// its default) is usable.
func imagesPresent(args []string) bool {
	set := data.MNIST
	if args[0] == "noise" {
		set = data.Fashion
	}
	for i, a := range args {
		if a == "-data" && i+1 < len(args) {
			set = args[i+1]
		}
	}
	return data.SetStatus(data.Dir(), set).Usable
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
