// Package bench times sgdescape's workloads against the same workloads
// written in PyTorch, on the same machine, with the same number of threads:
// `make bench-compare` builds PyTorch's environment and runs it.
//
// Each workload is set up and warmed up on both sides (compilation, caches),
// then timed in paired, interleaved repetitions (Go then PyTorch, then
// PyTorch then Go, …) so that a change of machine load hits both alike; the
// table shows the median of each side and the speed ratio PyTorch time ÷
// sgdescape time (above 1: sgdescape is faster), with the target.
//
//	go run ./cmd/benchcompare -python .tools/bench-torch/bin/python -threads 2 -reps 5
//
// The PyTorch harness (torch_bench.py) is embedded in the binary, so a
// binary built here runs on a machine without Go: on a GPU node,
//
//	go build -tags xla -o benchcompare ./cmd/benchcompare   # here; no openblas tag
//	GOMLX_BACKEND=xla:<site-packages>/jax_plugins/xla_cuda13/xla_cuda_plugin.so \
//	  ./benchcompare -device cuda -python <python with PyTorch> -data <folder with mnist/>
//
// where GoMLX's backend comes from GOMLX_BACKEND and PyTorch runs on -device.
package bench

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/dynamics"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/network"
	"github.com/sgdescape/sgdescape/pkg/noise"
	"github.com/sgdescape/sgdescape/pkg/train"
)

//go:embed torch_bench.py
var torchBench []byte

// workload is one row of the table: a Go side (set up once, then timed per
// call), the name of the PyTorch side, what the time is per, and the target
// speed ratio (on a GPU gpuTarget, when set).
type workload struct {
	name, what string
	torch      string
	target     float64
	gpuTarget  float64
	mnist      bool   // needs the MNIST subset
	unit       string // throughput unit ("" for time only)
	work       float64
	goSetup    func() (func() (float64, error), error) // returns the timed function (its work count)
}

// Names lists the workloads (the rows of the table), in order.
func Names() []string {
	var out []string
	for _, w := range workloads(nil, "") {
		out = append(out, w.name)
	}
	return out
}

// mnist loads the first 10⁴ MNIST training images with even/odd targets ±1.
func mnist(dir string) (*data.Dataset, error) {
	ds, err := data.Load(dir, data.MNIST, "train")
	if err != nil {
		return nil, err
	}
	ds, err = ds.Subset(10000)
	if err != nil {
		return nil, err
	}
	return ds.EvenOddTargets(), nil
}

