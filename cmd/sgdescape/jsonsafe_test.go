package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sgdescape/sgdescape/pkg/run"
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
		F    run.Float          `json:"f"`
		T    time.Time          `json:"t"`
		Skip float64            `json:"-"`
		In   inner              `json:"in"`
	}
	v := value{embedded: embedded{math.Inf(-1)}, A: 1.5, B: []float64{1, math.NaN()}, C: map[string]float64{"k": math.Inf(1)},
		D: &inner{X: math.NaN()}, F: run.Float(math.NaN()), T: time.Unix(0, 0).UTC(), Skip: math.NaN(), In: inner{X: 2}}
	var out bytes.Buffer
	var warned string
	err := writeJSON(&out, v, func(f string, a ...any) { warned = f })
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("invalid JSON %s: %v", out.String(), err)
	}
	b := got["b"].([]any)
	if got["a"] != 1.5 || b[0] != 1.0 || b[1] != nil || got["c"].(map[string]any)["k"] != nil || got["e"] != nil ||
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
	if err := writeJSON(&out, fine); err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(fine, "", "  ")
	if strings.TrimSpace(out.String()) != string(want) {
		t.Errorf("finite value changed:\n%s\nwant\n%s", out.String(), want)
	}
}
