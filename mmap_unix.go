//go:build unix && (cgo || linux || darwin || freebsd || openbsd || dragonfly)

package mmap

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Mapping, unmapping and resizing on Unix, over the sys* functions of
// mmap_cgo.go (the C shim) or mmap_nocgo.go (system calls from Go): page
// rounding, the request for the hugepage ladder, the name of the failing
// call.

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
	// populateByMapFlag makes POPULATE use mmap's MAP_POPULATE, as before
	// Linux 5.14, so that tests reach that path on any kernel (cgo only).
	populateByMapFlag bool
	size              uintptr // out: bytes mapped, for munmap; on failure, what the failed step covered
	info              Info    // out
	failedStep        int     // out, on failure

	// at maps MAP_FIXED there, inside a reservation of this package's
	// (MapRegionMax, Grow); nil maps anywhere. A failure gives the range
	// back to the reservation.
	at unsafe.Pointer
}

// populateByMapFlag is mapReq.populateByMapFlag for every map while set: a
// seam for tests, in Go, not a switch exported to C callers.
var populateByMapFlag atomic.Bool

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
	var req mapReq
	req.set(fd, offset, length, prot, flags)
	base, err := sysMap(&req)
	if err != nil {
		return nil, mapError(&req, err)
	}
	req.info.PMDMappable = pmdMappable(uintptr(base), req.size, offset, req.info, req.flags&ANON != 0)
	return newRegion(region{base: base, size: req.size, len: length, prot: prot, info: req.info}), nil
}

// set makes req the request for length bytes (page-rounded here) of fd
// from offset, with the hugepage sizes the flags ask for.
func (req *mapReq) set(fd int, offset int64, length, prot, flags int) {
	page := uintptr(os.Getpagesize())
	*req = mapReq{
		fd:     fd,
		prot:   prot,
		flags:  flags,
		offset: offset,
		length: (uintptr(length) + page - 1) &^ (page - 1),

		populateByMapFlag: populateByMapFlag.Load(),
	}
	if flags&(HUGE|HUGETLB) != 0 {
		req.hugeSize = uintptr(defaultHugetlbPageSize())
		if flags&HUGE_1GB != 0 {
			req.hugeSize = 1 << 30
			if !hasHugetlbPageSize(1 << 30) {
				req.hugeSize = 0
			}
		}
		if flags&HUGE != 0 && flags&HUGETLB == 0 {
			if m := thpMode(); m == "always" || m == "madvise" {
				req.thpSize = uintptr(thpSize())
			}
		}
	}
}

// pmdMappable says whether a mapping of size bytes at base, of the file
// from offset (unless anon), can take PMD entries: see Info.PMDMappable.
func pmdMappable(base, size uintptr, offset int64, info Info, anon bool) bool {
	switch info.Kind {
	case HugetlbPages:
		return true
	case TransparentHugePages:
		pmd := uintptr(thpSize())
		if pmd == 0 || pmd&(pmd-1) != 0 {
			return false
		}
		if anon {
			offset = int64(base) // anonymous memory lines up with itself
		}
		// The first block boundary of the file inside the range, and
		// whether the addresses line up with it.
		skip := (pmd - uintptr(offset)&(pmd-1)) & (pmd - 1)
		return skip+pmd <= size && (base-uintptr(offset))&(pmd-1) == 0
	}
	return false
}

func hasHugetlbPageSize(size int) bool {
	pools, _ := hugetlbPools()
	for _, p := range pools {
		if p.Size == size {
			return true
		}
	}
	return false
}

func osUnmap(r *region) error {
	err := sysUnmap(r.base, r.span()) // a reservation goes whole
	if errors.Is(err, syscall.EINVAL) && r.info.Kind != HugetlbPages {
		// A hugetlbfs file mapped without HUGE or HUGETLB: the kernel
		// wants the length in whole hugepages, whose size we never asked.
		pools, _ := hugetlbPools()
		for _, p := range pools {
			size := (r.size + uintptr(p.Size) - 1) / uintptr(p.Size) * uintptr(p.Size)
			if err = sysUnmap(r.base, size); err == nil {
				break
			}
		}
	}
	return os.NewSyscallError("munmap", err)
}

func osRemap(r *region, n int) (*region, error) {
	unit := uintptr(os.Getpagesize())
	if r.info.Kind == HugetlbPages {
		unit = uintptr(r.info.PageSize)
	}
	size := (r.lead + uintptr(n) + unit - 1) / unit * unit
	base, err := sysRemap(r.base, r.size, size)
	if err != nil {
		if r.limit != 0 && movesByCopy(err) {
			return nil, fmt.Errorf("mremap: %w: %w", err, errors.ErrUnsupported) // Resize maps anew and copies
		}
		return nil, os.NewSyscallError("mremap", err)
	}
	releaseTail(r)
	nr := newRegion(r.clone())
	nr.base, nr.size, nr.len, nr.limit = base, size, n, 0
	return nr, nil
}
