package plot

import (
	"bytes"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func TestRendersPNGAndSVG(t *testing.T) {
	f := Figure{
		Title: "t", XLabel: "x", YLabel: "y", LogX: true, LogY: true,
		Series: []Series{
			{Name: "data", X: []float64{1, 2, 4}, Y: []float64{1, 4, 16}, YLo: []float64{0.5, 3, 12}, YHi: []float64{1.5, 5, 20}, Style: Points},
			{Name: "theory", X: []float64{1, 4}, Y: []float64{1, 16}, Style: Dashed},
			{Name: "hist", X: []float64{1, 2, 3}, Y: []float64{1, 2}, Style: Steps, Color: 2},
		},
	}
	png, err := f.PNG()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Error("not a PNG")
	}
	svg, err := f.SVG()
	if err != nil || !strings.Contains(string(svg), "<svg") {
		t.Errorf("not an SVG: %v", err)
	}
	if !strings.Contains(string(svg), "@font-face") {
		t.Error("the SVG does not embed its fonts; a browser without DejaVu would substitute glyphs")
	}
}

func TestRefusesBadData(t *testing.T) {
	cases := map[string]Figure{
		"nan":       {Series: []Series{{Name: "s", X: []float64{1, 2}, Y: []float64{1, math.NaN()}}}},
		"inf":       {Series: []Series{{Name: "s", X: []float64{math.Inf(1)}, Y: []float64{1}}}},
		"logx-zero": {LogX: true, Series: []Series{{Name: "s", X: []float64{0, 1}, Y: []float64{1, 1}}}},
		"logy-neg":  {LogY: true, Series: []Series{{Name: "s", X: []float64{1, 2}, Y: []float64{1, -1}}}},
		"lengths":   {Series: []Series{{Name: "s", X: []float64{1, 2}, Y: []float64{1}}}},
		"steps":     {Series: []Series{{Name: "s", X: []float64{1, 2}, Y: []float64{1, 2}, Style: Steps}}},
		"empty":     {},
		"errbars":   {Series: []Series{{Name: "s", X: []float64{1}, Y: []float64{1}, YLo: []float64{1, 2}, YHi: []float64{1}}}},
	}
	for name, f := range cases {
		if _, err := f.PNG(); err == nil {
			t.Errorf("%s: bad figure rendered", name)
		} else if name != "empty" && !strings.Contains(err.Error(), `"s"`) {
			t.Errorf("%s: error does not name the series: %v", name, err)
		}
	}
}

func TestHistogramIsADensity(t *testing.T) {
	vals := make([]float64, 1000)
	for i := range vals {
		vals[i] = math.Pow(10, -3+6*float64(i)/999)
	}
	for _, logBins := range []bool{false, true} {
		edges, dens, err := Histogram(vals, 20, 0, 0, logBins)
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		for i, d := range dens {
			w := edges[i+1] - edges[i]
			if logBins {
				w = math.Log10(edges[i+1]) - math.Log10(edges[i])
			}
			total += d * w
		}
		if math.Abs(total-1) > 1e-12 {
			t.Errorf("logBins=%v: density integrates to %v", logBins, total)
		}
	}
	if _, _, err := Histogram([]float64{1, math.NaN()}, 3, 0, 0, false); err == nil {
		t.Error("NaN accepted")
	}
	if _, _, err := Histogram([]float64{1}, 0, 0, 0, false); err == nil {
		t.Error("zero bins accepted")
	}
}

