package memcheck

import (
	"math"
	"strings"
	"testing"
)

func TestAvailableIsPlausible(t *testing.T) {
	a, ok := Available()
	if !ok {
		t.Skip("no /proc/meminfo")
	}
	if !(a > 1<<20) || math.IsInf(a, 0) {
		t.Fatalf("available memory %v", a)
	}
}

func TestCheck(t *testing.T) {
	if err := Check(1<<20, "a small array", "-N"); err != nil {
		t.Errorf("1 MiB refused: %v", err)
	}
	for _, need := range []float64{1e30, math.Inf(1), math.NaN(), -1, 1e12 * 1e12 * 8} {
		err := Check(need, "the data matrix", "-N or -P")
		if err == nil {
			t.Errorf("%v bytes accepted", need)
			continue
		}
		if !strings.Contains(err.Error(), "lower -N or -P") || strings.Contains(err.Error(), "-6") {
			t.Errorf("%v: message %q", need, err)
		}
	}
}

func TestFormat(t *testing.T) {
	for b, want := range map[float64]string{512: "512 B", 3 << 30: "3 GiB", 1.5 * (1 << 40): "1.5 TiB", 8e24: "7.28e+12 TiB", 1e40: "more than 10^18 TiB"} {
		if got := Format(b); got != want {
			t.Errorf("Format(%v) = %q, want %q", b, got, want)
		}
	}
}
