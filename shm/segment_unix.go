//go:build linux || freebsd || darwin

package shm

import (
	"fmt"
	"syscall"

	"github.com/hugemap/mmap"
)

// What Linux, FreeBSD and macOS share: a segment is a descriptor that
// package mmap maps like any file.

func osMap(s *Segment, prot, flags int) (mmap.MMap, error) {
	return mmap.MapRegion(s.f, s.size, prot, flags, 0)
}

// fileInfo is the size of the object open as fd and, for a hugetlbfs file,
// its page size.
func fileInfo(fd uintptr) (size int64, hugePage int, err error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(fd), &st); err != nil {
		return 0, 0, err
	}
	// macOS reports a POSIX shm object with no file type bits at all.
	if t := st.Mode & syscall.S_IFMT; t != syscall.S_IFREG && t != 0 {
		return 0, 0, fmt.Errorf("not a regular file or shared-memory object (mode %#o), so it cannot be a segment: %w", st.Mode, syscall.EINVAL)
	}
	return st.Size, hugetlbfsPageSize(int(fd)), nil
}
