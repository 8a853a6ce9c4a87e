package diagnose

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/onnxmodel"
)

// BenchmarkDiagnoseMNIST is the speed target: a 784-128-10 MLP
// (101 770 parameters) on 10⁴ MNIST images with one-hot targets and the
// mean-square loss, through Diagnose without cache: per-sample gradient
// norms, 20 Lanczos steps on the Hessian and 20 on the Gauss–Newton
// matrix; no dense spectrum, no continuation. Each phase's time is logged.
func BenchmarkDiagnoseMNIST(b *testing.B) {
	ds, err := data.Load("", data.MNIST, "train")
	if err != nil {
		var me *data.MissingError
		if errors.As(err, &me) {
			b.Skip(err)
		}
		b.Fatal(err)
	}
	n := 10000
	ds, err = ds.Subset(n)
	if err != nil {
		b.Fatal(err)
	}
	ds = ds.OneHotTargets()
	a, _ := model.MLP(784, []int{128}, 10)
	dir := b.TempDir()
	cfg := Defaults()
	cfg.Model, cfg.Data, cfg.Targets = filepath.Join(dir, "m.onnx"), filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	cfg.DenseMax = 0
	if err := onnxmodel.ExportMLP(cfg.Model, a, a.Init(1)); err != nil {
		b.Fatal(err)
	}
	if err := data.WriteNPY(cfg.Data, []int{n, 784}, ds.X); err != nil {
		b.Fatal(err)
	}
	if err := data.WriteNPY(cfg.Targets, []int{n, 10}, ds.Y); err != nil {
		b.Fatal(err)
	}
	env := testEnv(b)
	for b.Loop() {
		var ru0, ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		var phases []string
		last, start := time.Now(), time.Now()
		note := "start"
		env.Progress = func(done, total int, msg string) {
			if strings.HasPrefix(msg, "Lanczos on the") && strings.Contains(msg, "step ") {
				return
			}
			phases = append(phases, note+": "+time.Since(last).Round(10*time.Millisecond).String())
			last, note = time.Now(), msg
		}
		if _, err := Diagnose(context.Background(), env, cfg); err != nil {
			b.Fatal(err)
		}
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
		b.Logf("wall %s, CPU time %s (user+system, all threads); %s", time.Since(start).Round(10*time.Millisecond), cpu.Round(10*time.Millisecond), strings.Join(phases, "; "))
	}
}
