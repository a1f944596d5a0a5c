package mmap

import (
	"fmt"
	"os"
	"unsafe"
)

// Operations on live mappings beyond mmap-go's. Each works on the whole
// mapping or on any sub-slice of it: m[i:j] and m.Range(off, n) name a range.

// Range returns the n bytes of m from off, after checking off, n and off+n
// (without overflow) against m: a bad range is an error wrapping
// ErrInvalidOffset or ErrInvalidLength, never a panic. Every method of the
// result acts on that range.
func (m MMap) Range(off, n int) (MMap, error) {
	if off < 0 || off > len(m) {
		return nil, fmt.Errorf("%w: range offset %d outside [0, %d]", ErrInvalidOffset, off, len(m))
	}
	if n < 0 || n > len(m)-off {
		return nil, fmt.Errorf("%w: range of %d bytes at offset %d passes the end (%d bytes)", ErrInvalidLength, n, off, len(m))
	}
	return m[off : off+n : off+n], nil
}

// Advice is a hint about how a mapping will be used, for Advise. None of
// them changes what the mapping holds: the advice that throws data away is
// Discard's. The names are madvise(2)'s.
type Advice int

const (
	AdviceNormal        Advice = iota // MADV_NORMAL: no special treatment
	AdviceRandom                      // MADV_RANDOM: expect random access; read ahead little
	AdviceSequential                  // MADV_SEQUENTIAL: expect sequential access; read ahead much
	AdviceWillNeed                    // MADV_WILLNEED: start reading the pages in now
	AdviceHugePage                    // MADV_HUGEPAGE: back with transparent hugepages (Linux)
	AdviceNoHugePage                  // MADV_NOHUGEPAGE: do not (Linux)
	AdvicePopulateRead                // MADV_POPULATE_READ: fault the pages in readable, reporting errors (Linux 5.14)
	AdvicePopulateWrite               // MADV_POPULATE_WRITE: fault them in writable (Linux 5.14); dirties shared file pages
	AdviceCold                        // MADV_COLD: reclaim these first (Linux 5.4)
	AdvicePageOut                     // MADV_PAGEOUT: reclaim now, writing dirty pages back first (Linux 5.4)
	AdviceDontFork                    // MADV_DONTFORK: a forked child does not inherit the range
	AdviceDoFork                      // MADV_DOFORK: undo AdviceDontFork
	AdviceDontDump                    // MADV_DONTDUMP: leave the range out of core dumps
	AdviceDoDump                      // MADV_DODUMP: undo AdviceDontDump
	AdviceCollapse                    // MADV_COLLAPSE: collapse into transparent hugepages now, best effort (Linux 6.1)
	adviceDontNeed                    // Discard's DiscardDontNeed
	adviceFree                        // Discard's DiscardFree
	adviceRemove                      // Discard's DiscardRemove
)

var adviceNames = [...]string{"AdviceNormal", "AdviceRandom", "AdviceSequential", "AdviceWillNeed",
	"AdviceHugePage", "AdviceNoHugePage", "AdvicePopulateRead", "AdvicePopulateWrite", "AdviceCold",
	"AdvicePageOut", "AdviceDontFork", "AdviceDoFork", "AdviceDontDump", "AdviceDoDump", "AdviceCollapse",
	"DiscardDontNeed", "DiscardFree", "DiscardRemove"}

func (a Advice) String() string {
	if a >= 0 && int(a) < len(adviceNames) {
		return adviceNames[a]
	}
	return fmt.Sprintf("Advice(%d)", int(a))
}

// Advise passes a to the kernel for the pages that cover m (madvise). Advice
// this platform or build does not have fails with an error that matches
// errors.ErrUnsupported; advice the running kernel does not know fails with
// its EINVAL. AdviceSupported asks beforehand. Windows takes AdviceWillNeed
// (PrefetchVirtualMemory) and the populate advice (a touch per page), and
// accepts normal, random and sequential as hints it has no call for.
func (m MMap) Advise(a Advice) error {
	if a < AdviceNormal || a > AdviceCollapse {
		return fmt.Errorf("%w: unknown advice %d (Discard has the destructive ones)", ErrInvalidAdvice, int(a))
	}
	return m.onPages(func(r *region, off, n uintptr) error { return osAdvise(r, off, n, a) })
}

// AdviceSupported reports whether this system takes advice a, by giving it
// for one page of a scratch mapping.
func AdviceSupported(a Advice) bool {
	if a < AdviceNormal || a > AdviceCollapse {
		return false
	}
	// Collapse needs a range that holds a whole transparent hugepage.
	span := os.Getpagesize()
	if a == AdviceCollapse {
		if span = thpSize(); span == 0 {
			return false
		}
	}
	r, err := mapAnon(2*span, RDWR, ANON)
	if err != nil {
		return false
	}
	defer osUnmap(r)
	off := uintptr(span) - uintptr(r.base)%uintptr(span)
	*(*byte)(unsafe.Add(r.base, off)) = 1
	return osAdvise(r, off, uintptr(span), a) == nil
}