func workloads(ds *data.Dataset, _ string) []workload {
	trainer := func(a model.Arch, cfg train.Config, x, y []float32, n int) (*train.Trainer, error) {
		be, err := backend.New()
		if err != nil {
			return nil, err
		}
		return train.New(be, a, cfg, x, y, n)
	}
	return []workload{
		{name: "mlp-epoch", mnist: true, what: "one epoch 784-100-100-1, 10⁴ MNIST, B = 100", torch: "mlp-epoch", target: 1.5, unit: "images/s", work: 10000,
			goSetup: func() (func() (float64, error), error) {
				a, _ := model.MLP(784, []int{100, 100}, 1)
				tr, err := trainer(a, train.Config{Loss: model.MSE, Eta: 0.01, B: 100, Seed: 1}, ds.X, ds.Y, ds.N())
				if err != nil {
					return nil, err
				}
				return func() (float64, error) { _, err := tr.RunEpoch(); return 0, err }, nil
			}},
		{name: "cnn-epoch", what: "paper CNN 64/128/256, one epoch of 500 images, B = 100", torch: "cnn-epoch", target: 1, unit: "images/s", work: 500,
			goSetup: func() (func() (float64, error), error) {
				a, _ := model.CNN(32, 32, 3, []int{64, 128, 256}, 3, 10)
				x, y := randomImages(500)
				tr, err := trainer(a, train.Config{Loss: model.MSE, Eta: 0.01, B: 100, Seed: 1, StepsPerExec: 5}, x, y, 500)
				if err != nil {
					return nil, err
				}
				return func() (float64, error) { _, err := tr.RunEpoch(); return 0, err }, nil
			}},
		{name: "pretrain", mnist: true, what: "pre-training 784-10-1, 10⁴ MNIST, 100 epochs, B = 100, η = 0.1", torch: "pretrain", target: 2, unit: "epochs/s", work: 100,
			goSetup: func() (func() (float64, error), error) {
				a, _ := model.MLP(784, []int{10}, 1)
				be, ev, err := evaluator(a)
				if err != nil {
					return nil, err
				}
				return func() (float64, error) {
					tr, err := train.New(be, a, train.Config{Loss: model.MSE, Eta: 0.1, B: 100, Seed: 1}, ds.X, ds.Y, ds.N())
					if err != nil {
						return 0, err
					}
					for e := 1; e <= 100; e++ {
						if _, err := tr.RunEpoch(); err != nil {
							return 0, err
						}
						if e%10 == 0 { // the full-batch loss check of pre-training
							if _, err := ev.Stats(tr.Params(), ds.X, ds.Y, ds.N()); err != nil {
								return 0, err
							}
						}
					}
					return 0, nil
				}, nil
			}},
		{name: "cnn-stats", what: "paper CNN 64/128/256 per-sample statistics (|∇ℓ_μ|², |∇L|², 𝒩), 500 images (PyTorch: torch.func vmap)", torch: "cnn-stats", target: 1.5, gpuTarget: 3, unit: "images/s", work: 500,
			goSetup: statsSetup([]int{64, 128, 256})},
		{name: "quick-cnn-stats", what: "quick CNN 8/16/32 per-sample statistics, 500 images (PyTorch: torch.func vmap)", torch: "quick-cnn-stats", target: 1.5, unit: "images/s", work: 500,
			goSetup: statsSetup([]int{8, 16, 32})},
		{name: "norms", mnist: true, what: "per-sample gradient norms, 10⁴ MNIST, 784-100-100-1 (PyTorch: torch.func vmap)", torch: "norms", target: 10, unit: "images/s", work: 10000,
			goSetup: func() (func() (float64, error), error) {
				a, _ := model.MLP(784, []int{100, 100}, 1)
				_, ev, err := evaluator(a)
				if err != nil {
					return nil, err
				}
				ps := a.Init(1)
				return func() (float64, error) { _, err := ev.Stats(ps, ds.X, ds.Y, ds.N()); return 0, err }, nil
			}},
		{name: "linreg", what: "linear-regression ensemble: 100 chains, SGD B = 1, N = 10⁴, P = 10", torch: "linreg", target: 20, unit: "chain-steps/s",
			goSetup: func() (func() (float64, error), error) {
				lr, err := data.NewLinReg(data.LinRegConfig{N: 10000, P: 10, Seed: 1, XStd: 1, Labels: data.LabelsGaussian})
				if err != nil {
					return nil, err
				}
				q, err := dynamics.NewQuadratic(lr)
				if err != nil {
					return nil, err
				}
				const runs, steps = 100, 50000
				return func() (float64, error) {
					_, err := dynamics.Run(context.Background(), q, dynamics.Config{Kind: dynamics.SGD, Eta: 0.1, B: 1},
						dynamics.Options{Runs: runs, Seed: 1, MaxSteps: steps}, never{})
					return runs * steps, err
				}, nil
			}},
		{name: "continuation", mnist: true, what: "network continuation: 100 runs of 784-10-1, B = 1, exact loss (N = 10⁴) after every step; PyTorch rank-1 version", torch: "continuation-rank1", target: 5, unit: "run-steps/s",
			goSetup: continuationSetup(ds)},
		{name: "continuation-vs-naive", mnist: true, what: "the same, against PyTorch recomputing the full forward pass every step", torch: "continuation-naive", target: 0, unit: "run-steps/s",
			goSetup: continuationSetup(ds)},
	}
}

// evaluator starts the backend and the mean-square noise evaluator of a.
func evaluator(a model.Arch) (backends.Backend, *noise.Evaluator, error) {
	be, err := backend.New()
	if err != nil {
		return nil, nil, err
	}
	ev, err := noise.NewEvaluator(be, a, model.MSE, false)
	return be, ev, err
}

// statsSetup times Evaluator.Stats (per-sample |∇ℓ_μ|², |∇L|², 𝒩, loss)
// of a CNN with the given channels on 500 random CIFAR-10-shaped images.
func statsSetup(channels []int) func() (func() (float64, error), error) {
	return func() (func() (float64, error), error) {
		a, err := model.CNN(32, 32, 3, channels, 3, 10)
		if err != nil {
			return nil, err
		}
		x, y := randomImages(500)
		be, ev, err := evaluator(a)
		if err != nil {
			return nil, err
		}
		where := "free memory unknown: fixed 1 GiB budget"
		if m, ok := backend.FreeMemory(be); ok {
			where = m.Where
		}
		fmt.Fprintf(os.Stderr, "   %s: chunks of %d images (%s), per-layer methods %s\n", a.Name, ev.Chunk(), where, noise.MethodsString(ev.Methods()))
		ps := a.Init(1)
		return func() (float64, error) { _, err := ev.Stats(ps, x, y, 500); return 0, err }, nil
	}
}

