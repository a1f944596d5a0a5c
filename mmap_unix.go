//go:build unix && (cgo || linux || darwin || freebsd || openbsd || dragonfly)

package mmap

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// The Unix operations, over the sys* functions of mmap_cgo.go (the C shim)
// or mmap_nocgo.go (package syscall). Here they gain page rounding, the
// request for the hugepage ladder, and the name of the failing call.

//lint:ignore U1000 Unix needs nothing beyond the region's base and size
type sysRegion struct{}

// mapReq is one map request and what the backend got for it; the cgo
// backend copies it to and from the C shim's struct hm_map.
type mapReq struct {
	fd          int
	prot, flags int
	offset      int64
	length      uintptr // page aligned
	hugeSize    uintptr // hugetlb page size for HUGE/HUGETLB; 0: none
	thpSize     uintptr // THP size for HUGE; 0: no THP rung
	size        uintptr // out: bytes mapped, for munmap; on failure, what the failed step covered
	info        Info    // out
	failedStep  int     // out, on failure
}

// Steps of a map, as the C shim's HM_STEP_*.
const (
	stepMmap = 1 + iota
	stepPopulate
	stepLock
)

func osMapFile(fd uintptr, offset int64, length, prot, flags int) (*region, error) {
	return osMap(int(fd), offset, length, prot, flags)
}

func osMapAnon(length, prot, flags int) (*region, error) {
	return osMap(-1, 0, length, prot, flags)
}

func osMap(fd int, offset int64, length, prot, flags int) (*region, error) {
	page := uintptr(os.Getpagesize())
	req := mapReq{
		fd:     fd,
		prot:   prot,
		flags:  flags,
		offset: offset,
		length: (uintptr(length) + page - 1) &^ (page - 1),
	}
	if flags&(HUGE|HUGETLB) != 0 {
		req.hugeSize = uintptr(DefaultHugePageSize())
		if flags&HUGE_1GB != 0 {
			req.hugeSize = 1 << 30
			if !hasHugePageSize(1 << 30) {
				req.hugeSize = 0
			}
		}
		if flags&HUGE != 0 && flags&HUGETLB == 0 {
			if m := THPMode(); m == "always" || m == "madvise" {
				req.thpSize = uintptr(THPSize())
			}
		}
	}
	base, err := sysMap(&req)
	if err != nil {
		return nil, mapError(&req, err)
	}
	return &region{base: base, size: req.size, len: length, prot: prot, info: req.info}, nil
}

func hasHugePageSize(size int) bool {
	pools, _ := HugePagePools()
	for _, p := range pools {
		if p.Size == size {
			return true
		}
	}
	return false
}

// mapError names the step of a map that failed. The caller adds the file.
func mapError(req *mapReq, errno error) error {
	switch req.failedStep {
	case stepPopulate:
		advice := "MADV_POPULATE_READ"
		if req.flags&ANON != 0 && req.prot&(RDWR|COPY) != 0 {
			advice = "MADV_POPULATE_WRITE"
		}
		err := fmt.Errorf("populating %d bytes: %w", req.length, os.NewSyscallError("madvise("+advice+")", errno))
		if req.flags&HUGETLB != 0 && (errors.Is(errno, syscall.EFAULT) || errors.Is(errno, syscall.ENOMEM)) {
			// Hugetlb pages are taken at fault time: the pool ran dry (the
			// fault would have been a SIGBUS, which populate reports as EFAULT).
			return fmt.Errorf("%w: %s: %w", ErrNoHugePages, hugetlbPool(int(req.hugeSize)), err)
		}
		return err
	case stepLock:
		// The THP rung locks its whole aligned range, more than asked.
		return lockError(max(req.size, req.length), errno)
	}
	if req.flags&HUGETLB != 0 && (errors.Is(errno, syscall.ENOMEM) || errors.Is(errno, syscall.EINVAL) && req.fd < 0) {
		return fmt.Errorf("%w: %s: %w", ErrNoHugePages, hugetlbPool(int(req.hugeSize)), os.NewSyscallError("mmap", errno))
	}
	if req.flags&HUGETLB != 0 && req.fd >= 0 && errors.Is(errno, syscall.EINVAL) {
		return fmt.Errorf("%w: HUGETLB maps anonymous memory or hugetlbfs files only: %w", ErrNoHugePages, errno)
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

func osUnmap(r *region) error {
	err := sysUnmap(r.base, r.size)
	if errors.Is(err, syscall.EINVAL) && r.info.Kind != HugetlbPages {
		// A hugetlbfs file mapped without HUGE or HUGETLB: the kernel
		// wants the length in whole hugepages, whose size we never asked.
		pools, _ := HugePagePools()
		for _, p := range pools {
			size := (r.size + uintptr(p.Size) - 1) / uintptr(p.Size) * uintptr(p.Size)
			if err = sysUnmap(r.base, size); err == nil {
				break
			}
		}
	}
	return os.NewSyscallError("munmap", err)
}

func osFlush(r *region, off, n uintptr) error {
	return os.NewSyscallError("msync", sysSync(unsafe.Add(r.base, off), n, false))
}

func osLock(r *region, off, n uintptr) error { return lockPages(r, off, n, false) }

func osLockOnFault(r *region, off, n uintptr) error { return lockPages(r, off, n, true) }

func lockPages(r *region, off, n uintptr, onFault bool) error {
	if err := sysLock(unsafe.Add(r.base, off), n, onFault); err != nil {
		return lockError(n, err)
	}
	return nil
}

func osUnlock(r *region, off, n uintptr) error {
	return os.NewSyscallError("munlock", sysUnlock(unsafe.Add(r.base, off), n))
}

func osFlushAsync(r *region, off, n uintptr) error {
	return os.NewSyscallError("msync", sysSync(unsafe.Add(r.base, off), n, true))
}

func osAdvise(r *region, off, n uintptr, a Advice) error {
	return os.NewSyscallError("madvise("+a.String()+")", sysAdvise(unsafe.Add(r.base, off), n, a))
}

func osProtect(r *region, off, n uintptr, prot int) error {
	return os.NewSyscallError("mprotect", sysProtect(unsafe.Add(r.base, off), n, prot))
}

func osMincore(r *region, off, n uintptr, vec []byte) error {
	return os.NewSyscallError("mincore", sysMincore(unsafe.Add(r.base, off), n, vec))
}

func osRemap(r *region, n int) (*region, error) {
	unit := uintptr(os.Getpagesize())
	if r.info.Kind == HugetlbPages {
		unit = uintptr(r.info.PageSize)
	}
	size := (r.lead + uintptr(n) + unit - 1) / unit * unit
	base, err := sysRemap(r.base, r.size, size)
	if err != nil {
		return nil, os.NewSyscallError("mremap", err)
	}
	nr := *r
	nr.base, nr.size, nr.len = base, size, n
	return &nr, nil
}

func osPopulate(r *region, off, n uintptr, write bool) error {
	return os.NewSyscallError("madvise(MADV_POPULATE)", sysPopulate(unsafe.Add(r.base, off), n, write, r.flags&ANON == 0))
}
