package notebook

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	pngpkg "image/png"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/dom"
	"github.com/janpfeifer/gonb/gonbui/widgets"

	"github.com/sgdescape/sgdescape/pkg/plot"
)

// HeadlessEnv is set (to any non-empty value) by the headless notebook runner
// (notebooks/tools/nbrun.py). GoNB's widgets wait for a browser to answer and
// would hang there, so WhatIf then draws its default figure without sliders.
const HeadlessEnv = EnvPrefix + "HEADLESS"

// WhatIfMinutesEnv sets how many minutes a what-if panel stays live after the
// last slider move (default 15); the cell then ends and keeps its last figure.
const WhatIfMinutesEnv = EnvPrefix + "WHATIF_MINUTES"

// Live reports whether widgets can work: the cell runs under GoNB and not
// under the headless runner.
func Live() bool {
	return gonbui.IsNotebook && strings.TrimSpace(os.Getenv(HeadlessEnv)) == ""
}

// Knob is one what-if slider. The slider has Steps+1 integer positions that
// map onto [Min, Max], evenly in value or, with Log, in log(value); with
// Integer the value is rounded to a whole number. With Options the knob
// instead picks one of the options: positions 0…len(Options)−1 and the value
// is the position. Positions outside the slider's range (a browser can send
// anything) are clamped, never an error.
type Knob struct {
	Label           string
	Min, Max, Value float64 // Value is the starting value; it is clamped into [Min, Max]
	Steps           int     // slider positions − 1; 0 means 100
	Log, Integer    bool
	Options         []string // a choice among these labels instead of a number
	Format          string   // fmt verb for the value shown next to the slider; "%.3g" when empty
}

// Validate says what is wrong with a knob's range.
func (k Knob) Validate() error {
	if len(k.Options) > 0 {
		return nil
	}
	switch {
	case math.IsNaN(k.Min) || math.IsNaN(k.Max) || math.IsInf(k.Min, 0) || math.IsInf(k.Max, 0):
		return fmt.Errorf("what-if knob %q: range [%v, %v] must be finite", k.Label, k.Min, k.Max)
	case !(k.Max > k.Min):
		return fmt.Errorf("what-if knob %q: empty range [%v, %v]; need Min < Max", k.Label, k.Min, k.Max)
	case k.Log && !(k.Min > 0):
		return fmt.Errorf("what-if knob %q: a logarithmic knob needs Min > 0, got %v", k.Label, k.Min)
	case k.Steps < 0:
		return fmt.Errorf("what-if knob %q: Steps = %d must be ≥ 0", k.Label, k.Steps)
	}
	return nil
}

// Positions is the number of slider positions minus one (the slider's max).
func (k Knob) Positions() int {
	switch {
	case len(k.Options) > 0:
		return len(k.Options) - 1
	case k.Steps > 0:
		return k.Steps
	}
	return 100
}

// At returns the knob's value at slider position pos, clamping pos into
// [0, Positions()].
func (k Knob) At(pos int) float64 {
	pos = max(0, min(pos, k.Positions()))
	if len(k.Options) > 0 {
		return float64(pos)
	}
	t := float64(pos) / float64(k.Positions())
	var v float64
	if k.Log {
		v = k.Min * math.Pow(k.Max/k.Min, t)
	} else {
		v = k.Min + (k.Max-k.Min)*t
	}
	if k.Integer {
		v = math.Round(v)
	}
	return math.Max(k.Min, math.Min(k.Max, v))
}

// Position returns the slider position whose value is closest to v; v is
// clamped into the knob's range first (NaN goes to the start).
func (k Knob) Position(v float64) int {
	n := k.Positions()
	if len(k.Options) > 0 {
		if math.IsNaN(v) {
			return 0
		}
		return int(math.Max(0, math.Min(float64(n), math.Round(v))))
	}
	if math.IsNaN(v) {
		v = k.Min
	}
	v = math.Max(k.Min, math.Min(k.Max, v))
	var t float64
	if k.Log {
		t = math.Log(v/k.Min) / math.Log(k.Max/k.Min)
	} else {
		t = (v - k.Min) / (k.Max - k.Min)
	}
	return int(math.Round(t * float64(n)))
}

