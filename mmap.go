// Package mmap maps files and anonymous memory into the address space.
//
// The API is a superset of github.com/edsrzf/mmap-go v1.2.0: the same
// constants, the same functions and the same [MMap] type, so changing the
// import path is enough to switch. What differs (each a bug fix) is listed in
// the README and pinned by tests:
//
//   - a whole-file map at an offset maps size-offset bytes, and an offset past
//     the end of the file is an error ([ErrInvalidOffset]);
//   - an empty file, or a zero length, maps to an empty, non-nil MMap without a
//     syscall; its methods succeed and do nothing;
//   - ANON maps are private (MAP_PRIVATE|MAP_ANONYMOUS), not shared;
//   - Unmap of a derived slice, or a second Unmap, returns [ErrNotMapped] and
//     leaves the mapping intact;
//   - Flush, Lock and Unlock accept any sub-slice of a live mapping and act on
//     the whole pages that cover it;
//   - undefined or contradictory prot and flags bits are errors.
//
// # Beyond mmap-go
//
// Hints are new bits in the flags argument, as ANON was: POPULATE (pages
// resident when Map returns), HUGE and HUGETLB with HUGE_1GB (hugepages,
// best effort or required), LOCK and LOCK_ONFAULT, NORESERVE, and UNALIGNED
// (any byte offset). On Linux one call into the C shim runs the whole
// ladder (hugetlb, then aligned transparent hugepages, then base pages,
// then populate and lock) and a failure at any step leaves nothing mapped.
// [MMap.Info] says what the mapping got.
//
// Operations are methods: Flush, FlushAsync, Lock, LockOnFault, Unlock,
// Advise, Discard, Protect, Resident, ResidentPages, Info, Resize and
// Grow. All but Resize, Grow and Unmap act on the whole mapping or on any
// sub-slice of it:
// m[i:j].Flush() writes back only the pages under m[i:j], and
// [MMap.Range] makes such a sub-slice from an offset and a length with every
// bound checked. Discard, the only operation that changes data, is kept
// apart from Advise.
//
// [MapRegionMax] maps inside a reservation of address space, and
// [MMap.Grow] lengthens such a mapping in place, so that slices readers
// hold stay valid while a file grows under them; past the maximum, Grow
// says [ErrWouldMove] and Resize may move the mapping.
//
// [As] views a mapping, or any sub-slice of it, as a slice of fixed-size
// values (As[float32](m), As[Record](m[off:])) with no copy, after checking
// that the type holds no pointers and that the bytes are aligned for it and
// a whole number of its values.
//
// [MMap.Info] says what a mapping was granted when it was made;
// [MMap.Stats] says what the kernel did with it since (/proc/self/smaps and
// numa_maps on Linux: resident, dirty, locked, hugepage bytes, bytes per
// NUMA node). [MMap.SetNUMA] sets the NUMA policy of the pages under any
// sub-slice (mbind through the C shim's syscall(2), no libnuma), and
// [NUMANodes] lists the online nodes.
//
// [PageSize], [HugetlbPools], [DefaultHugetlbPageSize], [THPMode], [THPSize]
// and [Backend] describe the system. Each flag and method says which call it
// makes and what happens on platforms without it.
//
// # How the work is done
//
// On Unix with cgo enabled every operation is one call into a small C shim
// (mmap.c) over libc's mmap, munmap, msync, mlock, mlock2, munlock, madvise,
// mprotect, mincore and mremap (and mbind through syscall(2) on Linux), so
// the constants come from the platform's own headers and page faults taken
// inside those calls (populate, lock) do not hold a Go scheduler P. With
// CGO_ENABLED=0 the same operations are system calls made from Go, with
// the constants of package syscall and fewer hints: no hugepage ladder
// (HUGE gives base pages), no HUGETLB or LOCK_ONFAULT, and outside Linux
// Resize by copying; [Backend] says which path a binary uses. Windows uses
// CreateFileMapping and MapViewOfFile through the syscall package.
//
// # Concurrency
//
// Map, MapRegion and the methods of distinct mappings may be called from any
// number of goroutines at once. The bytes of a mapping are plain memory: the
// caller synchronises reads and writes to them. Unmap must not run at the same
// time as any other use of the same mapping, exactly as a file must not be
// read while it is being closed.
//
// # Faults
//
// Touching a page of a file mapping that lies wholly past the end of the file
// (the file was shorter than the mapping, or was truncated later) raises
// SIGBUS on Unix and EXCEPTION_IN_PAGE_ERROR on Windows, which kills the
// process unless runtime/debug.SetPanicOnFault is in force; and a page
// fault taken by Go code holds its scheduler P until the disk answers.
// [MMap.ReadAt], [MMap.WriteAt], [MMap.Prefault], [MMap.Guard] and
// [ReaderAt] (a drop-in for golang.org/x/exp/mmap) avoid both: the kernel
// brings pages in inside a call that releases the P, and a fault becomes an
// error wrapping [ErrFault]. Plain indexing of an MMap is as fast as any
// slice and has neither protection.
package mmap

