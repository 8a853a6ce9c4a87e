//go:build xla

package backend

/*
#include <stddef.h>
#include <stdint.h>
#include <string.h>

// Offsets in the PJRT C API (xla/pjrt/c/pjrt_c_api.h, ABI-stable: fields are
// only ever appended), checked against go-xla v0.1.4's copy of the header
// (API 0.83): in PJRT_Api, PJRT_Error_Destroy at 40, PJRT_Error_Message at
// 48, PJRT_Device_MemoryStats at 312; in PJRT_Device_MemoryStats_Args,
// device at 16, bytes_in_use at 24, bytes_limit at 80, bytes_limit_is_set at
// 88; in PJRT_Error_Message_Args, error at 16, message at 24, message_size
// at 32.
typedef void* (*pjrt_fn)(void* args);

// sgd_device_memory fills limit and in_use and returns 0, or returns 1 (the
// plugin predates the call) or 2 (the plugin answered with an error, whose
// message is copied to msg).
static int sgd_device_memory(void* api, void* device, int64_t* limit, int64_t* in_use, char* msg, size_t msg_len) {
	size_t api_size = *(size_t*)api;
	if (api_size < 312 + sizeof(void*)) return 1; // plugin older than the call
	pjrt_fn stats = *(pjrt_fn*)((char*)api + 312);
	pjrt_fn destroy = *(pjrt_fn*)((char*)api + 40);
	if (stats == NULL) return 1;
	// A zeroed buffer larger than any version of the arguments: the plugin
	// requires struct_size ≥ its own and writes only the fields it knows.
	unsigned char args[1024];
	memset(args, 0, sizeof args);
	*(size_t*)args = sizeof args;
	*(void**)(args + 16) = device;
	void* err = stats(args);
	if (err != NULL) {
		pjrt_fn message = *(pjrt_fn*)((char*)api + 48);
		unsigned char m[64];
		memset(m, 0, sizeof m);
		*(size_t*)m = 40;
		*(void**)(m + 16) = err;
		if (message != NULL) {
			message(m);
			const char* text = *(const char**)(m + 24);
			size_t n = *(size_t*)(m + 32);
			if (text != NULL) {
				if (n >= msg_len) n = msg_len - 1;
				memcpy(msg, text, n);
				msg[n] = 0;
			}
		}
		unsigned char d[24];
		memset(d, 0, sizeof d);
		*(size_t*)d = sizeof d;
		*(void**)(d + 16) = err;
		if (destroy != NULL) destroy(d);
		return 2; // UNIMPLEMENTED on the CPU plugin
	}
	*in_use = *(int64_t*)(args + 24);
	*limit = args[88] ? *(int64_t*)(args + 80) : 0;
	return 0;
}
*/
import "C"

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/gomlx/go-xla/pkg/pjrt"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/xla"
)

func init() { deviceMemory = pjrtDeviceMemory }

// pjrtDeviceMemory calls PJRT_Device_MemoryStats on the first device of an
// XLA backend. GoMLX v0.26 and go-xla v0.1.4 (pinned in go.mod) do not
// expose it, nor the client's C handles, so the handles are read from their
// unexported fields by reflection; when a field is not where this code
// expects it, the result is an error and callers fall back.
func pjrtDeviceMemory(be backends.Backend) (limit, inUse float64, err error) {
	xb, ok := be.(*xla.Backend)
	if !ok {
		return 0, 0, fmt.Errorf("not an XLA backend (%T)", be)
	}
	client, ok := field(reflect.ValueOf(xb).Elem(), "client").(*pjrt.Client)
	if !ok || client == nil {
		return 0, 0, fmt.Errorf("no PJRT client in %T", xb)
	}
	devs := client.AddressableDevices()
	if len(devs) == 0 {
		return 0, 0, fmt.Errorf("the PJRT client has no device")
	}
	api := rawPointer(reflect.ValueOf(client.Plugin()).Elem(), "api")
	dev := rawPointer(reflect.ValueOf(devs[0]).Elem(), "cDevice")
	if api == nil || dev == nil {
		return 0, 0, fmt.Errorf("PJRT handles not found in go-xla's types")
	}
	var l, u C.int64_t
	var msg [256]C.char
	switch C.sgd_device_memory(api, dev, &l, &u, &msg[0], C.size_t(len(msg))) {
	case 0:
		return float64(l), float64(u), nil
	case 1:
		return 0, 0, fmt.Errorf("the PJRT plugin predates device memory statistics")
	default:
		return 0, 0, fmt.Errorf("the PJRT plugin reports no device memory statistics: %s", C.GoString(&msg[0]))
	}
}

// field returns the value of struct field name of v (addressable), exported
// or not, or nil.
func field(v reflect.Value, name string) any {
	f := v.FieldByName(name)
	if !f.IsValid() || !f.CanAddr() {
		return nil
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface()
}

// rawPointer returns the pointer held in struct field name of v, or nil.
func rawPointer(v reflect.Value, name string) unsafe.Pointer {
	f := v.FieldByName(name)
	if !f.IsValid() || !f.CanAddr() || f.Kind() != reflect.Pointer {
		return nil
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().UnsafePointer()
}
