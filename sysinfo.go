package mmap

import "os"

// What the system offers, for choosing flags before mapping.

// HugetlbPool is one hugetlb page size and the state of its pool.
type HugetlbPool struct {
	Size     int // bytes per page
	Total    int // pages in the pool (nr_hugepages)
	Free     int // pages not mapped by anyone (free_hugepages)
	Reserved int // free pages already promised to existing mappings (resv_hugepages)
}

// Available is how many pages a new mapping can still get.
func (p HugetlbPool) Available() int { return p.Free - p.Reserved }

// PageSize is the system's base page size.
func PageSize() int { return os.Getpagesize() }

// HugetlbPools lists the hugetlb page sizes the system supports, smallest
// first, with their pools, read from /sys/kernel/mm/hugepages on Linux. It
// fails with an error matching errors.ErrUnsupported elsewhere.
func HugetlbPools() ([]HugetlbPool, error) { return hugetlbPools() }

// DefaultHugetlbPageSize is the hugetlb page size HUGE and HUGETLB use without
// HUGE_1GB (Hugepagesize in /proc/meminfo), or 0 where there is none.
func DefaultHugetlbPageSize() int { return defaultHugetlbPageSize() }

// THPMode is the system's transparent hugepage mode: "always", "madvise" or
// "never" (/sys/kernel/mm/transparent_hugepage/enabled), or "" where the
// system has no transparent hugepages.
func THPMode() string { return thpMode() }

// THPSize is the transparent hugepage size (hpage_pmd_size), or 0 where the
// system has none.
func THPSize() int { return thpSize() }
