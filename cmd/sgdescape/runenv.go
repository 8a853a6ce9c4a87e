package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/sgdescape/sgdescape/pkg/memcheck"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// nocacheHelp is the help of every command's -nocache flag.
const nocacheHelp = "recompute every result instead of reusing the cache, and replace the cache entries with the new results (training checkpoints are still reused)"

// cacheFor returns the cache of a command: the default folder; Refresh with
// -nocache; read-only, with a warning, when the folder cannot be written;
// and a warning instead of a failure when a finished result cannot be stored
// (the result is printed all the same).
func cacheFor(noCache bool, stderr io.Writer) run.Cache {
	c := run.DefaultCache()
	if c.Dir == "" {
		return c
	}
	c.Refresh = noCache
	var once sync.Once
	c.OnStoreError = func(err error) {
		once.Do(func() {
			fmt.Fprintf(stderr, "sgdescape: warning: a result could not be cached (%v); it is printed but will be recomputed next time\n", err)
		})
	}
	if err := probeWritable(c.Dir); err != nil {
		fmt.Fprintf(stderr, "sgdescape: warning: the cache folder %s cannot be written (%v): results are printed but not cached (set SGDESCAPE_CACHE to a writable folder)\n", c.Dir, err)
		c.ReadOnly = true
	}
	return c
}

// probeWritable creates and removes a file in dir (creating dir if needed).
func probeWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// heartbeatAfter is how long a command may stay silent before it says that
// it is still working.
const heartbeatAfter = 5 * time.Second

// progressFor returns the Progress of a command (a line at most every 2 s)
// and a stop function. While the command runs, a phase that reports no
// progress for heartbeatAfter (a bootstrap, a dense eigendecomposition,
// loading data) gets a line every heartbeatAfter saying that it is still
// working, how long it has run and what it reported last; so no phase
// longer than a few seconds is silent.
func progressFor(stderr io.Writer, what string) (run.Progress, func()) {
	text := run.TextProgress(stderr, what, 2*time.Second)
	var mu sync.Mutex
	start, last, lastNote := time.Now(), time.Now(), "starting"
	p := func(done, total int, note string) {
		mu.Lock()
		last = time.Now()
		lastNote = fmt.Sprintf("%d/%d", done, total)
		if note != "" {
			lastNote += " — " + note
		}
		mu.Unlock()
		text(done, total, note)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(heartbeatAfter / 5)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				mu.Lock()
				if now.Sub(last) >= heartbeatAfter {
					fmt.Fprintf(stderr, "[%s] still working, elapsed %s (last report: %s)\n", what, now.Sub(start).Round(time.Second), lastNote)
					last = now
				}
				mu.Unlock()
			}
		}
	}()
	var once sync.Once
	return p, func() { once.Do(func() { close(stop); wg.Wait() }) }
}

// checkMemory refuses a configuration whose estimated memory exceeds what
// the machine has, naming the flags to lower.
func checkMemory(what string, bytes float64, lower string) error {
	if err := memcheck.Check(bytes, what, lower); err != nil {
		return usageError{err}
	}
	return nil
}

// Limits on work that would otherwise run for hours or forever without a
// better answer.
const (
	// maxBoot: a 95 % percentile interval is stable to about 1 % with
	// 10⁴ resamples; 10⁵ is far beyond any need.
	maxBoot = 100000
	// Budgets of resamples × items per resample, each about a minute of
	// work on one core (measured: 4·10⁸ run-threshold items of the
	// first-passage bootstrap take 15 s, 2·10⁸ samples of the φ fit 26 s).
	bootWorkFPT        = 2e9
	bootWorkStationary = 5e8
	bootWorkSmall      = 1e9 // per-epoch slopes: a handful of points
)

// checkBoot bounds a bootstrap: at most maxBoot resamples, and at most
// budget resampled items in all.
func checkBoot(boot int, items float64, itemsFlag string, budget float64) error {
	if err := atMost("boot", int64(boot), maxBoot, "95 % intervals are stable with 1000–10000 resamples"); err != nil {
		return err
	}
	if w := float64(boot) * items; w > budget {
		return usagef("-boot %d × %.0f items (%s) = %.3g resampled items is more than %.0g (over a minute of bootstrap, growing linearly): lower -boot or %s", boot, items, itemsFlag, w, budget, itemsFlag)
	}
	return nil
}
