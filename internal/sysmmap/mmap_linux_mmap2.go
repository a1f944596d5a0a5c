//go:build linux && (386 || arm || mips || mipsle)

package sysmmap

import (
	"syscall"
	"unsafe"
)

// mmapCall is mmap2(2) on 32-bit Linux, which takes the offset in 4096-byte
// units, so that offsets past 4 GiB reach the kernel intact.
func mmapCall(addr, length uintptr, prot, flags, fd int, offset int64) (unsafe.Pointer, error) {
	if offset%4096 != 0 {
		return nil, syscall.EINVAL
	}
	p, _, errno := syscall.Syscall6(syscall.SYS_MMAP2, addr, length, uintptr(prot), uintptr(flags), uintptr(fd), uintptr(offset/4096))
	if errno != 0 {
		return nil, errno
	}
	return mappedAt(p), nil
}
