package run

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Progress receives reports from long computations: done out of total units
// (steps, runs, epochs), with a short note. A nil Progress is valid and
// ignored; call Report to use one safely.
type Progress func(done, total int, note string)

// Report calls p when it is not nil.
func (p Progress) Report(done, total int, note string) {
	if p != nil {
		p(done, total, note)
	}
}

// TextProgress returns a Progress that writes a line to w at most once per
// interval (and always for the last unit), with percentage, elapsed time and a
// naive estimate of the time left. It is safe for concurrent use.
func TextProgress(w io.Writer, what string, interval time.Duration) Progress {
	var mu sync.Mutex
	start := time.Now()
	var last time.Time
	return func(done, total int, note string) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if done < total && now.Sub(last) < interval {
			return
		}
		last = now
		el := now.Sub(start)
		line := fmt.Sprintf("[%s] %d/%d", what, done, total)
		if total > 0 {
			line += fmt.Sprintf(" (%.0f%%)", 100*float64(done)/float64(total))
		}
		line += fmt.Sprintf(" elapsed %s", el.Round(time.Second))
		if done > 0 && done < total {
			left := time.Duration(float64(el) * float64(total-done) / float64(done))
			line += fmt.Sprintf(", about %s left", left.Round(time.Second))
		}
		if note != "" {
			line += " — " + note
		}
		fmt.Fprintln(w, line)
	}
}
