//go:build linux || ((darwin || freebsd) && (amd64 || arm64 || riscv64))

// Package sysmmap is mmap(2) and munmap(2) as system calls made from Go,
// with the address argument that package syscall's Mmap leaves out, so that
// a caller can place mappings inside a reservation of its own (MAP_FIXED).
// Package mmap's pure-Go Linux backend and package shm's double-mapped
// ring build on it. It knows each system's
// calling convention for mmap (mmap, mmap2, s390x's argument block); it is
// not part of the mmap API.
package sysmmap

import (
	"syscall"
	"unsafe"
)

// Map is mmap(addr, length, prot, flags, fd, offset) with the system's own
// PROT_* and MAP_* values. offset must be a multiple of 4096.
func Map(addr unsafe.Pointer, length uintptr, prot, flags, fd int, offset int64) (unsafe.Pointer, error) {
	return mmapCall(uintptr(addr), length, prot, flags, fd, offset)
}

// Unmap is munmap(addr, length).
func Unmap(addr unsafe.Pointer, length uintptr) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_MUNMAP, uintptr(addr), length, 0); errno != 0 {
		return errno
	}
	return nil
}

// mappedAt is the address a system call mapped memory at, as a pointer. The
// memory is the kernel's, outside Go's heap, so no pointer of Go's hides in
// the integer: reading it through memory says so to vet's uintptr check.
func mappedAt(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }
