package mmap

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Fault-safe, scheduler-friendly access.
//
// A page fault taken by Go code blocks its thread and the scheduler's P
// until the disk answers, so cold reads through a plain slice freeze
// unrelated goroutines; and a page past the end of a truncated file kills
// the process with SIGBUS. ReadAt, WriteAt, Prefault and Guard avoid both:
// the kernel brings pages in inside a call that releases the P (madvise
// MADV_POPULATE_READ/WRITE through the C shim), and whatever fault still
// happens while Go code copies becomes an error wrapping ErrFault.

// ErrFault: touching the mapping faulted. The file is shorter than the
// mapping (it was truncated, or mapped past its end), the disk failed to
// read it, or a hugetlb pool ran dry.
var ErrFault = errors.New("mmap: fault in mapped memory")

// ReadAt copies bytes of m from off into p, as io.ReaderAt: fewer than
// len(p) bytes come with io.EOF, a negative offset is an error wrapping
// ErrInvalidOffset. The pages are made resident first in a call that
// releases the scheduler's P, and a fault during the copy is an error
// wrapping ErrFault instead of a crash. m may be any sub-slice of a live
// mapping.
func (m MMap) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: ReadAt offset %d is negative", ErrInvalidOffset, off)
	}
	if off >= int64(len(m)) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	src := m[off:min(off+int64(len(p)), int64(len(m)))]
	n, err := src.transfer(p, false)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// WriteAt copies p into m at off, as io.WriterAt. A mapping cannot grow, so
// bytes that would pass its end are not written and the error wraps
// io.ErrShortWrite; a read-only mapping gives ErrInvalidProt. Pages are made
// resident and writable first (MADV_POPULATE_WRITE) in a call that releases
// the P, and a fault is an error wrapping ErrFault.
func (m MMap) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: WriteAt offset %d is negative", ErrInvalidOffset, off)
	}
	start := min(off, int64(len(m)))
	dst := m[start:min(start+int64(len(p)), int64(len(m)))]
	n, err := dst.transfer(p, true)
	if err == nil && n < len(p) {
		err = fmt.Errorf("mmap: WriteAt of %d bytes at offset %d passes the end of the %d-byte mapping: %w", len(p), off, len(m), io.ErrShortWrite)
	}
	return n, err
}

// transfer makes m resident, for writing if write, then copies p into m
// (write) or m into p under guard.
func (m MMap) transfer(p []byte, write bool) (int, error) {
	if len(m) == 0 {
		return 0, nil
	}
	r, start := lookup(m)
	if r == nil {
		return 0, notInside(m)
	}
	if write && r.prot&(RDWR|COPY) == 0 {
		return 0, fmt.Errorf("%w: WriteAt to a read-only mapping", ErrInvalidProt)
	}
	if err := makeResident(r, start, len(m), write); err != nil {
		return 0, err
	}
	return guard(m, func() int {
		if write {
			return copy(m, p)
		}
		return copy(p, m)
	})
}

// Guard runs fn over m with faults turned into an error wrapping ErrFault,
// for code that scans the mapping itself. Only fn's own goroutine is
// guarded: faults in goroutines it starts still crash. A fault unwinds fn
// like a panic, running its deferred calls. Guard does not populate; call
// Prefault first to keep faults off the scheduler. m may be any sub-slice of
// a live mapping; other memory gives ErrNotMapped.
func (m MMap) Guard(fn func(b []byte) error) error {
	if len(m) > 0 {
		if r, _ := lookup(m); r == nil {
			return notInside(m)
		}
	}
	var err error
	_, faultErr := guard(m, func() int {
		err = fn(m)
		return 0
	})
	if faultErr != nil {
		return faultErr
	}
	return err
}

