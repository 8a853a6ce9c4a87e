package data

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// idxBytes builds an unsigned-byte IDX file.
func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// cifarBytes builds n CIFAR records; record i has label labels[i] and pixel
// value (i + channel*7 + p) mod 256 at position p of channel c.
func cifarBytes(labels []byte) []byte {
	var b bytes.Buffer
	for i, l := range labels {
		b.WriteByte(l)
		for c := 0; c < 3; c++ {
			for p := 0; p < 1024; p++ {
				b.WriteByte(byte(i + c*7 + p))
			}
		}
	}
	return b.Bytes()
}

func TestReadIDXRoundTrip(t *testing.T) {
	data := []byte{0, 1, 2, 3, 4, 5, 250, 255, 9, 10, 11, 12}
	raw := idxBytes([]int{3, 2, 2}, data)
	for name, in := range map[string][]byte{"raw": raw, "gzip": gz(raw)} {
		got, err := ReadIDX(bytes.NewReader(in), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fmt.Sprint(got.Dims) != "[3 2 2]" || !bytes.Equal(got.Data, data) {
			t.Errorf("%s: got %v %v", name, got.Dims, got.Data)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	good := idxBytes([]int{4, 3}, make([]byte, 12))
	cases := []struct {
		name   string
		in     []byte
		offset int64
		substr string
	}{
		{"truncated data", good[:len(good)-5], 19, "truncated"},
		{"truncated header", good[:6], 6, "header"},
		{"bad magic", append([]byte{1, 2, 8, 2}, good[4:]...), 0, "not an IDX"},
		{"float type", append([]byte{0, 0, 0x0d, 2}, good[4:]...), 2, "not supported"},
		{"zero dims", []byte{0, 0, 8, 0}, 3, "dimensions"},
		{"zero dim", idxBytes([]int{0, 3}, nil), 4, "zero"},
		{"trailing", append(append([]byte(nil), good...), 7), 24, "after the declared data"},
		{"absurd", idxBytes([]int{1 << 20, 1 << 20, 1 << 10}, []byte{1, 2}), 8, "absurd"},
		{"empty", nil, 0, "too short"},
	}
	for _, c := range cases {
		_, err := ReadIDX(bytes.NewReader(c.in), "f.idx")
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: want a FormatError, got %v", c.name, err)
			continue
		}
		if fe.Offset != c.offset || !strings.Contains(fe.Msg, c.substr) || fe.File != "f.idx" {
			t.Errorf("%s: got %q at offset %d, want %q at %d", c.name, fe.Msg, fe.Offset, c.substr, c.offset)
		}
		if !strings.Contains(err.Error(), "f.idx") || !strings.Contains(err.Error(), "byte offset") {
			t.Errorf("%s: error does not name the file and offset: %v", c.name, err)
		}
	}
}

// A header that claims far more data than the file holds must not allocate
// what it claims.
func TestReadIDXDoesNotTrustHeaderSize(t *testing.T) {
	in := idxBytes([]int{1 << 15, 1 << 15}, make([]byte, 100)) // claims 1 GiB, holds 100 bytes
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ReadIDX(bytes.NewReader(in), "big")
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("want truncated error, got %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("allocated %d MiB for a 100-byte file", grew>>20)
	}
}

func TestReadCIFAR(t *testing.T) {
	raw := cifarBytes([]byte{3, 9, 0})
	for name, in := range map[string][]byte{"raw": raw, "gzip": gz(raw)} {
		b, err := ReadCIFAR(bytes.NewReader(in), name, 3)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(b.Labels) != "[3 9 0]" || len(b.Pixels) != 3*CIFARPixels || b.Pixels[CIFARPixels+1024] != byte(1+7) {
			t.Errorf("%s: wrong content", name)
		}
	}
	_, err := ReadCIFAR(bytes.NewReader(raw[:2*CIFARRecordSize+100]), "t.bin", 0)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset != 2*CIFARRecordSize || !strings.Contains(fe.Msg, "truncated") {
		t.Errorf("partial record: %v", err)
	}
	bad := cifarBytes([]byte{1, 12})
	_, err = ReadCIFAR(bytes.NewReader(bad), "t.bin", 0)
	if !errors.As(err, &fe) || fe.Offset != CIFARRecordSize || !strings.Contains(fe.Msg, "label 12") {
		t.Errorf("bad label: %v", err)
	}
	if _, err := ReadCIFAR(bytes.NewReader(nil), "e.bin", 0); err == nil {
		t.Error("empty file accepted")
	}
	if _, err := ReadCIFAR(bytes.NewReader(gz(raw)[:40]), "cut.gz", 0); err == nil {
		t.Error("truncated gzip accepted")
	}
}

// fixture writes a tiny MNIST-like set (5 train, 2 test images of 2×3) and a
// CIFAR-like set (3 train records per batch, 2 test records) into dir.
func fixture(t *testing.T, dir string, compress bool) {
	t.Helper()
	write := func(p string, b []byte) {
		if compress && !strings.HasSuffix(p, ".txt") {
			p, b = p+".gz", gz(b)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img := func(n int) []byte {
		b := make([]byte, n*6)
		for i := range b {
			b[i] = byte(i * 17)
		}
		return b
	}
	write(filepath.Join(dir, MNIST, "train-images-idx3-ubyte"), idxBytes([]int{5, 2, 3}, img(5)))
	write(filepath.Join(dir, MNIST, "train-labels-idx1-ubyte"), idxBytes([]int{5}, []byte{5, 0, 4, 1, 9}))
	write(filepath.Join(dir, MNIST, "t10k-images-idx3-ubyte"), idxBytes([]int{2, 2, 3}, img(2)))
	write(filepath.Join(dir, MNIST, "t10k-labels-idx1-ubyte"), idxBytes([]int{2}, []byte{7, 2}))
	for i := 1; i <= 5; i++ {
		write(filepath.Join(dir, CIFAR10, fmt.Sprintf("data_batch_%d.bin", i)), cifarBytes([]byte{byte(i), 0, 9}))
	}
	write(filepath.Join(dir, CIFAR10, "test_batch.bin"), cifarBytes([]byte{4, 5}))
	write(filepath.Join(dir, CIFAR10, "batches.meta.txt"), []byte("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n"))
}

func TestLoadFixtures(t *testing.T) {
	for _, compress := range []bool{false, true} {
		dir := t.TempDir()
		fixture(t, dir, compress)
		m, err := Load(dir, MNIST, "train")
		if err != nil {
			t.Fatal(err)
		}
		if m.N() != 5 || m.D() != 6 || fmt.Sprint(m.Labels) != "[5 0 4 1 9]" {
			t.Fatalf("mnist fixture: N=%d D=%d labels %v", m.N(), m.D(), m.Labels)
		}
		if m.X[7] != float32(byte(7*17))/255 {
			t.Errorf("pixel 7 = %v", m.X[7])
		}
		c, err := Load(dir, CIFAR10, "train")
		if err != nil {
			t.Fatal(err)
		}
		if c.N() != 15 || c.Labels[3] != 2 || c.Labels[14] != 9 {
			t.Fatalf("cifar fixture: N=%d labels %v", c.N(), c.Labels)
		}
		// Record 4 (batch 2, record 1): planar value (1 + ch*7 + p) mod 256 must land at HWC index 3p+ch.
		for _, p := range []int{0, 33, 1023} {
			for ch := 0; ch < 3; ch++ {
				want := float32(byte(1+ch*7+p)) / 255
				if got := c.Row(4)[3*p+ch]; got != want {
					t.Errorf("cifar HWC: record 4 pixel %d channel %d = %v, want %v", p, ch, got, want)
				}
			}
		}
		if _, err := Load(dir, CIFAR10, "test"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMissingAndTruncatedFilesGiveHelpfulErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir, MNIST, "train")
	var me *MissingError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), filepath.Join(dir, MNIST, "train-images-idx3-ubyte")) ||
		!strings.Contains(err.Error(), "make data") {
		t.Errorf("missing directory: %v", err)
	}
	fixture(t, dir, false)
	p := filepath.Join(dir, MNIST, "train-images-idx3-ubyte")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)-4], 0o644)
	_, err = Load(dir, MNIST, "train")
	var fe *FormatError
	if !errors.As(err, &fe) || fe.File != p || !strings.Contains(err.Error(), "truncated") || fe.Offset != int64(len(b)-4) {
		t.Errorf("truncated file: %v", err)
	}
	lp := filepath.Join(dir, MNIST, "t10k-labels-idx1-ubyte")
	os.WriteFile(lp, idxBytes([]int{2}, []byte{7, 11}), 0o644)
	_, err = Load(dir, MNIST, "test")
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "label 11") || fe.Offset != 9 {
		t.Errorf("bad label: %v", err)
	}
	if _, err := Load(dir, "imagenet", "train"); err == nil || !strings.Contains(err.Error(), "unknown data set") {
		t.Errorf("unknown set: %v", err)
	}
	if _, err := Load(dir, MNIST, "validation"); err == nil {
		t.Error("bad split accepted")
	}
}

