package mmap

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// The package's errors: the sentinels callers test with errors.Is, and the
// portable words that explain a failed map.

// Argument errors. Each error this package returns for a bad argument wraps
// one of these, with the offending values in its message, so callers test for
// them with errors.Is.
var (
	// ErrInvalidOffset: an offset that is negative, not a multiple of the
	// page size, or past the end of the file.
	ErrInvalidOffset = errors.New("mmap: invalid offset")
	// ErrInvalidLength: a length that is zero or negative where a size is
	// needed (ANON), that overflows offset+length, that does not fit in an
	// int, a whole-file map of a file without a size (pipe, device), or,
	// on Windows, a map that reaches past the end of the file.
	ErrInvalidLength = errors.New("mmap: invalid length")
	// ErrInvalidProt: prot bits other than RDWR, COPY and EXEC, or RDWR and
	// COPY together.
	ErrInvalidProt = errors.New("mmap: invalid prot")
	// ErrInvalidFlags: flags bits this package does not define.
	ErrInvalidFlags = errors.New("mmap: invalid flags")
	// ErrInvalidAdvice: an Advice or DiscardMode value this package does
	// not define.
	ErrInvalidAdvice = errors.New("mmap: invalid advice")
	// ErrNoFile: a file mapping was asked for with a nil *os.File.
	ErrNoFile = errors.New("mmap: no file")
	// ErrNotMapped: the slice is not a live mapping made by this package
	// (a derived slice given to Unmap, a second Unmap, or memory that was
	// never mapped here).
	ErrNotMapped = errors.New("mmap: not a live mapping")
	// ErrInvalidType: As was asked for a type whose values cannot lie in a
	// mapping: one that holds pointers (the garbage collector must never
	// find pointers into memory it does not manage, nor trust ones stored
	// there), or one of size 0.
	ErrInvalidType = errors.New("mmap: invalid element type")
	// ErrMisaligned: As was given bytes that do not start on a multiple of
	// the element type's alignment.
	ErrMisaligned = errors.New("mmap: misaligned")
	// ErrInvalidPolicy: SetNUMA was given a NUMAMode this package does not
	// define, nodes for a mode that takes none (NUMADefault, NUMALocal),
	// none for a mode that needs them, or several for NUMAPreferred.
	ErrInvalidPolicy = errors.New("mmap: invalid NUMA policy")
	// ErrWouldMove: Grow cannot lengthen the mapping where it is: the
	// length asked passes the maximum it was made with (MapRegionMax), or
	// it was made without one. Resize can, by moving it.
	ErrWouldMove = errors.New("mmap: mapping cannot grow without moving")
	// ErrNoSuchNode: SetNUMA was given a NUMA node that does not exist or
	// is offline. The message lists the online nodes.
	ErrNoSuchNode = errors.New("mmap: no such NUMA node")
)

// Errors for what the system could not give. Each wraps the errno as well.
var (
	// ErrNoHugetlbPages: HUGETLB was required and the system has no hugetlb
	// pages of the size asked for (none reserved, too few free, or no such
	// size). The message gives the pool's counts.
	ErrNoHugetlbPages = errors.New("mmap: no hugetlb pages")
	// ErrMemlockLimit: locking (LOCK, LOCK_ONFAULT, Lock) hit the
	// process's RLIMIT_MEMLOCK; the message gives the limit.
	ErrMemlockLimit = errors.New("mmap: locked-memory limit reached")
	// ErrFault: touching the mapping faulted. The message says where, in
	// what kind of mapping, and what can cause it: a file shorter than the
	// mapping (truncated, or mapped past its end), a disk that failed to
	// read it, a page made read-only by Protect, a hugetlb pool run dry.
	ErrFault = errors.New("mmap: fault in mapped memory")
)

// notInside is the error for memory no live mapping holds.
func notInside(m MMap) error {
	return fmt.Errorf("%w: %d bytes at %#x are not inside a live mapping", ErrNotMapped, len(m), addr(m))
}

// explainMapError names the file in a failed map and, where the kernel's
// errno is vague (ENODEV for a directory), says what was really wrong.
func explainMapError(f *os.File, err error) error {
	if fi, statErr := f.Stat(); statErr == nil && fi.IsDir() {
		err = syscall.EISDIR
	}
	return &fs.PathError{Op: "mmap", Path: f.Name(), Err: err}
}