// DiscardMode says how Discard throws pages away.
type DiscardMode int

const (
	// DiscardDontNeed (MADV_DONTNEED, Linux): the pages are dropped now.
	// Private anonymous pages read back as zeros, COPY pages as the file,
	// shared file pages from the file. The BSDs' and macOS's MADV_DONTNEED
	// keeps the data, so there it fails with errors.ErrUnsupported; Windows
	// takes it for shared file views only.
	DiscardDontNeed DiscardMode = iota
	// DiscardFree (MADV_FREE: Linux 4.5, BSD, macOS; Windows: MEM_RESET):
	// private anonymous pages may be freed whenever the kernel likes; until
	// written again they read back either as they were or as zeros.
	DiscardFree
	// DiscardRemove (MADV_REMOVE, Linux): frees the pages and the file's
	// blocks behind them (a hole punched in the file): they read back as
	// zeros, for every process that maps the file.
	DiscardRemove
)

// Discard throws away the contents of the whole pages inside m, as mode
// says. Only pages that lie entirely within m are discarded, so no byte
// outside m changes; an m shorter than a page may discard nothing. Slices
// that alias those pages see the change: that is why this is not an Advice.
func (m MMap) Discard(mode DiscardMode) error {
	var a Advice
	switch mode {
	case DiscardDontNeed:
		a = adviceDontNeed
	case DiscardFree:
		a = adviceFree
	case DiscardRemove:
		a = adviceRemove
	default:
		return fmt.Errorf("%w: unknown discard mode %d", ErrInvalidAdvice, int(mode))
	}
	if len(m) == 0 {
		return nil
	}
	r, off, n, err := m.pages(true)
	if err != nil || n == 0 {
		return err
	}
	return osAdvise(r, off, n, a)
}

// FlushAsync schedules the pages that cover m for writing and returns
// without waiting (msync with MS_ASYNC; FlushViewOfFile alone on Windows).
// Modern Linux already tracks dirty pages and writes them back within
// vm.dirty_expire_centisecs, so there it costs almost nothing and does
// almost nothing: use Flush for durability.
func (m MMap) FlushAsync() error {
	return m.onPages(osFlushAsync)
}

// LockOnFault locks the pages that cover m as they are first touched,
// rather than all now (mlock2 with MLOCK_ONFAULT, Linux 4.4). Elsewhere it
// fails with an error matching errors.ErrUnsupported.
func (m MMap) LockOnFault() error {
	return m.onPages(osLockOnFault)
}

// Protect changes the protection of the pages that cover m (mprotect,
// VirtualProtect on Windows) to prot: RDONLY, or writable (RDWR for shared
// and anonymous mappings; RDWR or COPY for COPY mappings, both meaning
// private writes), with or without EXEC. It cannot grant what the mapping
// was not made with: write access to a read-only mapping, COPY on a shared
// one, or execution without EXEC give ErrInvalidProt, as do RDWR and COPY
// together.
func (m MMap) Protect(prot int) error {
	if err := checkProtFlags(prot, 0); err != nil {
		return err
	}
	return m.onPages(func(r *region, off, n uintptr) error {
		const write = RDWR | COPY
		if prot&write != 0 && r.prot&write == 0 {
			return fmt.Errorf("%w: Protect cannot make a read-only mapping writable", ErrInvalidProt)
		}
		if prot&COPY != 0 && r.prot&COPY == 0 {
			return fmt.Errorf("%w: Protect(COPY) needs a COPY mapping; this one writes through to its file or is anonymous (use RDWR)", ErrInvalidProt)
		}
		if prot&EXEC != 0 && r.prot&EXEC == 0 {
			return fmt.Errorf("%w: Protect cannot make a mapping executable that was not mapped with EXEC", ErrInvalidProt)
		}
		return osProtect(r, off, n, prot)
	})
}

// Resident reports how many of the pages that cover m are in memory, and
// how many pages cover m (mincore; QueryWorkingSetEx on Windows).
func (m MMap) Resident() (resident, pages int, err error) {
	in, err := m.ResidentPages()
	for _, b := range in {
		if b {
			resident++
		}
	}
	return resident, len(in), err
}

// ResidentPages reports, page by page, which of the pages that cover m are
// in memory. Page i covers m's bytes from i*PageSize() minus the offset of
// m's first byte within its page.
func (m MMap) ResidentPages() ([]bool, error) {
	var in []bool
	err := m.onPages(func(r *region, off, n uintptr) error {
		vec := make([]byte, n/uintptr(os.Getpagesize()))
		if err := osMincore(r, off, n, vec); err != nil {
			return err
		}
		in = make([]bool, len(vec))
		for i, v := range vec {
			in[i] = v&1 != 0
		}
		return nil
	})
	return in, err
}
