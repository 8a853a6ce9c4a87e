// Package plot draws the project's figures with gonum/plot and returns them as
// PNG or SVG bytes; notebooks only display them. Figures refuse non-finite
// data and non-positive values on logarithmic axes with an error naming the
// series, so that a NaN never becomes an empty or misleading plot.
package plot

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Style says how a series is drawn.
type Style int

const (
	Line       Style = iota // solid line
	Dashed                  // dashed line (theory curves)
	Points                  // markers only (measurements)
	LinePoints              // line with markers
	Steps                   // histogram outline: X holds bin edges (len(Y)+1)
)

// Series is one curve. YLo and YHi, when set, are absolute lower and upper
// ends of error bars (for example a 95 % interval).
type Series struct {
	Name     string
	X, Y     []float64
	YLo, YHi []float64
	Style    Style
	// Color picks a palette entry; series with the same Color share a colour
	// (for example a measurement and its theory line). -1 means black.
	Color int
}

// Figure is a titled set of series on one pair of axes.
type Figure struct {
	Title, XLabel, YLabel string
	LogX, LogY            bool
	Series                []Series
	// Width and Height in inches; zero means 6 × 4.
	Width, Height float64
	// XMin, XMax, YMin, YMax fix axis ranges when non-zero.
	XMin, XMax, YMin, YMax float64
	// The legend is drawn outside the axes, to the right of the data, so it
	// never covers a point; the image grows by the legend's width so the data
	// area keeps its size. LegendBottom aligns it with the bottom of the axes
	// instead of the top. LegendLeft is kept for existing callers and has no
	// effect (a legend inside the axes could hide data).
	LegendLeft, LegendBottom bool
}

func (f Figure) check() error {
	if len(f.Series) == 0 {
		return fmt.Errorf("plot %q: no series to draw", f.Title)
	}
	for _, s := range f.Series {
		n := len(s.Y)
		if s.Style == Steps {
			if len(s.X) != n+1 {
				return fmt.Errorf("plot %q, series %q: a step histogram needs len(X) = len(Y)+1 bin edges, got %d and %d", f.Title, s.Name, len(s.X), n)
			}
		} else if len(s.X) != n {
			return fmt.Errorf("plot %q, series %q: len(X)=%d but len(Y)=%d", f.Title, s.Name, len(s.X), n)
		}
		if (s.YLo != nil && len(s.YLo) != n) || (s.YHi != nil && len(s.YHi) != n) {
			return fmt.Errorf("plot %q, series %q: error bars must have one entry per point", f.Title, s.Name)
		}
		if n == 0 {
			return fmt.Errorf("plot %q, series %q: no points", f.Title, s.Name)
		}
		for _, v := range [][]float64{s.X, s.Y, s.YLo, s.YHi} {
			for i, x := range v {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return fmt.Errorf("plot %q, series %q: value %d is %v; refusing to draw non-finite data", f.Title, s.Name, i, x)
				}
			}
		}
		if f.LogX {
			for i, x := range s.X {
				if x <= 0 {
					return fmt.Errorf("plot %q, series %q: x[%d] = %v cannot go on a logarithmic axis", f.Title, s.Name, i, x)
				}
			}
		}
		if f.LogY {
			for _, v := range [][]float64{s.Y, s.YLo} {
				for i, y := range v {
					if y <= 0 {
						return fmt.Errorf("plot %q, series %q: y[%d] = %v cannot go on a logarithmic axis", f.Title, s.Name, i, y)
					}
				}
			}
		}
	}
	return nil
}

func colorOf(i int) color.Color {
	if i < 0 {
		return color.Black
	}
	return plotutil.Color(i)
}

