package whatif

import (
	"context"
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/linreg"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/theory"
)

func TestTheoryPanel(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		bOverEta, h, n, ratio, lSt float64
		stable                     bool
	}{
		{"paper default", 10, 1, 2, 3, 0.5, true},
		{"unstable: n above n_c", 1, 1, 40, 3, 0.5, false},
		{"extreme barrier, κ underflows", 1000, 10, 1, 100, 0.5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			html, err := TheoryPanel(tc.bOverEta, tc.h, tc.n, tc.ratio, tc.lSt)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(html, "<img"); got != 2 {
				t.Errorf("%d figures, want 2", got)
			}
			sum, err := theory.Summarize(theory.SGD{Eta: 1, B: tc.bOverEta, HStar: tc.h},
				theory.Barrier{LStar: tc.lSt, LSaddle: tc.ratio * tc.lSt, N: tc.n})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Stable != tc.stable {
				t.Fatalf("test case wrong: stable = %v", sum.Stable)
			}
			// The marked point's legend says stable or unstable (in the image's
			// alt text we only have the title, so check the table row).
			if !strings.Contains(html, "<td style=\"padding:2px 8px\">"+map[bool]string{true: "true", false: "false"}[tc.stable]+"</td>") {
				t.Errorf("stability row missing for %v", tc.stable)
			}
		})
	}
	if _, err := TheoryPanel(10, 1, 2, 0.5, 0.5); err == nil {
		t.Error("a saddle below the minimum (ratio < 1) must be an error")
	}
}

func TestStationaryPanel(t *testing.T) {
	c := linreg.PaperStationarySweep(run.Quick)
	c.Base.N, c.Base.Samples, c.Base.Every = 500, 300, 10
	c.Etas, c.Bs = []float64{0.1}, []int{1, 4}
	r, err := linreg.StationarySweep(context.Background(), run.Env{}, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range c.Bs {
		p := r.Result.At(0.1, b)
		if p.B != b {
			t.Fatalf("At(0.1, %d) gave B = %d", b, p.B)
		}
		html, err := StationaryPanel(c, p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(html, "<img") != 1 || !strings.Contains(html, "φ theory 1 + B/(ηh*)") {
			t.Errorf("B = %d: panel incomplete", b)
		}
		fig, note, err := StationaryFigure(c.Config(p), p.Result)
		if err != nil || len(fig.Series) != 4 || !strings.Contains(note, "power law − Gibbs") {
			t.Errorf("B = %d: figure %d series, %q, %v", b, len(fig.Series), note, err)
		}
	}
	p := r.Result.At(0.1, 1)
	p.Result.Diverged = true
	html, err := StationaryPanel(c, p)
	if err != nil || !strings.Contains(html, "diverged") {
		t.Errorf("diverged point: %q, %v", html, err)
	}
	if _, _, err := StationaryFigure(c.Config(p), p.Result); err == nil {
		t.Error("StationaryFigure of a diverged run must be an error")
	}
	p.Result.Diverged, p.Result.Reason = false, "the chains never leave the minimum"
	if html, err := StationaryPanel(c, p); err != nil || !strings.Contains(html, "never leave the minimum") {
		t.Errorf("point without a fit: %q, %v", html, err)
	}
}

func TestOptions(t *testing.T) {
	names, k := Options([]float64{0.01, 0.1, 1}, 0.2)
	if strings.Join(names, ",") != "0.01,0.1,1" || k != 1 {
		t.Errorf("%v %d", names, k)
	}
	if _, k := Options([]float64{1, 2, 4, 8, 16}, 100); k != 4 {
		t.Errorf("nearest to 100: %d", k)
	}
}
