// Package network runs the paper's experiments on neural networks: the
// decoupling approximation along training (section 5.1, Fig. 1), the noise
// strength against the loss (section 5.2, Fig. 2, appendix D) and, built on
// the same training runs, the spectra and escape of section 5.3.2.
//
// Every experiment is a training run (pkg/train) plus measurements. Training
// runs are checkpointed under the cache directory, keyed by data, model and
// SGD configuration; a run asked for epoch E resumes from the latest
// checkpoint at or before E, so interrupted work is never lost and stages
// (epochs 0, 50, 500) share one run. Measurements are cached per stage.
package network

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/sgdescape/sgdescape/pkg/data"
	"github.com/sgdescape/sgdescape/pkg/model"
	"github.com/sgdescape/sgdescape/pkg/run"
	"github.com/sgdescape/sgdescape/pkg/train"
)

// Targets of a data set.
const (
	EvenOdd = "evenodd" // one output, +1 for even labels and −1 for odd (section 5.1)
	OneHot  = "onehot"  // one output per class (section 5.2)
)

// DataSpec selects the training data.
type DataSpec struct {
	Set     string `json:"set"`     // data.MNIST, data.Fashion or data.CIFAR10
	N       int    `json:"N"`       // the first N training images
	Targets string `json:"targets"` // EvenOdd or OneHot
}

// Load reads the data (from data.Dir()).
func (d DataSpec) Load() (*data.Dataset, error) {
	if d.N < 1 {
		return nil, fmt.Errorf("network: N must be ≥ 1, got %d", d.N)
	}
	ds, err := data.Load("", d.Set, "train")
	if err != nil {
		return nil, err
	}
	ds, err = ds.Subset(d.N)
	if err != nil {
		return nil, err
	}
	switch d.Targets {
	case EvenOdd:
		return ds.EvenOddTargets(), nil
	case OneHot:
		return ds.OneHotTargets(), nil
	}
	return nil, fmt.Errorf("network: targets must be %q or %q, got %q", EvenOdd, OneHot, d.Targets)
}

// ArchSpec describes the network independent of the data's sizes.
type ArchSpec struct {
	Kind          string `json:"kind"`                      // "mlp" or "cnn"
	Widths        []int  `json:"widths,omitempty"`          // MLP hidden widths
	Channels      []int  `json:"channels,omitempty"`        // CNN channels per stack (paper: 64,128,256)
	ConvsPerStack int    `json:"convs_per_stack,omitempty"` // CNN (paper: 3)
}

// Build makes the architecture for a data set's input shape and targets.
func (a ArchSpec) Build(ds *data.Dataset) (model.Arch, error) {
	switch a.Kind {
	case "mlp":
		return model.MLP(ds.D(), a.Widths, ds.TargetDim)
	case "cnn":
		if len(ds.Shape) != 3 {
			return model.Arch{}, fmt.Errorf("network: a CNN needs image data")
		}
		return model.CNN(ds.Shape[0], ds.Shape[1], ds.Shape[2], a.Channels, a.ConvsPerStack, ds.TargetDim)
	}
	return model.Arch{}, fmt.Errorf("network: unknown architecture %q (use mlp or cnn)", a.Kind)
}

// RunSpec is one SGD training run.
type RunSpec struct {
	Data  DataSpec     `json:"data"`
	Arch  ArchSpec     `json:"arch"`
	Train train.Config `json:"train"`
}

// TrainCodeVersion is part of checkpoint keys: bump when training changes its numbers.
const TrainCodeVersion = "train/v1"

func (r RunSpec) key(backendName string) string {
	b, _ := json.Marshal(r)
	h := sha256.Sum256(append([]byte(TrainCodeVersion+"\x00"+backendName+"\x00"), b...))
	return hex.EncodeToString(h[:])[:20]
}