func (f Figure) build() (*gplot.Plot, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	p := gplot.New()
	useFonts(p)
	p.Title.Text = f.Title
	p.X.Label.Text = f.XLabel
	p.Y.Label.Text = f.YLabel
	if f.LogX {
		p.X.Scale = gplot.LogScale{}
		p.X.Tick.Marker = LogTicks{}
	}
	if f.LogY {
		p.Y.Scale = gplot.LogScale{}
		p.Y.Tick.Marker = LogTicks{}
	}
	p.Add(plotter.NewGrid())
	for _, s := range f.Series {
		col := colorOf(s.Color)
		var xy plotter.XYs
		if s.Style == Steps {
			for i, y := range s.Y {
				xy = append(xy, plotter.XY{X: s.X[i], Y: y}, plotter.XY{X: s.X[i+1], Y: y})
			}
		} else {
			xy = make(plotter.XYs, len(s.X))
			for i := range s.X {
				xy[i] = plotter.XY{X: s.X[i], Y: s.Y[i]}
			}
		}
		var thumbs []gplot.Thumbnailer
		if s.Style != Points {
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, fmt.Errorf("plot %q, series %q: %w", f.Title, s.Name, err)
			}
			l.Color = col
			l.Width = vg.Points(1.5)
			if s.Style == Dashed {
				l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
				l.Width = vg.Points(1.2)
			}
			p.Add(l)
			thumbs = append(thumbs, l)
		}
		if s.Style == Points || s.Style == LinePoints {
			sc, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, fmt.Errorf("plot %q, series %q: %w", f.Title, s.Name, err)
			}
			sc.Color = col
			sc.Shape = draw.CircleGlyph{}
			sc.Radius = vg.Points(2.5)
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		if s.YLo != nil && s.YHi != nil {
			eb := make(errPoints, len(s.X))
			for i := range s.X {
				eb[i] = errPoint{s.X[i], s.Y[i], s.Y[i] - s.YLo[i], s.YHi[i] - s.Y[i]}
			}
			bars, err := plotter.NewYErrorBars(eb)
			if err != nil {
				return nil, fmt.Errorf("plot %q, series %q: %w", f.Title, s.Name, err)
			}
			bars.Color = col
			p.Add(bars)
		}
		if s.Name != "" && len(thumbs) > 0 {
			p.Legend.Add(s.Name, thumbs...)
		}
	}
	p.Legend.Top = !f.LegendBottom
	p.Legend.Left = true // icons first, text after; the legend sits right of the axes (render)
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Legend.Padding = vg.Points(2)     // entries apart, so that sub- and superscripts do not touch
	p.Legend.YPosition = draw.PosCenter // each symbol level with the middle of its text
	if f.XMin != 0 {
		p.X.Min = f.XMin
	}
	if f.XMax != 0 {
		p.X.Max = f.XMax
	}
	if f.YMin != 0 {
		p.Y.Min = f.YMin
	}
	if f.YMax != 0 {
		p.Y.Max = f.YMax
	}
	if p.X.Min >= p.X.Max || p.Y.Min >= p.Y.Max {
		return nil, fmt.Errorf("plot %q: empty axis range x [%v, %v], y [%v, %v]", f.Title, p.X.Min, p.X.Max, p.Y.Min, p.Y.Max)
	}
	if (f.LogX && p.X.Min <= 0) || (f.LogY && p.Y.Min <= 0) {
		return nil, fmt.Errorf("plot %q: a logarithmic axis needs a positive range (x from %v, y from %v)", f.Title, p.X.Min, p.Y.Min)
	}
	return p, nil
}

// useFonts makes every text of p use the figures' fonts (fonts.go).
func useFonts(p *gplot.Plot) {
	p.TextHandler = textHandler
	for _, sty := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.X.Tick.Label,
		&p.Y.Label.TextStyle, &p.Y.Tick.Label, &p.Legend.TextStyle} {
		sty.Handler = textHandler
		sty.Font = font.From(sansFont, sty.Font.Size)
	}
}

// fitLabels shrinks an axis label that is longer than its axis (down to 7 pt):
// gonum/plot would otherwise squeeze the data area until the label fits,
// leaving a figure with a wide empty band above the axes.
func fitLabels(p *gplot.Plot, width, height vg.Length) {
	for _, l := range []struct {
		sty   *text.Style
		txt   string
		avail vg.Length
	}{{&p.Y.Label.TextStyle, p.Y.Label.Text, height - vg.Inch}, {&p.X.Label.TextStyle, p.X.Label.Text, width - vg.Inch}} {
		if l.txt == "" || l.avail <= 0 {
			continue
		}
		w, _, _ := textHandler.Box(l.txt, l.sty.Font)
		if w > l.avail {
			l.sty.Font.Size = max(vg.Points(7), l.sty.Font.Size*l.avail/w)
		}
	}
}

// legendGap separates the axes from the legend drawn to their right.
const legendGap = 8 // points

