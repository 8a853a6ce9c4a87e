// Package memcheck refuses work that cannot fit in memory before it is
// allocated. Sizes are estimated by the caller in bytes as float64 (so that
// products of huge counts saturate instead of overflowing an integer) and
// compared with the memory this process can still use: MemAvailable from
// /proc/meminfo, capped by a cgroup (v2 memory.max or v1
// memory.limit_in_bytes) limit when one is set.
package memcheck

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// Fraction is the share of the available memory one request may take: the
// rest is left to the runtime, the backend's buffers and the rest of the
// machine.
const Fraction = 0.8

// Available returns the bytes of memory this process can still allocate, and
// false when that cannot be read (not Linux, no /proc).
func Available() (float64, bool) {
	avail := math.Inf(1)
	found := false
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 2 && f[0] == "MemAvailable:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					avail, found = kb*1024, true
				}
			}
		}
	}
	if lim, ok := cgroupLeft(); ok && lim < avail {
		avail, found = lim, true
	}
	return avail, found
}

// cgroupLeft returns the cgroup memory limit minus current usage.
func cgroupLeft() (float64, bool) {
	read := func(p string) (float64, bool) {
		b, err := os.ReadFile(p)
		if err != nil {
			return 0, false
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, false
		}
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil && v < 1<<60
	}
	for _, pair := range [][2]string{
		{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
		{"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"},
	} {
		if lim, ok := read(pair[0]); ok {
			used, _ := read(pair[1])
			return math.Max(lim-used, 0), true
		}
	}
	return 0, false
}

// Check returns an error when need bytes exceed Fraction of the available
// memory (or are not a finite number); what names the allocation and lower
// says which settings to reduce, for example "-N or -samples". When the
// available memory cannot be read, only non-finite sizes are refused.
func Check(need float64, what, lower string) error {
	if math.IsNaN(need) || need < 0 {
		return fmt.Errorf("%s: cannot size the memory needed; lower %s", what, lower)
	}
	avail, ok := Available()
	if math.IsInf(need, 1) || (ok && need > Fraction*avail) {
		have := "unknown"
		if ok {
			have = Format(avail)
		}
		return fmt.Errorf("%s needs %s of memory but only %s is available; lower %s", what, Format(need), have, lower)
	}
	return nil
}

// Format writes a byte count in B, KiB, MiB, GiB or TiB (and saturates to
// "more than 10^18 TiB" instead of overflowing).
func Format(b float64) string {
	switch {
	case math.IsInf(b, 1) || b >= 1e30:
		return "more than 10^18 TiB"
	case b >= 1<<40:
		return fmt.Sprintf("%.3g TiB", b/(1<<40))
	case b >= 1<<30:
		return fmt.Sprintf("%.3g GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.3g MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.3g KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}
