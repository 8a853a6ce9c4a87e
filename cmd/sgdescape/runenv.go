package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

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
