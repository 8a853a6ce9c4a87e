package plot

import (
	"bytes"
	"math"
	"strings"
	"testing"
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
