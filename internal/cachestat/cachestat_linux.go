// Package cachestat is the cachestat(2) system call (Linux 6.5), shared by
// package pagecache and its command, which calls it on descriptors it opens
// itself rather than through an *os.File.
package cachestat

import (
	"syscall"
	"unsafe"
)

// sysCachestat is cachestat's number on every Linux architecture.
const sysCachestat = 451

// Counts is the kernel's struct cachestat: pages of the range in the page
// cache, dirty, under writeback, evicted, and evicted recently.
type Counts struct {
	Cache, Dirty, Writeback, Evicted, RecentlyEvicted uint64
}

// rangeArg is the kernel's struct cachestat_range.
type rangeArg struct{ off, len uint64 }

// Fd counts the page cache of n bytes of the file open as fd, from off; n
// == 0 means to the end of the file. The error is the bare errno: ENOSYS
// before 6.5, EOPNOTSUPP for hugetlbfs, EPERM (or EACCES) where the caller
// neither owns nor may write the file.
func Fd(fd uintptr, off, n uint64) (Counts, error) {
	rng := rangeArg{off, n}
	var c Counts
	_, _, e := syscall.Syscall6(sysCachestat, fd, uintptr(unsafe.Pointer(&rng)), uintptr(unsafe.Pointer(&c)), 0, 0, 0)
	if e != 0 {
		return Counts{}, e
	}
	return c, nil
}
