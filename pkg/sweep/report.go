package sweep

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Shape writes the axes as "eta:3 × B:2".
func (p *Plan) Shape() string {
	parts := make([]string, len(p.Spec.Axes))
	for i, a := range p.Spec.Axes {
		parts[i] = fmt.Sprintf("%s:%d", a.Name, len(a.Values))
	}
	if len(parts) == 0 {
		return "no axes"
	}
	return strings.Join(parts, " × ")
}

// PlanJSON is the plan as `sweep plan -json` prints it.
type PlanJSON struct {
	Experiment string     `json:"experiment"`
	Scale      string     `json:"scale"`
	SpecHash   string     `json:"spec_hash"`
	Results    string     `json:"results"`
	Tasks      []TaskJSON `json:"tasks"`
}

// TaskJSON is one task of PlanJSON.
type TaskJSON struct {
	Index    int               `json:"index"`
	Params   map[string]string `json:"params"`
	Args     []string          `json:"args"`
	Key      string            `json:"key"`
	State    string            `json:"state"`
	Why      string            `json:"why,omitempty"`
	CacheKey string            `json:"cache_key,omitempty"`
}

// JSON returns the plan with the tasks' states.
func (p *Plan) JSON(st Store, states []State) PlanJSON {
	out := PlanJSON{Experiment: p.Spec.Experiment, Scale: p.Spec.Scale, SpecHash: p.Spec.Hash, Results: st.Dir, Tasks: make([]TaskJSON, len(p.Tasks))}
	for i, t := range p.Tasks {
		m := map[string]string{}
		for _, q := range t.Params {
			m[q.Name] = q.Value
		}
		out.Tasks[i] = TaskJSON{Index: t.Index, Params: m, Args: p.Args(t), Key: t.Key, State: states[i].State, Why: states[i].Why}
		if states[i].State == Done {
			out.Tasks[i].CacheKey = st.CacheKey(t.Key)
		}
	}
	return out
}

// WritePlan writes the task table: index, the swept values, key, state and
// the cache key of each done task's result.
func (p *Plan) WritePlan(w io.Writer, spec string, st Store, states []State) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# sweep %s: %s, %d tasks (%s), spec hash %s, results %s\n", spec, p.Spec.Experiment, len(p.Tasks), p.Shape(), p.Spec.Hash, st.Dir)
	fmt.Fprintf(bw, "# every task: sgdescape %s %s -json\n", p.Spec.Experiment, strings.Join(p.Args(Task{}), " "))
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "index")
	for _, a := range p.Spec.Axes {
		fmt.Fprintf(tw, "\t%s", a.Name)
	}
	fmt.Fprintln(tw, "\ttask key\tstate\tresult's cache key")
	for i, t := range p.Tasks {
		fmt.Fprintf(tw, "%d", t.Index)
		for _, q := range t.Params {
			fmt.Fprintf(tw, "\t%s", q.Value)
		}
		ck := "-"
		if states[i].State == Done {
			if ck = st.CacheKey(t.Key); ck == "" {
				ck = "(none: uncached experiment)"
			}
		}
		fmt.Fprintf(tw, "\t%s\t%s\t%s\n", t.Key, states[i].State, ck)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, s := range states {
		if s.State == Damaged {
			fmt.Fprintf(bw, "# task %d is damaged: %s; it will be rerun\n", i, s.Why)
		}
	}
	return bw.Flush()
}

// TaskStatus is one task that is not done, as `sweep status` reports it.
type TaskStatus struct {
	Index      int      `json:"index"`
	Params     string   `json:"params"`
	State      string   `json:"state"`
	Error      string   `json:"error,omitempty"`
	ExitCode   int      `json:"exit_code,omitempty"`
	Where      string   `json:"where,omitempty"`
	Started    string   `json:"started,omitempty"`
	StderrTail []string `json:"stderr_tail,omitempty"`
	Log        string   `json:"log,omitempty"`
}

