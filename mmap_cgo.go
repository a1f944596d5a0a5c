//go:build cgo && unix

package mmap

/*
#cgo CFLAGS: -O2
#include "mmap.h"
*/
import "C"

import "unsafe"

// The only file that calls C. Each wrapper is one crossing into the shim;
// errno is read only when the result says the call failed.

const backend = "cgo"

func sysMap(fd int, offset int64, length uintptr, prot, flags int) (unsafe.Pointer, error) {
	p, err := C.hm_map(C.int(fd), C.int64_t(offset), C.size_t(length), C.int(prot), C.int(flags))
	if p == nil {
		return nil, err
	}
	return p, nil
}

func sysUnmap(addr unsafe.Pointer, length uintptr) error {
	if r, err := C.hm_unmap(addr, C.size_t(length)); r != 0 {
		return err
	}
	return nil
}

func sysSync(addr unsafe.Pointer, length uintptr) error {
	if r, err := C.hm_sync(addr, C.size_t(length)); r != 0 {
		return err
	}
	return nil
}

func sysLock(addr unsafe.Pointer, length uintptr) error {
	if r, err := C.hm_lock(addr, C.size_t(length)); r != 0 {
		return err
	}
	return nil
}

func sysUnlock(addr unsafe.Pointer, length uintptr) error {
	if r, err := C.hm_unlock(addr, C.size_t(length)); r != 0 {
		return err
	}
	return nil
}
