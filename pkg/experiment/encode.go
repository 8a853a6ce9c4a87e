package experiment

import (
	"fmt"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// Written is the JSON every front end writes for a finished run:
// {"result": …, "provenance": …}, and "non_finite" when a number of the
// result is NaN or ±Inf (written as null): its path and value, so that an
// undefined prediction is never a silent null.
type Written struct {
	Result     any          `json:"result"`
	Provenance run.Envelope `json:"provenance"`
	NonFinite  []string     `json:"non_finite,omitempty"`
}

// Encode returns the outcome as indented JSON (Written) and the paths of
// its non-finite numbers.
func (o Outcome) Encode() (b []byte, nonFinite []string, err error) {
	w := Written{Result: o.Result, Provenance: o.Envelope}
	b, nonFinite, err = run.MarshalJSON(w)
	if err != nil {
		return nil, nil, fmt.Errorf("internal error: the result cannot be written as JSON (%v); please report this with the command line", err)
	}
	if len(nonFinite) > 0 {
		w.NonFinite = nonFinite // paths from the envelope's root: "result.fit.loglog.slope (NaN)"
		b, _, err = run.MarshalJSON(w)
	}
	return b, nonFinite, err
}
