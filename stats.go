package mmap

// Stats: the kernel's own account of the memory under a mapping, as
// opposed to Info, which says what was asked for and granted at map time.

// Stats is what the kernel reports for the memory under a mapping, in
// bytes. On Linux the fields are /proc/self/smaps' of the same names
// (Rss, Pss, Shared_Clean, ..., AnonHugePages, FilePmdMapped,
// ShmemPmdMapped, Shared_Hugetlb, Private_Hugetlb, Locked, Swap), summed
// over the kernel VMAs counted (see [MMap.Stats]). As in smaps, hugetlb
// pages are counted in SharedHugetlb and PrivateHugetlb and not in Rss.
type Stats struct {
	Size, Rss, Pss                                       int64 // Size: the bytes of the VMAs counted
	SharedClean, SharedDirty, PrivateClean, PrivateDirty int64
	AnonHugePages, FilePmdMapped, ShmemPmdMapped         int64
	SharedHugetlb, PrivateHugetlb, Locked, Swap          int64
	// NodeBytes is the resident bytes on each NUMA node (Linux:
	// /proc/self/numa_maps; Windows: the working set's node of each
	// page); nil where the system does not say.
	NodeBytes map[int]int64
}

// Stats reports the kernel's account of the memory under m. m may be the
// whole mapping or any sub-slice of it; memory that no live mapping of this
// package holds gives ErrNotMapped, and an empty m a zero Stats and no
// error.
//
// Linux reads /proc/self/smaps, and /proc/self/numa_maps for NodeBytes
// (nil where the kernel has no NUMA support). Its counts are per kernel
// VMA, so Stats counts every VMA that overlaps the pages under m, whole:
// a sub-slice covering part of a VMA reports all of that VMA, and Size says
// how many bytes were counted. A mapping is one VMA, unless operations on
// parts of it (Protect, Lock, Advise) have split it into several, which are
// all counted; or unless the kernel merged it with an adjacent mapping of
// the same kind (private anonymous maps with the same protection and flags
// next to each other, including the Go runtime's own), whose pages are
// then counted too, and Size is larger than the mapping. The file is read
// while other threads may change the process's mappings; the counts are a
// snapshot of each VMA, not of all at once. Reading numa_maps walks the
// page tables, so a Stats of a big mapping costs milliseconds.
//
// Windows fills what QueryWorkingSetEx reports page by page: Size (the
// pages under m), Rss (pages in the working set, large pages excepted),
// PrivateHugetlb (large pages of a HUGETLB map in the working set),
// Locked (locked pages) and NodeBytes (each resident page's node); the
// other fields stay 0. Other platforms give an error matching
// errors.ErrUnsupported.
func (m MMap) Stats() (Stats, error) {
	if len(m) == 0 {
		return Stats{}, nil
	}
	r, off, n, err := m.pages(false)
	if err != nil {
		return Stats{}, err
	}
	return osStats(r, off, n)
}
