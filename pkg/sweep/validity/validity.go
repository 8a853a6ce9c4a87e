// Package validity turns a collected sweep table into maps of where the
// paper's formulas hold: the ratio of a measured quantity to its theory (φ
// of Eq. 17, the first-passage slope of Eq. 15) over one or two swept
// parameters, with the bootstrap interval of each ratio and the region
// within a tolerance (10 %) outlined.
package validity

import (
	"bytes"
	"fmt"
	"html"
	"image/color"
	"math"
	"sort"
	"strconv"

	"github.com/janpfeifer/gonb/gonbui"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sgdescape/sgdescape/pkg/sweep"
)

// Ratio names the columns of a measured value, its interval and its theory;
// the map shows Value/Theory with the interval [Lo/Theory, Hi/Theory].
type Ratio struct {
	Value, Lo, Hi, Theory string
}

// Map is a ratio over a grid of two parameters (Y has one entry, NaN, for a
// ratio over one parameter).
type Map struct {
	XName, YName string
	X, Y         []float64
	// Ratio, Lo and Hi are indexed [y][x]; NaN where there is no estimate,
	// and then Why says why (missing, failed, diverged, no fit, theory ≤ 0).
	Ratio, Lo, Hi [][]float64
	Why           [][]string
	// Tol is the tolerance of the outlined region: |ratio − 1| ≤ Tol.
	Tol float64
}

// FromFrame builds the map of r over the columns x and y of a collected
// table (y == "" for a ratio over x alone). Rows whose keep returns false
// are ignored (keep may be nil). Two rows on the same grid point are an
// error: fix the other parameters with keep.
func FromFrame(fr *sweep.Frame, x, y string, r Ratio, tol float64, keep func(row int) bool) (*Map, error) {
	for _, c := range []string{x, r.Theory} {
		if !fr.Has(c) {
			return nil, fmt.Errorf("validity: the table has no column %q (is it the right sweep?)", c)
		}
	}
	if y != "" && !fr.Has(y) {
		return nil, fmt.Errorf("validity: the table has no column %q (is it the right sweep?)", y)
	}
	m := &Map{XName: x, YName: y, X: fr.Values(x), Tol: tol}
	m.Y = []float64{math.NaN()}
	if y != "" {
		m.Y = fr.Values(y)
	}
	if len(m.X) == 0 || len(m.Y) == 0 {
		return nil, fmt.Errorf("validity: no numeric values of %s / %s in the table", x, y)
	}
	nan := func() [][]float64 {
		g := make([][]float64, len(m.Y))
		for j := range g {
			g[j] = make([]float64, len(m.X))
			for i := range g[j] {
				g[j][i] = math.NaN()
			}
		}
		return g
	}
	m.Ratio, m.Lo, m.Hi = nan(), nan(), nan()
	m.Why = make([][]string, len(m.Y))
	for j := range m.Why {
		m.Why[j] = make([]string, len(m.X))
		for i := range m.Why[j] {
			m.Why[j][i] = "not in the sweep"
		}
	}
	seen := map[[2]int]bool{}
	for row := range fr.Rows {
		if keep != nil && !keep(row) {
			continue
		}
		i := sort.SearchFloat64s(m.X, fr.Float(row, x))
		j := 0
		if y != "" {
			j = sort.SearchFloat64s(m.Y, fr.Float(row, y))
		}
		if i >= len(m.X) || j >= len(m.Y) || m.X[i] != fr.Float(row, x) || (y != "" && m.Y[j] != fr.Float(row, y)) {
			// A row whose axis value is not a number: the table was edited or
			// is not a sweep's; say so rather than draw a map without it.
			at := fmt.Sprintf("%s = %q", x, fr.Str(row, x))
			if y != "" {
				at += fmt.Sprintf(", %s = %q", y, fr.Str(row, y))
			}
			return nil, fmt.Errorf("validity: row %d: %s is not a point of the grid (not a number); is the table a collected sweep?", row, at)
		}
		if seen[[2]int{i, j}] {
			return nil, fmt.Errorf("validity: two rows at %s=%g %s=%g; select one with keep (another parameter varies)", x, m.X[i], y, m.Y[j])
		}
		seen[[2]int{i, j}] = true
		th := fr.Float(row, r.Theory)
		v, lo, hi := fr.Float(row, r.Value), fr.Float(row, r.Lo), fr.Float(row, r.Hi)
		switch {
		case fr.Str(row, "status") != "" && fr.Str(row, "status") != sweep.Done:
			m.Why[j][i] = fr.Str(row, "status")
		case fr.Float(row, "diverged") > 0 || fr.Str(row, "diverged") == "true":
			m.Why[j][i] = "diverged"
		case fr.Str(row, "slower_than_budget") == "true":
			m.Why[j][i] = "slower than the step budget"
		case math.IsNaN(v):
			m.Why[j][i] = "no fit"
		case !(th > 0):
			m.Why[j][i] = "theory ≤ 0"
		default:
			m.Why[j][i] = ""
			m.Ratio[j][i], m.Lo[j][i], m.Hi[j][i] = v/th, lo/th, hi/th
		}
	}
	return m, nil
}

