// Package experiment defines what a registered experiment is (Entry, made
// by Define from a Def): its name, its typed configuration — whose
// parameters the configuration declares itself (pkg/param) — its presets at
// quick and paper scale and its function
//
//	func X(ctx context.Context, env run.Env, cfg Config) (run.Result[T], error)
//
// and how front ends run one (Instance: preset → parameters → Check → Run
// → Outcome). The list of all experiments is pkg/registry. Every front end
// works from it and nothing else: the command line (one command per entry,
// flags from the declarations), the notebooks' overrides
// (SGDESCAPE_SET="fpt.eta=0.05"), sweep tasks (run in-process with typed
// configurations, checked at plan time by the same code), the paper suite
// and the generated parameter reference.
//
// A new experiment touches its own package (configuration with Declare and
// Validate, function, presets, tests), one line in pkg/registry/list.go, its
// comparison in pkg/compare and its notebook.
package experiment

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"text/tabwriter"

	"github.com/sgdescape/sgdescape/pkg/memcheck"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// Config is what a registered configuration provides: its parameter
// declarations (on the pointer) and its whole-configuration checks.
type Config interface {
	Validate() error
}

// Memory is implemented by configurations that can estimate the bytes they
// will allocate; the registry refuses a run that cannot fit before it starts.
type Memory interface {
	MemoryBytes() float64
}

// Texter is implemented by results that print themselves as a table for
// the command line (without -json).
type Texter interface {
	WriteText(w io.Writer) error
}

// Def is the definition of one experiment, turned into an Entry by Define.
type Def[C Config, T any] struct {
	// Name is the command, the sweep's "experiment" and the scope of
	// notebook overrides ("fpt").
	Name string
	// Variant names one of several experiments sharing Name, chosen by
	// the parameter Selector ("fpt -model mlp"); empty for most.
	Variant, Selector string
	// Summary is one line for help: what it measures, with the paper's figure or equation.
	Summary string
	// Native is the engine name of experiments that run native Go loops
	// ("native"); empty for experiments that need the GoMLX backend.
	Native string
	// Preset is the configuration at a scale (quick or paper).
	Preset func(run.Scale) C
	// Run is the experiment.
	Run func(context.Context, run.Env, C) (run.Result[T], error)
	// Lower names the parameters to lower when the memory estimate is too large.
	Lower string
}

// Entry is a registered experiment with its types erased, as front ends use it.
type Entry struct {
	Name, Variant, Selector, Summary, Native string

	lower   string
	cfgType reflect.Type
	resType reflect.Type
	preset  func(run.Scale) any
	declare func(cfg any) *param.Set
	run     func(context.Context, run.Env, any) (Outcome, error)
}

// Define makes the Entry of d. C's pointer declares the parameters.
func Define[C Config, PC interface {
	*C
	param.Declarer
}, T any](d Def[C, T]) Entry {
	return Entry{
		Name: d.Name, Variant: d.Variant, Selector: d.Selector, Summary: d.Summary, Native: d.Native, lower: d.Lower,
		cfgType: reflect.TypeFor[C](),
		resType: reflect.TypeFor[T](),
		preset:  func(s run.Scale) any { c := d.Preset(s); return &c },
		declare: func(cfg any) *param.Set { return param.Declare(PC(cfg.(*C))) },
		run: func(ctx context.Context, env run.Env, cfg any) (Outcome, error) {
			r, err := d.Run(ctx, env, *cfg.(*C))
			if err != nil {
				return Outcome{}, err
			}
			return Outcome{Envelope: r.Envelope, Result: r.Result}, nil
		},
	}
}

// ID is the entry's unique name: Name, or Name/Variant.
func (e Entry) ID() string {
	if e.Variant == "" {
		return e.Name
	}
	return e.Name + "/" + e.Variant
}

// NewResult returns a pointer to a zero result of the entry's type (for
// decoding a recorded result).
func (e Entry) NewResult() any { return reflect.New(e.resType).Interface() }

// ConfigType is the entry's configuration type.
func (e Entry) ConfigType() reflect.Type { return e.cfgType }

// Instance is one configuration of an experiment: a preset, then overrides
// through Params (flags, settings, sweep values), then Check and Run.
type Instance struct {
	Entry Entry
	Scale run.Scale
	// Config points to the typed configuration.
	Config any
	// Params are the declared parameters, bound to *Config.
	Params *param.Set
}

// New returns the entry's preset at scale, with its parameters bound.
func (e Entry) New(scale run.Scale) *Instance {
	cfg := e.preset(scale)
	return &Instance{Entry: e, Scale: scale, Config: cfg, Params: e.declare(cfg)}
}

// Params returns the entry's parameters bound to its preset at scale (for help and docs).
func (e Entry) Params(scale run.Scale) *param.Set { return e.New(scale).Params }

// Check validates the configuration and its memory estimate: everything
// that can be refused before any work. Its errors are input errors
// (run.IsBadInput).
func (in *Instance) Check() error {
	if err := in.Config.(Config).Validate(); err != nil {
		return run.BadInput(err)
	}
	if m, ok := in.Config.(Memory); ok {
		lower := in.Entry.lower
		if lower == "" {
			lower = "the sizes"
		}
		if err := memcheck.Check(m.MemoryBytes(), in.Entry.ID(), lower); err != nil {
			return run.BadInput(err)
		}
	}
	return nil
}

// Run checks the configuration and runs the experiment.
func (in *Instance) Run(ctx context.Context, env run.Env) (Outcome, error) {
	if err := in.Check(); err != nil {
		return Outcome{}, err
	}
	if in.Entry.Native != "" {
		env = env.Native(in.Entry.Native)
	}
	return in.Entry.run(ctx, env, in.Config)
}

// Outcome is a finished run: the result and its provenance.
type Outcome struct {
	Envelope run.Envelope
	Result   any
}

// WriteText prints the result as a table (Texter) or, for results without
// one, as name/value lines of its JSON.
func (o Outcome) WriteText(w io.Writer) error {
	if t, ok := o.Result.(Texter); ok {
		return t.WriteText(w)
	}
	b, _, err := run.MarshalJSON(o.Result)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\n", b)
	return tw.Flush()
}
