//go:build unix && (cgo || linux || darwin || freebsd || openbsd || dragonfly)

package mmap

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// What a failed map or lock on Unix was really about: the step that failed,
// the hugetlb pool, the locked-memory limit.

// mapError names the step of a map that failed. The caller adds the file.
func mapError(req *mapReq, errno error) error {
	switch req.failedStep {
	case stepPopulate:
		advice := "MADV_POPULATE_READ"
		if populatesForWriting(req.prot, req.flags) {
			advice = "MADV_POPULATE_WRITE"
		}
		err := fmt.Errorf("populating %d bytes: %w", req.length, os.NewSyscallError("madvise("+advice+")", errno))
		if req.flags&HUGETLB != 0 && (errors.Is(errno, syscall.EFAULT) || errors.Is(errno, syscall.ENOMEM)) {
			// Hugetlb pages are taken at fault time: the pool ran dry (the
			// fault would have been a SIGBUS, which populate reports as EFAULT).
			return fmt.Errorf("%w: %s: %w", ErrNoHugetlbPages, hugetlbPool(int(req.hugeSize)), err)
		}
		return err
	case stepLock:
		// The THP rung locks its whole aligned range, more than asked.
		return lockError(max(req.size, req.length), errno)
	}
	if req.flags&HUGETLB != 0 && (errors.Is(errno, syscall.ENOMEM) || errors.Is(errno, syscall.EINVAL) && req.fd < 0) {
		return fmt.Errorf("%w: %s: %w", ErrNoHugetlbPages, hugetlbPool(int(req.hugeSize)), os.NewSyscallError("mmap", errno))
	}
	if req.flags&HUGETLB != 0 && req.fd >= 0 && errors.Is(errno, syscall.EINVAL) {
		return fmt.Errorf("%w: HUGETLB maps anonymous memory or hugetlbfs files only: %w", ErrNoHugetlbPages, errno)
	}
	if req.fd < 0 {
		return os.NewSyscallError("mmap", errno)
	}
	return errno
}

// lockError explains a failed mlock: ENOMEM, EAGAIN and EPERM there are
// ErrMemlockLimit when the RLIMIT_MEMLOCK limit is what they hit.
func lockError(n uintptr, errno error) error {
	err := os.NewSyscallError("mlock", errno)
	if errors.Is(errno, syscall.ENOMEM) || errors.Is(errno, syscall.EAGAIN) || errors.Is(errno, syscall.EPERM) {
		if hit, limit := memlockLimitHit(n); hit {
			return fmt.Errorf("%w: locking %d bytes: %s: %w", ErrMemlockLimit, n, limit, err)
		}
		return fmt.Errorf("locking %d bytes (not the locked-memory limit: vm.max_map_count, or memory): %w", n, err)
	}
	return err
}
