// Package train runs plain SGD (Eq. 2) on the models of pkg/model: each
// epoch the training set is randomly divided into mini-batches of B samples
// (a permutation drawn from the seed and the epoch number, so a resumed run
// continues exactly), several steps are unrolled into one GoMLX execution,
// and per-epoch metrics (loss, accuracy, noise strength) are recorded.
// Parameters can be saved and reloaded (Save/Load), which the experiments
// use for checkpoints and for resuming interrupted runs.
package train

import (
	"encoding/binary"
	"errors"
	"fmt"

	"math"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph-building code reads best with dot import
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// Config of an SGD run.
type Config struct {
	Loss string  `json:"loss"` // model.MSE or model.CE
	Eta  float64 `json:"eta"`
	B    int     `json:"B"`
	Seed uint64  `json:"seed"` // initialisation and mini-batch order
	// StepsPerExec is how many SGD steps one graph execution unrolls (default 10).
	StepsPerExec int `json:"steps_per_exec,omitempty"`
}

// Trainer holds the parameters and the data of one SGD run.
type Trainer struct {
	cfg    Config
	arch   model.Arch
	n      int
	x, y   *tensors.Tensor
	params []*tensors.Tensor
	epoch  int
	exec   *Exec
}

// New prepares SGD on n samples x ([n, InputSize]) with targets y
// ([n, Outputs]) from the Glorot initialisation drawn from cfg.Seed.
func New(be backends.Backend, a model.Arch, cfg Config, x, y []float32, n int) (*Trainer, error) {
	switch {
	case cfg.Loss != model.MSE && cfg.Loss != model.CE:
		return nil, fmt.Errorf("train: unknown loss %q (use %q or %q)", cfg.Loss, model.MSE, model.CE)
	case !(cfg.Eta > 0) || math.IsInf(cfg.Eta, 0):
		return nil, fmt.Errorf("train: learning rate η must be positive, got %v", cfg.Eta)
	case cfg.B < 1 || cfg.B > n:
		return nil, fmt.Errorf("train: batch size B=%d must satisfy 1 ≤ B ≤ N=%d", cfg.B, n)
	case len(x) != n*a.InputSize() || len(y) != n*a.Outputs:
		return nil, fmt.Errorf("train: %d samples need %d input values and %d targets, got %d and %d (does the data set match the architecture %s?)",
			n, n*a.InputSize(), n*a.Outputs, len(x), len(y), a.Name)
	}
	if cfg.StepsPerExec <= 0 {
		cfg.StepsPerExec = 10
	}
	t := &Trainer{cfg: cfg, arch: a, n: n, params: a.Init(cfg.Seed),
		x: tensors.FromFlatDataAndDimensions(x, n, a.InputSize()),
		y: tensors.FromFlatDataAndDimensions(y, n, a.Outputs)}
	np := len(t.params)
	eta := cfg.Eta
	exec, err := NewExec(be, func(in []*Node) []*Node {
		params := append([]*Node(nil), in[:np]...)
		X, Y, idx := in[np], in[np+1], in[np+2] // idx [k, B] int32
		k, b := idx.Shape().Dimensions[0], idx.Shape().Dimensions[1]
		losses := make([]*Node, k)
		for s := 0; s < k; s++ {
			ids := Reshape(Slice(idx, AxisElem(s)), b, 1)
			xb, yb := Gather(X, ids), Gather(Y, ids)
			f, err := a.Apply(params, xb)
			if err != nil {
				panic(err)
			}
			l, err := model.PerSampleLoss(cfg.Loss, f, yb)
			if err != nil {
				panic(err)
			}
			mean := ReduceAllMean(l) // L_B of Eq. 2
			grads := Gradient(mean, params...)
			for i := range params {
				params[i] = Sub(params[i], MulScalar(grads[i], eta))
			}
			losses[s] = mean
		}
		return append(params, Stack(losses, 0))
	})
	if err != nil {
		return nil, err
	}
	t.exec = exec
	return t, nil
}

// Epoch is the number of completed epochs.
func (t *Trainer) Epoch() int { return t.epoch }

// Params returns the current parameters (shared; do not modify).
func (t *Trainer) Params() []*tensors.Tensor { return t.params }

// permutation returns the sample order of an epoch: a fixed function of the
// seed and the epoch, so runs resumed from a checkpoint continue exactly.
func (t *Trainer) permutation(epoch int) []int {
	return rng.Indexed(t.cfg.Seed, rng.TrainEpoch, uint64(epoch)).Perm(t.n)
}

// RunEpoch performs ⌊N/B⌋ SGD steps (one random division of the data into
// mini-batches; the last N mod B samples of the permutation sit the epoch
// out) and returns the mean mini-batch loss. A non-finite loss is an error.
func (t *Trainer) RunEpoch() (float64, error) {
	perm := t.permutation(t.epoch)
	steps := t.n / t.cfg.B
	k := t.cfg.StepsPerExec
	sum := 0.0
	for s0 := 0; s0 < steps; s0 += k {
		m := min(k, steps-s0)
		idx := make([]int32, m*t.cfg.B)
		for i := range idx {
			idx[i] = int32(perm[s0*t.cfg.B+i])
		}
		args := make([]any, 0, len(t.params)+3)
		for _, p := range t.params {
			args = append(args, p)
		}
		args = append(args, t.x, t.y, tensors.FromFlatDataAndDimensions(idx, m, t.cfg.B))
		out, err := t.exec.Exec(args...)
		if err != nil {
			return 0, err
		}
		t.params = out[:len(t.params)]
		for _, l := range tensors.MustCopyFlatData[float32](out[len(t.params)]) {
			sum += float64(l)
		}
	}
	t.epoch++
	mean := sum / float64(steps)
	if math.IsNaN(mean) || math.IsInf(mean, 0) {
		return mean, fmt.Errorf("train: the mini-batch loss became %v at epoch %d: %w", mean, t.epoch, ErrDiverged)
	}
	return mean, nil
}

// ErrDiverged is wrapped by RunEpoch's error when the mini-batch loss
// becomes NaN or ±Inf, so that callers can report a diverged run as such.
var ErrDiverged = errors.New("SGD diverged (lower η)")

// SetState replaces the parameters and the epoch counter (to resume).
func (t *Trainer) SetState(params []*tensors.Tensor, epoch int) error {
	shapes := t.arch.ParamShapes()
	if len(params) != len(shapes) {
		return fmt.Errorf("train: %d parameter tensors for %s, want %d", len(params), t.arch.Name, len(shapes))
	}
	for i, p := range params {
		if !p.Shape().Equal(shapes[i]) {
			return fmt.Errorf("train: parameter %d has shape %s, want %s", i, p.Shape(), shapes[i])
		}
	}
	t.params, t.epoch = params, epoch
	return nil
}

// Save writes the parameters and the epoch to path atomically, in a small
// self-describing binary format (magic, epoch, count, then per tensor its
// rank, dimensions and float32 values, little endian).
func Save(path string, params []*tensors.Tensor, epoch int) error {
	var buf []byte
	buf = append(buf, "SGDP1\x00"...)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(epoch))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(params)))
	for _, p := range params {
		dims := p.Shape().Dimensions
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(dims)))
		for _, d := range dims {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(d))
		}
		for _, v := range tensors.MustCopyFlatData[float32](p) {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	return run.WriteFileAtomic(path, buf)
}