import (
	"fmt"
	"io/fs"
	"math"
	"os"
	"sync/atomic"
	"syscall"
)

// Protection bits for the prot argument, with the values of mmap-go.
const (
	// RDONLY maps the memory read-only.
	// Attempts to write to the MMap object will result in undefined behavior.
	RDONLY = 0
	// RDWR maps the memory as read-write. Writes to the MMap object will update the
	// underlying file.
	RDWR = 1 << iota
	// COPY maps the memory as copy-on-write. Writes to the MMap object will affect
	// memory, but the underlying file will remain unchanged.
	COPY
	// If EXEC is set, the mapped memory is marked as executable.
	EXEC
)

// Flag bits for the flags argument. ANON has mmap-go's value; the rest are
// hints this package adds. Each names the call it makes; where a platform
// lacks that call the flag is a documented no-op or an error that matches
// errors.ErrUnsupported, never silently ignored where that would lie.
const (
	// If the ANON flag is set, the mapped memory will not be backed by a file.
	// The memory is private to the process and starts zeroed.
	ANON = 1 << iota

	// POPULATE makes every page of the mapping resident before Map returns.
	// Linux 5.14+: madvise(MADV_POPULATE_WRITE) for writable anonymous
	// memory, MADV_POPULATE_READ otherwise (so a shared file map is not
	// dirtied and a COPY map is not copied); a failure (a range past the end
	// of the file, a hugetlb pool running dry) is an error and nothing stays
	// mapped. Older Linux: mmap(MAP_POPULATE), which reports no failure.
	// Other Unix: no-op, and Info says the pages were not populated.
	// Windows: PrefetchVirtualMemory, then a touch of every page.
	POPULATE

	// HUGE asks for hugepages, best effort, in one call. Anonymous maps try
	// MAP_HUGETLB (2 MiB, or 1 GiB with HUGE_1GB) when the pool has the pages,
	// then a range aligned to the transparent hugepage size with
	// madvise(MADV_HUGEPAGE), then base pages. Files get MADV_HUGEPAGE (the
	// file system decides), and a file on hugetlbfs is recognised (fstatfs)
	// so that Info and every range operation use its page size. The kernel
	// maps a hugetlbfs file with its hugepages whatever the flags; without
	// HUGE or HUGETLB the package does not look (that system call would cost
	// every map about a tenth), Info says base pages and range operations
	// on a part of it may fail with EINVAL, though Unmap still works. Info
	// says which kind the mapping got. No-op outside Linux.
	HUGE

	// HUGETLB requires hugetlb pages (MAP_HUGETLB): the map fails with
	// ErrNoHugetlbPages instead of falling back. Anonymous maps and hugetlbfs
	// files only. Windows: large pages for anonymous maps (SEC_LARGE_PAGES;
	// the process needs SeLockMemoryPrivilege, else ErrNoHugetlbPages). Other
	// systems: ErrUnsupported.
	HUGETLB

	// LOCK locks the pages in memory at map time: mlock, which also makes
	// them resident. Windows: VirtualLock.
	LOCK

	// LOCK_ONFAULT locks pages as they are first touched (Linux 4.4+:
	// mlock2(MLOCK_ONFAULT)), for big sparse maps. Elsewhere ErrUnsupported.
	LOCK_ONFAULT

	// NORESERVE maps without reserving swap space (MAP_NORESERVE); a later
	// fault can fail when memory runs out. Windows charges the commit at
	// map time whatever the flag. Hugetlb pages are reserved
	// anyway unless POPULATE is set too (an unreserved hugetlb map would
	// succeed with an empty pool and die of SIGBUS at its first touch;
	// POPULATE faults the pages in now and reports a dry pool). No-op where
	// the flag does not exist.
	NORESERVE

	// UNALIGNED lets MapRegion take any byte offset: the package maps from
	// the page (or Windows allocation granule) below it and returns a slice
	// that starts at offset. Without it MapRegion rejects an unaligned
	// offset, as mmap-go does.
	UNALIGNED

	// HUGE_1GB, with HUGE or HUGETLB, asks for 1 GiB hugetlb pages instead of
	// the system's default hugepage size (2 MiB on x86-64).
	HUGE_1GB
)

