//go:build unix && !linux

package mmap

import "runtime"

// The words errors_unix.go puts in errors, where there is no /proc or /sys.

func hugetlbPool(int) string { return "no hugetlb pages on " + runtime.GOOS }

// memlockLimitHit cannot tell here; an mlock ENOMEM is most often the limit.
func memlockLimitHit(uintptr) (bool, string) {
	return true, "RLIMIT_MEMLOCK reached (raise it with ulimit -l or setrlimit)"
}
