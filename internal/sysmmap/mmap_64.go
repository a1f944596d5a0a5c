//go:build (linux && !(386 || arm || mips || mipsle || s390x)) || ((darwin || freebsd) && (amd64 || arm64 || riscv64))

package sysmmap

import (
	"syscall"
	"unsafe"
)

// mmapCall is mmap(2) on 64-bit systems, which take the offset in bytes in
// one register.
func mmapCall(addr, length uintptr, prot, flags, fd int, offset int64) (unsafe.Pointer, error) {
	p, _, errno := syscall.Syscall6(syscall.SYS_MMAP, addr, length, uintptr(prot), uintptr(flags), uintptr(fd), uintptr(offset))
	if errno != 0 {
		return nil, errno
	}
	return mappedAt(p), nil
}
