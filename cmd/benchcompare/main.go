// Command benchcompare times sgdescape's workloads against the same
// workloads written in PyTorch, on the same machine, with the same number of
// threads (pkg/bench): `make bench-compare` builds PyTorch's environment and
// runs it.
//
//	go run ./cmd/benchcompare -python .tools/bench-torch/bin/python -threads 2 -reps 5
//
// The PyTorch harness is embedded in the binary, so a binary built here runs
// on a machine without Go: on a GPU node,
//
//	go build -tags xla -o benchcompare ./cmd/benchcompare   # here; no openblas tag
//	GOMLX_BACKEND=xla:<site-packages>/jax_plugins/xla_cuda13/xla_cuda_plugin.so \
//	  ./benchcompare -device cuda -python <python with PyTorch> -data <folder with mnist/>
//
// where GoMLX's backend comes from GOMLX_BACKEND and PyTorch runs on -device.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchcompare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	python := fs.String("python", ".tools/bench-torch/bin/python", "Python with PyTorch (make bench-compare installs it)")
	threads := fs.Int("threads", 2, "threads for both sides (GOMAXPROCS and torch.set_num_threads)")
	reps := fs.Int("reps", 5, "timed repetitions per side (median reported)")
	only := fs.String("only", "", "comma-separated workloads to run (default all): "+strings.Join(bench.Names(), ","))
	dataDir := fs.String("data", "", "data directory holding mnist/ (default: pkg/data's default, $SGDESCAPE_DATA or the repository's data/)")
	device := fs.String("device", "cpu", "where PyTorch runs: cpu or cuda (GoMLX's backend comes from GOMLX_BACKEND; it must run on the same kind of device)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *device != "cpu" && *device != "cuda" {
		fmt.Fprintf(stderr, "benchcompare: -device %q: use cpu or cuda\n", *device)
		return 2
	}
	if *threads < 1 || *reps < 1 || *reps > 1000 {
		fmt.Fprintln(stderr, "benchcompare: need -threads ≥ 1 and 1 ≤ -reps ≤ 1000")
		return 2
	}
	if _, err := os.Stat(*python); err != nil {
		fmt.Fprintf(stderr, "benchcompare: no Python at %s: run `make bench-compare` (it installs PyTorch into .tools/bench-torch)\n", *python)
		return 2
	}
	runtime.GOMAXPROCS(*threads)
	be, err := backend.New()
	if err != nil {
		fmt.Fprintln(stderr, "benchcompare:", err)
		return 1
	}
	if p := backend.Platform(be); (p == "cpu") != (*device == "cpu") {
		fmt.Fprintf(stderr, "benchcompare: PyTorch would run on %s but GoMLX runs on %s (%s): set GOMLX_BACKEND=xla:<CUDA PJRT plugin .so> for -device cuda, or use -device cpu\n", *device, p, backend.Name())
		return 2
	}
	if err := bench.Compare(*python, *threads, *reps, *only, *dataDir, *device, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "benchcompare:", err)
		return 1
	}
	return 0
}