const (
	knownProt  = RDWR | COPY | EXEC
	knownFlags = ANON | POPULATE | HUGE | HUGETLB | LOCK | LOCK_ONFAULT | NORESERVE | UNALIGNED | HUGE_1GB
)

// MMap represents a file mapped into memory.
//
// Its length is exactly the length that was asked for and its capacity equals
// its length, so no slice of it reaches bytes the caller did not map.
type MMap []byte

// Map maps an entire file into memory.
// If ANON is set in flags, f is ignored.
func Map(f *os.File, prot, flags int) (MMap, error) {
	return MapRegion(f, -1, prot, flags, 0)
}

// MapRegion maps part of a file into memory.
// The offset parameter must be a multiple of the system's page size.
// If length < 0, the entire file will be mapped.
// If ANON is set in flags, f is ignored.
//
// The whole-file length is the file's size minus offset; an offset past the
// end of the file is an error. A length of zero, or a whole-file map of an
// empty file, returns an empty, non-nil MMap and makes no syscall. Mapping
// more bytes than the file holds is allowed on Unix, but touching a page
// that lies wholly past the end of the file raises SIGBUS; on Windows it is
// an error wrapping ErrInvalidLength, since a writable section would grow
// the file.
//
// Errors from the system wrap the errno in an *fs.PathError naming the file
// (or an *os.SyscallError for ANON maps), so errors.Is(err, fs.ErrPermission)
// reports a file opened read-only and mapped RDWR. Argument errors wrap one of
// the Err variables of this package.
func MapRegion(f *os.File, length int, prot, flags int, offset int64) (MMap, error) {
	if err := checkMap(f, length, prot, flags, offset); err != nil {
		return nil, err
	}
	if flags&ANON != 0 {
		r, err := mapAnon(length, prot, flags)
		if err != nil {
			return nil, err
		}
		return register(r), nil
	}
	var m MMap
	err := withFile(f, "mmap", func(fd uintptr) (err error) {
		m, err = mapFile(f, fd, length, prot, flags, offset)
		return err
	})
	return m, err
}

// withFile runs fn with f's descriptor, held open for the whole call so that
// a concurrent Close cannot give its number to another file midway. A closed
// f is fs.ErrClosed on every platform: Control fails with an internal error
// value, which os.File's own methods report as fs.ErrClosed (and Stat on
// Windows as an invalid handle).
func withFile(f *os.File, op string, fn func(fd uintptr) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return &fs.PathError{Op: op, Path: f.Name(), Err: err}
	}
	var fnErr error
	if rc.Control(func(fd uintptr) { fnErr = fn(fd) }) != nil {
		return &fs.PathError{Op: op, Path: f.Name(), Err: fs.ErrClosed}
	}
	return fnErr
}