// Within reports whether the ratio at (i, j) is within the tolerance.
func (m *Map) Within(i, j int) bool {
	return math.Abs(m.Ratio[j][i]-1) <= m.Tol
}

// Counts returns how many grid points have an estimate and how many of
// those are within the tolerance.
func (m *Map) Counts() (measured, within int) {
	for j := range m.Y {
		for i := range m.X {
			if !math.IsNaN(m.Ratio[j][i]) {
				measured++
				if m.Within(i, j) {
					within++
				}
			}
		}
	}
	return
}

// Cell writes one grid point as "1.03 [0.95, 1.10]", or the reason it has none.
func (m *Map) Cell(i, j int) string {
	if math.IsNaN(m.Ratio[j][i]) {
		return m.Why[j][i]
	}
	return fmt.Sprintf("%.2f [%s, %s]", m.Ratio[j][i], fmtNum(m.Lo[j][i]), fmtNum(m.Hi[j][i]))
}

func fmtNum(v float64) string {
	if math.IsNaN(v) {
		return "?"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// grid adapts a Map to plotter.GridXYZ on cell indices; the colour is
// log2 of the ratio.
type grid struct{ m *Map }

func (g grid) Dims() (c, r int)   { return len(g.m.X), len(g.m.Y) }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }
func (g grid) Z(c, r int) float64 { return math.Log2(g.m.Ratio[r][c]) }

type ticks []string

func (t ticks) Ticks(min, max float64) []gplot.Tick {
	var out []gplot.Tick
	for i, s := range t {
		out = append(out, gplot.Tick{Value: float64(i), Label: s})
	}
	return out
}

func labels(v []float64) ticks {
	out := make(ticks, len(v))
	for i, x := range v {
		out[i] = strconv.FormatFloat(x, 'g', 4, 64)
	}
	return out
}

// PNG draws the map: cells coloured by log₂ of the ratio (blue: measured
// below theory, red: above; white: agreement), each annotated with the ratio
// and its interval, grey where there is no estimate (with the reason), and
// the region within the tolerance outlined in black. A colour bar is on the
// right. Only two-parameter maps are drawn this way.
func (m *Map) PNG(title string, width, height float64) ([]byte, error) {
	if m.YName == "" {
		return nil, fmt.Errorf("validity: %s is a ratio over one parameter; draw it as a curve", title)
	}
	if width == 0 {
		width, height = 7, 4.5
	}
	pal := moreland.SmoothBlueRed()
	pal.SetMin(-1)
	pal.SetMax(1)
	p := gplot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = m.XName, m.YName
	p.X.Tick.Marker, p.Y.Tick.Marker = labels(m.X), labels(m.Y)
	hm := plotter.NewHeatMap(grid{m}, pal.Palette(255))
	hm.Min, hm.Max = -1, 1
	hm.Underflow, hm.Overflow = pal.Palette(255).Colors()[0], pal.Palette(255).Colors()[254]
	hm.NaN = color.Gray{Y: 200}
	p.Add(hm)
	var xys plotter.XYs
	var texts []string
	for j := range m.Y {
		for i := range m.X {
			xys = append(xys, plotter.XY{X: float64(i), Y: float64(j)})
			if math.IsNaN(m.Ratio[j][i]) {
				texts = append(texts, m.Why[j][i])
			} else {
				texts = append(texts, fmt.Sprintf("%.2f\n[%s, %s]", m.Ratio[j][i], fmtNum(m.Lo[j][i]), fmtNum(m.Hi[j][i])))
			}
		}
	}
	lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
	if err != nil {
		return nil, err
	}
	for k := range lab.TextStyle {
		lab.TextStyle[k].XAlign, lab.TextStyle[k].YAlign = draw.XCenter, draw.YCenter
		lab.TextStyle[k].Font.Size = vg.Points(8)
	}
	p.Add(lab)
	// Outline: the edges between a cell within the tolerance and one that is not.
	in := func(i, j int) bool {
		return i >= 0 && j >= 0 && i < len(m.X) && j < len(m.Y) && !math.IsNaN(m.Ratio[j][i]) && m.Within(i, j)
	}
	edge := func(x0, y0, x1, y1 float64) error {
		l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: y0}, {X: x1, Y: y1}})
		if err != nil {
			return err
		}
		l.Width = vg.Points(2.5)
		l.Color = color.Black
		p.Add(l)
		return nil
	}
	for j := range m.Y {
		for i := range m.X {
			if !in(i, j) {
				continue
			}
			x, y := float64(i), float64(j)
			for _, e := range []struct {
				di, dj         int
				x0, y0, x1, y1 float64
			}{{-1, 0, x - .5, y - .5, x - .5, y + .5}, {1, 0, x + .5, y - .5, x + .5, y + .5},
				{0, -1, x - .5, y - .5, x + .5, y - .5}, {0, 1, x - .5, y + .5, x + .5, y + .5}} {
				if !in(i+e.di, j+e.dj) {
					if err := edge(e.x0, e.y0, e.x1, e.y1); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	p.X.Min, p.X.Max = -.5, float64(len(m.X))-.5
	p.Y.Min, p.Y.Max = -.5, float64(len(m.Y))-.5

	bar := gplot.New()
	bar.Title.Text = "ratio"
	bar.Title.TextStyle.Font.Size = font.Length(9)
	cb := &plotter.ColorBar{ColorMap: pal, Vertical: true}
	bar.Add(cb)
	bar.HideX()
	bar.Y.Tick.Marker = gplot.TickerFunc(func(min, max float64) []gplot.Tick {
		var t []gplot.Tick
		for _, r := range []float64{0.5, 0.67, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 2} {
			t = append(t, gplot.Tick{Value: math.Log2(r), Label: strconv.FormatFloat(r, 'g', 3, 64)})
		}
		return t
	})

	w, h := vg.Length(width)*vg.Inch, vg.Length(height)*vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	barW := vg.Length(0.9) * vg.Inch
	p.Draw(draw.Crop(dc, 0, -barW, 0, 0))
	bar.Draw(draw.Crop(dc, w-barW, 0, vg.Length(0.35)*vg.Inch, -vg.Length(0.1)*vg.Inch))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Show displays a map (PNG) with its caption in a GoNB notebook and waits
// until the kernel has received both (a cell's program that exits right
// after displaying can otherwise lose its output); outside a notebook it
// prints the caption and the size of the image.
func Show(png []byte, caption string) {
	if !gonbui.IsNotebook {
		fmt.Printf("[map: %d bytes of PNG]\n%s\n", len(png), caption)
		return
	}
	gonbui.DisplayPNG(png)
	gonbui.DisplayHTML(`<p style="font-size:90%"><i>` + html.EscapeString(caption) + `</i></p>`)
	gonbui.Sync()
}

// Flush waits until the notebook kernel has received everything displayed so far.
func Flush() {
	if gonbui.IsNotebook {
		gonbui.Sync()
	}
}

// Furthest lists the k grid points furthest from the theory (largest
// |log ratio|) as "eta=1, B=16: 0.49 [0.47, 0.52]".
func (m *Map) Furthest(k int) []string {
	type pt struct {
		i, j int
		d    float64
	}
	var pts []pt
	for j := range m.Y {
		for i := range m.X {
			if r := m.Ratio[j][i]; !math.IsNaN(r) {
				pts = append(pts, pt{i, j, math.Abs(math.Log(r))})
			}
		}
	}
	sort.SliceStable(pts, func(a, b int) bool { return pts[a].d > pts[b].d })
	var out []string
	for _, p := range pts[:min(k, len(pts))] {
		where := fmt.Sprintf("%s=%g", m.XName, m.X[p.i])
		if m.YName != "" {
			where += fmt.Sprintf(", %s=%g", m.YName, m.Y[p.j])
		}
		out = append(out, where+": "+m.Cell(p.i, p.j))
	}
	return out
}
