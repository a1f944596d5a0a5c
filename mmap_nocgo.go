//go:build !cgo && (linux || darwin || freebsd || openbsd || dragonfly)

package mmap

import (
	"math"
	"syscall"
	"unsafe"
)

// The pure-Go twin of mmap_cgo.go, for CGO_ENABLED=0: the same operations
// through package syscall, whose constants are this platform's own.

const backend = "syscall"

func sysMap(fd int, offset int64, length uintptr, prot, flags int) (unsafe.Pointer, error) {
	p := syscall.PROT_READ
	f := syscall.MAP_SHARED
	switch {
	case prot&COPY != 0:
		p |= syscall.PROT_WRITE
		f = syscall.MAP_PRIVATE
	case prot&RDWR != 0:
		p |= syscall.PROT_WRITE
	}
	if prot&EXEC != 0 {
		p |= syscall.PROT_EXEC
	}
	if flags&ANON != 0 {
		f = syscall.MAP_PRIVATE | syscall.MAP_ANON
		fd, offset = -1, 0
	}
	if length > math.MaxInt {
		// syscall.Mmap takes an int; the kernel refuses such a length
		// with ENOMEM, as the cgo backend reports it.
		return nil, syscall.ENOMEM
	}
	b, err := syscall.Mmap(fd, offset, int(length), p, f)
	if err != nil {
		return nil, err
	}
	return unsafe.Pointer(unsafe.SliceData(b)), nil
}

// sysUnmap rebuilds the slice syscall.Mmap returned: syscall.Munmap finds its
// mapping by the address of the last byte.
func sysUnmap(addr unsafe.Pointer, length uintptr) error {
	return syscall.Munmap(unsafe.Slice((*byte)(addr), length))
}

func sysSync(addr unsafe.Pointer, length uintptr) error {
	return rangeCall(syscall.SYS_MSYNC, addr, length, syscall.MS_SYNC)
}

func sysLock(addr unsafe.Pointer, length uintptr) error {
	return rangeCall(syscall.SYS_MLOCK, addr, length, 0)
}

func sysUnlock(addr unsafe.Pointer, length uintptr) error {
	return rangeCall(syscall.SYS_MUNLOCK, addr, length, 0)
}

func rangeCall(trap uintptr, addr unsafe.Pointer, length uintptr, arg uintptr) error {
	if _, _, errno := syscall.Syscall(trap, uintptr(addr), length, arg); errno != 0 {
		return errno
	}
	return nil
}