func TestTransforms(t *testing.T) {
	dir := t.TempDir()
	fixture(t, dir, false)
	m, _ := Load(dir, MNIST, "train")
	s, err := m.Subset(3)
	if err != nil || s.N() != 3 || len(s.X) != 18 {
		t.Fatalf("subset: %v", err)
	}
	if _, err := m.Subset(6); err == nil {
		t.Error("subset larger than the set accepted")
	}
	eo := m.EvenOddTargets()
	if fmt.Sprint(eo.Y) != "[-1 1 1 -1 -1]" || eo.TargetDim != 1 {
		t.Errorf("even/odd targets %v", eo.Y)
	}
	oh := m.OneHotTargets()
	if oh.TargetDim != 10 || oh.Y[0*10+5] != 1 || oh.Y[4*10+9] != 1 || sum32(oh.Y) != 5 {
		t.Errorf("one-hot targets wrong")
	}
	a, b := eo.Shuffle(7), eo.Shuffle(7)
	if fmt.Sprint(a.Labels) != fmt.Sprint(b.Labels) {
		t.Error("shuffle is not deterministic")
	}
	// Rows, labels and targets move together.
	for i := 0; i < a.N(); i++ {
		found := false
		for j := 0; j < m.N(); j++ {
			if fmt.Sprint(a.Row(i)) == fmt.Sprint(m.Row(j)) && a.Labels[i] == m.Labels[j] && a.Y[i] == eo.Y[j] {
				found = true
			}
		}
		if !found {
			t.Errorf("shuffled row %d does not match any original sample", i)
		}
	}
	if fmt.Sprint(eo.Labels) != "[5 0 4 1 9]" {
		t.Error("shuffle modified its input")
	}
	tr, te, err := eo.HoldOut(3, 2)
	if err != nil || tr.N() != 3 || te.N() != 2 || te.Labels[0] != 1 || te.Y[1] != -1 {
		t.Errorf("hold-out: %v", err)
	}
}