// Show returns the text shown next to the slider for position pos.
func (k Knob) Show(pos int) string {
	v := k.At(pos)
	if len(k.Options) > 0 {
		return k.Options[int(v)]
	}
	f := k.Format
	if f == "" {
		f = "%.3g"
	}
	return fmt.Sprintf(f, v)
}

// Panel draws the what-if output for the knobs' current values (one value per
// knob, in order) as HTML: figures (FigureHTML), tables (TableHTML), text.
type Panel func(values []float64) (string, error)

// safeDraw calls draw and turns an error or a panic into a visible message,
// so that no slider position can end the cell.
func safeDraw(draw Panel, values []float64) (out string) {
	defer func() {
		if r := recover(); r != nil {
			out = errorHTML(fmt.Errorf("the what-if panel failed at %v: %v", values, r))
			fmt.Fprintf(os.Stderr, "what-if panel panicked: %v\n%s", r, debug.Stack())
		}
	}()
	s, err := draw(values)
	if err != nil {
		return errorHTML(err)
	}
	return s
}

func errorHTML(err error) string {
	return `<p style="color:#b00"><b>Cannot draw these values:</b> ` + html.EscapeString(err.Error()) + `</p>`
}

// WhatIfValues returns the knobs' values at the given slider positions
// (clamped), the values a Panel receives.
func WhatIfValues(knobs []Knob, pos []int) []float64 {
	vs := make([]float64, len(knobs))
	for i, k := range knobs {
		p := 0
		if i < len(pos) {
			p = pos[i]
		}
		vs[i] = k.At(p)
	}
	return vs
}

// StaticNote is the sentence WhatIf shows instead of sliders outside a live kernel.
const StaticNote = "Static figure at the default values: the sliders appear when this notebook runs in JupyterLab (`make lab`); exported reports and headless runs cannot execute widgets."

// BrowserWait is how long WhatIf waits for the browser to answer a slider
// before it falls back to the static figure. JupyterLab answers at once when
// idle, but after "Run All" on 2 busy cores it can take over 20 s to get to
// the widget's message (seen in the JupyterLab browser test); a kernel with
// no browser attached waits this long once.
const BrowserWait = 60 * time.Second

