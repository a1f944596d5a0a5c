//go:build unix

/* The C shim under package mmap: one function per Go operation. Each returns
 * its result and leaves errno set on failure, for cgo's two-value call. */
#ifndef HUGEMAP_MMAP_H
#define HUGEMAP_MMAP_H

#include <stddef.h>
#include <stdint.h>

/* The Go package's prot and flags bits (mmap-go's values, then ours); the
 * shim turns them into this platform's PROT_* and MAP_*, so no Go file
 * hard-codes a platform's value. Keep in step with mmap.go. */
enum {
	HM_RDWR = 2,
	HM_COPY = 4,
	HM_EXEC = 8,
};
enum {
	HM_ANON = 1 << 0,
	HM_POPULATE = 1 << 1,
	HM_HUGE = 1 << 2,
	HM_HUGETLB = 1 << 3,
	HM_LOCK = 1 << 4,
	HM_LOCK_ONFAULT = 1 << 5,
	HM_NORESERVE = 1 << 6,
};

/* What a mapping got; mirrors Go's PageKind. */
enum {
	HM_KIND_BASE = 0,
	HM_KIND_THP = 1,
	HM_KIND_HUGETLB = 2,
};

/* One map request and what the kernel gave for it. */
struct hm_map {
	/* In. */
	int fd;            /* ignored with HM_ANON */
	int prot;          /* HM_RDWR, HM_COPY, HM_EXEC */
	int flags;         /* HM_ANON, HM_POPULATE, ... */
	int64_t offset;    /* page aligned; ignored with HM_ANON */
	size_t length;     /* bytes, > 0, page aligned */
	size_t huge_size;  /* hugetlb page size for HM_HUGE/HM_HUGETLB; 0: the default */
	size_t thp_size;   /* the transparent hugepage size (PMD size); 0: no THP rung */
	int populate_write; /* HM_POPULATE faults pages in for writing, else for reading */
	int populate_by_map_flag; /* HM_POPULATE uses MAP_POPULATE, as before Linux 5.14, without probing */
	/* Out, valid when hm_map returns non-NULL. */
	size_t size;       /* bytes mapped from the returned address (for munmap) */
	size_t page_size;  /* bytes per page the mapping uses (hugetlb) or is aligned for (THP) */
	int kind;          /* HM_KIND_* */
	int populated;     /* pages were made resident */
	int locked;        /* HM_LOCK or HM_LOCK_ONFAULT took effect */
	int failed_step;   /* on failure: which step failed (HM_STEP_*) */
	/* In: where to map, MAP_FIXED, inside a reservation the caller owns
	 * (hm_reserve); NULL: anywhere. At an address the ladder skips the
	 * THP over-allocation (the reservation is aligned already), and a
	 * failure at any step gives the range back to the reservation. An
	 * integer, as hm_unmap's address is: cgo checks each pointer it passes
	 * for Go pointers at run time, a tenth of what the map+unmap pair
	 * costs above its system calls, and this struct then has none. */
	uintptr_t at;
};

/* Steps of hm_map, named in errors. */
enum {
	HM_STEP_MMAP = 1,
	HM_STEP_POPULATE = 2,
	HM_STEP_LOCK = 3,
};

/* hm_map runs the whole ladder for one request in one call: hugetlb pages,
 * then a THP-aligned mapping, then base pages (as the flags allow), then
 * populate and lock. Returns the mapping's start, or NULL with errno set and
 * nothing left mapped. */
void *hm_map(struct hm_map *m);

/* hm_reserve reserves size bytes of address space: PROT_NONE, private,
 * anonymous, MAP_NORESERVE, so it costs no memory and no swap or commit
 * charge. With at NULL it picks a start congruent to phase modulo align (a
 * power of two, both page multiples); with at set it maps the reservation
 * MAP_FIXED over [at, at+size), which must be the caller's own, giving
 * mapped pages back to it. Returns the start, or NULL with errno set. */
void *hm_reserve(void *at, size_t size, size_t align, size_t phase);

/* Advice values: Go's Advice constants. hm_advise maps them to MADV_* and
 * fails with ENOSYS where this platform has no such advice. */
enum {
	HM_ADV_NORMAL,
	HM_ADV_RANDOM,
	HM_ADV_SEQUENTIAL,
	HM_ADV_WILLNEED,
	HM_ADV_HUGEPAGE,
	HM_ADV_NOHUGEPAGE,
	HM_ADV_POPULATE_READ,
	HM_ADV_POPULATE_WRITE,
	HM_ADV_COLD,
	HM_ADV_PAGEOUT,
	HM_ADV_DONTFORK,
	HM_ADV_DOFORK,
	HM_ADV_DONTDUMP,
	HM_ADV_DODUMP,
	HM_ADV_COLLAPSE,
	HM_ADV_DONTNEED,
	HM_ADV_FREE,
	HM_ADV_REMOVE,
};

/* These return 0, or -1 with errno set. addr must be page aligned.
 * hm_unmap takes it as an integer, as struct hm_map does its at. */
int hm_unmap(uintptr_t addr, size_t length);
int hm_sync(void *addr, size_t length, int async);
int hm_lock(void *addr, size_t length, int onfault);
int hm_unlock(void *addr, size_t length);
int hm_advise(void *addr, size_t length, int advice);
int hm_protect(void *addr, size_t length, int prot);
/* hm_populate makes [addr, addr+length) resident for reading or writing, as
 * ReadAt and WriteAt need it, in the kernel (no Go P held): for a file, one
 * readahead of the whole range first (MADV_WILLNEED, so a random reader does
 * not fault it in a page at a time), then MADV_POPULATE_READ or _WRITE. The
 * caller has checked that some page may be missing. Fails with EFAULT past
 * the end of the file, EINVAL where populate is missing. */
int hm_populate(void *addr, size_t length, int write, int file);

/* hm_remap resizes the mapping at addr from old_size to new_size bytes, in
 * place or moved (Linux mremap with MREMAP_MAYMOVE). Returns the new start,
 * or NULL with errno set (ENOSYS where there is no mremap). */
void *hm_remap(void *addr, size_t old_size, size_t new_size);
/* hm_mincore fills vec, one byte per page, bit 0 set where resident. */
int hm_mincore(void *addr, size_t length, unsigned char *vec);
/* hm_mbind sets the NUMA policy of [addr, addr+length): mbind(2) through
 * syscall(2), with the kernel's MPOL_* mode and flags, so that no libnuma is
 * needed. mask holds maxnode-1 bits. ENOSYS where there is no mbind. */
int hm_mbind(void *addr, size_t length, int mode, const unsigned long *mask, unsigned long maxnode, unsigned flags);

#endif
