package pagecache

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"github.com/hugemap/mmap"
)

// Touch and the mincore path of Stat: short-lived read-only mappings of a
// file, a window at a time.

// window is the most of a file mapped at once: it bounds the address space
// (32-bit systems) and the mincore vector, one byte a page.
const window = 1 << 30

// hugeBlock is the size of the folios Touch and Refold ask the kernel for:
// a PMD on x86-64 and arm64 with 4 KiB pages.
const hugeBlock = 2 << 20

// eachWindow maps s a window at a time, read-only, and runs fn over each
// mapping and the file offset of its first byte. Windows after the first
// start on a page boundary, so no page is counted twice.
func eachWindow(s span, fn func(m mmap.MMap, off int64) error) error {
	pg := int64(os.Getpagesize())
	end := s.off + s.n
	for off := s.off; off < end; {
		next := min(end, off-off%pg+window)
		m, err := mmap.MapRegion(s.f, int(next-off), mmap.RDONLY, mmap.UNALIGNED, off)
		if err != nil {
			return err
		}
		err = fn(m, off)
		if uerr := m.Unmap(); err == nil {
			err = uerr
		}
		if err != nil {
			return err
		}
		off = next
	}
	return nil
}

// touch is Touch after the checks: each window's missing runs populated by
// workers, then the count.
func touch(s span, workers int) (Residency, error) {
	// Where the kernel hides the cache, mincore says every page is there:
	// populate them all, and count them all afterwards.
	hidden := residencyHidden(s)
	var resident int64
	err := eachWindow(s, func(m mmap.MMap, off int64) error {
		adviseHuge(m)
		in, err := m.ResidentPages()
		if err != nil {
			return err
		}
		if hidden {
			clear(in)
		}
		if err := populate(m, runs(m, in, false, mergeGap), workers); err != nil {
			return err
		}
		if in, err = m.ResidentPages(); err != nil {
			return err
		}
		// Pages the populate did not bring in (an emulator such as
		// qemu-user takes madvise and does nothing) are read instead.
		if left := runs(m, in, false, 0); len(left) > 0 && !hidden {
			if err := readRuns(s.f, off, left); err != nil {
				return err
			}
			if in, err = m.ResidentPages(); err != nil {
				return err
			}
		}
		for _, r := range in {
			if r {
				resident++ // all, where hidden: just populated
			}
		}
		return nil
	})
	if err != nil {
		return Residency{}, fmt.Errorf("pagecache: touching %s: %w", s.f.Name(), err)
	}
	// Linux's cachestat adds Dirty and the rest; elsewhere another Stat
	// would only map the file again for the same count.
	if runtime.GOOS == "linux" && !hidden {
		if r, err := osStat(s); err == nil {
			return r, nil
		}
	}
	return unknown(s.pages(), resident), nil
}

// adviseHuge advises a mapping of at least a hugeBlock MADV_HUGEPAGE, so
// that a file system with large folios reads what faults in through it in
// folios of up to 2 MiB (the kernel aligns such file mappings to 2 MiB by
// itself). Best effort: a system without the advice reads page by page.
func adviseHuge(m mmap.MMap) {
	if len(m) >= hugeBlock {
		_ = m.Advise(mmap.AdviceHugePage)
	}
}

// readRuns reads the byte ranges rs of f, counted from off, with pread
// into a scratch buffer, which brings their pages into the cache.
func readRuns(f *os.File, off int64, rs []span32) error {
	buf := readBuffers.Get().(*[256 << 10]byte)
	defer readBuffers.Put(buf)
	for _, r := range rs {
		for at := off + int64(r.lo); at < off+int64(r.hi); {
			n, err := f.ReadAt(buf[:min(int64(len(buf)), off+int64(r.hi)-at)], at)
			at += int64(n)
			if err == io.EOF {
				return nil // truncated meanwhile: what is left is counted as it is
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// readBuffers are Touch's scratch buffers, so that touching many small
// files allocates nothing per file.
var readBuffers = sync.Pool{New: func() any { return new([256 << 10]byte) }}

// mergeGap is the most resident pages between two missing runs that Touch
// populates along with them: one MADV_POPULATE_READ over a few cached
// pages costs less than a second call.
const mergeGap = 16

// faultResident faults in the pages of m that are resident now, as
// LockResident needs for its lock-on-fault mapping.
func faultResident(m mmap.MMap) error {
	in, err := m.ResidentPages()
	if err != nil {
		return err
	}
	return populate(m, runs(m, in, true, 0), 1)
}

// span32 is a byte range of a mapping.
type span32 struct{ lo, hi int }

// runs turns a mincore vector of m (in[i]: page i, counted from the page
// that holds m's first byte) into the byte ranges of m whose pages are
// resident (want) or not, joining runs that gap pages or fewer separate.
func runs(m mmap.MMap, in []bool, want bool, gap int) []span32 {
	pg := os.Getpagesize()
	lead := int(addrOf(m) % uintptr(pg))
	var out []span32
	for i := 0; i < len(in); {
		if in[i] != want {
			i++
			continue
		}
		j := i
		for j < len(in) && in[j] == want {
			j++
		}
		lo, hi := max(0, i*pg-lead), min(len(m), j*pg-lead)
		if k := len(out) - 1; k >= 0 && lo-out[k].hi <= gap*pg {
			out[k].hi = hi
		} else {
			out = append(out, span32{lo, hi})
		}
		i = j
	}
	return out
}

// populate makes the runs of m resident, cut into pieces for workers
// goroutines; each piece is one Prefault (MADV_POPULATE_READ, off the
// scheduler's P).
func populate(m mmap.MMap, rs []span32, workers int) error {
	total := 0
	for _, r := range rs {
		total += r.hi - r.lo
	}
	if total == 0 {
		return nil
	}
	if workers <= 1 || total <= hugeBlock {
		for _, r := range rs {
			if err := m[r.lo:r.hi].Prefault(1); err != nil {
				return err
			}
		}
		return nil
	}
	piece := max(hugeBlock, (total/workers+hugeBlock-1)/hugeBlock*hugeBlock)
	work := make(chan span32)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				if errs[w] == nil {
					errs[w] = m[r.lo:r.hi].Prefault(1)
				}
			}
		}()
	}
	for _, r := range rs {
		for lo := r.lo; lo < r.hi; lo += piece {
			work <- span32{lo, min(r.hi, lo+piece)}
		}
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}

// addrOf is the address of b's first byte.
func addrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
