// Package pagecache inspects and steers the kernel's page cache for files:
// how much of a range is cached ([Stat]), bringing in what is missing
// ([Touch]), dropping it ([Evict]), re-reading it so the cache holds large
// folios that map with PMD entries ([Refold]), and pinning it ([Lock]). It
// is what vmtouch and fincore do, as a library, built on the primitives of
// package mmap; the command cmd/pagecache is its front end.
//
// # Ranges
//
// Every function takes a byte range of the file: off must not be negative
// (an error wrapping [mmap.ErrInvalidOffset]); n < 0 means to the end of
// the file; n == 0 is an empty range; a range that passes the end of the
// file is cut at the end (so an off past the end is an empty range), and
// off+n must not overflow int64 (an error wrapping [mmap.ErrInvalidLength]).
// The size is read when the call starts. A range is counted in the whole
// pages that cover it: Pages is the number of base pages from the one that
// holds off to the one that holds the range's last byte.
//
// Only regular files have a page cache to speak of: a directory, pipe,
// socket or device gives an error wrapping [ErrNotRegular] (a directory
// also wraps syscall.EISDIR), a nil file [mmap.ErrNoFile], a closed one
// fs.ErrClosed. No call leaves anything mapped or locked behind, except
// the [Pin] that Lock returns, until its Close.
//
// # Platforms
//
// Linux has every function. [Stat] uses cachestat(2) (Linux 6.5), which also
// counts dirty, writeback and evicted pages; on older kernels (ENOSYS) and
// file systems cachestat cannot read (EOPNOTSUPP: hugetlbfs) it maps the
// range for a moment and asks mincore(2), and those four counts are -1.
// Both give the same Pages and Resident on a quiet file; while reads are
// in flight cachestat already counts a page being read and mincore does
// not yet. The kernel shows a file's cache only to its owner and to
// processes that may write it: for anyone else cachestat fails with EPERM
// and mincore (since Linux 5.0) reports every page resident, which
// vmtouch and fincore then print. Stat says so instead, with an error
// wrapping fs.ErrPermission; Touch and Lock work on such files, Touch
// reading every page since it cannot tell which are missing.
//
// Other Unix systems have Stat (mincore), Touch and Lock; Evict, Refold and
// LockResident give an error matching errors.ErrUnsupported (LockResident
// needs mlock2, which only Linux with the cgo backend of package mmap
// has). Windows has Touch (a read of each page through a view, as Prefault
// does there) and Lock (VirtualLock); it cannot tell what the file cache
// holds without bringing it in, so Stat, Evict, Refold and LockResident
// give errors.ErrUnsupported. Where package mmap has no backend (js,
// wasip1, plan9) every call fails with errors.ErrUnsupported.
package pagecache

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"syscall"

	"github.com/hugemap/mmap"
)

// Residency is what the page cache holds of a range of a file, in base
// pages (os.Getpagesize()).
type Residency struct {
	Pages, Resident int64 // pages in the range; pages of it in the page cache
	// From cachestat(2): dirty pages, pages under writeback, pages evicted
	// since the file was opened by anyone, and of those the ones evicted
	// recently enough to count as refaults. -1 where unknown (the mincore
	// path, other systems).
	Dirty, Writeback, Evicted, RecentlyEvicted int64
	// PMDMapped is, for Refold, how many bytes of the range the kernel
	// mapped with PMD entries (whole 2 MiB folios) when Refold read the
	// range back through its mapping: the share that a later mapping of the
	// file gets as hugepages. -1 from every other function.
	PMDMapped int64
}

// ErrNotRegular: the file is not a regular file (a directory, pipe, socket
// or device), so it has no page cache this package can work on.
var ErrNotRegular = errors.New("pagecache: not a regular file")

// unknown is the Residency of a range whose extra counts no one gave.
func unknown(pages, resident int64) Residency {
	return Residency{Pages: pages, Resident: resident, Dirty: -1, Writeback: -1, Evicted: -1, RecentlyEvicted: -1, PMDMapped: -1}
}

// span is a checked range of a regular file: from off, n bytes, both
// within the file.
type span struct {
	f            *os.File
	off, n, size int64 // size: the file's, when the call started
}

// pages is the number of base pages that cover s.
func (s span) pages() int64 {
	if s.n == 0 {
		return 0
	}
	pg := int64(os.Getpagesize())
	return (s.off+s.n+pg-1)/pg - s.off/pg
}

// checkSpan checks f and the range [off, off+n) as the package docs say,
// and cuts it at the end of the file.
func checkSpan(f *os.File, off, n int64) (span, error) {
	if f == nil {
		return span{}, fmt.Errorf("%w: pagecache needs an open file", mmap.ErrNoFile)
	}
	if off < 0 {
		return span{}, fmt.Errorf("%w: offset %d is negative", mmap.ErrInvalidOffset, off)
	}
	if n >= 0 && n > math.MaxInt64-off {
		return span{}, fmt.Errorf("%w: offset %d + length %d overflows int64", mmap.ErrInvalidLength, off, n)
	}
	// Stat of a closed file is fs.ErrClosed on Unix but an invalid handle
	// on Windows: ask the descriptor itself first.
	if rc, err := f.SyscallConn(); err != nil || rc.Control(func(uintptr) {}) != nil {
		return span{}, &fs.PathError{Op: "pagecache", Path: f.Name(), Err: fs.ErrClosed}
	}
	fi, err := f.Stat()
	if err != nil {
		return span{}, err
	}
	switch {
	case fi.IsDir():
		return span{}, &fs.PathError{Op: "pagecache", Path: f.Name(), Err: fmt.Errorf("%w: a directory: %w", ErrNotRegular, syscall.EISDIR)}
	case !fi.Mode().IsRegular():
		return span{}, &fs.PathError{Op: "pagecache", Path: f.Name(), Err: fmt.Errorf("%w: %v", ErrNotRegular, fi.Mode().Type())}
	}
	size := fi.Size()
	if off >= size {
		return span{f: f, off: size, size: size}, nil
	}
	if n < 0 || n > size-off {
		n = size - off
	}
	return span{f: f, off: off, n: n, size: size}, nil
}

