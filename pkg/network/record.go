package network

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// NoiseRecord is a recorded run of the noise experiment (for example a
// paper-scale run on a GPU, kept under notebooks/records).
type NoiseRecord struct {
	Curve       NoiseCurve `json:"curve"`
	Backend     string     `json:"backend"`
	WallSeconds float64    `json:"wall_seconds"`
}

// legacyNoise is the -json output of `sgdescape noise` before the result
// envelope: one array per quantity.
type legacyNoise struct {
	Epoch      []int        `json:"epoch"`
	Loss       []float64    `json:"loss"`
	Noise      []float64    `json:"noise"`
	TraceSigma []float64    `json:"trace_sigma"`
	Accuracy   []float64    `json:"accuracy"`
	LateSlope  float64      `json:"late_slope"`
	LateCI     run.Interval `json:"late_slope_ci"`
	EarlySlope float64      `json:"early_slope"`
	LateFrom   int          `json:"late_from_epoch"`
	Arch       string       `json:"arch"`
	Params     int          `json:"params"`
	Provenance struct {
		Backend string  `json:"backend"`
		Wall    float64 `json:"wall_seconds"`
	} `json:"provenance"`
}

// ReadNoiseRecord reads the -json output of `sgdescape noise`: the current
// {"result", "provenance"} form or the earlier one (one array per quantity).
func ReadNoiseRecord(path string) (NoiseRecord, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return NoiseRecord{}, err
	}
	var cur struct {
		Result     *NoiseCurve  `json:"result"`
		Provenance run.Envelope `json:"provenance"`
	}
	if err := json.Unmarshal(b, &cur); err == nil && cur.Result != nil {
		return NoiseRecord{Curve: *cur.Result, Backend: cur.Provenance.Backend, WallSeconds: cur.Provenance.WallSeconds}, nil
	}
	var old legacyNoise
	if err := json.Unmarshal(b, &old); err != nil {
		return NoiseRecord{}, fmt.Errorf("network: %s is not a noise record: %w", path, err)
	}
	n := len(old.Epoch)
	if n == 0 || len(old.Loss) != n || len(old.Noise) != n || len(old.Accuracy) != n {
		return NoiseRecord{}, fmt.Errorf("network: %s: the record's epoch, loss, noise and accuracy columns differ in length or are empty", path)
	}
	c := NoiseCurve{Arch: old.Arch, Params: old.Params, LateSlope: old.LateSlope, LateSlopeCI: old.LateCI, EarlySlope: old.EarlySlope, LateFrom: old.LateFrom}
	for i := range old.Epoch {
		p := Point{Epoch: old.Epoch[i], Loss: old.Loss[i], Noise: old.Noise[i], Accuracy: old.Accuracy[i]}
		if i < len(old.TraceSigma) {
			p.TraceSigma = old.TraceSigma[i]
		}
		c.Points = append(c.Points, p)
	}
	return NoiseRecord{Curve: c, Backend: old.Provenance.Backend, WallSeconds: old.Provenance.Wall}, nil
}