// Session holds a loaded training run that can be advanced to any epoch.
type Session struct {
	Spec    RunSpec
	Arch    model.Arch
	Data    *data.Dataset
	Trainer *train.Trainer
	be      backends.Backend
	dir     string // checkpoint directory ("" disables checkpoints)
	// CheckpointEvery: a checkpoint is also written every this many epochs
	// (0: only at requested stages) and at least every CheckpointInterval.
	CheckpointEvery    int
	CheckpointInterval time.Duration
	// KeepAll keeps every checkpoint; otherwise older ones are deleted after
	// each save (the measurements they served are cached, and resuming needs
	// only the latest), which bounds the disk used by large networks.
	KeepAll  bool
	lastSave time.Time
}

// Open loads the data and prepares training; with a cache directory it
// enables checkpoints there.
func Open(be backends.Backend, backendName string, cache run.Cache, spec RunSpec) (*Session, error) {
	ds, err := spec.Data.Load()
	if err != nil {
		return nil, err
	}
	a, err := spec.Arch.Build(ds)
	if err != nil {
		return nil, err
	}
	if spec.Train.B > ds.N() {
		return nil, fmt.Errorf("network: batch size B=%d exceeds N=%d", spec.Train.B, ds.N())
	}
	tr, err := train.New(be, a, spec.Train, ds.X, ds.Y, ds.N())
	if err != nil {
		return nil, err
	}
	s := &Session{Spec: spec, Arch: a, Data: ds, Trainer: tr, be: be, CheckpointInterval: 2 * time.Minute, lastSave: time.Now()}
	if cache.Dir != "" && !cache.ReadOnly {
		s.dir = filepath.Join(cache.Dir, "checkpoints", spec.key(backendName))
	}
	return s, nil
}

// Advance brings the run to epoch target: it resumes from the latest
// checkpoint at or before target (when that is ahead of the current epoch),
// then trains, calling onEpoch after every epoch (it may be nil), and saves
// a checkpoint at target.
func (s *Session) Advance(ctx context.Context, target int, onEpoch func(epoch int, meanBatchLoss float64) error, progress run.Progress) error {
	if target < s.Trainer.Epoch() {
		return fmt.Errorf("network: the run is at epoch %d, beyond the requested %d", s.Trainer.Epoch(), target)
	}
	if s.dir != "" {
		if p, ep, err := train.Latest(s.dir, target); err == nil && ep > s.Trainer.Epoch() {
			ps, e, err := train.Load(p)
			if err != nil {
				return err
			}
			if err := s.Trainer.SetState(ps, e); err != nil {
				return err
			}
		}
	}
	start := s.Trainer.Epoch()
	for s.Trainer.Epoch() < target {
		if err := ctx.Err(); err != nil {
			return err
		}
		l, err := s.Trainer.RunEpoch()
		if err != nil {
			return err
		}
		ep := s.Trainer.Epoch()
		progress.Report(ep-start, target-start, fmt.Sprintf("epoch %d, mini-batch loss %.4g", ep, l))
		if onEpoch != nil {
			if err := onEpoch(ep, l); err != nil {
				return err
			}
		}
		if s.dir != "" && ep < target && ((s.CheckpointEvery > 0 && ep%s.CheckpointEvery == 0) || time.Since(s.lastSave) > s.CheckpointInterval) {
			if err := s.save(); err != nil {
				return err
			}
		}
	}
	if s.dir != "" {
		return s.save()
	}
	return nil
}

func (s *Session) save() error {
	s.lastSave = time.Now()
	ep := s.Trainer.Epoch()
	if err := train.Save(train.CheckpointPath(s.dir, ep), s.Trainer.Params(), ep); err != nil {
		return err
	}
	if s.KeepAll {
		return nil
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil
	}
	for _, e := range ents {
		var old int
		if _, err := fmt.Sscanf(e.Name(), "epoch-%06d.params", &old); err == nil && old < ep {
			os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
	return nil
}

// Params returns the current parameters.
func (s *Session) Params() []*tensors.Tensor { return s.Trainer.Params() }

// NumParams returns the number of parameters of the network of r (it reads
// the data set for its input shape).
func (r RunSpec) NumParams() (int, error) {
	ds, err := r.Data.Load()
	if err != nil {
		return 0, err
	}
	a, err := r.Arch.Build(ds)
	if err != nil {
		return 0, err
	}
	return a.NumParams(), nil
}
