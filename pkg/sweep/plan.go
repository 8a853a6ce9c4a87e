package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sgdescape/sgdescape/pkg/experiment"
	"github.com/sgdescape/sgdescape/pkg/memcheck"
	"github.com/sgdescape/sgdescape/pkg/run"
)

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
	Spec *Spec
	// Entry is the registered experiment every task runs.
	Entry experiment.Entry
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
			ps[a] = Param{Name: ax.Name, Value: ax.Values[digits[a]]}
			keyParts = append(keyParts, ax.Name+"="+ps[a].Value)
		}
		tasks[i] = Task{Index: i, Params: ps, Key: taskKey(s.Experiment+"\x00"+s.Scale, keyParts)}
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

// NewPlan checks a specification against the registered experiment and
// expands it: the experiment (and, for a family such as fpt, the variant
// its selector names in base), every base value and every axis value are
// parsed and checked by the experiment's own parameter declarations and
// made canonical ("0.10" and 0.1 are one value; an axis that repeats a value
// is refused); unknown names (aliases included) are refused with the list
// of the experiment's parameters; the memory the plan needs is checked
// before it is built; and every task's whole configuration is validated,
// so that a grid with one impossible combination is refused before any
// task runs. Errors name the field ("axes.eta[2]", "task 7 (eta=1 B=100)").
func NewPlan(s *Spec, reg Registry, maxTasks int) (*Plan, error) {
	e, err := resolve(s, reg)
	if err != nil {
		return nil, err
	}
	p := &Plan{Spec: s, Entry: e}
	// The base, made canonical on one instance: errors point at the base value.
	base := p.newInstance()
	for i, b := range s.Base {
		if b.Name == e.Selector {
			continue
		}
		v, err := setParam(base, e, b.Name, b.raw)
		if err != nil {
			return nil, errf("base."+b.Name, "%v", err)
		}
		s.Base[i].Value = v
	}
	// Each axis value with the base: errors point at the value.
	for a, ax := range s.Axes {
		if ax.Name == e.Selector {
			return nil, errf("axes."+ax.Name, "the %s cannot be swept (each value is another experiment): write one specification per %s", ax.Name, ax.Name)
		}
		seen := map[string]int{}
		for i, raw := range ax.raw {
			field := fmt.Sprintf("axes.%s[%d]", ax.Name, i)
			in := p.newInstance()
			if err := p.applyBase(in); err != nil {
				return nil, err
			}
			v, err := setParam(in, e, ax.Name, raw)
			if err != nil {
				return nil, errf(field, "%v", err)
			}
			if j, dup := seen[v]; dup {
				return nil, errf(field, "value %s repeats axes.%s[%d] (as %s); every task must differ", ax.Values[i], ax.Name, j, v)
			}
			seen[v] = i
			s.Axes[a].Values[i] = v
		}
	}
	s.Hash = s.hash()
	if maxTasks <= 0 {
		maxTasks = s.MaxTasks
	}
	n, err := s.Size(maxTasks)
	if err != nil {
		return nil, err
	}
	if err := checkPlanMemory(s, n); err != nil {
		return nil, err
	}
	tasks, err := Expand(s, maxTasks)
	if err != nil {
		return nil, err
	}
	p.Tasks = tasks
	if err := p.validateAll(); err != nil {
		return nil, err
	}
	return p, nil
}

// Registry is what a sweep needs of the experiment registry (pkg/registry's
// Registry): the experiments by name and variant.
type Registry interface {
	Lookup(name, variant string) (experiment.Entry, bool)
	Variants(name string) []string
	Names() []string
}

// resolve finds the registered experiment of s (and its variant).
func resolve(s *Spec, reg Registry) (experiment.Entry, error) {
	vs := reg.Variants(s.Experiment)
	if len(vs) == 0 {
		e, ok := reg.Lookup(s.Experiment, "")
		if !ok {
			return e, errf("experiment", "unknown experiment %q (sweepable: %s)", s.Experiment, strings.Join(reg.Names(), ", "))
		}
		return e, nil
	}
	first, _ := reg.Lookup(s.Experiment, "")
	v := vs[0]
	for _, b := range s.Base {
		if b.Name == first.Selector {
			v = b.Value
		}
	}
	e, ok := reg.Lookup(s.Experiment, v)
	if !ok || v == "" {
		return e, errf("base."+first.Selector, "unknown %s %q (available: %s)", first.Selector, v, strings.Join(vs, ", "))
	}
	return e, nil
}

func (p *Plan) newInstance() *experiment.Instance {
	scale := run.Quick
	if p.Spec.Scale == string(run.Paper) {
		scale = run.Paper
	}
	return p.Entry.New(scale)
}

func (p *Plan) applyBase(in *experiment.Instance) error {
	for _, b := range p.Spec.Base {
		if b.Name == p.Entry.Selector {
			continue
		}
		if _, err := setParam(in, p.Entry, b.Name, json.RawMessage(strconv.Quote(b.Value))); err != nil {
			return errf("base."+b.Name, "%v", err)
		}
	}
	return nil
}

// setParam sets parameter name of in from a JSON value and returns its canonical text.
func setParam(in *experiment.Instance, e experiment.Entry, name string, raw json.RawMessage) (string, error) {
	prm, ok := in.Params.Lookup(name)
	if !ok {
		return "", fmt.Errorf("%s has no parameter %q (its parameters: %s; one spelling each, no aliases)", e.ID(), name, strings.Join(in.Params.Names(), ", "))
	}
	if err := prm.SetJSON(raw); err != nil {
		return "", err
	}
	return prm.String(), nil
}

// Instance returns the configured experiment of task t: the preset at the
// spec's scale with the base and the task's values applied.
func (p *Plan) Instance(t Task) (*experiment.Instance, error) {
	in := p.newInstance()
	if err := p.applyBase(in); err != nil {
		return nil, err
	}
	for _, q := range t.Params {
		if _, err := setParam(in, p.Entry, q.Name, json.RawMessage(strconv.Quote(q.Value))); err != nil {
			return nil, errf("task "+strconv.Itoa(t.Index), "%v", err)
		}
	}
	return in, nil
}

// validateAll checks every task's configuration (Validate and the memory
// estimate), on every core, and reports the first failing task.
func (p *Plan) validateAll() error {
	check := func(t Task) error {
		in, err := p.Instance(t)
		if err != nil {
			return err
		}
		return in.Check()
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	var failed atomic.Bool
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(p.Tasks) && !failed.Load(); i += workers {
				if check(p.Tasks[i]) != nil {
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	if !failed.Load() {
		return nil
	}
	for _, t := range p.Tasks { // the first failing task, deterministically
		if err := check(t); err != nil {
			what := ParamString(t.Params)
			if what == "" {
				what = "the base"
			}
			return errf(fmt.Sprintf("task %d (%s)", t.Index, what), "%v", err)
		}
	}
	return nil
}

// checkPlanMemory refuses a plan whose task table would not fit in memory
// (a list of keys and parameters per task, and the states and records that
// status and collect hold), before it is built.
func checkPlanMemory(s *Spec, n int) error {
	per := 160.0 // task, key, state
	for _, a := range s.Axes {
		l := 0
		for _, v := range a.Values {
			l = max(l, len(v))
		}
		per += float64(48 + len(a.Name) + l)
	}
	return memcheck.Check(3*per*float64(n), fmt.Sprintf("a sweep of %d tasks", n), "the axes (or split the sweep into several specifications)")
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
