package pagecache

import "syscall"

// fadvise on linux/386: fadvise64_64 takes each 64-bit argument as two
// words, low first.
func fadvise(fd uintptr, off, n int64, advice int) syscall.Errno {
	_, _, e := syscall.Syscall6(syscall.SYS_FADVISE64_64, fd, uintptr(off), uintptr(off>>32), uintptr(n), uintptr(n>>32), uintptr(advice))
	return e
}