func sum32(v []float32) float32 {
	var s float32
	for _, x := range v {
		s += x
	}
	return s
}

func TestLinReg(t *testing.T) {
	for _, c := range []LinRegConfig{
		{N: 2000, P: 1, Seed: 1, XStd: 1, Labels: LabelsGaussian},
		{N: 500, P: 7, Seed: 2, XStd: 0.5, Labels: LabelsGaussian},
		{N: 300, P: 4, Seed: 3, XStd: 2, Labels: LabelsTeacher, Noise: 0.1},
	} {
		p, err := NewLinReg(c)
		if err != nil {
			t.Fatal(err)
		}
		// θ* solves the normal equations: the full gradient vanishes.
		g := make([]float64, c.P)
		for mu := 0; mu < c.N; mu++ {
			r := dot(p.X[mu*c.P:(mu+1)*c.P], p.ThetaStar) - p.Y[mu]
			for j := range g {
				g[j] += r * p.X[mu*c.P+j] / float64(c.N)
			}
		}
		for j, v := range g {
			if math.Abs(v) > 1e-10 {
				t.Errorf("%+v: gradient[%d] = %v at θ*", c, j, v)
			}
		}
		// L is quadratic with Hessian H: L(θ*+δ) − L* = ½ δᵀHδ.
		delta := make([]float64, c.P)
		th := make([]float64, c.P)
		for j := range delta {
			delta[j] = 0.1 * float64(j+1)
			th[j] = p.ThetaStar[j] + delta[j]
		}
		quad := 0.0
		for i := 0; i < c.P; i++ {
			for j := 0; j < c.P; j++ {
				quad += 0.5 * delta[i] * p.Hessian[i*c.P+j] * delta[j]
			}
		}
		if got := p.Loss(th) - p.LStar; math.Abs(got-quad) > 1e-10*math.Max(1, quad) {
			t.Errorf("%+v: L(θ*+δ)−L* = %v, ½δᵀHδ = %v", c, got, quad)
		}
		// Eigenvalues sum to the trace, mean ≈ XStd² for N ≫ P.
		tr := 0.0
		for i := 0; i < c.P; i++ {
			tr += p.Hessian[i*c.P+i]
		}
		if math.Abs(tr/float64(c.P)-p.MeanEigenvalue()) > 1e-10 {
			t.Errorf("mean eigenvalue %v != Tr H/P %v", p.MeanEigenvalue(), tr/float64(c.P))
		}
		if r := p.MeanEigenvalue() / (c.XStd * c.XStd); math.Abs(r-1) > 0.15 {
			t.Errorf("%+v: mean eigenvalue / XStd² = %v", c, r)
		}
		for i := 1; i < c.P; i++ {
			if p.Eigenvalues[i] > p.Eigenvalues[i-1] {
				t.Error("eigenvalues not decreasing")
			}
		}
		q, _ := NewLinReg(c)
		if q.LStar != p.LStar || q.X[5%len(q.X)] != p.X[5%len(p.X)] {
			t.Error("same seed gave a different problem")
		}
	}
	// Gaussian labels: L* ≈ ½(1 − P/N).
	p, _ := NewLinReg(LinRegConfig{N: 100000, P: 10, Seed: 4, XStd: 1, Labels: LabelsGaussian})
	if math.Abs(p.LStar-0.5*(1-10.0/100000)) > 0.01 {
		t.Errorf("L* = %v, want ≈ 0.5", p.LStar)
	}
	for _, bad := range []LinRegConfig{
		{N: 10, P: 0, XStd: 1, Labels: LabelsGaussian},
		{N: 3, P: 5, XStd: 1, Labels: LabelsGaussian},
		{N: 10, P: 2, XStd: 0, Labels: LabelsGaussian},
		{N: 10, P: 2, XStd: 1, Labels: "uniform"},
		{N: 10, P: 2, XStd: 1, Labels: LabelsTeacher, Noise: -1},
	} {
		if _, err := NewLinReg(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestFetchCopiesVerifiesAndReports(t *testing.T) {
	src := t.TempDir()
	fixture(t, src, true) // the sources are gzip-compressed
	dst := t.TempDir()
	// Record checksums of the decompressed fixture files as data/SHA256SUMS would.
	ref := t.TempDir()
	fixture(t, ref, false)
	var sums strings.Builder
	for _, set := range []string{MNIST, CIFAR10} {
		for _, f := range specs[set] {
			h, err := FileSHA256(filepath.Join(ref, set, f.name))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&sums, "%s  %s/%s\n", h, set, f.name)
		}
	}
	os.WriteFile(filepath.Join(dst, "SHA256SUMS"), []byte("# test\n"+sums.String()), 0o644)
	sources := Sources{Dir: dst, MNISTDirs: []string{filepath.Join(src, MNIST)}, CIFARDirs: []string{"/nonexistent", filepath.Join(src, CIFAR10)}}
	if err := Fetch(context.Background(), sources, []string{MNIST, CIFAR10, LinReg}); err != nil {
		t.Fatal(err)
	}
	st := SetStatus(dst, CIFAR10)
	if !st.Usable || st.Records["train"] != 15 || st.Records["test"] != 2 || st.Checksums != "verified" {
		t.Errorf("status after fetch: %+v", st)
	}
	// Idempotent: a second fetch leaves verified files alone.
	info1, _ := os.Stat(filepath.Join(dst, MNIST, "train-images-idx3-ubyte"))
	if err := Fetch(context.Background(), sources, []string{MNIST}); err != nil {
		t.Fatal(err)
	}
	info2, _ := os.Stat(filepath.Join(dst, MNIST, "train-images-idx3-ubyte"))
	if !info1.ModTime().Equal(info2.ModTime()) {
		t.Error("second fetch rewrote a verified file")
	}
	// Damage a file: status and Verify name it.
	p := filepath.Join(dst, CIFAR10, "data_batch_3.bin")
	b, _ := os.ReadFile(p)
	b[100] ^= 0xff
	os.WriteFile(p, b, 0o644)
	if err := Verify(dst, CIFAR10); err == nil || !strings.Contains(err.Error(), "data_batch_3.bin") || !strings.Contains(err.Error(), "mismatch") {
		t.Errorf("damaged file: %v", err)
	}
	if st := SetStatus(dst, CIFAR10); st.Usable || st.Checksums != "mismatch" {
		t.Errorf("damaged set reported usable: %+v", st)
	}
	// No source and no download: the error says where it looked and how to get it.
	err := Fetch(context.Background(), Sources{Dir: t.TempDir(), FashionDirs: []string{"/nonexistent"}}, []string{Fashion})
	if err == nil || !strings.Contains(err.Error(), "dataset-fashion-mnist") || !strings.Contains(err.Error(), "/nonexistent") {
		t.Errorf("no source: %v", err)
	}
	if st := SetStatus(t.TempDir(), MNIST); st.Usable || st.Checksums != "missing" || st.Fetch == "" {
		t.Errorf("missing set: %+v", st)
	}
}

func TestReadChecksums(t *testing.T) {
	p := filepath.Join(t.TempDir(), "S")
	os.WriteFile(p, []byte("# c\n"+strings.Repeat("a", 64)+"  x/y\n"+strings.Repeat("b", 64)+" *x/y\n"), 0o644)
	s, err := ReadChecksums(p)
	if err != nil || len(s["x/y"]) != 2 {
		t.Errorf("%v %v", s, err)
	}
	os.WriteFile(p, []byte("zz x/y\n"), 0o644)
	if _, err := ReadChecksums(p); err == nil {
		t.Error("malformed line accepted")
	}
}

// TrainImages gives the sizes of the standard training splits (the real
// files are counted by TestRealMNIST and friends when present).
func TestTrainImages(t *testing.T) {
	for _, c := range []struct {
		set  string
		n    int
		okay bool
	}{{MNIST, 60000, true}, {Fashion, 60000, true}, {CIFAR10, 50000, true}, {LinReg, 0, false}, {"imagenet", 0, false}, {"", 0, false}} {
		if n, ok := TrainImages(c.set); n != c.n || ok != c.okay {
			t.Errorf("%q: %d %v, want %d %v", c.set, n, ok, c.n, c.okay)
		}
	}
}