func continuationSetup(ds *data.Dataset) func() (func() (float64, error), error) {
	return func() (func() (float64, error), error) {
		a, _ := model.MLP(784, []int{10}, 1)
		net, err := network.ShallowFromParams(a, a.Init(2))
		if err != nil {
			return nil, err
		}
		c, err := network.NewContinuation(net, ds.X, ds.Y, ds.N(), 0.01, 1)
		if err != nil {
			return nil, err
		}
		const runs, steps = 100, 500
		obs := func(int, int64, float64, float64) bool { return false }
		return func() (float64, error) {
			_, total, err := c.Run(context.Background(), runs, 3, steps, 1, obs, nil)
			return float64(total), err
		}, nil
	}
}

type never struct{}

func (never) Observe(*dynamics.State) bool { return false }

func randomImages(n int) ([]float32, []float32) {
	x := make([]float32, n*3072)
	y := make([]float32, n*10)
	s := uint64(1)
	for i := range x {
		s = s*6364136223846793005 + 1442695040888963407
		x[i] = float32(s>>40) / float32(1<<24)
	}
	for i := 0; i < n; i++ {
		y[i*10+i%10] = 1
	}
	return x, y
}

// torchProc is the PyTorch side: one long-lived Python process.
type torchProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// startTorch writes the embedded harness into dir and starts it.
func startTorch(python string, threads int, dir, device string) (*torchProc, string, error) {
	script := filepath.Join(dir, "torch_bench.py")
	if err := os.WriteFile(script, torchBench, 0o644); err != nil {
		return nil, "", err
	}
	cmd := exec.Command(python, script, "--threads", fmt.Sprint(threads), "--data", dir, "--device", device)
	cmd.Env = append(os.Environ(), fmt.Sprintf("OMP_NUM_THREADS=%d", threads), fmt.Sprintf("MKL_NUM_THREADS=%d", threads))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, "", err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	p := &torchProc{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	var hello struct {
		Torch   string `json:"torch"`
		Threads int    `json:"threads"`
		Device  string `json:"device"`
	}
	if err := p.read(&hello); err != nil {
		return nil, "", fmt.Errorf("PyTorch harness did not start: %w", err)
	}
	return p, fmt.Sprintf("PyTorch %s on %s, %d threads", hello.Torch, hello.Device, hello.Threads), nil
}

func (p *torchProc) read(v any) error {
	if !p.out.Scan() {
		if err := p.out.Err(); err != nil {
			return err
		}
		return errors.New("PyTorch harness exited")
	}
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(p.out.Bytes(), &e)
	if e.Error != "" {
		return errors.New(e.Error)
	}
	return json.Unmarshal(p.out.Bytes(), v)
}

func (p *torchProc) call(op, name string, v any) error {
	b, _ := json.Marshal(map[string]string{"op": op, "workload": name})
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		return err
	}
	return p.read(v)
}

