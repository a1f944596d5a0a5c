//go:build !cgo && linux && !(386 || arm || mips || mipsle || s390x)

package mmap

import (
	"syscall"
	"unsafe"
)

// mmapCall is mmap(2) on 64-bit Linux, which takes the offset in bytes.
func mmapCall(at, length uintptr, prot, flags, fd int, offset int64) (unsafe.Pointer, error) {
	p, _, errno := syscall.Syscall6(syscall.SYS_MMAP, at, length, uintptr(prot), uintptr(flags), uintptr(fd), uintptr(offset))
	if errno != 0 {
		return nil, errno
	}
	return mappedAt(p), nil
}
