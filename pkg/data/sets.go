package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// Set names.
const (
	MNIST   = "mnist"
	Fashion = "fashion-mnist"
	CIFAR10 = "cifar10"
	LinReg  = "linreg" // synthetic, generated on demand (see LinRegConfig)
)

// Names lists the file-backed data sets in a fixed order.
var Names = []string{MNIST, Fashion, CIFAR10}

// fileSpec is one expected file of a data set.
type fileSpec struct {
	name    string // file name in data/<set>/ (uncompressed form; a .gz beside it is accepted too)
	split   string // "train", "test" or "" for metadata
	kind    string // "idx-images", "idx-labels", "cifar", "text"
	records int    // expected records
}

var specs = map[string][]fileSpec{
	MNIST: {
		{"train-images-idx3-ubyte", "train", "idx-images", 60000},
		{"train-labels-idx1-ubyte", "train", "idx-labels", 60000},
		{"t10k-images-idx3-ubyte", "test", "idx-images", 10000},
		{"t10k-labels-idx1-ubyte", "test", "idx-labels", 10000},
	},
	CIFAR10: {
		{"data_batch_1.bin", "train", "cifar", 10000},
		{"data_batch_2.bin", "train", "cifar", 10000},
		{"data_batch_3.bin", "train", "cifar", 10000},
		{"data_batch_4.bin", "train", "cifar", 10000},
		{"data_batch_5.bin", "train", "cifar", 10000},
		{"test_batch.bin", "test", "cifar", 10000},
		{"batches.meta.txt", "", "text", 10},
	},
}

func init() { specs[Fashion] = specs[MNIST] }

// TrainImages returns the number of training images of a file-backed data
// set (60 000 for MNIST and Fashion-MNIST, 50 000 for CIFAR-10), and false
// for a name that is not one of Names: the largest N an experiment can ask
// for, checked before anything is loaded.
func TrainImages(set string) (int, bool) {
	n, ok := 0, false
	for _, f := range specs[set] {
		if f.split == "train" && f.kind != "idx-labels" {
			n, ok = n+f.records, true
		}
	}
	return n, ok
}

// locate returns the path of a data file, accepting a gzip-compressed copy
// (name + ".gz") when the plain file is absent.
func locate(dir, set, name string) (string, error) {
	if p, ok := locateIn(filepath.Join(dir, set), name); ok {
		return p, nil
	}
	return "", &MissingError{Set: set, Path: filepath.Join(dir, set, name)}
}

// locateIn finds name or name.gz in folder.
func locateIn(folder, name string) (string, bool) {
	p := filepath.Join(folder, name)
	if _, err := os.Stat(p); err == nil {
		return p, true
	}
	if _, err := os.Stat(p + ".gz"); err == nil {
		return p + ".gz", true
	}
	return "", false
}

// toFloat converts bytes to float32 in [0, 1] with a lookup table.
func toFloat(dst []float32, src []uint8) {
	var lut [256]float32
	for i := range lut {
		lut[i] = float32(i) / 255
	}
	for i, b := range src {
		dst[i] = lut[b]
	}
}

// Load reads split ("train" or "test") of a file-backed data set from
// dir/<set>/ (dir "" means Dir()).
func Load(dir, set, split string) (*Dataset, error) {
	if dir == "" {
		dir = Dir()
	}
	if split != "train" && split != "test" {
		return nil, fmt.Errorf("data: split must be \"train\" or \"test\", got %q", split)
	}
	switch set {
	case MNIST, Fashion:
		return loadIDXSet(dir, set, split)
	case CIFAR10:
		return loadCIFAR(dir, split)
	case LinReg:
		return nil, fmt.Errorf("data: %s is synthetic: generate it with data.NewLinReg", LinReg)
	}
	return nil, fmt.Errorf("data: unknown data set %q (known: %v and %s)", set, Names, LinReg)
}

func openRead[T any](path string, parse func(f *os.File) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		if errors.Is(err, fs.ErrNotExist) {
			return zero, err
		}
		return zero, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return parse(f)
}

