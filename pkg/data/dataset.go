// Package data loads the data sets of the paper — MNIST (sections 5.1 and
// 5.3.2), Fashion-MNIST and CIFAR-10 (section 5.2, appendix D) — from their
// standard files, checks them, applies the paper's transforms, and generates
// the Gaussian linear-regression problems of section 5.3.1.
//
// Inputs are float32 in [0, 1] (pixel/255), one row of D = H·W·C values per
// sample in H, W, C order (channels last, the layout GoMLX convolutions use);
// CIFAR-10's planar R, G, B records are interleaved on load. Nothing is ever
// downloaded at run time: loaders read data/<name>/ and say how to fetch a
// missing set (`make data`).
package data

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sgdescape/sgdescape/pkg/rng"
	"github.com/sgdescape/sgdescape/pkg/run"
)

// Source records where a data set came from.
type Source struct {
	Files   []string `json:"files"`
	Format  string   `json:"format"`
	Comment string   `json:"comment,omitempty"`
}

// Dataset is a labelled sample set held in memory.
type Dataset struct {
	Name  string // "mnist", "fashion-mnist", "cifar10"
	Split string // "train" or "test"
	// X holds N rows of D = Shape[0]·Shape[1]·Shape[2] float32 values in [0, 1].
	X     []float32
	Shape []int // per-sample shape [H, W, C]
	// Labels are class indices in 0..NumClasses-1.
	Labels     []int
	NumClasses int
	// Y holds N rows of TargetDim regression targets once a target transform
	// (EvenOddTargets, OneHotTargets) has been applied; nil before.
	Y         []float32
	TargetDim int
	Source    Source
	// Transforms lists what was applied, in order, for provenance.
	Transforms []string
}

// N is the number of samples.
func (d *Dataset) N() int { return len(d.Labels) }

// D is the number of input values per sample.
func (d *Dataset) D() int { return d.Shape[0] * d.Shape[1] * d.Shape[2] }

// Row returns sample i's inputs.
func (d *Dataset) Row(i int) []float32 { return d.X[i*d.D() : (i+1)*d.D()] }

// clone copies the data set (slices are copied, so transforms never alias).
func (d *Dataset) clone() *Dataset {
	c := *d
	c.X = append([]float32(nil), d.X...)
	c.Labels = append([]int(nil), d.Labels...)
	c.Y = append([]float32(nil), d.Y...)
	c.Shape = append([]int(nil), d.Shape...)
	c.Transforms = append([]string(nil), d.Transforms...)
	if d.Y == nil {
		c.Y = nil
	}
	return &c
}

// Subset returns the first n samples (the paper uses the first 10⁴ MNIST
// training images). n larger than the data set is an error.
func (d *Dataset) Subset(n int) (*Dataset, error) {
	if n < 1 || n > d.N() {
		return nil, fmt.Errorf("data: subset of %d samples requested from %s/%s, which has %d", n, d.Name, d.Split, d.N())
	}
	c := *d
	dd := d.D()
	c.X = append([]float32(nil), d.X[:n*dd]...)
	c.Labels = append([]int(nil), d.Labels[:n]...)
	if d.Y != nil {
		c.Y = append([]float32(nil), d.Y[:n*d.TargetDim]...)
	}
	c.Shape = append([]int(nil), d.Shape...)
	c.Transforms = append(append([]string(nil), d.Transforms...), fmt.Sprintf("first %d", n))
	return &c, nil
}

// Shuffle returns a copy with the samples in a random order fixed by seed
// (a PCG stream, so the same seed gives the same order everywhere).
func (d *Dataset) Shuffle(seed uint64) *Dataset {
	perm := rng.New(seed, rng.Subset).Perm(d.N())
	c := d.clone()
	dd, td := d.D(), d.TargetDim
	for to, from := range perm {
		copy(c.X[to*dd:(to+1)*dd], d.X[from*dd:(from+1)*dd])
		c.Labels[to] = d.Labels[from]
		if d.Y != nil {
			copy(c.Y[to*td:(to+1)*td], d.Y[from*td:(from+1)*td])
		}
	}
	c.Transforms = append(c.Transforms, fmt.Sprintf("shuffle(seed=%d)", seed))
	return c
}

// EvenOddTargets sets one regression target per sample: +1 for an even label
// and −1 for an odd one (section 5.1: even and odd digits).
func (d *Dataset) EvenOddTargets() *Dataset {
	c := d.clone()
	c.Y = make([]float32, d.N())
	for i, l := range d.Labels {
		c.Y[i] = 1
		if l%2 != 0 {
			c.Y[i] = -1
		}
	}
	c.TargetDim = 1
	c.Transforms = append(c.Transforms, "targets: +1 even, -1 odd")
	return c
}

// OneHotTargets sets NumClasses targets per sample: 1 at the label and 0
// elsewhere (section 5.2).
func (d *Dataset) OneHotTargets() *Dataset {
	c := d.clone()
	k := d.NumClasses
	c.Y = make([]float32, d.N()*k)
	for i, l := range d.Labels {
		c.Y[i*k+l] = 1
	}
	c.TargetDim = k
	c.Transforms = append(c.Transforms, fmt.Sprintf("targets: one-hot (%d)", k))
	return c
}

// HoldOut returns the first nTrain samples and the following nTest samples as
// two data sets (for a held-out part of one file).
func (d *Dataset) HoldOut(nTrain, nTest int) (*Dataset, *Dataset, error) {
	if nTrain < 1 || nTest < 0 || nTrain+nTest > d.N() {
		return nil, nil, fmt.Errorf("data: cannot split %d samples of %s into %d + %d", d.N(), d.Name, nTrain, nTest)
	}
	tr, _ := d.Subset(nTrain + nTest)
	a := *tr
	b := *tr
	dd, td := d.D(), d.TargetDim
	a.X, b.X = tr.X[:nTrain*dd], tr.X[nTrain*dd:]
	a.Labels, b.Labels = tr.Labels[:nTrain], tr.Labels[nTrain:]
	if tr.Y != nil {
		a.Y, b.Y = tr.Y[:nTrain*td], tr.Y[nTrain*td:]
	}
	a.Transforms = append(append([]string(nil), tr.Transforms...), fmt.Sprintf("split: first %d", nTrain))
	b.Transforms = append(append([]string(nil), tr.Transforms...), fmt.Sprintf("split: %d after the first %d", nTest, nTrain))
	return &a, &b, nil
}

// MissingError is returned when a data set's files are not where they should
// be; it names the path and the command that fetches them.
type MissingError struct {
	Set  string
	Path string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("data set %s is missing: expected %s; run `make data` (or `go run ./cmd/sgdescape data fetch -sets %s`) to fetch it", e.Set, e.Path, e.Set)
}

// Dir returns the data directory: $SGDESCAPE_DATA, or data/ under the
// repository root found from the working directory, or ./data.
func Dir() string {
	if d := os.Getenv("SGDESCAPE_DATA"); d != "" {
		return d
	}
	if root, ok := run.RepoRoot(); ok {
		return filepath.Join(root, "data")
	}
	return "data"
}
