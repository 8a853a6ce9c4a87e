package run

import (
	"math"
	"strconv"
)

// Float is a float64 that survives JSON: NaN and ±Inf (an interval that
// could not be computed, say) are written as null and read back as NaN,
// where encoding/json would refuse the whole result.
type Float float64

// MarshalJSON writes null for non-finite values.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON reads null as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	*f = Float(v)
	return err
}

// Interval is a confidence interval whose ends may be unknown (NaN → null).
type Interval [2]Float

// NewInterval builds an Interval from two float64.
func NewInterval(lo, hi float64) Interval { return Interval{Float(lo), Float(hi)} }

// Contains reports whether x lies in the closed interval (false when an end is unknown).
func (iv Interval) Contains(x float64) bool {
	return float64(iv[0]) <= x && x <= float64(iv[1])
}
