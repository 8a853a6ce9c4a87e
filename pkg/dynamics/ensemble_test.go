package dynamics

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// countdown is a toy ensemble: run r's loss is r + steps (so run r
// "diverges" once its loss reaches limit), time is steps/10.
type countdown struct{ limit float64 }

type counter struct {
	r, steps int
	limit    float64
}

func (c *counter) Step(bool) (float64, float64, bool) {
	c.steps++
	t, l := c.Observe()
	return t, l, !(l < c.limit)
}
func (c *counter) Observe() (float64, float64) { return float64(c.steps) / 10, float64(c.r + c.steps) }

func (e countdown) Walker(r int, _ uint64) (Walker, error) {
	return &counter{r: r, limit: e.limit}, nil
}

func TestSimulateSchedule(t *testing.T) {
	var mu sync.Mutex
	seen := map[int][]int64{}
	var divergedAt []float64
	sum, err := Simulate(context.Background(), countdown{limit: 1e9}, Schedule{Runs: 3, MaxSteps: 10, Every: 4, Workers: 2},
		func(r int, steps int64, w Walker, tt, l float64, div bool) bool {
			mu.Lock()
			defer mu.Unlock()
			seen[r] = append(seen[r], steps)
			if div {
				divergedAt = append(divergedAt, l)
			}
			if l != float64(r)+float64(steps) || tt != float64(steps)/10 {
				t.Errorf("run %d step %d: t %v loss %v", r, steps, tt, l)
			}
			return r == 1 && steps >= 4 // run 1 stops at its first observation after the start
		})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int][]int64{0: {0, 4, 8, 10}, 1: {0, 4}, 2: {0, 4, 8, 10}}
	for r, w := range want {
		if len(seen[r]) != len(w) {
			t.Fatalf("run %d observed at %v, want %v", r, seen[r], w)
		}
		for i := range w {
			if seen[r][i] != w[i] {
				t.Errorf("run %d observed at %v, want %v", r, seen[r], w)
			}
		}
	}
	if sum.TotalSteps != 24 || sum.Diverged != 0 || len(divergedAt) != 0 {
		t.Errorf("summary %+v", sum)
	}
	// A run whose loss reaches the limit is shown once as diverged and stopped.
	sum, err = Simulate(context.Background(), countdown{limit: 6}, Schedule{Runs: 3, MaxSteps: 100},
		func(r int, steps int64, w Walker, tt, l float64, div bool) bool {
			if div && l != 6 {
				t.Errorf("run %d diverged at loss %v", r, l)
			}
			return false
		})
	if err != nil || sum.Diverged != 3 || sum.TotalSteps != 6+5+4 {
		t.Errorf("divergence: %+v %v", sum, err)
	}
	if _, err := Simulate(context.Background(), countdown{}, Schedule{Runs: 0, MaxSteps: 1}, nil); err == nil {
		t.Error("zero runs accepted")
	}
	if _, err := Simulate(context.Background(), countdown{}, Schedule{Runs: 1, MaxSteps: 1, Every: -1}, nil); err == nil {
		t.Error("negative interval accepted")
	}
}

// leaper is countdown's counter as an Advancer that is absorbed when its
// loss reaches absorb (and diverges at limit, as counter).
type leaper struct {
	counter
	absorb float64
	calls  int
}

func (l *leaper) Advance(n int64) (int64, bool, bool) {
	l.calls++
	for k := int64(1); k <= n; k++ {
		_, loss, div := l.Step(false)
		if div || loss >= l.absorb {
			return k, !div, div
		}
	}
	return n, false, false
}

type leapers struct{ limit, absorb float64 }

func (e leapers) Walker(r int, _ uint64) (Walker, error) {
	return &leaper{counter: counter{r: r, limit: e.limit}, absorb: e.absorb}, nil
}

// An Advancer is observed at the same steps as a plain Walker (every Every
// steps and after the last), an absorbed run once more where it stopped, a
// diverged one once with diverged = true; total steps are counted, and a
// long run is handed over in stretches of at most advanceChunk steps.
func TestSimulateAdvancer(t *testing.T) {
	type obs struct {
		steps int64
		loss  float64
		div   bool
	}
	collect := func(e Ensemble, s Schedule) (map[int][]obs, Summary) {
		var mu sync.Mutex
		seen := map[int][]obs{}
		sum, err := Simulate(context.Background(), e, s, func(r int, steps int64, w Walker, tt, l float64, div bool) bool {
			mu.Lock()
			defer mu.Unlock()
			seen[r] = append(seen[r], obs{steps, l, div})
			return false
		})
		if err != nil {
			t.Fatal(err)
		}
		return seen, sum
	}
	s := Schedule{Runs: 3, MaxSteps: 10, Every: 4, Workers: 2}
	plain, ps := collect(countdown{limit: 1e9}, s)
	fast, fs := collect(leapers{limit: 1e9, absorb: 1e9}, s)
	if fmt.Sprint(plain) != fmt.Sprint(fast) || ps != fs {
		t.Errorf("Advancer observed %v (%+v), plain walker %v (%+v)", fast, fs, plain, ps)
	}
	// Run r is absorbed when r + steps reaches 7: at step 7 − r.
	got, sum := collect(leapers{limit: 1e9, absorb: 7}, Schedule{Runs: 3, MaxSteps: 100, Every: 4})
	want := map[int][]obs{0: {{0, 0, false}, {4, 4, false}, {7, 7, false}}, 1: {{0, 1, false}, {4, 5, false}, {6, 7, false}}, 2: {{0, 2, false}, {4, 6, false}, {5, 7, false}}}
	if fmt.Sprint(got) != fmt.Sprint(want) || sum.TotalSteps != 18 || sum.Diverged != 0 {
		t.Errorf("absorbed: %v (%+v), want %v and 18 steps", got, sum, want)
	}
	got, sum = collect(leapers{limit: 3, absorb: 1e9}, Schedule{Runs: 1, MaxSteps: 100, Every: 50})
	if fmt.Sprint(got[0]) != fmt.Sprint([]obs{{0, 0, false}, {3, 3, true}}) || sum.Diverged != 1 {
		t.Errorf("diverged: %v (%+v)", got, sum)
	}
	l := &leaper{counter: counter{limit: 1e18}, absorb: 1e18}
	if _, err := Simulate(context.Background(), single{l}, Schedule{Runs: 1, MaxSteps: 3*advanceChunk + 5, Every: 3*advanceChunk + 5}, func(int, int64, Walker, float64, float64, bool) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if l.calls != 4 || l.steps != 3*advanceChunk+5 {
		t.Errorf("a run of 3·%d + 5 steps took %d Advance calls and %d steps", advanceChunk, l.calls, l.steps)
	}
}

type single struct{ w Walker }

func (s single) Walker(int, uint64) (Walker, error) { return s.w, nil }
