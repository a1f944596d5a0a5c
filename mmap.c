//go:build unix

/* 64-bit off_t on 32-bit Unix, so offsets past 4 GiB reach mmap intact. */
#define _FILE_OFFSET_BITS 64

#include "mmap.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/types.h>

#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif

void *hm_map(int fd, int64_t offset, size_t length, int prot, int flags) {
	int p = PROT_READ;
	int f = MAP_SHARED;

	if (prot & HM_COPY) {
		p |= PROT_WRITE;
		f = MAP_PRIVATE;
	} else if (prot & HM_RDWR) {
		p |= PROT_WRITE;
	}
	if (prot & HM_EXEC)
		p |= PROT_EXEC;
	if (flags & HM_ANON) {
		/* Private: a shared anonymous map costs a shmem object per map for
		 * nothing, since nobody else can see it. */
		f = MAP_PRIVATE | MAP_ANONYMOUS;
		fd = -1;
		offset = 0;
	}
	if ((int64_t)(off_t)offset != offset) {
		errno = EOVERFLOW;
		return NULL;
	}
	void *addr = mmap(NULL, length, p, f, fd, (off_t)offset);
	/* NULL is never a mapping we asked for (no MAP_FIXED), so it can stand
	 * for failure and spare Go a platform-specific MAP_FAILED. */
	return addr == MAP_FAILED ? NULL : addr;
}

int hm_unmap(void *addr, size_t length) { return munmap(addr, length); }

int hm_sync(void *addr, size_t length) { return msync(addr, length, MS_SYNC); }

int hm_lock(void *addr, size_t length) { return mlock(addr, length); }

int hm_unlock(void *addr, size_t length) { return munlock(addr, length); }
