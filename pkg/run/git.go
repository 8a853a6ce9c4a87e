package run

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

var (
	rootOnce sync.Once
	rootDir  string
	gitOnce  sync.Once
	gitRev   string
)

// RepoRoot finds the sgdescape repository containing the working directory
// (the first parent holding a go.mod of module github.com/sgdescape/sgdescape).
func RepoRoot() (string, bool) {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			return
		}
		for {
			b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err == nil && bytes.Contains(b, []byte("module github.com/sgdescape/sgdescape\n")) {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	return rootDir, rootDir != ""
}

// GitRevision returns the short git revision of the repository, with
// "+dirty" when tracked files differ from it, or "unknown" outside a checkout.
func GitRevision() string {
	gitOnce.Do(func() {
		gitRev = "unknown"
		root, ok := RepoRoot()
		if !ok {
			return
		}
		out, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
		if err != nil {
			return
		}
		gitRev = strings.TrimSpace(string(out))
		st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output()
		if err == nil && len(bytes.TrimSpace(st)) > 0 {
			gitRev += "+dirty"
		}
	})
	return gitRev
}