func TestLogTicksLabelShortRanges(t *testing.T) {
	ticks := LogTicks{}.Ticks(1.2, 60)
	var labels []string
	for _, tk := range ticks {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if strings.Join(labels, ",") != "2,5,10,20,50" {
		t.Errorf("labels %v, want 2,5,10,20,50", labels)
	}
	n := 0
	for _, tk := range (LogTicks{}).Ticks(1.1, 2) {
		if tk.Label != "" {
			n++
		}
	}
	if n < 3 {
		t.Errorf("less than a decade: %d labels, want at least 3", n)
	}
	for _, r := range [][2]float64{{1e-5, 1e3}, {1e-40, 1e-1}} {
		n := 0
		for _, tk := range (LogTicks{}).Ticks(r[0], r[1]) {
			if tk.Label == "" {
				continue
			}
			n++
			if math.Abs(math.Log10(tk.Value)-math.Round(math.Log10(tk.Value))) > 1e-9 {
				t.Errorf("range %v: label at %v, not a power of ten", r, tk.Value)
			}
		}
		if n < 2 || n > 10 {
			t.Errorf("range %v: %d labels, want 2..10", r, n)
		}
	}
}

func TestAxisLimitsAreIndependent(t *testing.T) {
	f := Figure{Title: "t", LogY: true, YMin: 1e-3, Series: []Series{{Name: "s", X: []float64{1, 2}, Y: []float64{0.1, 1}}}}
	if _, err := f.PNG(); err != nil {
		t.Errorf("YMin alone: %v", err)
	}
	f.YMin, f.YMax = 5, 1
	if _, err := f.PNG(); err == nil {
		t.Error("inverted range accepted")
	}
	f.YMin, f.YMax = -1, 0
	if _, err := f.PNG(); err == nil {
		t.Error("non-positive log range accepted")
	}
}

// usedGlyphs are the non-ASCII characters the notebooks and packages put in
// figure labels (collected from their sources); every one must be drawable.
const usedGlyphs = "±²·½×ˢΔΣαδηθκλμπρστφᵀ–—…⁴⁵⁶ℓ→∂∇−∝≈≤≥𝒩θ*ˢ₀₁₂"

func TestFontsHaveEveryGlyphUsed(t *testing.T) {
	if miss := MissingGlyphs(usedGlyphs); len(miss) > 0 {
		t.Errorf("no font draws %q", string(miss))
	}
	if miss := MissingGlyphs("a\U0010FFFDb"); len(miss) != 1 || miss[0] != '\U0010FFFD' {
		t.Errorf("MissingGlyphs(private-use rune) = %q, want that rune", string(miss))
	}
}

// inkOf draws s with the figures' text handler and counts the dark pixels.
func inkOf(t *testing.T, s string) int {
	t.Helper()
	c := vgimg.NewWith(vgimg.UseWH(4*vg.Inch, vg.Inch), vgimg.UseDPI(72))
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	sty := text.Style{Color: color.Black, Font: font.From(sansFont, 24), Handler: textHandler}
	dc.FillText(sty, vg.Point{X: 10, Y: 30}, s)
	img := c.Image()
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, _, _, _ := img.At(x, y).RGBA(); r < 0x8000 {
				n++
			}
		}
	}
	return n
}

func TestScriptNIsDrawn(t *testing.T) {
	// gonum/plot's default fonts draw 𝒩 as nothing; ours must put ink on the page,
	// and the fallback run must advance the pen (the text after it is not overdrawn).
	if ink := inkOf(t, "𝒩"); ink < 20 {
		t.Errorf("𝒩 drew %d dark pixels: the glyph is missing", ink)
	}
	w1, _, _ := textHandler.Box("𝒩 (SGD noise)", font.From(sansFont, 12))
	w2, _, _ := textHandler.Box(" (SGD noise)", font.From(sansFont, 12))
	if !(w1 > w2) {
		t.Errorf("width with 𝒩 %v not larger than without %v", w1, w2)
	}
	if a, b := inkOf(t, "θˢ/θ*"), inkOf(t, "θ/θ*"); !(a > b) {
		t.Errorf("ˢ added no ink (%d vs %d)", a, b)
	}
}

func TestLegendIsOutsideTheAxes(t *testing.T) {
	base := Figure{Title: "t", Width: 5, Height: 3, Series: []Series{{X: []float64{1, 2}, Y: []float64{1, 2}}}}
	named := base
	named.Series = []Series{{Name: "𝒩 (SGD noise strength), a long legend entry", X: []float64{1, 2}, Y: []float64{1, 2}}}
	for _, tc := range []struct {
		f       Figure
		widerBy bool
	}{{base, false}, {named, true}} {
		b, err := tc.f.PNG()
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if want := 5 * 144; (cfg.Width > want) != tc.widerBy || cfg.Height != 3*144 {
			t.Errorf("legend %v: image %d×%d, base 720×432; a legend must widen the image, nothing else may", tc.widerBy, cfg.Width, cfg.Height)
		}
	}
}

func TestLongAxisLabelsShrinkToFit(t *testing.T) {
	f := Figure{YLabel: strings.Repeat("escape rate κ (per unit t = η·steps) ", 3), XLabel: "x",
		Series: []Series{{X: []float64{1, 2}, Y: []float64{1, 2}}}}
	p, err := f.build()
	if err != nil {
		t.Fatal(err)
	}
	h := 3 * vg.Inch
	xSize := p.X.Label.TextStyle.Font.Size
	fitLabels(p, 6*vg.Inch, h)
	w, _, _ := textHandler.Box(p.Y.Label.Text, p.Y.Label.TextStyle.Font)
	if size := p.Y.Label.TextStyle.Font.Size; w > h-vg.Inch && size > vg.Points(7) {
		t.Errorf("y label %v wide at %v on a %v axis", w, size, h)
	}
	if got := p.X.Label.TextStyle.Font.Size; got != xSize {
		t.Errorf("a short x label was resized from %v to %v", xSize, got)
	}
}

func TestFallbackRunsKeepSpacesInside(t *testing.T) {
	runs := textHandler.runs("𝒩 (SGD) θˢ", font.From(sansFont, 12))
	if len(runs) != 2 || runs[0].text != "𝒩 " || runs[1].text != "(SGD) θˢ" {
		var got []string
		for _, r := range runs {
			got = append(got, r.text)
		}
		t.Errorf("runs = %q, want [\"𝒩 \" \"(SGD) θˢ\"]", got)
	}
}
