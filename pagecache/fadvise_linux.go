//go:build linux && !386 && !arm && !mips && !mipsle

package pagecache

import "syscall"

// fadvise on 64-bit Linux: fadvise64(fd, offset, len, advice).
func fadvise(fd uintptr, off, n int64, advice int) syscall.Errno {
	_, _, e := syscall.Syscall6(syscall.SYS_FADVISE64, fd, uintptr(off), uintptr(n), uintptr(advice), 0, 0)
	return e
}