// mapFile maps length bytes of f, open as fd, from offset; a negative
// length maps the rest of the file.
func mapFile(f *os.File, fd uintptr, length, prot, flags int, offset int64) (MMap, error) {
	if length < 0 {
		var err error
		if length, err = wholeFileLength(f, offset); err != nil {
			return nil, err
		}
		if length == 0 {
			// wholeFileLength has checked f already.
			if err := sizeless(f.Name(), fd); err != nil {
				return nil, err
			}
			return MMap{}, nil
		}
	}
	if uint64(offset)+uint64(length) > math.MaxInt64 {
		return nil, fmt.Errorf("%w: offset %d + length %d overflows int64", ErrInvalidLength, offset, length)
	}
	if length == 0 {
		return empty(f)
	}
	r, err := mapAt(f, fd, offset, length, prot, flags)
	if err != nil {
		return nil, err
	}
	return register(r), nil
}

// mapAnon makes a new anonymous mapping; the caller registers it.
func mapAnon(length, prot, flags int) (*region, error) {
	r, err := osMapAnon(length, prot, flags)
	if err != nil {
		return nil, err
	}
	r.flags = flags
	return r, nil
}

// mapAt maps length > 0 bytes of f, open as fd, from any byte offset; the
// caller registers it.
func mapAt(f *os.File, fd uintptr, offset int64, length, prot, flags int) (*region, error) {
	// The OS maps from a page boundary; lead is how far past it the caller's
	// first byte lies (zero unless UNALIGNED).
	lead := pageOffset(offset)
	if length > math.MaxInt-int(lead) {
		return nil, fmt.Errorf("%w: length %d from the page below offset %d does not fit in an int", ErrInvalidLength, length, offset)
	}
	r, err := osMapFile(fd, offset-lead, int(lead)+length, prot, flags)
	if err != nil {
		return nil, explainMapError(f, err)
	}
	r.lead += uintptr(lead)
	r.len = length
	r.flags, r.offset = flags, offset
	return r, nil
}

// checkMap checks what MapRegion and MapRegionMax take alike: prot and
// flags, the offset, a length for an anonymous map and a file for any
// other.
func checkMap(f *os.File, length, prot, flags int, offset int64) error {
	if err := checkProtFlags(prot, flags); err != nil {
		return err
	}
	if err := checkOffset(offset, flags); err != nil {
		return err
	}
	if flags&ANON != 0 && length <= 0 {
		return fmt.Errorf("%w: anonymous mapping requires a length > 0, got %d", ErrInvalidLength, length)
	}
	if flags&ANON == 0 && f == nil {
		return fmt.Errorf("%w: file mapping needs a file (pass ANON to map memory)", ErrNoFile)
	}
	return nil
}

// pageOffset is how far offset >= 0 lies past the page boundary below it.
// Page sizes are powers of two, so a mask does it: a division by a size
// known only at run time costs tens of cycles, on every Map.
func pageOffset(offset int64) int64 { return offset & int64(os.Getpagesize()-1) }

func checkOffset(offset int64, flags int) error {
	if offset < 0 {
		return fmt.Errorf("%w: offset %d is negative", ErrInvalidOffset, offset)
	}
	if pageOffset(offset) != 0 && flags&UNALIGNED == 0 {
		return fmt.Errorf("%w: offset %d is not a multiple of the page size %d (pass UNALIGNED to map from any offset)", ErrInvalidOffset, offset, os.Getpagesize())
	}
	return nil
}

func checkProtFlags(prot, flags int) error {
	if prot&^knownProt != 0 {
		return fmt.Errorf("%w: unknown bits %#x in prot %#x", ErrInvalidProt, prot&^knownProt, prot)
	}
	if prot&RDWR != 0 && prot&COPY != 0 {
		return fmt.Errorf("%w: RDWR and COPY together (shared or private?)", ErrInvalidProt)
	}
	if flags&^knownFlags != 0 {
		return fmt.Errorf("%w: unknown bits %#x in flags %#x", ErrInvalidFlags, flags&^knownFlags, flags)
	}
	if flags&LOCK != 0 && flags&LOCK_ONFAULT != 0 {
		return fmt.Errorf("%w: LOCK and LOCK_ONFAULT together (lock now or on fault?)", ErrInvalidFlags)
	}
	if flags&HUGE_1GB != 0 && flags&(HUGE|HUGETLB) == 0 {
		return fmt.Errorf("%w: HUGE_1GB without HUGE or HUGETLB", ErrInvalidFlags)
	}
	return nil
}

