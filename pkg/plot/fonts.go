package plot

import (
	"math"
	"strings"
	"unicode/utf8"

	"codeberg.org/go-fonts/dejavu/dejavumathtexgyre"
	"codeberg.org/go-fonts/dejavu/dejavusans"
	"codeberg.org/go-fonts/dejavu/dejavusansbold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// The figures' fonts, compiled into the binary (codeberg.org/go-fonts/dejavu,
// pinned in go.mod): DejaVu Sans for text — it has the Greek letters, the
// modifier letters (ˢ, ᵀ), super- and subscript digits and the arrows and
// relations the labels use — and DejaVu Math TeX Gyre for what DejaVu Sans
// lacks, the mathematical alphanumerics such as 𝒩 (U+1D4A9). gonum/plot's
// default Liberation fonts have neither 𝒩 nor ˢ, and its plain text handler
// draws a missing glyph as nothing, silently shortening a label.
var (
	sansFont     = font.Font{Typeface: "DejaVu", Variant: "Sans"}
	sansBoldFont = font.Font{Typeface: "DejaVu", Variant: "Sans", Weight: 700}
	mathFont     = font.Font{Typeface: "DejaVu", Variant: "Math"}
)

// textHandler draws labels with DejaVu Sans, switching to DejaVu Math TeX
// Gyre for each rune that DejaVu Sans has no glyph for. It is built once and
// never modified (font.Cache is safe for concurrent use).
var textHandler = newFallbackHandler()

// fallbackHandler is a gonum/plot text.Handler that draws each run of runes
// with the first face (requested font, then fallbacks) that has their glyphs.
type fallbackHandler struct {
	fonts     *font.Cache
	fallbacks []font.Font
}

func mustParse(ttf []byte) *opentype.Font {
	f, err := opentype.Parse(ttf)
	if err != nil {
		panic("plot: embedded font does not parse: " + err.Error()) // a broken build, not bad input
	}
	return f
}

func newFallbackHandler() fallbackHandler {
	coll := font.Collection{
		{Font: sansFont, Face: mustParse(dejavusans.TTF)},
		{Font: sansBoldFont, Face: mustParse(dejavusansbold.TTF)},
		{Font: mathFont, Face: mustParse(dejavumathtexgyre.TTF)},
	}
	return fallbackHandler{fonts: font.NewCache(coll), fallbacks: []font.Font{mathFont}}
}

var _ text.Handler = fallbackHandler{}

// Cache implements text.Handler.
func (h fallbackHandler) Cache() *font.Cache { return h.fonts }

// Extents implements text.Handler: those of the requested font.
func (h fallbackHandler) Extents(fnt font.Font) font.Extents {
	face := h.fonts.Lookup(fnt, fnt.Size)
	return face.Extents()
}

// Lines implements text.Handler.
func (h fallbackHandler) Lines(txt string) []string {
	return strings.Split(strings.TrimRight(txt, "\n"), "\n")
}

func hasGlyph(f font.Face, r rune) bool {
	if f.Face == nil {
		return false
	}
	var buf sfnt.Buffer
	g, err := f.Face.GlyphIndex(&buf, r)
	return err == nil && g != 0
}

// run is a piece of one line drawn with one face.
type run struct {
	face font.Face
	text string
}

// runs splits a line into pieces, each drawn with the first face that has
// all its glyphs; a rune that no face has stays with the requested font.
func (h fallbackHandler) runs(line string, fnt font.Font) []run {
	faces := []font.Face{h.fonts.Lookup(fnt, fnt.Size)}
	for _, fb := range h.fallbacks {
		f := fb
		f.Weight, f.Style = fnt.Weight, fnt.Style
		faces = append(faces, h.fonts.Lookup(f, fnt.Size))
	}
	var out []run
	for len(line) > 0 {
		r, size := utf8.DecodeRuneInString(line)
		if n := len(out); r == ' ' && n > 0 && hasGlyph(out[n-1].face, r) {
			// A space ends the run before it: SVG drops a text element's leading space.
			out[n-1].text += " "
			line = line[size:]
			continue
		}
		pick := 0
		for i, f := range faces {
			if hasGlyph(f, r) {
				pick = i
				break
			}
		}
		if n := len(out); n > 0 && out[n-1].face.Face == faces[pick].Face {
			out[n-1].text += line[:size]
		} else {
			out = append(out, run{faces[pick], line[:size]})
		}
		line = line[size:]
	}
	return out
}

// Box implements text.Handler.
func (h fallbackHandler) Box(txt string, fnt font.Font) (width, height, depth vg.Length) {
	ext := h.Extents(fnt)
	for _, r := range h.runs(txt, fnt) {
		width += r.face.Width(r.text)
	}
	return width, ext.Ascent, ext.Descent
}

// Draw implements text.Handler, following gonum/plot's text.Plain.Draw.
func (h fallbackHandler) Draw(c vg.Canvas, txt string, sty text.Style, pt vg.Point) {
	txt = strings.TrimRight(txt, "\n")
	if len(txt) == 0 {
		return
	}
	c.SetColor(sty.Color)
	if sty.Rotation != 0 {
		c.Push()
		c.Rotate(sty.Rotation)
	}
	sin64, cos64 := math.Sincos(sty.Rotation)
	cos, sin := vg.Length(cos64), vg.Length(sin64)
	pt.X, pt.Y = pt.Y*sin+pt.X*cos, pt.Y*cos-pt.X*sin
	lines := h.Lines(txt)
	ht := sty.Height(txt)
	pt.Y += ht*vg.Length(sty.YAlign) - h.Extents(sty.Font).Ascent
	for i, line := range lines {
		w, _, _ := h.Box(line, sty.Font)
		p := pt.Add(vg.Point{X: vg.Length(sty.XAlign) * w, Y: vg.Length(len(lines)-i) * sty.Font.Size})
		for _, r := range h.runs(line, sty.Font) {
			c.FillString(r.face, p, r.text)
			p.X += r.face.Width(r.text)
		}
	}
	if sty.Rotation != 0 {
		c.Pop()
	}
}

// MissingGlyphs returns the runes of s that none of the figures' fonts can
// draw (empty when every character of a label will appear).
func MissingGlyphs(s string) []rune {
	var miss []rune
	seen := map[rune]bool{}
	for _, r := range s {
		if r == '\n' || r == ' ' || seen[r] {
			continue
		}
		seen[r] = true
		ok := false
		for _, f := range []font.Font{sansFont, mathFont} {
			if hasGlyph(textHandler.fonts.Lookup(f, 10), r) {
				ok = true
				break
			}
		}
		if !ok {
			miss = append(miss, r)
		}
	}
	return miss
}
