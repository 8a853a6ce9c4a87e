package param

import (
	"flag"
	"fmt"
	"strings"
)

// Flags registers every parameter of s on fs as a flag of the same name
// (-eta), parsed and checked by Param.Set.
func (s *Set) Flags(fs *flag.FlagSet) {
	for _, p := range s.params {
		fs.Var(flagValue{p}, p.Name, p.Describe())
	}
}

// flagValue is a Param as a flag.Value (and flag.Getter).
type flagValue struct{ p *Param }

func (f flagValue) String() string {
	if f.p == nil {
		return ""
	}
	return f.p.String()
}

func (f flagValue) Set(s string) error { return f.p.Set(s) }
func (f flagValue) Get() any           { return f.p.Value() }
func (f flagValue) IsBoolFlag() bool   { return f.p != nil && f.p.Kind == Bool }

// Setting is one override "name=value" or, addressed to one experiment,
// "experiment.name=value": the syntax of the notebooks' SGDESCAPE_SET and of
// GoMLX's -set flag.
type Setting struct {
	Scope, Name, Value string
}

func (s Setting) String() string {
	if s.Scope == "" {
		return s.Name + "=" + s.Value
	}
	return s.Scope + "." + s.Name + "=" + s.Value
}

// ParseSettings reads "a=1; fpt.eta=0.05; barrier.beta=7,8,9": settings
// separated by ";" (or new lines), each name=value with an optional
// "experiment." scope. Empty settings are skipped; a setting without "=",
// with an empty name or value, or given twice is an error.
func ParseSettings(text string) ([]Setting, error) {
	var out []Setting
	seen := map[string]bool{}
	for _, part := range strings.FieldsFunc(text, func(r rune) bool { return r == ';' || r == '\n' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: each setting is name=value or experiment.name=value, separated by ;", part)
		}
		if v == "" {
			return nil, fmt.Errorf("%q: empty value", part)
		}
		st := Setting{Name: k, Value: v}
		if scope, name, ok := strings.Cut(k, "."); ok {
			st.Scope, st.Name = scope, name
			if scope == "" || name == "" {
				return nil, fmt.Errorf("%q: write experiment.name=value", part)
			}
		}
		if seen[k] {
			return nil, fmt.Errorf("%q is set twice", k)
		}
		seen[k] = true
		out = append(out, st)
	}
	return out, nil
}

// Apply stores the settings that concern the experiment called scope: those
// addressed to it and the unaddressed ones whose name it declares. A setting
// addressed to scope with a name s does not declare is an error that lists
// the names it does declare; an invalid value is an error naming the setting.
// It returns the settings it applied.
func (s *Set) Apply(settings []Setting, scope string) ([]Setting, error) {
	var applied []Setting
	for _, st := range settings {
		if st.Scope != "" && st.Scope != scope {
			continue
		}
		p, ok := s.Lookup(st.Name)
		if !ok {
			if st.Scope == "" {
				continue
			}
			return applied, fmt.Errorf("%s: %s has no parameter %q (it has: %s)", st, scope, st.Name, strings.Join(s.Names(), ", "))
		}
		if err := p.Set(st.Value); err != nil {
			return applied, fmt.Errorf("%s: %v", st, err)
		}
		applied = append(applied, st)
	}
	return applied, nil
}

// Values returns name=value for every parameter, in declaration order, with
// canonical values (Param.String).
func (s *Set) Values() []Setting {
	out := make([]Setting, len(s.params))
	for i, p := range s.params {
		out[i] = Setting{Name: p.Name, Value: p.String()}
	}
	return out
}

// Except declares the parameters of c except those named: for a
// configuration that embeds another one and sets some of its fields itself
// (a grid over η and B declares the base's other parameters, not its η and B).
func (s *Set) Except(c Declarer, names ...string) {
	sub := &Set{prefix: s.prefix}
	c.Declare(sub)
	skip := map[string]bool{}
	for _, n := range names {
		skip[s.prefix+n] = true
	}
	for _, p := range sub.params {
		if skip[p.Name] {
			continue
		}
		if _, dup := s.Lookup(p.Name); dup {
			panic(fmt.Sprintf("param: %q declared twice", p.Name))
		}
		s.params = append(s.params, p)
	}
}