// Status is the state of a sweep: counts and the tasks not done. A damaged
// record is reported with its reason; it never stops the report.
type Status struct {
	Spec    string         `json:"spec"`
	Results string         `json:"results"`
	Tasks   int            `json:"tasks"`
	Counts  map[string]int `json:"counts"`
	NotDone []TaskStatus   `json:"not_done"`
}

// Status reads every task's state, with up to lines of standard error per failed task.
func (p *Plan) Status(spec string, st Store, lines int) Status {
	states := st.States(p)
	s := Status{Spec: spec, Results: st.Dir, Tasks: len(p.Tasks), Counts: map[string]int{Done: 0, Failed: 0, Missing: 0, Damaged: 0}}
	for i, state := range states {
		s.Counts[state.State]++
		if state.State == Done {
			continue
		}
		t := p.Tasks[i]
		ts := TaskStatus{Index: i, Params: ParamString(t.Params), State: state.State, Error: state.Why}
		switch state.State {
		case Failed:
			if r, err := st.Read(t.Key); err == nil && r != nil {
				ts.Error, ts.ExitCode, ts.Where, ts.StderrTail = r.Error, r.ExitCode, r.Where.String(), r.StderrTail
			}
		case Missing:
			if sm := st.ReadStarted(t.Key); sm != nil {
				ts.Where, ts.Started = sm.Where.String(), sm.StartedAt.Format(time.RFC3339)
			}
		}
		if len(ts.StderrTail) > lines {
			ts.StderrTail = ts.StderrTail[len(ts.StderrTail)-lines:]
		}
		if len(ts.StderrTail) == 0 && state.State != Damaged {
			ts.StderrTail, ts.Log = st.LogTail(p.Spec.Hash, i, lines)
		}
		s.NotDone = append(s.NotDone, ts)
	}
	return s
}

// Write prints the status; at most show tasks in detail.
func (s Status) Write(w io.Writer, experiment string, show int) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "sweep %s: %s, %d tasks — %d done, %d failed, %d missing, %d damaged (results %s)\n",
		s.Spec, experiment, s.Tasks, s.Counts[Done], s.Counts[Failed], s.Counts[Missing], s.Counts[Damaged], s.Results)
	for k, ts := range s.NotDone {
		if k == show {
			fmt.Fprintf(bw, "… and %d more (sgdescape sweep status %s -json lists all)\n", len(s.NotDone)-k, s.Spec)
			break
		}
		switch {
		case ts.State == Failed:
			fmt.Fprintf(bw, "task %d (%s) FAILED, exit %d, on %s: %s\n", ts.Index, ts.Params, ts.ExitCode, ts.Where, ts.Error)
		case ts.State == Damaged:
			fmt.Fprintf(bw, "task %d (%s) DAMAGED: %s; it will be rerun\n", ts.Index, ts.Params, ts.Error)
		case ts.Started != "":
			fmt.Fprintf(bw, "task %d (%s) missing: started %s on %s and left no record (still running, or killed)\n", ts.Index, ts.Params, ts.Started, ts.Where)
		case ts.Log != "":
			fmt.Fprintf(bw, "task %d (%s) missing: its batch task left no record (failed before the sweep started, or killed)\n", ts.Index, ts.Params)
		default:
			fmt.Fprintf(bw, "task %d (%s) missing\n", ts.Index, ts.Params)
		}
		if len(ts.StderrTail) > 0 {
			from := "stderr"
			if ts.Log != "" {
				from = ts.Log
			}
			fmt.Fprintf(bw, "    last lines of %s:\n", from)
			for _, line := range ts.StderrTail {
				fmt.Fprintf(bw, "    | %s\n", line)
			}
		}
	}
	if s.Counts[Done] < s.Tasks {
		fmt.Fprintf(bw, "to run what is not done: sgdescape sweep run %s -all -workers k, or sgdescape sweep submit %s\n", s.Spec, s.Spec)
	}
	return bw.Flush()
}

// String writes where a task ran: "host pid 12 job 34_5".
func (w Where) String() string {
	s := fmt.Sprintf("%s pid %d", w.Host, w.PID)
	if w.Job != "" {
		s += " job " + w.Job
	}
	return s
}
