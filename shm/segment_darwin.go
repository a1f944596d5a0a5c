package shm

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"syscall"
	"unsafe"

	"github.com/hugemap/mmap"
)

// macOS: shm_open of a random name, unlinked at once, so that only
// descriptors reach the segment as on the other systems. macOS has no
// seals, no hugetlb pages, and sets a POSIX shm object's size once (a
// second ftruncate fails with EINVAL). Compiled and vetted here, never run.

const errNoSeals = "macOS has no file seals"

func create(name string, size, flags int) (*Segment, error) {
	if flags&mmap.HUGETLB != 0 {
		return nil, fmt.Errorf("shm: macOS has no hugetlb pages: %w", errors.ErrUnsupported)
	}
	var fd uintptr
	var errno syscall.Errno = syscall.EEXIST
	// A name the other processes on the machine are unlikely to hold, and
	// short: macOS takes at most 31 bytes (PSHMNAMLEN).
	for try := 0; try < 8 && errno == syscall.EEXIST; try++ {
		var r [8]byte
		for i := range r {
			r[i] = byte(rand.Uint32())
		}
		path, err := syscall.BytePtrFromString("/hm." + hex.EncodeToString(r[:]))
		if err != nil {
			return nil, err
		}
		fd, _, errno = syscall.Syscall(syscall.SYS_SHM_OPEN, uintptr(unsafe.Pointer(path)), uintptr(syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL), 0o600)
		if errno == 0 {
			syscall.Syscall(syscall.SYS_SHM_UNLINK, uintptr(unsafe.Pointer(path)), 0, 0)
		}
	}
	if errno != 0 {
		return nil, &fs.PathError{Op: "shm_open", Path: name, Err: errno}
	}
	syscall.CloseOnExec(int(fd))
	f := os.NewFile(fd, "shm:"+name)
	if err := syscall.Ftruncate(int(fd), int64(size)); err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "ftruncate", Path: f.Name(), Err: err}
	}
	return &Segment{f: f, size: size}, nil
}

func addSeals(uintptr, Seal) error {
	return fmt.Errorf("%s: %w", errNoSeals, errors.ErrUnsupported)
}

func getSeals(uintptr) (Seal, error) {
	return 0, fmt.Errorf("%s: %w", errNoSeals, errors.ErrUnsupported)
}

// hugetlbfsPageSize: macOS has no hugetlbfs.
func hugetlbfsPageSize(int) int { return 0 }