// Stat reports what the page cache holds of n bytes of f from off. See the
// package docs for the ranges it takes and how each system counts.
func Stat(f *os.File, off, n int64) (Residency, error) {
	s, err := checkSpan(f, off, n)
	if err != nil || s.n == 0 {
		return Residency{}, err
	}
	return osStat(s)
}

// Touch brings the pages of the range that are not in the page cache in,
// and reports what the cache holds of the range afterwards. It asks first
// (mincore over a read-only mapping of the range), then makes the missing
// runs resident with MADV_POPULATE_READ split over workers goroutines, each
// in its own call into the kernel that releases the Go scheduler's P
// ([mmap.MMap.Prefault]); workers <= 0 picks
// [mmap.DefaultPrefaultWorkers]. The mapping is read-only and the faults
// are read faults: Touch never dirties a page. On Linux a range of at most
// 2 MiB is read instead (cachestat first; pread(2) into a scratch buffer
// if anything is missing; the mapping after all if pages are still
// missing, as the holes of a tmpfs file are): for a small file a mapping
// and its unmap cost more than the read, and with several goroutines each
// unmap interrupts the other CPUs to flush their TLBs. On Linux the mapping asks
// for transparent hugepages (MADV_HUGEPAGE), so a file system with large
// folios (ext4, xfs, btrfs on 6.x kernels) reads the missing runs in
// folios of up to 2 MiB, as [Refold] does, rather than page by page.
//
// A page that cannot be read (the file was truncated meanwhile, an I/O
// error) stops the touch with an error wrapping [mmap.ErrFault].
func Touch(f *os.File, off, n int64, workers int) (Residency, error) {
	s, err := checkSpan(f, off, n)
	if err != nil || s.n == 0 {
		return Residency{}, err
	}
	if workers <= 0 {
		workers = mmap.DefaultPrefaultWorkers()
	}
	if s.n <= readLimit {
		if r, ok, err := touchByRead(s); ok {
			return r, err
		}
	}
	return touch(s, workers)
}

// Evict asks the kernel to drop the range's pages from the page cache
// (posix_fadvise POSIX_FADV_DONTNEED, Linux). It drops only what it can:
// dirty pages and pages under writeback stay (the kernel starts writing
// dirty ones back and drops nothing it has not written; a later Evict
// drops them once clean), and so do pages that some process has mapped
// (this one included) or locked, and pages of tmpfs and ramfs files, which
// live in memory only. Stat afterwards says what stayed. The kernel drops
// only the folios that lie wholly inside the range: with large folios (up
// to 2 MiB on ext4, see Refold) the ends of a partial range may keep more
// than a page.
// Other systems: an error matching errors.ErrUnsupported.
func Evict(f *os.File, off, n int64) error {
	s, err := checkSpan(f, off, n)
	if err != nil || s.n == 0 {
		return err
	}
	return osEvict(s)
}

// Refold re-reads the range so that the page cache holds it in large
// folios, which a 2 MiB-aligned mapping then maps with PMD entries: a file
// written page by page sits in the cache in 4 KiB folios, and mapping and
// touching it costs many times more (on the CI machine kind, 1 GiB took
// 336 ms in 4 KiB folios against 15.6 ms PMD-mapped).
//
// How, on Linux: the range is widened to the 2 MiB blocks that hold it
// (cut at the end of the file); its dirty pages, if cachestat says there are
// any or cannot say, are written back first (fdatasync, since the kernel
// cannot drop a dirty page); then it is evicted (POSIX_FADV_DONTNEED) and
// read back through a read-only mapping advised MADV_HUGEPAGE with
// MADV_POPULATE_READ, so the read-ahead of each fault reads a whole 2 MiB
// folio; MADV_COLLAPSE is no help, ext4 refuses it for files (EINVAL).
// The result counts the range afterwards and PMDMapped says how many
// bytes that mapping got as PMD entries (from /proc/self/smaps).
//
// Refold says when it could not: pages that stayed in the cache through
// the eviction (mapped or locked by some process) keep their folios; a
// file on tmpfs or ramfs, whose pages cannot be dropped and re-read, gives
// an error matching errors.ErrUnsupported and changes nothing; and where
// the range holds at least one whole 2 MiB block of the file and none of
// it came back PMD-mapped (a file system without large folios, transparent
// hugepages off in /sys/kernel/mm/transparent_hugepage/enabled, or a
// 32-bit process, whose file mappings Linux 6.8 and later no longer align
// to 2 MiB), the result comes with an error matching
// errors.ErrUnsupported that says so.
// Other systems: errors.ErrUnsupported.
func Refold(f *os.File, off, n int64) (Residency, error) {
	s, err := checkSpan(f, off, n)
	if err != nil || s.n == 0 {
		return Residency{}, err
	}
	return osRefold(s)
}
