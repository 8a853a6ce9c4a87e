package compare

import (
	"fmt"

	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// NoiseRow is the slope of log 𝒩 against log L of one panel; theory (Eq. 6,
// mean-square loss, late training) says 1; the row says whether the late
// slope lies in [0.8, 1.2].
type NoiseRow struct {
	Panel      string       `json:"panel"`
	Arch       string       `json:"arch"`
	Params     int          `json:"params"`
	Loss       string       `json:"loss"`
	Epochs     int          `json:"epochs"`
	FinalLoss  float64      `json:"final_loss"`
	FinalAcc   float64      `json:"final_accuracy"`
	LateFrom   int          `json:"late_from_epoch"`
	LateSlope  float64      `json:"late_slope"`
	LateCI     run.Interval `json:"late_slope_ci"`
	EarlySlope float64      `json:"early_slope"`
	DecRatio   float64      `json:"decoupled_over_noise_late,omitempty"`
	Short      bool         `json:"early_training_only"`
	InBand     bool         `json:"late_slope_in_0.8_1.2"`
	// Diverged: the loss met the divergence rule (network.RunSpec.Diverged)
	// at DivergedAt; the slopes are then not measured.
	Diverged   bool `json:"diverged,omitempty"`
	DivergedAt int  `json:"diverged_at_epoch,omitempty"`
	kind       string
}

// NamedRecord is a recorded paper-scale run with its name.
type NamedRecord struct {
	Name   string
	Record network.NoiseRecord
}

// NoiseRows returns one row per panel, in the result's order, and the table.
func NoiseRows(res network.NoisePanelsResult) ([]NoiseRow, Table) {
	t := Table{Caption: "slope of log 𝒩 against log L", Header: []string{"run", "final L / accuracy", "late epochs", "late slope", "95% CI", "early slope",
		"decoupled/𝒩 (late)", "theory", "in [0.8, 1.2]", "note"}}
	var rows []NoiseRow
	for _, o := range res.Panels {
		p, c := o.NoisePanel, o.Curve
		if c.Diverged || len(c.Points) == 0 {
			r := NoiseRow{Panel: p.Name, Arch: c.Arch, Params: c.Params, Loss: p.Config.Run.Train.Loss, Epochs: p.Config.Epochs,
				Diverged: true, DivergedAt: c.DivergedAt, kind: p.Config.Run.Arch.Kind}
			rows = append(rows, r)
			t.Rows = append(t.Rows, []string{p.Name, "—", "—", "—", "—", "—", "—", "1 (MSE, late)", "no",
				fmt.Sprintf("DIVERGED at epoch %d: no slopes", c.DivergedAt)})
			continue
		}
		last := c.Points[len(c.Points)-1]
		r := NoiseRow{Panel: p.Name, Arch: c.Arch, Params: c.Params, Loss: p.Config.Run.Train.Loss, Epochs: p.Config.Epochs, FinalLoss: last.Loss, FinalAcc: last.Accuracy,
			LateFrom: c.LateFrom, LateSlope: c.LateSlope, LateCI: c.LateSlopeCI, EarlySlope: c.EarlySlope, Short: p.EarlyOnly, kind: p.Config.Run.Arch.Kind}
		r.InBand = c.LateSlope >= 0.8 && c.LateSlope <= 1.2
		if p.Config.Decoupled {
			r.DecRatio = c.LateDecoupledRatio()
		}
		rows = append(rows, r)
		dec := "—"
		if r.DecRatio > 0 {
			dec = fmt.Sprintf("%.2f", r.DecRatio)
		}
		note := ""
		if p.EarlyOnly {
			note = "early training only (quick-scale CNN)"
		}
		t.Rows = append(t.Rows, []string{p.Name, fmt.Sprintf("%.4g / %.3f", last.Loss, last.Accuracy), fmt.Sprintf("≥ %d", c.LateFrom),
			fmt.Sprintf("%.2f", c.LateSlope), fmt.Sprintf("[%.2f, %.2f]", float64(c.LateSlopeCI[0]), float64(c.LateSlopeCI[1])),
			fmt.Sprintf("%.2f", c.EarlySlope), dec, "1 (MSE, late)", yesNo(r.InBand), note})
	}
	return rows, t
}

// row returns the row of architecture kind ("mlp" or "cnn") and loss.
func row(rows []NoiseRow, kind, loss string) (NoiseRow, bool) {
	for _, r := range rows {
		if r.kind == kind && r.Loss == loss {
			return r, true
		}
	}
	return NoiseRow{}, false
}

// NoiseVerdict tells the figure's outcome in words: the mean-square MLP
// against the band, the cross-entropy MLP, the CNNs, and the recorded
// paper-scale runs.
func NoiseVerdict(rows []NoiseRow, recs []NamedRecord) string {
	v := "**Verdict.**"
	for _, r := range rows {
		if r.Diverged {
			v += fmt.Sprintf(" **%s DIVERGED** at epoch %d (full-batch loss non-finite or above %g × the loss of predicting zero): no slopes; lower η.", r.Panel, r.DivergedAt, float64(network.DivergenceFactor))
		}
	}
	if m, ok := row(rows, "mlp", model.MSE); ok && !m.Diverged {
		v += fmt.Sprintf(" Mean-square MLP: late slope %.2f [%.2f, %.2f] (epochs ≥ %d, final L = %.3g), early slope %.2f — ", m.LateSlope, float64(m.LateCI[0]), float64(m.LateCI[1]), m.LateFrom, m.FinalLoss, m.EarlySlope)
		if m.InBand {
			v += "inside [0.8, 1.2]: the noise strength is proportional to the loss late in training, and not early, as the paper and the independent simulation say."
		} else {
			v += "outside [0.8, 1.2]; see the figure: the run may not have reached the small-loss regime."
		}
	}
	if ce, ok := row(rows, "mlp", model.CE); ok && !ce.Diverged {
		v += fmt.Sprintf(" Cross-entropy MLP: late slope %.2f, early %.2f (appendix D expects proportionality at intermediate stages and another power at very small loss).", ce.LateSlope, ce.EarlySlope)
	}
	cm, okm := row(rows, "cnn", model.MSE)
	cc, okc := row(rows, "cnn", model.CE)
	switch {
	case okm && cm.Short:
		v += " The quick-scale CNN runs cover only the first few dozen SGD steps, where the loss has barely moved, so their slopes say nothing about the claim; rerun at paper scale on a GPU."
	case okm && okc && !cm.Diverged && !cc.Diverged:
		v += fmt.Sprintf(" CNN: late slope %.2f (mean-square) and %.2f (cross-entropy).", cm.LateSlope, cc.LateSlope)
	}
	for _, nr := range recs {
		c := nr.Record.Curve
		v += fmt.Sprintf(" Paper scale (H200 record) — %s: late slope %.2f [%.2f, %.2f].", nr.Name, c.LateSlope, float64(c.LateSlopeCI[0]), float64(c.LateSlopeCI[1]))
	}
	return v
}

// RecordsTable shows the recorded paper-scale runs.
func RecordsTable(recs []NamedRecord) Table {
	t := Table{Caption: "paper scale, recorded on an NVIDIA H200", Header: []string{"run", "final L / accuracy", "late epochs", "late slope", "95% CI", "early slope", "wall time"}}
	for _, nr := range recs {
		c := nr.Record.Curve
		last := c.Points[len(c.Points)-1]
		t.Rows = append(t.Rows, []string{nr.Name, fmt.Sprintf("%.3g / %.4f", last.Loss, last.Accuracy), fmt.Sprintf("≥ %d", c.LateFrom),
			fmt.Sprintf("%.2f", c.LateSlope), fmt.Sprintf("[%.2f, %.2f]", float64(c.LateSlopeCI[0]), float64(c.LateSlopeCI[1])), fmt.Sprintf("%.2f", c.EarlySlope), fmt.Sprintf("%.0f s", nr.Record.WallSeconds)})
	}
	return t
}

// RecordFigures are the key figures of the recorded runs, by name.
func RecordFigures(recs []NamedRecord) map[string]any {
	out := map[string]any{}
	for _, nr := range recs {
		c := nr.Record.Curve
		out[nr.Name] = map[string]any{"late_slope": c.LateSlope, "late_slope_ci": c.LateSlopeCI, "early_slope": c.EarlySlope, "final_loss": c.Points[len(c.Points)-1].Loss}
	}
	return out
}