// legendWidth is the width the legend needs right of the axes (0 without entries).
func legendWidth(l *gplot.Legend, height vg.Length) vg.Length {
	c := draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: 100 * vg.Inch, Y: height}}}
	r := l.Rectangle(c)
	if r.Size().X <= 0 {
		return 0
	}
	return r.Size().X + 2*vg.Points(legendGap)
}

// drawWithLegend draws p on the left of c and the legend in the strip of
// width legendW on its right, aligned with the top (or bottom) of the axes.
//
// It also draws the axis labels itself, centred on the data area: gonum/plot
// reserves room for a label as if it sat at the arithmetic middle of the axis
// range, which on a logarithmic axis is near its top (or right) end, and so
// squeezes the data area and leaves an empty band above (or beside) it.
func drawWithLegend(p *gplot.Plot, l *gplot.Legend, c draw.Canvas, legendW vg.Length) {
	xl, yl := p.X.Label, p.Y.Label
	p.X.Label.Text, p.Y.Label.Text = "", ""
	var left, bottom vg.Length
	if yl.Text != "" {
		left = yl.TextStyle.FontExtents().Descent + yl.TextStyle.Height(yl.Text) + yl.Padding
	}
	if xl.Text != "" {
		bottom = xl.TextStyle.Height(xl.Text) + xl.Padding
	}
	plotC := draw.Crop(c, left, -legendW, bottom, 0)
	p.Draw(plotC)
	data := p.DataCanvas(plotC)
	if yl.Text != "" {
		sty := yl.TextStyle
		sty.Rotation += math.Pi / 2
		x := c.Min.X + yl.TextStyle.Height(yl.Text) - yl.TextStyle.FontExtents().Descent
		c.FillText(sty, vg.Point{X: x, Y: data.Center().Y}, yl.Text)
	}
	if xl.Text != "" {
		c.FillText(xl.TextStyle, vg.Point{X: data.Center().X, Y: c.Min.Y + xl.TextStyle.FontExtents().Descent}, xl.Text)
	}
	if legendW == 0 {
		return
	}
	// The strip shares the axes' vertical extent: below the title, above the x axis.
	strip := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: c.Max.X - legendW + vg.Points(legendGap), Y: data.Min.Y},
		Max: vg.Point{X: c.Max.X - vg.Points(legendGap), Y: data.Max.Y},
	}}
	l.Draw(strip)
}

type errPoint struct{ x, y, lo, hi float64 }
type errPoints []errPoint

func (e errPoints) Len() int                        { return len(e) }
func (e errPoints) XY(i int) (float64, float64)     { return e[i].x, e[i].y }
func (e errPoints) YError(i int) (float64, float64) { return e[i].lo, e[i].hi }

func (f Figure) render(format string) (out []byte, err error) {
	defer func() {
		// gonum/plot panics on some degenerate inputs; a figure is never worth a crash.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("plot %q: %v", f.Title, r)
		}
	}()
	p, err := f.build()
	if err != nil {
		return nil, err
	}
	w, h := f.Width, f.Height
	if w == 0 {
		w = 6
	}
	if h == 0 {
		h = 4
	}
	width, height := vg.Length(w)*vg.Inch, vg.Length(h)*vg.Inch
	fitLabels(p, width, height)
	legend := p.Legend
	p.Legend = gplot.NewLegend() // drawn by drawWithLegend, outside the axes
	legendW := legendWidth(&legend, height)
	var wt io.WriterTo
	if format == "png" {
		// 144 dpi: crisp in HTML reports; gonum's default (96) looks blurred.
		c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width+legendW, height), vgimg.UseDPI(144))}
		drawWithLegend(p, &legend, draw.New(c), legendW)
		wt = c
	} else {
		// Fonts embedded, so that every glyph (𝒩, ˢ, …) shows without the fonts installed.
		c := vgsvg.NewWith(vgsvg.UseWH(width+legendW, height), vgsvg.EmbedFonts(true))
		drawWithLegend(p, &legend, draw.New(c), legendW)
		wt = c
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plot %q: %w", f.Title, err)
	}
	return buf.Bytes(), nil
}

// PNG renders the figure as a PNG image.
func (f Figure) PNG() ([]byte, error) { return f.render("png") }

