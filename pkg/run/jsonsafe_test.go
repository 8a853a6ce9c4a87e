package run

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestWriteJSONNeverFailsOnNonFinite(t *testing.T) {
	type inner struct {
		X float64 `json:"x"`
		Y float64 `json:"y,omitempty"`
	}
	type embedded struct {
		E float64 `json:"e"`
	}
	type value struct {
		embedded
		A    float64            `json:"a"`
		B    []float64          `json:"b"`
		C    map[string]float64 `json:"c"`
		D    *inner             `json:"d"`
		F    Float              `json:"f"`
		T    time.Time          `json:"t"`
		Skip float64            `json:"-"`
		In   inner              `json:"in"`
	}
	v := value{embedded: embedded{math.Inf(-1)}, A: 1.5, B: []float64{1, math.NaN()}, C: map[string]float64{"k": math.Inf(1)},
		D: &inner{X: math.NaN()}, F: Float(math.NaN()), T: time.Unix(0, 0).UTC(), Skip: math.NaN(), In: inner{X: 2}}
	var out bytes.Buffer
	b, bad, err := MarshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(b)
	warned := strings.Join(bad, ", ")
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("invalid JSON %s: %v", out.String(), err)
	}
	bs := got["b"].([]any)
	if got["a"] != 1.5 || bs[0] != 1.0 || bs[1] != nil || got["c"].(map[string]any)["k"] != nil || got["e"] != nil ||
		got["d"].(map[string]any)["x"] != nil || got["f"] != nil || got["t"] != "1970-01-01T00:00:00Z" || got["in"].(map[string]any)["x"] != 2.0 {
		t.Errorf("tree: %s", out.String())
	}
	if _, ok := got["Skip"]; ok {
		t.Error(`json:"-" written`)
	}
	if _, ok := got["in"].(map[string]any)["y"]; ok {
		t.Error("omitempty ignored")
	}
	if warned == "" {
		t.Error("no warning")
	}
	// a finite value is encoded exactly as encoding/json does
	out.Reset()
	fine := value{B: []float64{1}, In: inner{X: 2}}
	b, bad, err = MarshalJSON(fine)
	if err != nil || len(bad) > 0 {
		t.Fatal(err, bad)
	}
	out.Write(b)
	want, _ := json.MarshalIndent(fine, "", "  ")
	if strings.TrimSpace(out.String()) != string(want) {
		t.Errorf("finite value changed:\n%s\nwant\n%s", out.String(), want)
	}
}

// Numbers that write themselves as null (Float, Interval) are named too,
// with the output exactly encoding/json's.
func TestMarshalJSONNamesNullFloats(t *testing.T) {
	type point struct {
		K  Float    `json:"kappa"`
		CI Interval `json:"ci"`
		S  string   `json:"s"`
	}
	v := struct {
		Points []point `json:"points"`
		OK     Float   `json:"ok"`
	}{Points: []point{{K: 1, CI: NewInterval(0, 2), S: "null"}, {K: Float(math.Inf(1)), CI: NewInterval(math.NaN(), 3)}}, OK: 2}
	b, bad, err := MarshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(v, "", "  ")
	if !bytes.Equal(b, want) {
		t.Errorf("output %s, encoding/json %s", b, want)
	}
	if got := strings.Join(bad, ", "); got != "points[1].kappa (+Inf), points[1].ci[0] (NaN)" {
		t.Errorf("named %q", got)
	}
	if _, bad, _ := MarshalJSON(point{K: 1, CI: NewInterval(1, 2), S: "null"}); len(bad) != 0 {
		t.Errorf("finite values named: %v", bad)
	}
}

// A float written as null (undefined) reads back as NaN through the cache's
// decoder, never as 0; everything else decodes as encoding/json does.
func TestUnmarshalNullIsNaN(t *testing.T) {
	type inner struct {
		X float64 `json:"x"`
	}
	type emb struct {
		E float64 `json:"e"`
	}
	type value struct {
		emb
		A  float64            `json:"a"`
		B  []float64          `json:"b"`
		M  map[string]float64 `json:"m"`
		P  *inner             `json:"p"`
		F  Float              `json:"f"`
		In inner              `json:"in"`
		N  int                `json:"n"`
	}
	v := value{emb: emb{math.Inf(1)}, A: math.NaN(), B: []float64{1, math.NaN()}, M: map[string]float64{"k": math.NaN(), "j": 2},
		P: &inner{math.NaN()}, F: Float(math.NaN()), In: inner{3}, N: 4}
	b, bad, err := MarshalJSON(v)
	if err != nil || len(bad) != 6 { // E, A, B[1], M.k, P.x and the Float F
		t.Fatal(err, bad)
	}
	var got value
	if err := UnmarshalJSON(b, &got); err != nil {
		t.Fatal(err)
	}
	nan := math.IsNaN
	if !nan(got.E) || !nan(got.A) || got.B[0] != 1 || !nan(got.B[1]) || !nan(got.M["k"]) || got.M["j"] != 2 || !nan(got.P.X) ||
		!nan(float64(got.F)) || got.In.X != 3 || got.N != 4 {
		t.Errorf("decoded %+v (P %+v)", got, *got.P)
	}
	var plain value
	if err := json.Unmarshal(b, &plain); err != nil || plain.A != 0 {
		t.Errorf("encoding/json reads null as %v (the reason for UnmarshalJSON)", plain.A)
	}
}
