package mmap

import "fmt"

// What a mapping got when it was made: its kind of pages, their size,
// whether it was populated and locked.

// PageKind is the kind of pages behind a mapping.
type PageKind int

const (
	// BasePages: the system's base page size (4 KiB on most machines).
	BasePages PageKind = iota
	// TransparentHugePages: the range is advised MADV_HUGEPAGE and placed
	// for hugepages (see Info.PMDMappable). The kernel backs it with
	// hugepages when it can at fault time; Stats (AnonHugePages,
	// FilePmdMapped) tells how much it did.
	TransparentHugePages
	// HugetlbPages: reserved hugetlb pages (MAP_HUGETLB or hugetlbfs).
	HugetlbPages
)

func (k PageKind) String() string {
	switch k {
	case BasePages:
		return "base"
	case TransparentHugePages:
		return "transparent"
	case HugetlbPages:
		return "hugetlb"
	}
	return fmt.Sprintf("PageKind(%d)", int(k))
}

// Info is what a mapping got when it was made.
type Info struct {
	Kind PageKind
	// PageSize is the page size the mapping uses (hugetlb), is aligned and
	// advised for (transparent), or the base page size.
	PageSize int
	// Populated: every page was made resident at map time (POPULATE, or
	// LOCK, which faults pages in).
	Populated bool
	// Locked: the pages were locked at map time (LOCK or LOCK_ONFAULT).
	// Later Lock and Unlock calls do not change it.
	Locked bool
	// PMDMappable: the kernel can map part of the range with single
	// page-table entries of the transparent hugepage size (PMD entries,
	// 2 MiB on x86-64), because it is advised for them, holds at least one
	// block of that size, and its addresses line up with its file offsets
	// modulo that size. A HUGE map of a file is placed so that they line up
	// whenever the range holds a whole aligned block of the file. Whether a
	// file's pages are then mapped so depends on the page cache holding
	// them in folios that large: see the README, "Large folios". Hugetlb
	// mappings are always mapped by hugepage entries and report true.
	PMDMappable bool
}

// Info reports what the mapping that holds m got when it was made. m may be
// any sub-slice of a live mapping. An empty m that lies in no mapping (the
// MMap of an empty file, nil) reports a zero Info and no error, as every
// method of the empty MMap succeeds.
func (m MMap) Info() (Info, error) {
	r, _ := lookup(m)
	switch {
	case r != nil:
		return r.info, nil
	case len(m) == 0:
		return Info{}, nil
	}
	return Info{}, notInside(m)
}