// Load reads parameters saved by Save.
func Load(path string) ([]*tensors.Tensor, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	bad := func(msg string) ([]*tensors.Tensor, int, error) {
		return nil, 0, fmt.Errorf("train: %s is not a valid parameter file: %s", path, msg)
	}
	if len(b) < 18 || string(b[:6]) != "SGDP1\x00" {
		return bad("wrong header")
	}
	epoch := int(binary.LittleEndian.Uint64(b[6:]))
	count := int(binary.LittleEndian.Uint32(b[14:]))
	off := 18
	var out []*tensors.Tensor
	for i := 0; i < count; i++ {
		if off+4 > len(b) {
			return bad("truncated")
		}
		rank := int(binary.LittleEndian.Uint32(b[off:]))
		off += 4
		if rank > 8 || off+4*rank > len(b) {
			return bad("truncated or absurd rank")
		}
		dims := make([]int, rank)
		n := 1
		for j := range dims {
			dims[j] = int(binary.LittleEndian.Uint32(b[off:]))
			off += 4
			n *= dims[j]
		}
		if n < 0 || off+4*n > len(b) {
			return bad("truncated data")
		}
		v := make([]float32, n)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[off:]))
			off += 4
		}
		out = append(out, tensors.FromFlatDataAndDimensions(v, dims...))
	}
	if off != len(b) {
		return bad("trailing bytes")
	}
	return out, epoch, nil
}

// ErrNoCheckpoint is returned by Latest when no checkpoint exists.
var ErrNoCheckpoint = errors.New("train: no checkpoint")

// CheckpointPath names the checkpoint of an epoch in dir.
func CheckpointPath(dir string, epoch int) string {
	return filepath.Join(dir, fmt.Sprintf("epoch-%06d.params", epoch))
}

// Latest returns the highest-epoch checkpoint in dir not beyond maxEpoch.
func Latest(dir string, maxEpoch int) (string, int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", 0, ErrNoCheckpoint
	}
	best := -1
	for _, e := range ents {
		var ep int
		if _, err := fmt.Sscanf(e.Name(), "epoch-%06d.params", &ep); err == nil && ep <= maxEpoch && ep > best {
			best = ep
		}
	}
	if best < 0 {
		return "", 0, ErrNoCheckpoint
	}
	return CheckpointPath(dir, best), best, nil
}
