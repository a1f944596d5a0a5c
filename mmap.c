//go:build unix

/* mlock2, MLOCK_ONFAULT, MAP_HUGETLB and the newer MADV_* from libc's
 * headers; a 64-bit off_t on 32-bit Unix, so offsets past 4 GiB reach mmap
 * intact. */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64

#include "mmap.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/syscall.h>
#include <sys/vfs.h>
/* Values from the kernel's uapi headers, for libcs that predate them. */
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#define HUGETLBFS_MAGIC 0x958458f6
#endif

#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0 /* no hugetlb here: tests of it are never true */
#endif

static int native_prot(int prot) {
	int p = PROT_READ;
	if (prot & (HM_RDWR | HM_COPY))
		p |= PROT_WRITE;
	if (prot & HM_EXEC)
		p |= PROT_EXEC;
	return p;
}

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

/* MADV_POPULATE_READ/WRITE (Linux 5.14) report what MAP_POPULATE swallows:
 * a hugetlb pool running dry, a range past the end of the file. Probed once;
 * where they are missing, hm_map passes MAP_POPULATE instead. */
static int populate_state; /* 0 unknown, 1 madvise, -1 MAP_POPULATE; racing probes agree */

static int populate_by_madvise(void) {
#ifdef __linux__
	int s = __atomic_load_n(&populate_state, __ATOMIC_RELAXED);
	if (s == 0) {
		long page = sysconf(_SC_PAGESIZE);
		void *p = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		s = -1;
		if (p != MAP_FAILED) {
			if (madvise(p, (size_t)page, MADV_POPULATE_READ) == 0)
				s = 1;
			munmap(p, (size_t)page);
		}
		__atomic_store_n(&populate_state, s, __ATOMIC_RELAXED);
	}
	return s == 1;
#else
	return 0;
#endif
}

/* On Linux the lock calls go to the kernel through syscall(2): the
 * AddressSanitizer runtime intercepts mlock and munlock and turns them into
 * no-ops that report success, so a binary built with -asan would claim
 * locks it never took. */
static int lock_range(void *addr, size_t length, int onfault) {
#ifdef __linux__
	if (!onfault)
		return (int)syscall(SYS_mlock, addr, length);
#ifdef SYS_mlock2
	return (int)syscall(SYS_mlock2, addr, length, MLOCK_ONFAULT);
#endif
#else
	if (!onfault)
		return mlock(addr, length);
#endif
	errno = ENOSYS;
	return -1;
}

/* finish populates and locks a fresh mapping as m asks. On failure it
 * records the step and leaves the mapping to the caller to unmap. */
static int finish(struct hm_map *m, void *p, int map_populated) {
	m->populated = map_populated;
#ifdef __linux__
	if ((m->flags & HM_POPULATE) && !map_populated) {
		int advice = m->populate_write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
		int r;
		do
			r = madvise(p, m->size, advice);
		while (r != 0 && errno == EINTR);
		if (r != 0) {
			m->failed_step = HM_STEP_POPULATE;
			return -1;
		}
		m->populated = 1;
	}
#endif
	if (m->flags & (HM_LOCK | HM_LOCK_ONFAULT)) {
		if (lock_range(p, m->size, !(m->flags & HM_LOCK)) != 0) {
			m->failed_step = HM_STEP_LOCK;
			return -1;
		}
		m->locked = 1;
		if (m->flags & HM_LOCK)
			m->populated = 1; /* mlock faults every page in */
	}
	return 0;
}

/* finish_or_unmap finishes p, or unmaps it (gives it back to the
 * reservation, for a map at m->at) and returns NULL with the failing step's
 * errno. */
static void *finish_or_unmap(struct hm_map *m, void *p, size_t size, int map_populated) {
	if (finish(m, p, map_populated) != 0) {
		int saved = errno;
		if (m->at)
			hm_reserve(p, size, 0, 0);
		else
			munmap(p, size);
		errno = saved;
		return NULL;
	}
	return p;
}

static const int reserve_flags = MAP_PRIVATE | MAP_ANONYMOUS
#ifdef MAP_NORESERVE
				 | MAP_NORESERVE
#endif
	;

/* failed_at keeps [at, at+size) reserved after a MAP_FIXED map over it
 * failed, and returns NULL. Linux 6.12+ puts back what the failed call had
 * unmapped; older kernels can leave a hole, reserved again here without
 * MAP_FIXED, so as never to replace what another thread may have mapped
 * there since. */
static void *failed_at(struct hm_map *m, void *at, size_t size) {
	int saved = errno;
#if defined(__linux__) && defined(MAP_FIXED_NOREPLACE)
	void *p = mmap(at, size, PROT_NONE, reserve_flags | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != MAP_FAILED && p != at)
		munmap(p, size); /* a kernel before 4.17 took the address as a hint */
#else
	(void)at, (void)size;
#endif
	errno = saved;
	m->failed_step = HM_STEP_MMAP;
	return NULL;
}

