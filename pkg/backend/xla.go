//go:build xla

package backend

// Built with -tags xla (cgo), the binary also carries GoMLX's XLA backend,
// which loads a PJRT plugin: the CPU one from the project's .venv by default,
// or the one GOMLX_BACKEND=xla:<path> names (for example NVIDIA's CUDA plugin).
import (
	"io"

	"github.com/gomlx/go-xla/pkg/pjrt"
	_ "github.com/gomlx/gomlx/backends/xla"
	"k8s.io/klog/v2"
)

func init() {
	xlaCompiled = true
	goxlaCPUPlugin = func() string { return pjrt.AvailablePlugins()["cpu"] }
	// go-xla logs a multi-line warning when dlopen fails; during automatic
	// resolution the one-line note replaces it.
	quietly = func(f func()) {
		klog.LogToStderr(false)
		klog.SetOutput(io.Discard)
		defer klog.LogToStderr(true)
		f()
	}
}
