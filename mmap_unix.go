//go:build unix && (cgo || linux || darwin || freebsd || openbsd || dragonfly)

package mmap

import (
	"os"
	"unsafe"
)

// The Unix operations, over the sys* functions of mmap_cgo.go (the C shim)
// or mmap_nocgo.go (package syscall). Here they gain page rounding and the
// name of the call for errors.

//lint:ignore U1000 Unix needs nothing beyond the region's base and size
type sysRegion struct{}

func osMapFile(fd uintptr, offset int64, length, prot, flags int) (*region, error) {
	return osMap(int(fd), offset, length, prot, flags)
}

func osMapAnon(length, prot, flags int) (*region, error) {
	r, err := osMap(-1, 0, length, prot, flags)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return r, nil
}

func osMap(fd int, offset int64, length, prot, flags int) (*region, error) {
	page := uintptr(os.Getpagesize())
	size := (uintptr(length) + page - 1) &^ (page - 1)
	base, err := sysMap(fd, offset, size, prot, flags)
	if err != nil {
		return nil, err
	}
	return &region{base: base, size: size, len: length, prot: prot}, nil
}

func osUnmap(r *region) error {
	return os.NewSyscallError("munmap", sysUnmap(r.base, r.size))
}

func osFlush(r *region, off, n uintptr) error {
	return os.NewSyscallError("msync", sysSync(unsafe.Add(r.base, off), n))
}

func osLock(r *region, off, n uintptr) error {
	return os.NewSyscallError("mlock", sysLock(unsafe.Add(r.base, off), n))
}

func osUnlock(r *region, off, n uintptr) error {
	return os.NewSyscallError("munlock", sysUnlock(unsafe.Add(r.base, off), n))
}
