package notebook

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"

	"github.com/sgdescape/sgdescape/pkg/suite"

	"github.com/sgdescape/sgdescape/pkg/registry"

	"github.com/sgdescape/sgdescape/pkg/experiment"
	"github.com/sgdescape/sgdescape/pkg/param"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// SetVar is the environment variable of the notebooks' overrides, in the
// syntax of GoMLX's -set flag: "experiment.name=value; name=value". Each
// name is a parameter of the registry (the flag -name of `sgdescape
// experiment`); an unscoped name applies to every experiment of a notebook
// that declares it. Example: SGDESCAPE_SET="fpt.eta=0.05; barrier.runs=1000" make report.
const SetVar = EnvPrefix + "SET"

// Settings returns the overrides of SGDESCAPE_SET, checked against the
// registry: a scope must be a registered experiment and a name one of its
// parameters (or, unscoped, a parameter of some experiment).
func Settings() ([]param.Setting, error) {
	st, err := param.ParseSettings(os.Getenv(SetVar))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SetVar, err)
	}
	for _, s := range st {
		if err := registry.All().CheckSetting(s); err != nil {
			return nil, fmt.Errorf("%s: %w", SetVar, err)
		}
	}
	return st, nil
}

// Config returns cfg — a preset of the registered experiment name — with
// the notebook's overrides (SGDESCAPE_SET) applied and validated. It ends
// the cell with a message naming the setting when one is invalid, and when
// name is not the registered experiment of cfg's type (a notebook must not
// invent parameters outside the registry).
func Config[C any, PC interface {
	*C
	param.Declarer
}](name string, cfg C) C {
	Check(registered(name, reflect.TypeFor[C]()))
	Check(isPreset(name, cfg))
	st, err := Settings()
	Check(err)
	if _, err := param.Declare(PC(&cfg)).Apply(st, name); err != nil {
		Check(fmt.Errorf("%s: %w", SetVar, err))
	}
	if v, ok := any(cfg).(experiment.Config); ok {
		if err := v.Validate(); err != nil {
			Check(fmt.Errorf("%s: the overrides of %s give an invalid configuration: %w", SetVar, name, err))
		}
	}
	return cfg
}

// isPreset refuses a notebook configuration that is not the registry's
// preset at the notebook's scale: the paper suite (pkg/suite) reproduces a
// notebook's experiments from the registry alone, so a notebook may only
// change them through SGDESCAPE_SET.
func isPreset(name string, cfg any) error {
	e, err := entryOf(name, reflect.TypeOf(cfg))
	if err != nil {
		return err
	}
	want, _ := json.Marshal(e.New(RunScale()).Config)
	got, _ := json.Marshal(&cfg)
	if string(want) != string(got) {
		return fmt.Errorf("notebook.Config(%q, …): the configuration given is not the registry's preset of %s at scale %s; change it with SGDESCAPE_SET (or change the preset), so that `sgdescape suite` runs what the notebook shows", name, name, RunScale())
	}
	return nil
}

func registered(name string, t reflect.Type) error {
	_, err := entryOf(name, t)
	return err
}

// Run runs the registered experiment name at cfg — typically the result of
// Config — on the notebook's environment (the GoMLX backend when the
// experiment needs one, the default cache, a live progress line) and
// returns its typed result. It ends the cell on an error.
func Run[T any](name string, cfg any) T {
	out := RunOutcome(name, cfg)
	res, ok := out.Result.(T)
	if !ok {
		Check(fmt.Errorf("notebook.Run[%v](%q): the experiment's result is a %T", reflect.TypeFor[T](), name, out.Result))
	}
	return res
}

// RecordsVar names a records folder of `sgdescape suite`: when it is set,
// Run renders the recorded result of each configuration instead of
// computing it, and ends the cell when there is none (make report
// SCALE=paper RECORDS=DIR).
const RecordsVar = EnvPrefix + "RECORDS"

// RunOutcome is Run with the provenance: the result and its envelope.
func RunOutcome(name string, cfg any) experiment.Outcome {
	e, err := entryOf(name, reflect.TypeOf(cfg))
	Check(err)
	in := e.New(RunScale())
	reflect.ValueOf(in.Config).Elem().Set(reflect.ValueOf(cfg))
	if dir := os.Getenv(RecordsVar); dir != "" {
		return fromRecord(dir, in)
	}
	var env run.Env
	if e.Native != "" {
		env = NativeEnv(e.Summary)
	} else {
		env = Env(e.Summary)
	}
	out, err := in.Run(context.Background(), env)
	Check(err)
	return out
}

// fromRecord loads the suite's record of in from dir, says where it was
// made, and decodes its result into the experiment's result type.
func fromRecord(dir string, in *experiment.Instance) experiment.Outcome {
	rec, err := suite.Load(dir, suite.Item{Instance: in})
	Check(err)
	out := in.Entry.NewResult()
	env, err := rec.Outcome(out)
	Check(err)
	fmt.Printf("[%s: %s]\n", in.Entry.ID(), rec.Where())
	return experiment.Outcome{Envelope: env, Result: reflect.ValueOf(out).Elem().Interface()}
}

func entryOf(name string, t reflect.Type) (experiment.Entry, error) {
	if e, ok := registry.All().ByConfig(name, t); ok {
		return e, nil
	}
	return experiment.Entry{}, fmt.Errorf("notebook: no registered experiment %q has configuration type %v (pkg/registry/list.go)", name, t)
}
