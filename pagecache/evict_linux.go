package pagecache

import (
	"os"
	"runtime"
)

// Evict on Linux: posix_fadvise(POSIX_FADV_DONTNEED).

// fadvDontNeed is POSIX_FADV_DONTNEED: 4, except on 64-bit s390, where the
// kernel numbers it 6.
var fadvDontNeed = map[bool]int{false: 4, true: 6}[runtime.GOARCH == "s390x"]

func osEvict(s span) error {
	return withFd(s.f, func(fd uintptr) error {
		if e := fadvise(fd, s.off, s.n, fadvDontNeed); e != 0 {
			return &os.PathError{Op: "posix_fadvise(POSIX_FADV_DONTNEED)", Path: s.f.Name(), Err: e}
		}
		return nil
	})
}