func loadIDXSet(dir, set, split string) (*Dataset, error) {
	var img, lab fileSpec
	for _, s := range specs[set] {
		if s.split == split && s.kind == "idx-images" {
			img = s
		}
		if s.split == split && s.kind == "idx-labels" {
			lab = s
		}
	}
	ip, err := locate(dir, set, img.name)
	if err != nil {
		return nil, err
	}
	lp, err := locate(dir, set, lab.name)
	if err != nil {
		return nil, err
	}
	var images, labels *IDX
	var ierr, lerr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		images, ierr = openRead(ip, func(f *os.File) (*IDX, error) { return ReadIDX(f, ip) })
	}()
	go func() {
		defer wg.Done()
		labels, lerr = openRead(lp, func(f *os.File) (*IDX, error) { return ReadIDX(f, lp) })
	}()
	wg.Wait()
	if err := errors.Join(ierr, lerr); err != nil {
		return nil, err
	}
	if len(images.Dims) != 3 {
		return nil, &FormatError{ip, 3, fmt.Sprintf("an image file needs 3 dimensions (N, rows, cols), found %d", len(images.Dims))}
	}
	if len(labels.Dims) != 1 {
		return nil, &FormatError{lp, 3, fmt.Sprintf("a label file needs 1 dimension, found %d", len(labels.Dims))}
	}
	n := images.Dims[0]
	if labels.Dims[0] != n {
		return nil, fmt.Errorf("data: %s holds %d images but %s holds %d labels", ip, n, lp, labels.Dims[0])
	}
	d := &Dataset{
		Name: set, Split: split, Shape: []int{images.Dims[1], images.Dims[2], 1}, NumClasses: 10,
		Labels: make([]int, n), X: make([]float32, len(images.Data)),
		Source: Source{Files: []string{ip, lp}, Format: "IDX (unsigned byte)"},
	}
	hdr := int64(4 + 4*len(labels.Dims))
	for i, l := range labels.Data {
		if l >= 10 {
			return nil, &FormatError{lp, hdr + int64(i), fmt.Sprintf("label %d of record %d is outside 0..9", l, i)}
		}
		d.Labels[i] = int(l)
	}
	parallelConvert(d.X, images.Data)
	return d, nil
}

// parallelConvert runs toFloat over blocks on all CPUs.
func parallelConvert(dst []float32, src []uint8) {
	workers := runtime.GOMAXPROCS(0)
	block := (len(src) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(src); lo += block {
		hi := min(lo+block, len(src))
		wg.Add(1)
		go func() { defer wg.Done(); toFloat(dst[lo:hi], src[lo:hi]) }()
	}
	wg.Wait()
}

func loadCIFAR(dir, split string) (*Dataset, error) {
	var files []fileSpec
	for _, s := range specs[CIFAR10] {
		if s.split == split {
			files = append(files, s)
		}
	}
	paths := make([]string, len(files))
	for i, f := range files {
		p, err := locate(dir, CIFAR10, f.name)
		if err != nil {
			return nil, err
		}
		paths[i] = p
	}
	batches := make([]*CIFARBatch, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			batches[i], errs[i] = openRead(paths[i], func(f *os.File) (*CIFARBatch, error) { return ReadCIFAR(f, paths[i], files[i].records) })
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	n := 0
	for _, b := range batches {
		n += len(b.Labels)
	}
	d := &Dataset{
		Name: CIFAR10, Split: split, Shape: []int{CIFARSide, CIFARSide, CIFARChannels}, NumClasses: CIFARClasses,
		Labels: make([]int, 0, n), X: make([]float32, n*CIFARPixels),
		Source: Source{Files: paths, Format: "CIFAR-10 binary (label byte + planar RGB), interleaved to HWC on load"},
	}
	var lut [256]float32
	for i := range lut {
		lut[i] = float32(i) / 255
	}
	offset := 0
	for _, b := range batches {
		start := offset
		for _, l := range b.Labels {
			d.Labels = append(d.Labels, int(l))
		}
		count := len(b.Labels)
		// Planar R, G, B → H, W, C, in parallel over records.
		workers := runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				const plane = CIFARSide * CIFARSide
				for r := w; r < count; r += workers {
					src := b.Pixels[r*CIFARPixels : (r+1)*CIFARPixels]
					dst := d.X[(start+r)*CIFARPixels : (start+r+1)*CIFARPixels]
					for p := 0; p < plane; p++ {
						dst[3*p] = lut[src[p]]
						dst[3*p+1] = lut[src[plane+p]]
						dst[3*p+2] = lut[src[2*plane+p]]
					}
				}
			}()
		}
		wg.Wait()
		offset += count
	}
	return d, nil
}
