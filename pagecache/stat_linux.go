package pagecache

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

// Stat on Linux: cachestat(2), and mincore where the kernel refuses it.

// sysCachestat is cachestat's number on every Linux architecture (6.5).
const sysCachestat = 451

// cachestatRange and cachestatResult are the kernel's struct
// cachestat_range and struct cachestat.
type cachestatRange struct{ off, len uint64 }

type cachestatResult struct {
	cache, dirty, writeback, evicted, recentlyEvicted uint64
}

// osStat asks cachestat and falls back on mincore where it is refused.
func osStat(s span) (Residency, error) {
	r, err := cachestat(s)
	if err == nil || !cachestatRefused(err) {
		return r, err
	}
	return mincoreStat(s)
}

// cachestatRefused says whether err means "ask mincore instead": a kernel
// before 6.5 (ENOSYS), a caller who neither owns nor may write the file
// (EPERM), a file system without a page cache cachestat can read
// (EOPNOTSUPP: hugetlbfs), or a seccomp filter that answers some other way.
func cachestatRefused(err error) bool {
	return errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EPERM) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EACCES)
}

// cachestat is one cachestat(2) call over s.
func cachestat(s span) (Residency, error) {
	rng := cachestatRange{uint64(s.off), uint64(s.n)}
	var cs cachestatResult
	err := withFd(s.f, func(fd uintptr) error {
		_, _, e := syscall.Syscall6(sysCachestat, fd, uintptr(unsafe.Pointer(&rng)), uintptr(unsafe.Pointer(&cs)), 0, 0, 0)
		if e != 0 {
			return os.NewSyscallError("cachestat", e)
		}
		return nil
	})
	if err != nil {
		return Residency{}, err
	}
	return Residency{
		Pages: s.pages(), Resident: int64(cs.cache),
		Dirty: int64(cs.dirty), Writeback: int64(cs.writeback),
		Evicted: int64(cs.evicted), RecentlyEvicted: int64(cs.recentlyEvicted),
		PMDMapped: -1,
	}, nil
}
