// Package passage turns simulated runs into the paper's escape statistics:
// first-passage times of L ≥ c·L(θ*) for a grid of thresholds c (section
// 5.3), means that account for censored runs, log–log slope fits against c
// with bootstrap intervals (to compare with B/(ηh*) + 1 − n/2 of Eq. 15).
// The general estimators it uses (least squares, quantiles, moments, the φ
// fits of Eq. 17) live in pkg/estimate.
package passage

import (
	"fmt"
	"math"
	"sort"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// Tracker records, for every run and every threshold c_k, the first time the
// loss reaches c_k·L*. Runs are independent; Record may be called
// concurrently for different runs.
type Tracker struct {
	C        []float64   // thresholds c_k > 1, increasing
	LStar    float64     // L(θ*)
	Times    [][]float64 // Times[r][k]: first time L ≥ c_k·L*, NaN while not crossed
	Last     []float64   // time of run r's last observation (its censoring time if it did not cross)
	Diverged []bool
	next     []int
}

// ValidateThresholds checks a grid of threshold ratios c = L_th/L(θ*): at
// least one, each finite and > 1, none listed twice. Every first-passage
// experiment validates its grid with it.
func ValidateThresholds(c []float64) error {
	if len(c) == 0 {
		return fmt.Errorf("give at least one threshold ratio c > 1 (c = L_th/L(θ*))")
	}
	seen := map[float64]bool{}
	for _, v := range c {
		if !(v > 1) || math.IsInf(v, 0) {
			return fmt.Errorf("threshold ratio c = %v must be > 1 (c = L_th/L(θ*))", v)
		}
		if seen[v] {
			return fmt.Errorf("threshold c = %v is listed twice", v)
		}
		seen[v] = true
	}
	return nil
}

// MinRuns is the fewest runs that can make a threshold reliable: Analyze
// needs 3 passages per threshold.
const MinRuns = 3

// CheckSlopeGrid refuses a threshold grid that can never give a slope: an
// invalid grid (ValidateThresholds), fewer than two thresholds, or a fitMin
// (> 0) that leaves fewer than two of them in the fit. Its errors name the
// parameters c and fit-cmin.
func CheckSlopeGrid(c []float64, fitMin float64) error {
	if err := ValidateThresholds(c); err != nil {
		return err
	}
	if len(c) < 2 {
		return fmt.Errorf("c = %v: a slope needs at least two thresholds", c)
	}
	if fitMin > 0 {
		n := 0
		for _, v := range c {
			if v >= fitMin {
				n++
			}
		}
		if n < 2 {
			return fmt.Errorf("fit-cmin = %g leaves %d of the thresholds c = %v in the fit; a slope needs two (lower fit-cmin or add thresholds)", fitMin, n, c)
		}
	}
	return nil
}

// NewTracker validates the thresholds (each > 1, strictly increasing after
// sorting, finite) and returns an empty tracker.
func NewTracker(runs int, c []float64, lStar float64) (*Tracker, error) {
	if runs < 1 {
		return nil, fmt.Errorf("first passage: need at least one run, got %d", runs)
	}
	if !(lStar > 0) || math.IsInf(lStar, 0) {
		return nil, fmt.Errorf("first passage: L(θ*) must be positive and finite, got %v", lStar)
	}
	if err := ValidateThresholds(c); err != nil {
		return nil, fmt.Errorf("first passage: %w", err)
	}
	cs := append([]float64(nil), c...)
	sort.Float64s(cs)
	t := &Tracker{C: cs, LStar: lStar, Times: make([][]float64, runs), Last: make([]float64, runs),
		Diverged: make([]bool, runs), next: make([]int, runs)}
	for r := range t.Times {
		t.Times[r] = make([]float64, len(cs))
		for k := range t.Times[r] {
			t.Times[r][k] = math.NaN()
		}
	}
	return t, nil
}

// Record notes the loss of run r at time t and reports whether the run has
// crossed every threshold (and can stop).
func (tr *Tracker) Record(r int, t, loss float64) (done bool) {
	tr.Last[r] = t
	k := tr.next[r]
	for k < len(tr.C) && loss >= tr.C[k]*tr.LStar {
		tr.Times[r][k] = t
		k++
	}
	tr.next[r] = k
	return k == len(tr.C)
}

// MarkDiverged flags run r: its times are excluded from every estimate.
func (tr *Tracker) MarkDiverged(r int) { tr.Diverged[r] = true }

// Estimate is the mean first-passage time of one threshold.
type Estimate struct {
	C        float64   `json:"c"`
	Mean     float64   `json:"mean"`            // estimated mean first-passage time (t = η·steps)
	SE       run.Float `json:"se"`              // standard error (bootstrap over runs)
	Events   int       `json:"events"`          // runs that crossed
	Censored int       `json:"censored"`        // runs stopped before crossing
	Method   string    `json:"method"`          // "mean", "km+exp-tail" or "km-restricted"
	Reliable bool      `json:"reliable"`        // false when over half the runs are censored or too few events
	Restrict float64   `json:"restricted_mean"` // ∫₀^τ S(t)dt, a lower bound when runs are censored
}

// sample is one run's outcome at one threshold.
type sample struct {
	t     float64
	event bool
}

// MeanFPT estimates the mean first-passage time from possibly censored
// samples. Without censoring it is the plain mean. With censoring it is the
// Kaplan–Meier restricted mean up to the last observation time τ plus an
// exponential tail S(τ)/λ̂, where λ̂ is the maximum-likelihood escape rate of
// the runs still waiting after the time where the Kaplan–Meier survival falls
// to one half (escape at late times is close to a Poisson process). When
// fewer than 5 events fall in that window the tail is not extrapolated and
// the restricted mean (a lower bound) is returned with Reliable = false.
func meanFPT(s []sample) (mean, restricted float64, method string, reliable bool) {
	n := len(s)
	if n == 0 {
		return math.NaN(), math.NaN(), "none", false
	}
	events := 0
	sum := 0.0
	for _, x := range s {
		if x.event {
			events++
		}
		sum += x.t
	}
	if events == n {
		return sum / float64(n), sum / float64(n), "mean", true
	}
	sorted := append([]sample(nil), s...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].t != sorted[j].t {
			return sorted[i].t < sorted[j].t
		}
		return sorted[i].event && !sorted[j].event // events before censorings at ties
	})
	// Kaplan–Meier survival and restricted mean.
	surv, prev := 1.0, 0.0
	atRisk := n
	rmst := 0.0
	tHalf := math.NaN()
	for _, x := range sorted {
		rmst += surv * (x.t - prev)
		prev = x.t
		if x.event {
			surv *= 1 - 1/float64(atRisk)
			if math.IsNaN(tHalf) && surv <= 0.5 {
				tHalf = x.t
			}
		}
		atRisk--
	}
	restricted = rmst
	if surv == 0 {
		return rmst, rmst, "km", events >= n/2
	}
	if math.IsNaN(tHalf) {
		tHalf = 0 // fewer than half escaped: use the whole window
	}
	tailEvents := 0
	exposure := 0.0
	for _, x := range s {
		if x.t > tHalf {
			exposure += x.t - tHalf
			if x.event {
				tailEvents++
			}
		}
	}
	reliable = 2*events >= n
	if tailEvents < 5 || exposure == 0 {
		return rmst, rmst, "km-restricted", false
	}
	rate := float64(tailEvents) / exposure
	return rmst + surv/rate, rmst, "km+exp-tail", reliable
}

// samples returns run outcomes at threshold k, excluding diverged runs.
func (tr *Tracker) samples(k int, runs []int) []sample {
	out := make([]sample, 0, len(runs))
	for _, r := range runs {
		if tr.Diverged[r] {
			continue
		}
		if t := tr.Times[r][k]; !math.IsNaN(t) {
			out = append(out, sample{t, true})
		} else {
			out = append(out, sample{tr.Last[r], false})
		}
	}
	return out
}

// NumDiverged counts diverged runs.
func (tr *Tracker) NumDiverged() int {
	n := 0
	for _, d := range tr.Diverged {
		if d {
			n++
		}
	}
	return n
}