// wholeFileLength is the length of a map from offset to the end of f.
func wholeFileLength(f *os.File, offset int64) (int, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.IsDir() {
		return 0, &fs.PathError{Op: "mmap", Path: f.Name(), Err: syscall.EISDIR}
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%w: %s is not a regular file (%v), so it has no size to map; pass a length", ErrInvalidLength, f.Name(), fi.Mode().Type())
	}
	size := fi.Size()
	if offset > size {
		return 0, fmt.Errorf("%w: offset %d is past the end of %s (size %d)", ErrInvalidOffset, offset, f.Name(), size)
	}
	if size-offset > math.MaxInt {
		return 0, fmt.Errorf("%w: %d bytes of %s from offset %d do not fit in an int", ErrInvalidLength, size-offset, f.Name(), offset)
	}
	return int(size - offset), nil
}

// empty is the MMap for zero bytes of f. It checks f as a map would, so a
// closed file or a directory is still an error.
func empty(f *os.File) (MMap, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, &fs.PathError{Op: "mmap", Path: f.Name(), Err: syscall.EISDIR}
	}
	return MMap{}, nil
}

// Lock keeps the mapped region in physical memory, ensuring that it will not be
// swapped out. m may be any sub-slice of a mapping; the whole pages that
// cover it are locked (mlock on Unix, VirtualLock on Windows).
func (m MMap) Lock() error { return m.onPages(osLock) }

// Unlock reverses the effect of Lock, allowing the mapped region to potentially
// be swapped out. Unlike mmap-go's documentation says, unlocking pages that are
// not locked is not an error on Linux.
func (m MMap) Unlock() error {
	return m.onPages(func(r *region, off, n uintptr) error {
		atomic.StoreUint32(&r.unlocked, 1) // first: ReadAt must not trust LOCK while pages go
		return osUnlock(r, off, n)
	})
}

// Flush synchronizes the mapping's contents to the file's contents on disk
// (msync with MS_SYNC on Unix; FlushViewOfFile then FlushFileBuffers on
// Windows). m may be any sub-slice of a mapping; the whole pages that cover it
// are written. Flushing an ANON or COPY mapping does nothing and succeeds.
func (m MMap) Flush() error { return m.onPages(osFlush) }

// Unmap deletes the memory mapped region and sets m to nil.
// Trying to read or write any remaining references to m after Unmap is called will
// result in undefined behavior.
//
// Unmap must be called on the slice value that was originally returned from
// Map or MapRegion. A derived slice, a nil MMap, or a mapping that was already
// unmapped gives [ErrNotMapped] and changes nothing; so does an empty slice of
// a live mapping, such as m[:0], which is derived too. The empty MMap of an
// empty file maps nothing and unmaps without a syscall.
//
// On Unix, writes to a shared file mapping are in the page cache and
// visible to every reader of the file when Unmap returns; the kernel writes
// them to disk later. Call Flush first when they must be durable. On
// Windows, Unmap also flushes the view, as mmap-go does.
func (m *MMap) Unmap() error {
	if *m == nil {
		return fmt.Errorf("%w: Unmap of a nil MMap (already unmapped?)", ErrNotMapped)
	}
	if len(*m) == 0 {
		if r, _ := lookup(*m); r != nil {
			return fmt.Errorf("%w: Unmap of an empty slice of a live mapping (%d bytes at %#x); Unmap needs the slice that Map returned", ErrNotMapped, r.len, r.start())
		}
		*m = nil
		return nil
	}
	x, err := unregisterNode(*m)
	if err != nil {
		return err
	}
	if err := osUnmap(x.r); err != nil {
		// Still mapped, so nobody else can have been given its address.
		register(x.r)
		return err
	}
	*m = nil
	recycle(x)
	return nil
}

// Backend names the implementation this binary uses: "cgo" (the C shim),
// "syscall" (pure Go, Unix with CGO_ENABLED=0), "windows", or "unsupported".
func Backend() string { return backend }
