package pagecache

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/hugemap/mmap"
)

// Refold on Linux: write back, evict, read back through a mapping advised
// MADV_HUGEPAGE, and read /proc/self/smaps for what came back PMD-mapped.

func osRefold(s span) (Residency, error) {
	if fs := memoryOnly(s.f); fs != "" {
		return Residency{}, fmt.Errorf("pagecache: Refold of %s: it is on %s, whose pages live in memory only and cannot be dropped and read back: %w", s.f.Name(), fs, errors.ErrUnsupported)
	}
	lo := s.off &^ (hugeBlock - 1)
	hi := min(s.size, (s.off+s.n+hugeBlock-1)&^(hugeBlock-1))
	wide := span{f: s.f, off: lo, n: hi - lo, size: s.size}
	if r, err := cachestat(wide); err != nil || r.Dirty > 0 || r.Writeback > 0 {
		if err := s.f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
			return Residency{}, fmt.Errorf("pagecache: Refold of %s: writing back dirty pages before the eviction: %w", s.f.Name(), err)
		}
	}
	if err := osEvict(wide); err != nil {
		return Residency{}, err
	}
	var pmd int64
	err := eachWindow(wide, func(m mmap.MMap, _ int64) error {
		adviseHuge(m)
		if err := m.Prefault(0); err != nil {
			return err
		}
		st, err := m.Stats()
		pmd += st.FilePmdMapped
		return err
	})
	if err != nil {
		return Residency{}, fmt.Errorf("pagecache: Refold of %s: reading back: %w", s.f.Name(), err)
	}
	r, err := osStat(s)
	switch {
	case errors.Is(err, errHidden):
		// Every page was just read back; the kernel will not say more.
		r = unknown(s.pages(), s.pages())
	case err != nil:
		return Residency{}, err
	}
	r.PMDMapped = pmd
	if pmd == 0 && hi-lo >= hugeBlock && is32bit {
		return r, fmt.Errorf("pagecache: Refold of %s: nothing came back PMD-mapped: since Linux 6.8 the kernel does not align a 32-bit process's file mappings to 2 MiB, so none of them can be; the cache may hold the file in large folios all the same, and a 64-bit process's mapping would show it: %w", s.f.Name(), errors.ErrUnsupported)
	}
	if pmd == 0 && hi-lo >= hugeBlock {
		return r, fmt.Errorf("pagecache: Refold of %s: no 2 MiB block of it came back PMD-mapped (its file system keeps it in small folios, or transparent hugepages are %q in /sys/kernel/mm/transparent_hugepage/enabled): %w", s.f.Name(), mmap.THPMode(), errors.ErrUnsupported)
	}
	return r, nil
}

// is32bit: this is a 32-bit process.
const is32bit = ^uintptr(0)>>32 == 0

// memoryOnly names the file system of f if it keeps files in memory only
// (tmpfs, ramfs), where nothing can be evicted and read back; else "".
func memoryOnly(f *os.File) string {
	var st syscall.Statfs_t
	if withFd(f, func(fd uintptr) error { return syscall.Fstatfs(int(fd), &st) }) != nil {
		return ""
	}
	const tmpfsMagic, ramfsMagic = 0x01021994, 0x858458f6
	switch uint32(st.Type) { // int32 on 32-bit systems
	case tmpfsMagic:
		return "tmpfs"
	case ramfsMagic:
		return "ramfs"
	}
	return ""
}
