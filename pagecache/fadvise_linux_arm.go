package pagecache

import "syscall"

// fadvise on linux/arm: arm_fadvise64_64 puts advice second so that the
// 64-bit arguments land in aligned register pairs, low word first.
func fadvise(fd uintptr, off, n int64, advice int) syscall.Errno {
	_, _, e := syscall.Syscall6(syscall.SYS_ARM_FADVISE64_64, fd, uintptr(advice), uintptr(off), uintptr(off>>32), uintptr(n), uintptr(n>>32))
	return e
}
