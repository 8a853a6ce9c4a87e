package run

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Parallel runs fn(ctx, i) for every i in [0, n) on at most workers
// goroutines (GOMAXPROCS when workers ≤ 0), handing out indices in order.
// Every 250 ms, and once at the end, progress receives the number of finished
// items and note() (which may be nil). The first error stops the hand-out of
// further items and is returned; fn should return promptly when ctx is done.
func Parallel(ctx context.Context, n, workers int, progress Progress, note func() string, fn func(ctx context.Context, i int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next, done atomic.Int64
	var firstErr error
	var once sync.Once
	say := func() {
		s := ""
		if note != nil {
			s = note()
		}
		progress.Report(int(done.Load()), n, s)
	}
	stop := make(chan struct{})
	if progress != nil {
		go func() {
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					say()
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(stop)
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr == nil {
		say()
	}
	return firstErr
}
