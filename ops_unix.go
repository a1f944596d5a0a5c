//go:build unix && (cgo || linux || darwin || freebsd || openbsd || dragonfly)

package mmap

import (
	"os"
	"unsafe"
)

// The Unix operations on live mappings, over the sys* functions of
// mmap_cgo.go (the C shim) or mmap_nocgo.go (system calls from Go), each
// naming its failing call.

func osFlush(r *region, off, n uintptr) error {
	return os.NewSyscallError("msync", sysSync(unsafe.Add(r.base, off), n, false))
}

func osLock(r *region, off, n uintptr) error { return lockPages(r, off, n, false) }

func osLockOnFault(r *region, off, n uintptr) error { return lockPages(r, off, n, true) }

func lockPages(r *region, off, n uintptr, onFault bool) error {
	if err := sysLock(unsafe.Add(r.base, off), n, onFault); err != nil {
		return lockError(n, err)
	}
	return nil
}

func osUnlock(r *region, off, n uintptr) error {
	return os.NewSyscallError("munlock", sysUnlock(unsafe.Add(r.base, off), n))
}

func osFlushAsync(r *region, off, n uintptr) error {
	return os.NewSyscallError("msync", sysSync(unsafe.Add(r.base, off), n, true))
}

func osAdvise(r *region, off, n uintptr, a Advice) error {
	return os.NewSyscallError("madvise("+a.String()+")", sysAdvise(unsafe.Add(r.base, off), n, a))
}

func osProtect(r *region, off, n uintptr, prot int) error {
	return os.NewSyscallError("mprotect", sysProtect(unsafe.Add(r.base, off), n, prot))
}

func osMincore(r *region, off, n uintptr, vec []byte) error {
	return os.NewSyscallError("mincore", sysMincore(unsafe.Add(r.base, off), n, vec))
}

func osPopulate(r *region, off, n uintptr, write bool) error {
	return os.NewSyscallError("madvise(MADV_POPULATE)", sysPopulate(unsafe.Add(r.base, off), n, write, r.flags&ANON == 0))
}
