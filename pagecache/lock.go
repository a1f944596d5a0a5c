package pagecache

import (
	"fmt"
	"math"
	"os"
	"sync"

	"github.com/hugemap/mmap"
)

// Pin holds a range of a file resident and locked in memory: a read-only
// mapping of the range that Pin owns, with its pages locked. The pages stay
// in the page cache, whoever else reads or maps the file, until Close.
type Pin struct {
	mu     sync.Mutex
	m      mmap.MMap
	name   string
	off, n int64
}

// Lock makes n bytes of f from off resident and locks them in memory until
// the Pin's Close: it maps the range read-only and locks the mapping
// (mlock, which reads every page in; VirtualLock on Windows). The range is
// as for every function of the package. Locked memory counts against the
// process's RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK: an error wrapping
// [mmap.ErrMemlockLimit] names the limit, and nothing stays mapped.
func Lock(f *os.File, off, n int64) (*Pin, error) {
	return lock(f, off, n, mmap.LOCK)
}

// LockResident pins the pages of the range that are in the page cache now
// and reads nothing in: it maps the range read-only with lock-on-fault
// (mlock2 MLOCK_ONFAULT, Linux 4.4), asks mincore which pages are
// resident, and faults in only those, which locks them. A page evicted
// between the question and the fault is read back and locked too. Pages
// of the range that come into the cache later are not locked. Elsewhere an
// error matching errors.ErrUnsupported.
func LockResident(f *os.File, off, n int64) (*Pin, error) {
	p, err := lock(f, off, n, mmap.LOCK_ONFAULT)
	if err != nil || p.m == nil {
		return p, err
	}
	if err := faultResident(p.m); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func lock(f *os.File, off, n int64, how int) (*Pin, error) {
	s, err := checkSpan(f, off, n)
	if err != nil {
		return nil, err
	}
	if s.n > math.MaxInt {
		return nil, fmt.Errorf("%w: %d bytes do not fit in this platform's address space", mmap.ErrInvalidLength, s.n)
	}
	p := &Pin{name: f.Name(), off: s.off, n: s.n}
	if s.n == 0 {
		return p, nil
	}
	// LOCK at map time: one call maps and locks, and a failed lock leaves
	// nothing mapped.
	p.m, err = mmap.MapRegion(f, int(s.n), mmap.RDONLY, how|mmap.UNALIGNED, s.off)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Close unlocks the pages and unmaps the range. The pages stay in the page
// cache until the kernel needs the memory. A second Close does nothing.
func (p *Pin) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		return nil
	}
	// Unmap unlocks too; an explicit Unlock first would cost a call for
	// nothing.
	if err := p.m.Unmap(); err != nil {
		return fmt.Errorf("pagecache: unpinning %s: %w", p.name, err)
	}
	return nil
}

// Range is the file range the Pin holds: from off, n bytes.
func (p *Pin) Range() (off, n int64) { return p.off, p.n }
