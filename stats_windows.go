package mmap

import (
	"os"
	"unsafe"
)

// Stats on Windows: what QueryWorkingSetEx says of each page under a
// range. It knows residency, locking, large pages and the node of each
// resident page; nothing of dirty, shared-versus-private counts or the
// page file.

const wsNodeShift, wsNodeMask = 16, 0x3f // PSAPI_WORKING_SET_EX_BLOCK.Node: bits 16-21

func osStats(r *region, off, n uintptr) (Stats, error) {
	page := int64(os.Getpagesize())
	s := Stats{Size: int64(n), NodeBytes: map[int]int64{}}
	err := queryWorkingSet(uintptr(unsafe.Add(r.base, off)), int(n/uintptr(page)), func(_ int, attrs uintptr) {
		if attrs&wsValid == 0 {
			return
		}
		// As smaps does, large pages are counted apart from Rss.
		if attrs&wsLargePage != 0 {
			s.PrivateHugetlb += page
		} else {
			s.Rss += page
		}
		if attrs&wsLocked != 0 {
			s.Locked += page
		}
		s.NodeBytes[int(attrs>>wsNodeShift&wsNodeMask)] += page
	})
	if err != nil {
		return Stats{}, err
	}
	return s, nil
}
