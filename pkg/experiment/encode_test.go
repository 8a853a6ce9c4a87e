package experiment

import (
	"math"
	"strings"
	"testing"
)

// Encode names every non-finite number by its path from the envelope's
// root, once ("result.fit.slope", not "resultresult.fit.slope").
func TestEncodeNamesNonFinite(t *testing.T) {
	type fit struct {
		Slope float64 `json:"slope"`
	}
	out := Outcome{Result: struct {
		Fit fit     `json:"fit"`
		N   float64 `json:"n"`
	}{fit{math.NaN()}, 2}}
	b, bad, err := out.Encode()
	if err != nil || len(bad) != 1 || bad[0] != "result.fit.slope (NaN)" || !strings.Contains(string(b), `"result.fit.slope (NaN)"`) {
		t.Errorf("%v %q\n%s", err, bad, b)
	}
}
