package mmap

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
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

// transfer copies p into m (write) or m into p, after asking the kernel to
// make m's pages resident in a call that releases the P, unless no page can
// wait for a disk (cannotWaitForDisk) or one mincore says all of them are in
// memory already (allResident): a warm read costs a copy and a system call
// that holds the P, not two that hand it off. The request is best effort: a page it cannot bring in (past the end of the file, made
// read-only by Protect, a kernel without MADV_POPULATE_*) faults again in
// the guarded copy, which reports it with the count of bytes that landed.
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
	page := r.pageSize()
	off := start &^ (page - 1)
	end := (start + uintptr(len(m)) + page - 1) &^ (page - 1)
	if !r.cannotWaitForDisk() && !allResident(unsafe.Add(r.base, off), end-off) {
		_ = osPopulate(r, off, end-off, write)
	}
	if write {
		return copyGuarded(m, p, m, writing)
	}
	return copyGuarded(p, m, m, reading)
}

// copyGuarded copies src into dst, one of which is the mapped memory mapped,
// and returns the number of bytes copied. A fault stops the copy with an
// error wrapping ErrFault; copy moves bytes in no promised order, so the
// count then comes from copying again a page at a time, up to the page that
// faults (a page faults whole).
func copyGuarded(dst, src []byte, mapped MMap, how access) (int, error) {
	n := min(len(dst), len(src))
	_, faulted := guard(func() { copy(dst, src) }, true)
	if !faulted {
		return n, nil
	}
	page := uintptr(os.Getpagesize())
	done := 0
	for done < n {
		step := min(n-done, int(page-(addr(mapped)+uintptr(done))%page))
		if at, faulted := guard(func() { copy(dst[done:done+step], src[done:done+step]) }, true); faulted {
			// The step lies in one page of the mapping, so that page is the
			// one that faulted whatever address the system gave: qemu-user
			// gives none, or one from elsewhere.
			if here := addr(mapped) + uintptr(done); at < here || at-here >= uintptr(step) {
				at = here
			}
			return done, faultError(mapped, at, how)
		}
		done += step
	}
	return n, nil // the fault went away (a read error the disk got over)
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
	if at, faulted := guard(func() { err = fn(m) }, false); faulted {
		return faultError(m, at, accessing)
	}
	return err
}

// guard runs fn with runtime/debug.SetPanicOnFault in force, restored
// afterwards, and returns the address of the fault that stopped it, if one
// did. Other panics go on. With unreported, a fault whose address the
// system did not give is one too (at 0): qemu-user delivers SIGBUS so, and
// Go reports it as a nil dereference, which only code that dereferences no
// pointer of its own (the package's copies and touches, not a caller's fn)
// may take for a fault.
func guard(fn func(), unreported bool) (at uintptr, faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		re, isRuntime := p.(runtime.Error)
		if fault, ok := p.(interface{ Addr() uintptr }); ok && isRuntime {
			at, faulted = fault.Addr(), true
			return
		}
		if unreported && isRuntime && re.Error() == nilDereference {
			at, faulted = 0, true
			return
		}
		panic(p)
	}()
	fn()
	return 0, false
}

// nilDereference is the message of Go's error for a fault without an address.
const nilDereference = "runtime error: invalid memory address or nil pointer dereference"

// access is what faulted code was doing, for the error.
type access string

const (
	reading   access = "reading"
	writing   access = "writing"
	accessing access = "accessing"
)

// faultError says what faulted: the address, where it lies in the mapping
// that holds m, what kind of mapping that is, and what can make such a page
// fault.
func faultError(m MMap, at uintptr, how access) error {
	r, _ := lookup(m)
	if r == nil || at < r.start() || at-r.start() >= uintptr(r.len) {
		return fmt.Errorf("%w: %s address %#x, outside the mapping of %d bytes at %#x", ErrFault, how, at, len(m), addr(m))
	}
	// A page faults whole, and copy may touch it anywhere first.
	pageAt := max(at&^uintptr(os.Getpagesize()-1), r.start())
	return fmt.Errorf("%w: %s the page at byte %d (fault address %#x) of a %s: %s", ErrFault, how, pageAt-r.start(), at, r.describe(), r.faultCauses(how))
}

// faultCauses lists what makes a page of r fault when how.
func (r *region) faultCauses(how access) string {
	var causes []string
	if how != reading {
		causes = append(causes, "the page is read-only (Protect)")
	}
	if r.flags&ANON == 0 {
		causes = append(causes, "the page lies past the end of the file (it was truncated, or mapped past its end)", "the file could not be read")
	}
	if r.info.Kind == HugetlbPages {
		causes = append(causes, "the hugetlb pool ran dry")
	}
	if len(causes) == 0 {
		causes = append(causes, "the page is not accessible")
	}
	return strings.Join(causes, ", or ")
}

// populatesForWriting says whether populating pages mapped with prot and
// flags should write-fault them: only private writable anonymous memory,
// where it saves the first store a fault; a shared file map would be
// dirtied, a COPY map copied. Every backend, and the C shim through
// mapReq.populateWrite, follows this one rule.
func populatesForWriting(prot, flags int) bool {
	return flags&ANON != 0 && prot&(RDWR|COPY) != 0
}

// prefaultPages makes a large page-aligned range resident: MADV_POPULATE_*
// alone, whose in-order faults read ahead by themselves. The protection the
// pages have now decides: pages that Protect made read-only refuse the
// populate for writing (EINVAL), and are populated for reading instead.
func prefaultPages(r *region, off, n uintptr, write bool) error {
	if write && osAdvise(r, off, n, AdvicePopulateWrite) == nil {
		return nil
	}
	err := osAdvise(r, off, n, AdvicePopulateRead)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.EINVAL):
		// No MADV_POPULATE_* (Linux before 5.14, other systems), or a
		// mapping it does not take.
		return touchPages(r, off, n)
	default:
		// EFAULT: a page past the end of the file, or a pool run dry; EIO.
		return fmt.Errorf("%w: bringing in bytes %d to %d of a %s: %w", ErrFault, int64(off)-int64(r.lead), int64(off+n)-int64(r.lead), r.describe(), err)
	}
}

// touchPages faults in a range of r where the system has no
// MADV_POPULATE_*, with touchRead.
func touchPages(r *region, off, n uintptr) error {
	b := MMap(unsafe.Slice((*byte)(unsafe.Add(r.base, off)), n))
	if at, faulted := touchRead(b, int(r.pageSize())); faulted {
		return faultError(b, at, reading)
	}
	return nil
}

// touchRead reads one byte of each page of b under guard, and says where a
// fault stopped it. It never writes: a write would need an atomic
// instruction not to race with the program's own stores, and under -race
// those run in the race runtime's C code, where no fault can be recovered.
func touchRead(b []byte, page int) (at uintptr, faulted bool) {
	var sum byte
	at, faulted = guard(func() {
		for i := 0; i < len(b); i += page {
			sum += b[i]
		}
	}, true)
	runtime.KeepAlive(sum) // loads the compiler cannot drop
	return at, faulted
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
	write := populatesForWriting(r.prot, r.flags)
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
// until the memory bus or the kernel's page allocator saturates: on a
// 16-core machine, MADV_POPULATE_WRITE of 16 GiB ran 5x faster from 4
// threads than from 1.
func DefaultPrefaultWorkers() int { return min(runtime.NumCPU(), 8) }
