package backend

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"

	"github.com/sgdescape/sgdescape/pkg/memcheck"
)

// Memory is what a backend's computations can still allocate.
type Memory struct {
	Free  float64 // bytes
	Where string  // what was read, for messages: "GPU cuda (PJRT allocator: 92.1 GiB of 104 GiB free)", "host (MemAvailable)"
}

// deviceMemory reads an accelerator's allocator statistics (the limit of
// the memory it may use and the bytes it has in use); filled in by
// devmem_xla.go when the binary is built with the xla tag.
var deviceMemory = func(backends.Backend) (limit, inUse float64, err error) {
	return 0, 0, fmt.Errorf("this binary was built without the xla tag")
}

// FreeMemory returns the memory be's computations can still allocate: on an
// accelerator the device allocator's limit minus the bytes it has in use
// (PJRT's device memory statistics, PJRT_Device_MemoryStats; XLA's GPU
// allocator reserves its pool when the client starts, so the memory the
// driver reports as free would understate it), on the CPU the host's
// available memory (memcheck.Available: MemAvailable, capped by a cgroup
// limit). ok is false when neither can be read (then callers fall back to a
// fixed budget).
func FreeMemory(be backends.Backend) (m Memory, ok bool) {
	if p := Platform(be); p != "cpu" {
		limit, used, err := deviceMemory(be)
		if err == nil && limit > 0 {
			free := max(limit-used, 0)
			return Memory{Free: free, Where: fmt.Sprintf("%s device (PJRT allocator: %s of %s free)", p, memcheck.Format(free), memcheck.Format(limit))}, true
		}
		return Memory{}, false
	}
	avail, ok := memcheck.Available()
	if !ok {
		return Memory{}, false
	}
	return Memory{Free: avail, Where: fmt.Sprintf("host (%s available)", memcheck.Format(avail))}, true
}
