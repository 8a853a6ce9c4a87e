package dynamics

import (
	"context"
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
