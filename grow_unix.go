//go:build unix && (cgo || linux || darwin || freebsd || openbsd || dragonfly)

package mmap

import (
	"errors"
	"os"
	"syscall"
)

// Growth in place on Unix: a PROT_NONE reservation (sysReserve), mappings
// made MAP_FIXED inside it by the usual ladder (mapReq.at), and pages given
// back to it by mapping the reservation over them again.

// osMapMax reserves max bytes and maps the first length bytes of them,
// from offset (page aligned) of the file open as fd when file is set, else
// anonymous memory.
func osMapMax(file bool, fd uintptr, offset int64, length, max, prot, flags int) (*region, error) {
	desc := -1
	if file {
		desc = int(fd)
	}
	var req mapReq
	req.set(desc, offset, length, prot, flags)
	// Anonymous hugepages come in whole hugetlb pages, which the ladder's
	// first rung maps; the reservation and the first map are rounded to
	// them so that every rung fits.
	unit := uintptr(os.Getpagesize())
	if !file && flags&(HUGE|HUGETLB) != 0 && req.hugeSize != 0 {
		unit = req.hugeSize
	}
	size := roundUp(uintptr(max), unit)
	req.length = roundUp(uintptr(length), unit)
	// A reservation of a PMD or more starts on a PMD boundary, in step
	// with the file offset, so that transparent hugepages and large
	// page-cache folios can be mapped whole (hm_map's THP rung aligns the
	// same way).
	align := unit
	if pmd := uintptr(thpSize()); pmd > align && size >= pmd {
		align = pmd
	}
	base, err := sysReserve(nil, size, align, uintptr(offset)&(align-1))
	if err != nil {
		return nil, reserveError(file, err)
	}
	req.at = base
	if _, err := sysMap(&req); err != nil {
		sysUnmap(base, size)
		return nil, mapError(&req, err)
	}
	r := newRegion(region{base: base, size: req.size, limit: uintptr(max), len: length, prot: prot, info: req.info})
	if keep := roundUp(r.limit, r.pageSize()); keep < size {
		// The ladder fell back from hugetlb pages: the reservation, and
		// what the fallback mapped past the maximum, go back to whole
		// base pages, as span computes them from now on.
		sysUnmap(r.at(keep), size-keep)
		r.size = min(r.size, keep)
	}
	r.info.PMDMappable = pmdMappable(uintptr(base), r.size, offset, r.info, !file)
	return r, nil
}

// span is the address space from base that r owns, which Unmap releases:
// what it mapped, or with a maximum its whole reservation, the address
// space up to the maximum rounded up to r's pages. r may grow in place
// until lead+len reaches the maximum.
func (r *region) span() uintptr {
	if r.limit == 0 {
		return r.size
	}
	return max(r.size, roundUp(r.limit, r.pageSize()))
}

// reserveError names a failed reservation as mapError names a failed map:
// the caller adds the file.
func reserveError(file bool, errno error) error {
	if file {
		return errno
	}
	return os.NewSyscallError("mmap", errno)
}

// osGrow maps r on to n bytes from r.size, the end of what is mapped (whole
// pages: the rest of the last partial page is mapped already), over the
// reservation, with r's prot and flags and the kind of pages r got.
func osGrow(r *region, n int, fd uintptr) (*region, error) {
	size := roundUp(r.lead+uintptr(n), r.pageSize())
	nr := newRegion(r.clone())
	nr.len = n
	if size <= r.size {
		return nr, nil
	}
	file := r.flags&ANON == 0
	desc := -1
	if file {
		desc = int(fd)
	}
	flags := r.flags &^ (HUGE | HUGETLB | HUGE_1GB)
	switch r.info.Kind {
	case HugetlbPages:
		flags |= HUGETLB // required: the pages must be of one size
	case TransparentHugePages:
		flags |= HUGE
	}
	var req mapReq
	req.set(desc, r.offset-int64(r.lead)+int64(r.size), int(size-r.size), r.prot, flags)
	req.hugeSize = 0
	if r.info.Kind == HugetlbPages {
		req.hugeSize = uintptr(r.info.PageSize)
	}
	if r.info.Kind == TransparentHugePages && req.thpSize == 0 {
		req.thpSize = uintptr(r.info.PageSize) // advised as the mapping was, whatever the mode is now
	}
	req.at = r.at(r.size)
	if _, err := sysMap(&req); err != nil {
		return nil, mapError(&req, err)
	}
	nr.size = size
	return nr, nil
}

// osShrink gives the pages past n bytes of r back to its reservation.
func osShrink(r *region, n int) (*region, error) {
	size := roundUp(r.lead+uintptr(n), r.pageSize())
	nr := newRegion(r.clone())
	nr.len = n
	if size >= r.size {
		return nr, nil
	}
	if _, err := sysReserve(r.at(size), r.size-size, 0, 0); err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	nr.size = size
	return nr, nil
}

// releaseTail unmaps what is left of r's reservation once mremap has moved
// its mapped part out of it: mremap cannot grow a mapping into address
// space that is taken, as the reservation's is, so a Resize past the
// maximum always moves.
func releaseTail(r *region) {
	if span := r.span(); span > r.size {
		// The tail is one reserved VMA of our own: unmapping it whole
		// cannot fail.
		sysUnmap(r.at(r.size), span-r.size)
	}
}

// movesByCopy says whether mremap refused to move a mapping that grew in
// place for a reason a copy does not share: the grown mapping is several
// VMAs (EFAULT), as hugetlb parts always are (the kernel never merges
// them), or hugetlb pages, which mremap does not enlarge (EINVAL).
func movesByCopy(errno error) bool {
	return errors.Is(errno, syscall.EFAULT) || errors.Is(errno, syscall.EINVAL)
}