// SVG renders the figure as an SVG document.
func (f Figure) SVG() ([]byte, error) { return f.render("svg") }

// LogTicks labels 1, 2 and 5 times powers of ten when the axis spans at most
// three decades (so that short log axes such as c ∈ [1.2, 6] carry labels),
// every power of ten up to ten decades, and every k-th power of ten beyond,
// keeping at most about eight labels (beyond 40 decades only the labelled
// powers get a tick).
type LogTicks struct{}

// Ticks implements gonum/plot's Ticker.
func (LogTicks) Ticks(min, max float64) []gplot.Tick {
	if !(min > 0) || !(max > min) {
		return nil
	}
	lo := math.Floor(math.Log10(min))
	hi := math.Ceil(math.Log10(max))
	decades := hi - lo
	in := func(v float64) bool { return v >= min*(1-1e-9) && v <= max*(1+1e-9) }
	label := func(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }
	var ticks []gplot.Tick
	switch {
	case max/min < 10:
		// Less than a decade (c ∈ [1.1, 2], say): plain ticks, labelled.
		for _, t := range (gplot.DefaultTicks{}).Ticks(min, max) {
			if t.Value > 0 {
				ticks = append(ticks, t)
			}
		}
	case decades <= 10:
		// Every mantissa gets a tick; labels at 1, 2, 5 (≤ 3 decades) or 1 only.
		labelled := map[int]bool{1: true}
		if decades <= 3 {
			labelled = map[int]bool{1: true, 2: true, 5: true}
		}
		for e := lo; e <= hi; e++ {
			for m := 1; m < 10; m++ {
				v := float64(m) * math.Pow(10, e)
				if !in(v) {
					continue
				}
				t := gplot.Tick{Value: v}
				if labelled[m] {
					t.Label = label(v)
				}
				ticks = append(ticks, t)
			}
		}
	default:
		step := math.Ceil(decades / 8)
		for e := lo; e <= hi; e++ {
			v := math.Pow(10, e)
			if !in(v) {
				continue
			}
			t := gplot.Tick{Value: v}
			if math.Mod(e, step) == 0 {
				t.Label = label(v)
			} else if decades > 40 {
				continue // unlabelled ticks at every decade of a huge range merge into a solid bar
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// Histogram bins values into nbins equal bins over [lo, hi] (or over the data
// range when lo == hi) and returns the bin edges and the probability density
// of each bin (counts / (n·width)); values outside the range are not counted
// but do count in n. When logBins is true the bins are equal in log10 of the
// value, the density is per unit of log10, and non-positive values (which have
// no logarithm) are skipped and not counted in n.
func Histogram(values []float64, nbins int, lo, hi float64, logBins bool) (edges, density []float64, err error) {
	if nbins < 1 {
		return nil, nil, fmt.Errorf("plot: histogram needs at least one bin, got %d", nbins)
	}
	var v []float64
	for _, x := range values {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, nil, fmt.Errorf("plot: histogram of non-finite value %v", x)
		}
		if logBins {
			if x <= 0 {
				continue // zero or negative eigenvalues have no logarithm; callers report how many
			}
			x = math.Log10(x)
		}
		v = append(v, x)
	}
	if len(v) == 0 {
		return nil, nil, fmt.Errorf("plot: histogram of no values")
	}
	if lo == hi {
		lo, hi = v[0], v[0]
		for _, x := range v {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
		if lo == hi {
			lo, hi = lo-0.5, hi+0.5
		}
	} else if logBins {
		if lo <= 0 || hi <= 0 {
			return nil, nil, fmt.Errorf("plot: logarithmic histogram range must be positive, got [%v, %v]", lo, hi)
		}
		lo, hi = math.Log10(lo), math.Log10(hi)
	}
	width := (hi - lo) / float64(nbins)
	counts := make([]float64, nbins)
	for _, x := range v {
		if x < lo || x > hi {
			continue
		}
		i := int((x - lo) / width)
		if i == nbins {
			i--
		}
		counts[i]++
	}
	edges = make([]float64, nbins+1)
	for i := range edges {
		edges[i] = lo + float64(i)*width
		if logBins {
			edges[i] = math.Pow(10, edges[i])
		}
	}
	density = make([]float64, nbins)
	for i, c := range counts {
		density[i] = c / (float64(len(v)) * width)
	}
	return edges, density, nil
}
