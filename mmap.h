//go:build unix

/* The C shim under package mmap: one function per Go operation. Each returns
 * its result and leaves errno set on failure, for cgo's two-value call. */
#ifndef HUGEMAP_MMAP_H
#define HUGEMAP_MMAP_H

#include <stddef.h>
#include <stdint.h>

/* The Go package's prot and flags bits (mmap-go's values); the shim turns
 * them into this platform's PROT_* and MAP_* so no Go file hard-codes them. */
enum {
	HM_RDWR = 2,
	HM_COPY = 4,
	HM_EXEC = 8,
};
enum {
	HM_ANON = 1,
};

/* hm_map maps length bytes of fd at offset (fd is ignored with HM_ANON).
 * Returns the mapping's start, or NULL with errno set. */
void *hm_map(int fd, int64_t offset, size_t length, int prot, int flags);

/* hm_unmap, hm_sync, hm_lock and hm_unlock return 0, or -1 with errno set.
 * addr must be page aligned. */
int hm_unmap(void *addr, size_t length);
int hm_sync(void *addr, size_t length);
int hm_lock(void *addr, size_t length);
int hm_unlock(void *addr, size_t length);

#endif