void *hm_reserve(void *at, size_t size, size_t align, size_t phase) {
	if (at) {
		void *p = mmap(at, size, PROT_NONE, reserve_flags | MAP_FIXED, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t over = align > page ? align : 0;
	if (size + over < size) {
		errno = ENOMEM;
		return NULL;
	}
	char *raw = mmap(NULL, size + over, PROT_NONE, reserve_flags, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	if (!over)
		return raw;
	/* Over-allocated by align: keep the size bytes from the first
	 * address congruent to phase, give back the rest. */
	char *p = raw + ((phase - (uintptr_t)raw) & (align - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + size + over > p + size)
		munmap(p + size, (size_t)(raw + size + over - (p + size)));
	return p;
}

/* map_flags is the MAP_* flags for m, with extra ones. */
static int map_flags(const struct hm_map *m, int extra) {
	int flags = extra;
	if (m->flags & HM_ANON)
		flags |= MAP_PRIVATE | MAP_ANONYMOUS;
	else
		flags |= (m->prot & HM_COPY) ? MAP_PRIVATE : MAP_SHARED;
#ifdef MAP_NORESERVE
	/* An unreserved hugetlb map succeeds with an empty pool and dies of
	 * SIGBUS at the first touch: hugetlb pages skip the reservation only
	 * when POPULATE will fault them in now and report a dry pool. */
	if (m->flags & HM_NORESERVE && !((extra & MAP_HUGETLB) && !(m->flags & HM_POPULATE)))
		flags |= MAP_NORESERVE;
#endif
	return flags;
}

/* try maps size bytes with extra MAP_* flags, then finishes the mapping.
 * On failure nothing is left mapped. */
static void *try(struct hm_map *m, size_t size, int extra, int map_populated) {
	int anon = m->flags & HM_ANON;
	if (m->at) {
		/* A map inside a reservation never reaches past what was asked:
		 * MAP_FIXED would replace whatever lies beyond. */
		if (size != m->length) {
			m->failed_step = HM_STEP_MMAP;
			errno = EINVAL;
			return NULL;
		}
		extra |= MAP_FIXED;
	}
	void *p = mmap((void *)m->at, size, native_prot(m->prot), map_flags(m, extra), anon ? -1 : m->fd, anon ? 0 : (off_t)m->offset);
	if (p == MAP_FAILED) {
		if (m->at)
			return failed_at(m, (void *)m->at, size);
		m->failed_step = HM_STEP_MMAP;
		return NULL;
	}
	m->size = size;
	return finish_or_unmap(m, p, size, map_populated);
}

#ifdef __linux__
/* try_thp maps an anonymous range aligned to the THP size and marks it
 * MADV_HUGEPAGE: over-allocate by one huge page, trim both ends. At m->at
 * (aligned by its reservation) it maps exactly the length asked. */
static void *try_thp(struct hm_map *m, int extra, int map_populated) {
	size_t thp = m->thp_size, size = round_up(m->length, thp), over = thp;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | extra;
#ifdef MAP_NORESERVE
	if (m->flags & HM_NORESERVE)
		flags |= MAP_NORESERVE;
#endif
	if (m->at) {
		size = m->length;
		over = 0;
		flags |= MAP_FIXED;
	}
	char *raw = mmap((void *)m->at, size + over, native_prot(m->prot), flags & ~MAP_POPULATE, -1, 0);
	if (raw == MAP_FAILED) {
		if (m->at)
			return failed_at(m, (void *)m->at, size);
		m->failed_step = HM_STEP_MMAP;
		return NULL;
	}
	char *p = m->at ? raw : (char *)round_up((size_t)(uintptr_t)raw, thp);
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + size + over > p + size)
		munmap(p + size, (size_t)(raw + size + over - (p + size)));
	m->size = size;
	if (madvise(p, size, MADV_HUGEPAGE) == 0) {
		m->kind = HM_KIND_THP;
		m->page_size = thp;
	}
	/* MAP_POPULATE would have faulted base pages before the advice; on
	 * kernels without MADV_POPULATE_* touch the pages after it instead. */
	if (map_populated) {
		for (size_t i = 0; i < size; i += (size_t)sysconf(_SC_PAGESIZE)) {
			if (m->populate_write)
				((volatile char *)p)[i] = 0;
			else
				(void)((volatile char *)p)[i];
		}
	}
	return finish_or_unmap(m, p, size, map_populated);
}
#endif

#ifdef __linux__
/* try_file_thp maps a file range for transparent hugepages: at an address
 * that lines up with its file offset modulo the THP size, as a PMD entry
 * needs, whenever the range holds a whole aligned block of the file (the
 * kernel aligns some file systems' maps by itself, only from offset 0 and
 * for lengths of a block or more, and others' not at all): reserve
 * length + thp bytes of address space, map the file over the first address
 * that lines up, give the rest back. The advice comes before the populate,
 * so that its faults read the file in PMD-sized folios. */
static void *try_file_thp(struct hm_map *m, int extra, int map_populated) {
	size_t thp = m->thp_size, len = m->length;
	uint64_t off = (uint64_t)m->offset, block = (off + thp - 1) / thp * thp;
	int flags = map_flags(m, extra);
	char *p = MAP_FAILED;
	if (m->at) {
		/* Inside a reservation, which lines up with the file already. */
		p = mmap((void *)m->at, len, native_prot(m->prot), flags | MAP_FIXED, m->fd, (off_t)off);
		if (p == MAP_FAILED)
			return failed_at(m, (void *)m->at, len);
	} else if (block + thp <= off + len) {
		char *raw = mmap(NULL, len + thp, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (raw != MAP_FAILED) {
			char *at = raw + (size_t)((off - (uint64_t)(uintptr_t)raw) & (thp - 1));
			p = mmap(at, len, native_prot(m->prot), flags | MAP_FIXED, m->fd, (off_t)off);
			if (p == MAP_FAILED) {
				int saved = errno;
				munmap(raw, len + thp);
				errno = saved;
				m->failed_step = HM_STEP_MMAP;
				return NULL;
			}
			if (at > raw)
				munmap(raw, (size_t)(at - raw));
			if (raw + len + thp > at + len)
				munmap(at + len, (size_t)(raw + len + thp - (at + len)));
		}
	}
	if (p == MAP_FAILED) /* no whole block, or no room to line it up */
		p = mmap(NULL, len, native_prot(m->prot), flags, m->fd, (off_t)off);
	if (p == MAP_FAILED) {
		m->failed_step = HM_STEP_MMAP;
		return NULL;
	}
	m->size = len;
	if (madvise(p, len, MADV_HUGEPAGE) == 0) {
		m->kind = HM_KIND_THP;
		m->page_size = thp;
	}
	return finish_or_unmap(m, p, len, map_populated);
}
#endif

void *hm_map(struct hm_map *m) {
	long page = sysconf(_SC_PAGESIZE);
	int extra = 0, map_populated = 0;

	m->kind = HM_KIND_BASE;
	m->page_size = (size_t)page;
	m->populated = m->locked = m->failed_step = 0;
	if (!(m->flags & HM_ANON) && (int64_t)(off_t)m->offset != m->offset) {
		m->failed_step = HM_STEP_MMAP;
		errno = EOVERFLOW;
		return NULL;
	}
#ifdef MAP_POPULATE
	if ((m->flags & HM_POPULATE) && (m->populate_by_map_flag || !populate_by_madvise())) {
		extra |= MAP_POPULATE;
		map_populated = 1;
	}
#endif

#ifdef __linux__
	if (m->flags & HM_ANON && m->flags & (HM_HUGE | HM_HUGETLB)) {
		size_t hs = m->huge_size;
		if (hs != 0) {
			/* The size code is log2 of the page size, in the flags. */
			int code = __builtin_ctzll((unsigned long long)hs) << MAP_HUGE_SHIFT;
			void *p = try(m, round_up(m->length, hs), extra | MAP_HUGETLB | code, map_populated);
			if (p) {
				m->kind = HM_KIND_HUGETLB;
				m->page_size = hs;
				return p;
			}
		} else {
			errno = ENOMEM; /* no hugetlb page size on this system */
			m->failed_step = HM_STEP_MMAP;
		}
		/* Lock failures are about limits, not page sizes: no fallback. */
		if (m->flags & HM_HUGETLB || m->failed_step == HM_STEP_LOCK)
			return NULL;
		if (m->thp_size != 0)
			return try_thp(m, extra, map_populated);
	}
	/* Only a map that asks for hugepages looks at the file system: fstatfs
	 * on every map would cost as much as a tenth of the map itself. */
	if (!(m->flags & HM_ANON) && m->flags & (HM_HUGE | HM_HUGETLB)) {
		struct statfs sfs;
		if (fstatfs(m->fd, &sfs) == 0 && (unsigned long)sfs.f_type == HUGETLBFS_MAGIC) {
			void *p = try(m, round_up(m->length, (size_t)sfs.f_bsize), extra, map_populated);
			if (p) {
				m->kind = HM_KIND_HUGETLB;
				m->page_size = (size_t)sfs.f_bsize;
			}
			return p;
		}
		if (m->flags & HM_HUGETLB) {
			/* The kernel says EINVAL; this says why. */
			m->failed_step = HM_STEP_MMAP;
			errno = EINVAL;
			return NULL;
		}
	}
#else
	if (m->flags & HM_HUGETLB) {
		m->failed_step = HM_STEP_MMAP;
		errno = ENOSYS;
		return NULL;
	}
#endif

#ifdef __linux__
	/* A file map asked for hugepages is placed for them and advised;
	 * whether the page cache holds the file in folios large enough is up
	 * to the file system and how the file was read or written. */
	if (!(m->flags & HM_ANON) && (m->flags & HM_HUGE) && m->thp_size != 0)
		return try_file_thp(m, extra, map_populated);
#endif
	return try(m, m->length, extra, map_populated);
}

int hm_unmap(uintptr_t addr, size_t length) { return munmap((void *)addr, length); }

int hm_sync(void *addr, size_t length, int async) {
	return msync(addr, length, async ? MS_ASYNC : MS_SYNC);
}

int hm_lock(void *addr, size_t length, int onfault) { return lock_range(addr, length, onfault); }

int hm_unlock(void *addr, size_t length) {
#ifdef __linux__
	return (int)syscall(SYS_munlock, addr, length); /* past ASan's no-op munlock, as in lock_range */
#else
	return munlock(addr, length);
#endif
}

int hm_protect(void *addr, size_t length, int prot) { return mprotect(addr, length, native_prot(prot)); }

int hm_populate(void *addr, size_t length, int write, int file) {
#ifdef __linux__
	if (file)
		madvise(addr, length, MADV_WILLNEED); /* a hint; its failure is harmless */
	int r;
	do
		r = madvise(addr, length, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
	while (r != 0 && errno == EINTR);
	return r;
#else
	(void)addr, (void)length, (void)write, (void)file;
	errno = ENOSYS;
	return -1;
#endif
}

void *hm_remap(void *addr, size_t old_size, size_t new_size) {
#ifdef __linux__
	void *p = mremap(addr, old_size, new_size, MREMAP_MAYMOVE);
	return p == MAP_FAILED ? NULL : p;
#else
	(void)addr, (void)old_size, (void)new_size;
	errno = ENOSYS;
	return NULL;
#endif
}

int hm_mincore(void *addr, size_t length, unsigned char *vec) {
	return mincore(addr, length, (void *)vec);
}

int hm_mbind(void *addr, size_t length, int mode, const unsigned long *mask, unsigned long maxnode, unsigned flags) {
#if defined(__linux__) && defined(SYS_mbind)
	return (int)syscall(SYS_mbind, addr, length, mode, mask, maxnode, flags);
#else
	(void)addr; (void)length; (void)mode; (void)mask; (void)maxnode; (void)flags;
	errno = ENOSYS;
	return -1;
#endif
}

static int native_advice(int advice) {
	switch (advice) {
	case HM_ADV_NORMAL: return MADV_NORMAL;
	case HM_ADV_RANDOM: return MADV_RANDOM;
	case HM_ADV_SEQUENTIAL: return MADV_SEQUENTIAL;
	case HM_ADV_WILLNEED: return MADV_WILLNEED;
#ifdef MADV_HUGEPAGE
	case HM_ADV_HUGEPAGE: return MADV_HUGEPAGE;
	case HM_ADV_NOHUGEPAGE: return MADV_NOHUGEPAGE;
#endif
#ifdef __linux__
	/* Elsewhere MADV_DONTNEED is a hint that keeps the data, which would
	 * break Discard's promise of zeros. */
	case HM_ADV_DONTNEED: return MADV_DONTNEED;
	case HM_ADV_POPULATE_READ: return MADV_POPULATE_READ;
	case HM_ADV_POPULATE_WRITE: return MADV_POPULATE_WRITE;
	case HM_ADV_COLD: return MADV_COLD;
	case HM_ADV_PAGEOUT: return MADV_PAGEOUT;
	case HM_ADV_COLLAPSE: return MADV_COLLAPSE;
#endif
#ifdef MADV_DONTFORK
	case HM_ADV_DONTFORK: return MADV_DONTFORK;
	case HM_ADV_DOFORK: return MADV_DOFORK;
#endif
#ifdef MADV_DONTDUMP
	case HM_ADV_DONTDUMP: return MADV_DONTDUMP;
	case HM_ADV_DODUMP: return MADV_DODUMP;
#endif
#ifdef MADV_FREE
	case HM_ADV_FREE: return MADV_FREE;
#endif
#ifdef MADV_REMOVE
	case HM_ADV_REMOVE: return MADV_REMOVE;
#endif
	default: return -1;
	}
}

int hm_advise(void *addr, size_t length, int advice) {
	int a = native_advice(advice);
	if (a < 0) {
		errno = ENOSYS;
		return -1;
	}
	return madvise(addr, length, a);
}
