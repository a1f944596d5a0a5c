package pagecache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	cachestatsys "github.com/hugemap/mmap/internal/cachestat"
)

// Stat on Linux: cachestat(2), and mincore where the kernel refuses it.

// osStat asks cachestat and falls back on mincore where the kernel lacks
// it. Where cachestat is refused for want of permission, mincore would
// not tell the truth either: the kernel answers it for such a file (the
// same test, since Linux 5.0) with every page resident.
func osStat(s span) (Residency, error) {
	r, err := cachestat(s)
	switch {
	case err == nil:
		return r, nil
	case cachestatHidden(err):
		return Residency{}, &fs.PathError{Op: "pagecache", Path: s.f.Name(), Err: errHidden}
	case cachestatMissing(err):
		return mincoreStat(s)
	}
	return Residency{}, err
}

// errHidden is Stat's error for a file whose cache the kernel does not
// show this caller.
var errHidden = fmt.Errorf("%w: the kernel shows which pages of a file are cached only to its owner or to a process that may write it (cachestat refused; mincore would report every page resident, as vmtouch and fincore then do)", fs.ErrPermission)

// cachestatHidden says whether err is cachestat's refusal to a caller who
// neither owns nor may write the file (EPERM; EACCES from some security
// modules).
func cachestatHidden(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES)
}

// cachestatMissing says whether err means "ask mincore instead": a kernel
// before 6.5 (ENOSYS), or a file system whose cache cachestat cannot read
// (EOPNOTSUPP: hugetlbfs).
func cachestatMissing(err error) bool {
	return errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EOPNOTSUPP)
}

// residencyHidden says whether the kernel hides s's cache from this caller,
// so that mincore over it says every page is resident.
func residencyHidden(s span) bool {
	_, err := cachestat(s)
	return err != nil && cachestatHidden(err)
}

// cachestat is one cachestat(2) call over s.
func cachestat(s span) (Residency, error) {
	var cs cachestatsys.Counts
	err := withFd(s.f, func(fd uintptr) (err error) {
		if cs, err = cachestatsys.Fd(fd, uint64(s.off), uint64(s.n)); err != nil {
			return os.NewSyscallError("cachestat", err)
		}
		return nil
	})
	if err != nil {
		return Residency{}, err
	}
	return Residency{
		Pages: s.pages(), Resident: int64(cs.Cache),
		Dirty: int64(cs.Dirty), Writeback: int64(cs.Writeback),
		Evicted: int64(cs.Evicted), RecentlyEvicted: int64(cs.RecentlyEvicted),
		PMDMapped: -1,
	}, nil
}
