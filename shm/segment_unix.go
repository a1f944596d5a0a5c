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

// sealError says why the kernel refused to add seals, wrapping its errno.
func sealError(seals Seal, errno syscall.Errno) error {
	why := ""
	switch errno {
	case syscall.EBUSY:
		why = "a writable shared mapping of the segment exists (unmap it first, or seal with SealFutureWrite)"
	case syscall.EPERM:
		why = "the segment is sealed with SealSeal, or this descriptor is not open for writing"
	case syscall.EINVAL:
		why = "this file cannot be sealed (not a memfd made with MFD_ALLOW_SEALING, or a file system without seals) or the kernel lacks one of the seals"
	}
	if why == "" {
		return fmt.Errorf("adding seals %v: %w", seals, errno)
	}
	return fmt.Errorf("adding seals %v: %s: %w", seals, why, errno)
}