func writeF32(path string, v []float32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := binary.Write(w, binary.LittleEndian, v); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Compare times the workloads named in only (all when empty) on both sides
// — sgdescape on the GoMLX backend in this process, PyTorch in the Python
// interpreter python on device — in reps paired, interleaved repetitions
// with threads threads each, and writes the table of medians and speed
// ratios to stdout (progress to stderr).
func Compare(python string, threads, reps int, only, dataDir, device string, stdout, stderr io.Writer) error {
	want := map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	var selected []workload
	needMNIST := false
	unknown := maps.Clone(want)
	for _, w := range workloads(nil, "") {
		if len(want) == 0 || want[w.name] {
			selected = append(selected, w)
			needMNIST = needMNIST || w.mnist
			delete(unknown, w.name)
		}
	}
	if len(unknown) > 0 {
		unknown := slices.Sorted(maps.Keys(unknown))
		return fmt.Errorf("unknown workload %q in -only (known: %s)", strings.Join(unknown, ","), strings.Join(Names(), ","))
	}
	tmp, err := os.MkdirTemp("", "benchcompare")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var ds *data.Dataset
	if needMNIST {
		if ds, err = mnist(dataDir); err != nil {
			return fmt.Errorf("MNIST: %w (run `make data`, or pass -data <folder holding mnist/>)", err)
		}
		if err := writeF32(filepath.Join(tmp, "mnist-x.f32"), ds.X); err != nil {
			return err
		}
		if err := writeF32(filepath.Join(tmp, "mnist-y.f32"), ds.Y); err != nil {
			return err
		}
	}
	tp, torchName, err := startTorch(python, threads, tmp, device)
	if err != nil {
		return err
	}
	defer func() { tp.in.Close(); _ = tp.cmd.Wait() }()
	host, _ := os.Hostname()
	cpu := cpuModel()
	fmt.Fprintf(stdout, "sgdescape on %s (GOMAXPROCS %d) vs %s — %s, %d CPUs (%s); %d paired interleaved repetitions, medians; %s; load average before: %s\n\n",
		backend.Name(), threads, torchName, cpu, runtime.NumCPU(), host, reps, time.Now().UTC().Format("2006-01-02 15:04 UTC"), loadAvg())
	defer func() {
		fmt.Fprintf(stdout, "\nload average after: %s (other processes on the machine slow both sides; PyTorch's OpenMP threads suffer most when cores are oversubscribed)\n", loadAvg())
	}()
	fmt.Fprintln(stdout, "| workload | PyTorch | sgdescape | speed ratio | target | met |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|")
	for _, w := range workloads(ds, dataDir) {
		if !slices.ContainsFunc(selected, func(s workload) bool { return s.name == w.name }) {
			continue
		}
		fmt.Fprintf(stderr, "   %s: set-up and warm-up\n", w.name)
		goRun, err := w.goSetup()
		if err != nil {
			return fmt.Errorf("%s (Go): %w", w.name, err)
		}
		goWork, err := goRun() // warm-up: compilation
		if err != nil {
			return fmt.Errorf("%s (Go): %w", w.name, err)
		}
		var ok struct{ OK bool }
		if err := tp.call("setup", w.torch, &ok); err != nil {
			return fmt.Errorf("%s (PyTorch): %w", w.name, err)
		}
		var goT, thT, goRate, thRate []float64
		for r := 0; r < reps; r++ {
			timeGo := func() error {
				t0 := time.Now()
				work, err := goRun()
				if err != nil {
					return err
				}
				dt := time.Since(t0).Seconds()
				goWork = work
				goT = append(goT, dt)
				goRate = append(goRate, rate(w, work, dt))
				return nil
			}
			timeTorch := func() error {
				var res struct {
					Seconds float64 `json:"seconds"`
					Work    float64 `json:"work"`
				}
				if err := tp.call("run", w.torch, &res); err != nil {
					return err
				}
				thT = append(thT, res.Seconds)
				thRate = append(thRate, rate(w, res.Work, res.Seconds))
				return nil
			}
			first, second := timeGo, timeTorch
			if r%2 == 1 {
				first, second = timeTorch, timeGo
			}
			// A pause before each side: both runtimes keep their worker threads
			// spinning for a while after a parallel region (OpenMP's wait policy,
			// XLA's thread pool), which would otherwise take cores from the side
			// timed next (it made a 0.3 s workload look 2× slower).
			time.Sleep(settle)
			if err := first(); err != nil {
				return fmt.Errorf("%s: %w", w.name, err)
			}
			time.Sleep(settle)
			if err := second(); err != nil {
				return fmt.Errorf("%s: %w", w.name, err)
			}
		}
		_ = goWork
		mg, mt := median(goRate), median(thRate)
		ratio := mg / mt
		met := "—"
		target := "—"
		goal := w.target
		if device != "cpu" && w.gpuTarget > 0 {
			goal = w.gpuTarget
		}
		if goal > 0 {
			target = fmt.Sprintf("≥ %g×", goal)
			met = "yes"
			if ratio < goal {
				met = fmt.Sprintf("no (%.0f%% of target)", 100*ratio/goal)
			}
		}
		fmt.Fprintf(stdout, "| %s | %s | %s | %.2f× | %s | %s |\n", w.what, show(median(thT), mt, w.unit), show(median(goT), mg, w.unit), ratio, target, met)
	}
	return nil
}

// settle is the pause before each timed repetition (see compare).
const settle = 300 * time.Millisecond

// rate is work per second; for fixed-size workloads the work is w.work.
func rate(w workload, work, seconds float64) float64 {
	if work == 0 {
		work = w.work
	}
	if seconds <= 0 || work == 0 {
		return math.NaN()
	}
	return work / seconds
}

func show(seconds, rate float64, unit string) string {
	return fmt.Sprintf("%.3g s (%s %s)", seconds, human(rate), unit)
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3g M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3g k", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
