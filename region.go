package mmap

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"
)

// The region: one live mapping as the OS made it, and the page arithmetic
// that turns any sub-slice of it into the page-aligned range the kernel
// takes.

// region is one live mapping as the OS made it. Its fields do not change
// after osMap* returns it: Grow and a Resize in place register a new one.
type region struct {
	base   unsafe.Pointer // start of what the OS mapped; page aligned
	size   uintptr        // bytes the OS mapped, as its unmap call needs
	lead   uintptr        // bytes between base and the caller's first byte
	len    int            // bytes handed to the caller
	prot   int            // the prot bits it was mapped with
	flags  int            // the flags it was mapped with
	offset int64          // the file offset of the caller's first byte
	info   Info           // what the mapping got
	limit  uintptr        // MapRegionMax's maximum from base, 0 for none: see span (Unix), placeholderEnd (Windows)
	//lint:ignore U1000 empty on Unix; the Windows backend keeps its handles here
	sys sysRegion // what else the OS needs to flush or unmap it

	// unlocked is set (atomically) once Unlock has run on any part of the
	// mapping: LOCK's promise that no page waits for a disk is gone.
	unlocked uint32

	// slot is the registry node allocated with r by newRegion, until
	// register takes it: one allocation a Map instead of two.
	slot *node
	// pair is the allocation r shares with that node, which recycle may
	// give back for reuse; nil for a region made otherwise.
	pair *regionNode
}

// clone is a copy of r for Grow or a Resize to change, with every field
// but the registry slot and pair. unlocked is read atomically: an Unlock of the
// mapping may run at the same time, and a plain copy of the struct would
// race with it. TestRegionCloneCopiesEveryField fails when a field is added
// and not copied here.
func (r *region) clone() region {
	return region{
		base: r.base, size: r.size, lead: r.lead, len: r.len,
		prot: r.prot, flags: r.flags, offset: r.offset, info: r.info,
		limit: r.limit, sys: r.sys,
		unlocked: atomic.LoadUint32(&r.unlocked),
	}
}

// regionNode is a region allocated together with the registry node that
// records it.
type regionNode struct {
	r region
	x node
}

// pairs holds the regionNodes that recycle gave back. A sync.Pool keeps
// them per P, so taking and giving back costs no lock, and lets the
// collector have them, so it holds no memory for long. Reuse saves more
// than the allocation: the pair's cache lines are still warm (mmapbench's
// map+unmap rows, about 50 ns a pair here).
var pairs sync.Pool

// newRegion returns a copy of v on the heap, allocated together with the
// registry node that will record it, or reused with it.
func newRegion(v region) *region {
	p, _ := pairs.Get().(*regionNode)
	if p == nil {
		p = new(regionNode)
		p.x.r = &p.r
	}
	p.r = v
	p.r.slot, p.r.pair = &p.x, p
	return &p.r
}

// cannotWaitForDisk reports whether no page of r can need a disk read to
// be touched, so that ReadAt and WriteAt may copy without bringing pages in
// first: hugetlb pages (never swapped, never file-backed on disk), a
// mapping locked whole by LOCK and not unlocked since, and anonymous memory
// on a system without swap. A populated file mapping is not among them: the
// kernel may drop its clean pages at any moment.
func (r *region) cannotWaitForDisk() bool {
	switch {
	case r.info.Kind == HugetlbPages:
		return true
	case r.flags&LOCK != 0 && r.info.Locked && atomic.LoadUint32(&r.unlocked) == 0:
		return true
	default:
		return r.flags&ANON != 0 && swapless()
	}
}

// data is the caller's view of r.
func (r *region) data() MMap {
	return unsafe.Slice((*byte)(unsafe.Add(r.base, r.lead)), r.len)
}

// pageSize is the unit the kernel takes ranges of r in: its hugepages for
// hugetlb (transparent hugepages split for any base-page range).
func (r *region) pageSize() uintptr {
	if r.info.Kind == HugetlbPages {
		return uintptr(r.info.PageSize)
	}
	return uintptr(os.Getpagesize())
}

// start is the address of the caller's first byte.
func (r *region) start() uintptr { return uintptr(r.base) + r.lead }

// describe names the kind of mapping r is, for errors.
func (r *region) describe() string {
	kind := "anonymous mapping"
	switch {
	case r.flags&ANON != 0:
	case r.prot&COPY != 0:
		kind = "private (COPY) mapping of a file"
	case r.prot&RDWR != 0:
		kind = "shared mapping of a file"
	default:
		kind = "read-only mapping of a file"
	}
	if r.info.Kind == HugetlbPages {
		kind = "hugetlb " + kind
	}
	return fmt.Sprintf("%d-byte %s", r.len, kind)
}

// onPages runs op on the page-aligned range, relative to its mapping's base,
// that covers m. An empty m has no pages and succeeds.
func (m MMap) onPages(op func(r *region, off, n uintptr) error) error {
	if len(m) == 0 {
		return nil
	}
	r, off, n, err := m.pages(false)
	if err != nil {
		return err
	}
	return op(r, off, n)
}

// pages finds the live mapping that holds m, and the page-aligned range
// relative to its base that covers m or, with inside, that lies within m
// (possibly empty).
func (m MMap) pages(inside bool) (r *region, off, n uintptr, err error) {
	r, start := lookup(m)
	if r == nil {
		return nil, 0, 0, notInside(m)
	}
	page := r.pageSize()
	end := start + uintptr(len(m))
	if inside {
		start += page - 1
	} else {
		end += page - 1
	}
	off, end = start&^(page-1), end&^(page-1)
	return r, off, max(end, off) - off, nil
}
