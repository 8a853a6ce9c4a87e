package backend

import (
	"strings"
	"testing"

	"github.com/sgdescape/sgdescape/pkg/memcheck"
)

// FreeMemory on the CPU is the host's available memory; on the XLA CPU
// plugin the PJRT device statistics call must come back (as figures or as
// "not reported"), never crash: it reads go-xla's unexported handles.
func TestFreeMemory(t *testing.T) {
	be, err := New()
	if err != nil {
		t.Fatal(err)
	}
	m, ok := FreeMemory(be)
	avail, hostOK := memcheck.Available()
	if Platform(be) == "cpu" {
		if ok != hostOK || (ok && (m.Free <= 0 || m.Free > 2*avail)) {
			t.Errorf("CPU: FreeMemory %+v (ok %v), host available %v (ok %v)", m, ok, avail, hostOK)
		}
	} else if ok && !(m.Free > 0) {
		t.Errorf("%s: FreeMemory %+v", Platform(be), m)
	}
	limit, used, err := deviceMemory(be)
	t.Logf("backend %s: FreeMemory %+v; PJRT device statistics: limit %v, in use %v, err %v", Name(), m, limit, used, err)
	if XLACompiled() && IsXLA() && Platform(be) == "cpu" && (err == nil || !strings.Contains(err.Error(), "AllocatorStats")) {
		// XLA's CPU client answers PJRT_Device_MemoryStats with "GetAllocatorStats is not
		// supported": that message shows the right entry of the C API was called.
		t.Errorf("XLA CPU plugin: want the plugin's GetAllocatorStats error, got limit %v, in use %v, err %v", limit, used, err)
	}
	if err == nil && (limit < 0 || used < 0) {
		t.Errorf("negative device memory figures: limit %v, in use %v", limit, used)
	}
}
