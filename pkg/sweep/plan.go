package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Commands is what a sweep needs to know about the experiments it runs. The
// CLI implements it over its own command table, so any registered command is
// sweepable without a list here.
type Commands interface {
	// Experiments lists the commands a sweep may run, sorted.
	Experiments() []string
	// Check parses args (flags in -name=value form) with the experiment's
	// own flag set, without running it: unknown flags and values that do not
	// parse are errors.
	Check(experiment string, args []string) error
}

// Task is one configuration of the sweep.
type Task struct {
	// Index is the task's position in the expansion order (see Expand).
	Index int
	// Params are the swept values, one per axis, in axis order.
	Params []Param
	// Key names the task's record: a hash of the experiment and its full,
	// sorted flag list, so it does not depend on the order of flags or
	// axes, and a task keeps its record when an axis is extended.
	Key string
}

// Plan is a checked specification with its expansion.
type Plan struct {
	Spec  *Spec
	Tasks []Task
}

// Args returns the command line of task t (without -json): the base flags
// in the order written, then the swept ones in axis order, as -name=value.
func (p *Plan) Args(t Task) []string {
	args := make([]string, 0, len(p.Spec.Base)+len(t.Params))
	for _, b := range p.Spec.Base {
		args = append(args, "-"+b.Name+"="+b.Value)
	}
	for _, q := range t.Params {
		args = append(args, "-"+q.Name+"="+q.Value)
	}
	return args
}

// Expand returns the tasks of a specification. The order is that of nested
// loops over the axes in the order they are written in the file, the first
// axis outermost: with axes {"eta": [a, b], "seed": [1, 2, 3]} task 0 is
// (a, 1), task 1 is (a, 2), task 3 is (b, 1). Task i always means the same
// configuration for the same specification.
func Expand(s *Spec, maxTasks int) ([]Task, error) {
	if maxTasks <= 0 {
		maxTasks = s.MaxTasks
	}
	n, err := s.Size(maxTasks)
	if err != nil {
		return nil, err
	}
	tasks := make([]Task, n)
	params := make([]Param, n*len(s.Axes))
	digits := make([]int, len(s.Axes))
	base := make([]string, len(s.Base))
	for i, b := range s.Base {
		base[i] = b.Name + "=" + b.Value
	}
	keyParts := make([]string, 0, len(s.Base)+len(s.Axes))
	for i := range tasks {
		ps := params[i*len(s.Axes) : (i+1)*len(s.Axes) : (i+1)*len(s.Axes)]
		keyParts = append(keyParts[:0], base...)
		for a, ax := range s.Axes {
			ps[a] = Param{ax.Name, ax.Values[digits[a]]}
			keyParts = append(keyParts, ax.Name+"="+ps[a].Value)
		}
		tasks[i] = Task{Index: i, Params: ps, Key: taskKey(s.Experiment, keyParts)}
		for a := len(digits) - 1; a >= 0; a-- { // last axis fastest
			digits[a]++
			if digits[a] < len(s.Axes[a].Values) {
				break
			}
			digits[a] = 0
		}
	}
	return tasks, nil
}

func taskKey(experiment string, parts []string) string {
	sort.Strings(parts)
	h := sha256.New()
	h.Write([]byte(experiment))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:12])
}

// NewPlan checks a specification against the experiments and expands it.
// Errors name the field: the experiment, a base flag, an axis value, or the
// first task whose combination of flags the command refuses.
func NewPlan(s *Spec, cmds Commands, maxTasks int) (*Plan, error) {
	known := cmds.Experiments()
	found := false
	for _, e := range known {
		found = found || e == s.Experiment
	}
	if !found {
		return nil, errf("experiment", "unknown experiment %q (sweepable: %s)", s.Experiment, strings.Join(known, ", "))
	}
	p := &Plan{Spec: s}
	baseArgs := p.Args(Task{})
	if err := cmds.Check(s.Experiment, baseArgs); err != nil {
		return nil, errf(fieldOf(err, s, "base"), "%v", err)
	}
	// Each axis value with the base alone: errors point at the value.
	for _, ax := range s.Axes {
		for i, v := range ax.Values {
			args := append(baseArgs[:len(baseArgs):len(baseArgs)], "-"+ax.Name+"="+v)
			if err := cmds.Check(s.Experiment, args); err != nil {
				// A flag that exists only with another axis' value (say
				// fpt's -widths with -model=mlp) is checked per task below.
				if strings.Contains(err.Error(), "not defined") && len(s.Axes) > 1 {
					continue
				}
				return nil, errf(fmt.Sprintf("axes.%s[%d]", ax.Name, i), "%v", err)
			}
		}
	}
	tasks, err := Expand(s, maxTasks)
	if err != nil {
		return nil, err
	}
	p.Tasks = tasks
	if len(s.Axes) > 1 {
		// Which flags exist may depend on another flag's value (fpt's
		// -model), so every combination is checked, on every core.
		workers := runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		var failed atomic.Bool
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(tasks) && !failed.Load(); i += workers {
					if err := cmds.Check(s.Experiment, p.Args(tasks[i])); err != nil {

						failed.Store(true)
						return
					}
				}
			}()
		}
		wg.Wait()
		if failed.Load() { // report the first failing task, deterministically
			for _, t := range tasks {
				if err := cmds.Check(s.Experiment, p.Args(t)); err != nil {
					return nil, errf(fmt.Sprintf("task %d (%s)", t.Index, ParamString(t.Params)), "%v", err)
				}
			}
		}
	}
	return p, nil
}

// fieldOf names the base flag an error of flag.Parse mentions, if any.
func fieldOf(err error, s *Spec, section string) string {
	msg := err.Error()
	for _, b := range s.Base {
		if strings.Contains(msg, "-"+b.Name+":") || strings.HasSuffix(msg, "-"+b.Name) || strings.Contains(msg, "-"+b.Name+" ") {
			return section + "." + b.Name
		}
	}
	return section
}

// ParamString writes parameters as "eta=0.1 B=2".
func ParamString(ps []Param) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.Name)
		b.WriteByte('=')
		b.WriteString(p.Value)
	}
	return b.String()
}

// Ranges writes sorted indices compactly, as sbatch's --array takes them:
// [0 1 2 5 7 8] → "0-2,5,7-8".
func Ranges(idx []int) string {
	var b strings.Builder
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j == i {
			fmt.Fprintf(&b, "%d", idx[i])
		} else {
			fmt.Fprintf(&b, "%d-%d", idx[i], idx[j])
		}
		i = j + 1
	}
	return b.String()
}
