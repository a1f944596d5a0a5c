//go:build cgo && unix && !(linux && !asan && !msan)

package mmap

/*
#cgo nocallback hm_unmap
#include "mmap.h"
*/
import "C"

import "unsafe"

// Elsewhere, and under a sanitizer, every map and unmap goes through the
// shim; mmap_direct_linux.go says why Linux differs.

func mapDirect(*mapReq) (unsafe.Pointer, bool, error) { return nil, false, nil }

func sysUnmap(addr unsafe.Pointer, length uintptr) error {
	r, err := C.hm_unmap(C.uintptr_t(uintptr(addr)), C.size_t(length))
	return check(r, err)
}