// WhatIf shows one slider per knob above the panel's output and redraws the
// output whenever a slider moves. Outside a live kernel (Live() false, as in
// `make report`), or when no browser answers within BrowserWait, it shows the output
// at the knobs' starting values and a note saying so. The panel stays live
// until WHATIF_MINUTES pass without a move (or the kernel is interrupted); its
// last output stays in the notebook. Bad knob ranges end the cell (Check).
func WhatIf(title string, knobs []Knob, draw Panel) {
	for _, k := range knobs {
		Check(k.Validate())
	}
	pos := make([]int, len(knobs))
	for i, k := range knobs {
		pos[i] = k.Position(k.Value)
	}
	static := func(why string) {
		desc := make([]string, len(knobs))
		for i, k := range knobs {
			desc[i] = k.Label + " = " + k.Show(pos[i])
		}
		Markdown("*" + why + "* (" + strings.Join(desc, ", ") + ")")
		out := safeDraw(draw, WhatIfValues(knobs, pos))
		if gonbui.IsNotebook {
			gonbui.DisplayHTML(`<div class="sgdescape-whatif-out">` + out + `</div>`)
		} else {
			fmt.Println(stripTags(out))
		}
	}
	if !Live() {
		static(StaticNote)
		return
	}

	root := dom.CreateTransientDiv()
	dom.Append(root, `<div class="sgdescape-whatif" style="font:13px sans-serif"><b>`+html.EscapeString(title)+`</b></div>`)
	sliders := make([]*widgets.SliderBuilder, len(knobs))
	labels := make([]string, len(knobs))
	for i, k := range knobs {
		row := "whatif-row-" + gonbui.UniqueID()
		labels[i] = "whatif-val-" + gonbui.UniqueID()
		dom.Append(root, fmt.Sprintf(`<div id="%s" class="sgdescape-whatif-row" style="display:flex;align-items:center;gap:8px;font:13px sans-serif"><span style="min-width:14em">%s</span></div>`,
			row, html.EscapeString(k.Label)))
		ready := make(chan *widgets.SliderBuilder, 1)
		s := widgets.Slider(0, k.Positions(), pos[i]).AppendTo(row)
		go func() { ready <- s.Done() }() // Done waits for the browser's first answer
		select {
		case sliders[i] = <-ready:
		case <-time.After(BrowserWait):
			static(fmt.Sprintf("No browser answered the sliders within %.0f s, so this is the static figure at the default values.", BrowserWait.Seconds()))
			return
		}
		dom.Append(row, fmt.Sprintf(`<code id="%s">%s</code>`, labels[i], html.EscapeString(k.Show(pos[i]))))
	}
	outID := "whatif-out-" + gonbui.UniqueID()
	redraw := func() {
		gonbui.UpdateHTML(outID, `<div class="sgdescape-whatif-out">`+safeDraw(draw, WhatIfValues(knobs, pos))+`</div>`)
	}
	redraw()

	type move struct{ knob, pos int }
	moves := make(chan move, 64)
	for i, s := range sliders {
		c := s.Listen().LatestOnly()
		go func() {
			for p := range c.C {
				moves <- move{i, p}
			}
		}()
	}
	idle := 15 * time.Minute
	if m, err := strconv.ParseFloat(strings.TrimSpace(os.Getenv(WhatIfMinutesEnv)), 64); err == nil && m > 0 && m < 1e6 {
		idle = time.Duration(m * float64(time.Minute))
	}
	timer := time.NewTimer(idle)
	for {
		select {
		case m := <-moves:
			apply := func(m move) {
				pos[m.knob] = max(0, min(m.pos, knobs[m.knob].Positions())) // clamp what the browser sent
				dom.SetInnerText(labels[m.knob], knobs[m.knob].Show(pos[m.knob]))
			}
			apply(m)
		drain: // coalesce a burst of moves into one redraw
			for {
				select {
				case m := <-moves:
					apply(m)
				default:
					break drain
				}
			}
			redraw()
			timer.Reset(idle)
		case <-timer.C:
			Caption("What-if sliders closed after %v without a move; run the cell again to reopen them.", idle)
			return
		}
	}
}

// FigureHTML renders a figure as an inline PNG <img> for a what-if panel.
func FigureHTML(f plot.Figure) (string, error) {
	png, err := f.PNG()
	if err != nil {
		return "", err
	}
	// The PNG has 144 dots per inch (plot.Figure.PNG); shown at 96 CSS pixels
	// per inch it has its true size, as Show's figures have in exported reports.
	width := ""
	if cfg, err := pngpkg.DecodeConfig(bytes.NewReader(png)); err == nil {
		width = fmt.Sprintf(` width="%d"`, cfg.Width*2/3)
	}
	return `<img style="max-width:100%"` + width + ` alt="` + html.EscapeString(f.Title) + `" src="data:image/png;base64,` +
		base64.StdEncoding.EncodeToString(png) + `"/>`, nil
}

// TableHTML returns the HTML of Table (caption, header, rows).
func TableHTML(caption string, header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString(`<table style="border-collapse:collapse;font-size:90%">`)
	if caption != "" {
		b.WriteString("<caption style=\"caption-side:top;text-align:left\"><b>" + html.EscapeString(caption) + "</b></caption>")
	}
	b.WriteString("<thead><tr>")
	for _, h := range header {
		b.WriteString(`<th style="border-bottom:1px solid #888;padding:2px 8px;text-align:left">` + html.EscapeString(h) + "</th>")
	}
	b.WriteString("</tr></thead><tbody>")
	for _, r := range rows {
		b.WriteString("<tr>")
		for _, c := range r {
			b.WriteString(`<td style="padding:2px 8px">` + html.EscapeString(c) + "</td>")
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	return b.String()
}

// stripTags is a crude HTML-to-text for printing a panel outside GoNB.
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}