// guard runs fn with runtime/debug.SetPanicOnFault in force, restored
// afterwards, and turns a fault's panic into an error naming the offset in
// m. Other panics go on.
func guard(m MMap, fn func() int) (n int, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		fault, ok := r.(interface{ Addr() uintptr })
		if _, isRuntime := r.(runtime.Error); !ok || !isRuntime {
			panic(r)
		}
		err = fmt.Errorf("%w at offset %d (address %#x): the file is shorter than the mapping, or could not be read", ErrFault, int64(fault.Addr())-int64(addr(m)), fault.Addr())
	}()
	return fn(), nil
}

// makeResident makes n bytes of r from start (relative to r.base) resident
// for ReadAt and WriteAt (osPopulate: checked with mincore, read ahead as
// one range, then MADV_POPULATE_*), in the kernel without a P.
func makeResident(r *region, start uintptr, n int, write bool) error {
	page := r.pageSize()
	off := start &^ (page - 1)
	end := (start + uintptr(n) + page - 1) &^ (page - 1)
	return residentOr(osPopulate(r, off, end-off, write), r, off, end-off, write)
}

// prefaultPages makes a large page-aligned range resident: MADV_POPULATE_*
// alone, whose in-order faults read ahead by themselves.
func prefaultPages(r *region, off, n uintptr, write bool) error {
	advice := AdvicePopulateRead
	if write {
		advice = AdvicePopulateWrite
	}
	return residentOr(osAdvise(r, off, n, advice), r, off, n, write)
}

// residentOr turns a populate call's error into the package's: none, a
// fallback that touches the pages from Go where the kernel lacks
// MADV_POPULATE_*, or ErrFault.
func residentOr(err error, r *region, off, n uintptr, write bool) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.EINVAL):
		return touchPages(r, off, n, write)
	default:
		// EFAULT: a page past the end of the file, or a pool run dry; EIO.
		return fmt.Errorf("%w: %w", ErrFault, err)
	}
}

// touchPages reads (or rewrites) one byte a page, for systems without
// MADV_POPULATE_*.
func touchPages(r *region, off, n uintptr, write bool) error {
	b := MMap(unsafe.Slice((*byte)(unsafe.Add(r.base, off)), n))
	page := int(r.pageSize())
	_, err := guard(b, func() int {
		var sum uint32
		for i := 0; i < len(b); i += page {
			word := (*uint32)(unsafe.Pointer(&b[i])) // page aligned
			if write {
				atomic.AddUint32(word, 0) // a write fault that changes nothing
			} else {
				sum += atomic.LoadUint32(word)
			}
		}
		return int(sum)
	})
	return err
}

// Prefault makes every page that covers m resident, spreading
// MADV_POPULATE_READ (MADV_POPULATE_WRITE for writable anonymous memory, as
// POPULATE does) over workers goroutines, each in its own call into the
// kernel. workers <= 0 picks DefaultPrefaultWorkers. It returns the first
// error, wrapping ErrFault for a page that cannot be brought in.
func (m MMap) Prefault(workers int) error {
	if len(m) == 0 {
		return nil
	}
	r, off, n, err := m.pages(false)
	if err != nil {
		return err
	}
	write := r.flags&ANON != 0 && r.prot&(RDWR|COPY) != 0
	if workers <= 0 {
		workers = DefaultPrefaultWorkers()
	}
	// At least prefaultChunk bytes a worker: below that, starting a
	// thread costs more than it saves.
	workers = max(1, min(workers, int(n/prefaultChunk)))
	page := r.pageSize()
	per := (n/uintptr(workers) + page - 1) &^ (page - 1)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		lo := off + uintptr(w)*per
		hi := min(lo+per, off+n)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = prefaultPages(r, lo, hi-lo, write)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

const prefaultChunk = 64 << 20

// DefaultPrefaultWorkers is how many workers Prefault uses when asked for
// none: the number of CPUs, at most 8. Faulting pages in scales with cores
// until the memory bus or the kernel's page allocator saturates; on the
// 16-core machine of DESIGN.md 4 workers populated 5x faster than 1.
func DefaultPrefaultWorkers() int { return min(runtime.NumCPU(), 8) }
