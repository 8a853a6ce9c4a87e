//go:build xla

package backend

// Built with -tags xla, the binary also carries GoMLX's XLA backend, which loads a
// PJRT plugin (for example the CUDA one) named by GOMLX_BACKEND=xla:<path>.
import _ "github.com/gomlx/gomlx/backends/xla"
