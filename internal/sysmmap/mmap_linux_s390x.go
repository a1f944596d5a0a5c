//go:build linux && s390x

package sysmmap

import (
	"syscall"
	"unsafe"
)

// mmapCall is mmap(2) on s390x, whose kernel takes the six arguments in a
// block in memory.
func mmapCall(addr, length uintptr, prot, flags, fd int, offset int64) (unsafe.Pointer, error) {
	args := [6]uintptr{addr, length, uintptr(prot), uintptr(flags), uintptr(fd), uintptr(offset)}
	p, _, errno := syscall.Syscall(syscall.SYS_MMAP, uintptr(unsafe.Pointer(&args[0])), 0, 0)
	if errno != 0 {
		return nil, errno
	}
	return mappedAt(p), nil
}
