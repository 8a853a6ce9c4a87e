// Package notebook is the notebook side of sgdescape: a notebook's
// experiments configured from the registry with the overrides of
// SGDESCAPE_SET (Config) and run or rendered from records (Run), showing figures and tables through GoNB,
// live progress, the run header, and the machine-readable key figures that
// `make report` collects. Experiments themselves live in the other packages;
// a notebook cell calls them and hands the results to this package.
//
// Unlike library packages, Check ends the cell's program on an error: in a
// notebook an error must stop the run loudly (the report runner then names
// the notebook and cell) rather than leave a half-drawn section.
package notebook

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"strings"
	"time"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/plot"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/spectrum"
)

// EnvPrefix prefixes every notebook parameter's environment variable:
// parameter "ETA" is read from SGDESCAPE_ETA.
const EnvPrefix = "SGDESCAPE_"

// Scales accepted by Scale.
const (
	Quick = "quick" // minutes on 2 cores; the default
	Paper = "paper" // the paper's sizes
)

// Check prints err to standard error and ends the cell's program with exit
// status 1 when err is not nil.
func Check(err error) {
	if err != nil {
		gonbui.Sync()
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// Scale returns SGDESCAPE_SCALE ("quick" when unset). Any other value is an error.
func Scale() (string, error) {
	s := strings.TrimSpace(os.Getenv(EnvPrefix + "SCALE"))
	switch s {
	case "", Quick:
		return Quick, nil
	case Paper:
		return Paper, nil
	}
	return "", fmt.Errorf("SGDESCAPE_SCALE=%q: use %q (default) or %q", s, Quick, Paper)
}

// MustScale is Scale with Check.
func MustScale() string {
	s, err := Scale()
	Check(err)
	return s
}

// Header shows the provenance line every notebook starts with: scale,
// backend, git revision, CPUs and date.
func Header(title string) {
	scale := MustScale()
	line := fmt.Sprintf("<b>%s</b> — scale <code>%s</code>, backend <code>%s</code>, linear algebra <code>%s</code>, git <code>%s</code>, %s",
		html.EscapeString(title), scale, html.EscapeString(backend.Name()), html.EscapeString(spectrum.LinalgBackend()), run.GitRevision(),
		time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	display(line, "== "+title+" — scale "+scale+", backend "+backend.Name()+", linear algebra "+spectrum.LinalgBackend()+", git "+run.GitRevision())
}

func display(htmlText, plain string) {
	if gonbui.IsNotebook {
		gonbui.DisplayHTML(htmlText)
	} else {
		fmt.Println(plain)
	}
}

// Show renders a figure inline: a PNG at 144 dots per inch shown at its true
// size (FigureHTML), sharp and no larger than the figure's Width × Height
// plus its legend. A figure that cannot be drawn, for example because of
// non-finite data, ends the cell with the reason.
func Show(f plot.Figure) {
	img, err := FigureHTML(f)
	Check(err)
	if gonbui.IsNotebook {
		gonbui.DisplayHTML(img)
	} else {
		fmt.Printf("[figure %q: %d bytes of HTML]\n", f.Title, len(img))
	}
}

// Caption shows a short italic caption under a figure (runs, seed, backend).
func Caption(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	display("<p style=\"font-size:90%\"><i>"+html.EscapeString(s)+"</i></p>", s)
}

// Markdown shows markdown text produced by a cell (for example a verdict that
// depends on measured numbers).
func Markdown(md string) {
	if gonbui.IsNotebook {
		gonbui.DisplayMarkdown(md)
	} else {
		fmt.Println(md)
	}
}

// Table shows an HTML table with a caption.
func Table(caption string, header []string, rows [][]string) {
	var plain strings.Builder
	plain.WriteString(caption + "\n" + strings.Join(header, " | ") + "\n")
	for _, r := range rows {
		plain.WriteString(strings.Join(r, " | ") + "\n")
	}
	display(TableHTML(caption, header, rows), plain.String())
}

// Progress returns a run.Progress that keeps one live line updated in the
// notebook (and prints throttled lines to standard error outside GoNB).
func Progress(what string) run.Progress {
	if !gonbui.IsNotebook {
		return run.TextProgress(os.Stderr, what, 2*time.Second)
	}
	// The line appears with the first report, so work served from the cache shows none.
	id := "progress-" + gonbui.UniqueID()
	start := time.Now()
	var last time.Time
	return func(done, total int, note string) {
		now := time.Now()
		if done < total && now.Sub(last) < 500*time.Millisecond {
			return
		}
		last = now
		pct := 0.0
		if total > 0 {
			pct = 100 * float64(done) / float64(total)
		}
		msg := fmt.Sprintf("%s: %d/%d (%.0f%%), %s elapsed", what, done, total, pct, now.Sub(start).Round(time.Second))
		if note != "" {
			msg += " — " + note
		}
		gonbui.UpdateHTML(id, "<code>"+html.EscapeString(msg)+"</code>")
	}
}

// KeyFiguresEnv names the file that WriteKeyFigures writes; `make report`
// sets it to reports/<notebook>.json.
const KeyFiguresEnv = EnvPrefix + "KEYFIGURES"

// WriteKeyFigures writes the notebook's key figures (any JSON-serialisable
// value, by convention the comparison table) to $SGDESCAPE_KEYFIGURES when it
// is set, atomically, as {"provenance": Provenance(), "figures": v}. Outside
// `make report` it does nothing.
func WriteKeyFigures(v any) {
	path := os.Getenv(KeyFiguresEnv)
	if path == "" {
		return
	}
	b, err := json.MarshalIndent(map[string]any{"provenance": Provenance(), "figures": v}, "", "  ")
	Check(err)
	Check(run.WriteFileAtomic(path, b))
}

// Provenance returns the fields every key-figures file carries.
func Provenance() map[string]any {
	return map[string]any{
		"scale":        MustScale(),
		"backend":      backend.Name(),
		"linalg":       spectrum.LinalgBackend(),
		"git_revision": run.GitRevision(),
		"written_at":   time.Now().UTC().Format(time.RFC3339),
	}
}
