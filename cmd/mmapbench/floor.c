//go:build ignore

/*
 * floor.c: the physical floor for mmapbench and the peer benchmarks in
 * bench/. The raw libc calls in a plain C loop, with nothing around them.
 *
 * It is not part of the Go package: the build constraint above keeps the go
 * command from treating it as cgo source (a package that does not import "C"
 * may not hold compiled .c files), and mmapbench embeds it as text and builds
 * it at run time with cc -O2. bench/ builds the same file.
 *
 * Usage: floor TEST OPS ROUNDS [PATH [OFFSET]]
 *
 *   mapunmap-anon  mmap 4 KiB private anonymous + munmap
 *   mapunmap-file  mmap the first 4 KiB of PATH shared read-only + munmap
 *   scan           mmap all of PATH read-only, sum it as 64-bit words, munmap
 *   msync          map all of PATH shared read-write once; per op, dirty the
 *                  byte at OFFSET and msync(MS_SYNC) the page that holds it
 *   mincore        map all of PATH read-only once; per op, mincore over the
 *                  whole mapping and count the resident pages
 *
 * One round is OPS operations timed together. It prints one line: the best
 * round's nanoseconds per operation, then the mean over all rounds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t sum(const unsigned char *p, size_t n)
{
	const uint64_t *w = (const uint64_t *)p;
	size_t words = n / 8;
	uint64_t a = 0, b = 0, c = 0, d = 0;
	size_t i = 0;
	for (; i + 4 <= words; i += 4) {
		a += w[i];
		b += w[i + 1];
		c += w[i + 2];
		d += w[i + 3];
	}
	for (; i < words; i++)
		a += w[i];
	for (size_t j = words * 8; j < n; j++)
		a += p[j];
	return a + b + c + d;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: floor TEST OPS ROUNDS [PATH [OFFSET]]\n");
		return 2;
	}
	const char *test = argv[1];
	long ops = atol(argv[2]), rounds = atol(argv[3]);
	const char *path = argc > 4 ? argv[4] : NULL;
	long off = argc > 5 ? atol(argv[5]) : 0;
	long page = sysconf(_SC_PAGESIZE);
	if (ops < 1 || rounds < 1)
		return 2;

	int fd = -1;
	size_t size = 0;
	unsigned char *m = NULL;
	unsigned char *vec = NULL;
	if (path) {
		fd = open(path, strcmp(test, "msync") == 0 ? O_RDWR : O_RDONLY);
		if (fd < 0)
			die(path);
		struct stat st;
		if (fstat(fd, &st) < 0)
			die("fstat");
		size = (size_t)st.st_size;
	}
	if (strcmp(test, "msync") == 0 || strcmp(test, "mincore") == 0) {
		if (!path || size == 0)
			return 2;
		int prot = strcmp(test, "msync") == 0 ? PROT_READ | PROT_WRITE : PROT_READ;
		m = mmap(NULL, size, prot, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			die("mmap");
		vec = malloc((size + page - 1) / page);
		if (!vec)
			die("malloc");
	}

	double best = 0, total = 0;
	for (long r = 0; r < rounds; r++) {
		double t0 = now_ns();
		if (strcmp(test, "mapunmap-anon") == 0) {
			for (long i = 0; i < ops; i++) {
				void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				if (p == MAP_FAILED)
					die("mmap");
				if (munmap(p, page) < 0)
					die("munmap");
			}
		} else if (strcmp(test, "mapunmap-file") == 0 && path) {
			for (long i = 0; i < ops; i++) {
				void *p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
				if (p == MAP_FAILED)
					die("mmap");
				if (munmap(p, page) < 0)
					die("munmap");
			}
		} else if (strcmp(test, "scan") == 0 && path && size > 0) {
			for (long i = 0; i < ops; i++) {
				unsigned char *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
				if (p == MAP_FAILED)
					die("mmap");
				sink += sum(p, size);
				if (munmap(p, size) < 0)
					die("munmap");
			}
		} else if (strcmp(test, "msync") == 0) {
			unsigned char *pg = m + (off & ~(page - 1));
			for (long i = 0; i < ops; i++) {
				m[off]++;
				if (msync(pg, page, MS_SYNC) < 0)
					die("msync");
			}
		} else if (strcmp(test, "mincore") == 0) {
			for (long i = 0; i < ops; i++) {
				if (mincore(m, size, vec) < 0)
					die("mincore");
				uint64_t n = 0;
				for (size_t j = 0; j < (size + page - 1) / page; j++)
					n += vec[j] & 1;
				sink += n;
			}
		} else {
			fprintf(stderr, "floor: unknown test %s or missing PATH\n", test);
			return 2;
		}
		double d = (now_ns() - t0) / (double)ops;
		if (r == 0 || d < best)
			best = d;
		total += d;
	}
	printf("%.1f %.1f\n", best, total / (double)rounds);
	return 0;
}
