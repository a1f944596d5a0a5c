package shm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"unsafe"

	"github.com/hugemap/mmap"
)

// FreeBSD 13+: shm_open2(SHM_ANON, SHM_ALLOW_SEALING), as its libc's
// memfd_create does, and the seals of fcntl(2). Compiled and vetted here,
// never run.

const (
	sysShmOpen2     = 571 // FreeBSD 13+
	shmAnon         = 1   // SHM_ANON, (char *)1: no path
	shmAllowSealing = 0x1 // SHM_ALLOW_SEALING
	fAddSeals       = 19  // F_ADD_SEALS
	fGetSeals       = 20  // F_GET_SEALS
	freebsdSeals    = SealSeal | SealShrink | SealGrow | SealWrite
)

func create(name string, size, flags int) (*Segment, error) {
	if flags&mmap.HUGETLB != 0 {
		return nil, fmt.Errorf("shm: HUGETLB segments (SHM_LARGEPAGE) are not implemented on FreeBSD: %w", errors.ErrUnsupported)
	}
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return nil, err
	}
	fd, _, errno := syscall.Syscall6(sysShmOpen2, shmAnon, uintptr(syscall.O_RDWR|syscall.O_CREAT|syscall.O_CLOEXEC), 0o600, shmAllowSealing, uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		var err error = errno
		if errno == syscall.ENOSYS {
			err = fmt.Errorf("%w (shm_open2 needs FreeBSD 13+): %w", errno, errors.ErrUnsupported)
		}
		return nil, &fs.PathError{Op: "shm_open2", Path: name, Err: err}
	}
	f := os.NewFile(fd, "shm:"+name)
	if err := syscall.Ftruncate(int(fd), int64(size)); err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "ftruncate", Path: f.Name(), Err: err}
	}
	return &Segment{f: f, size: size}, nil
}

func addSeals(fd uintptr, seals Seal) error {
	if rest := seals &^ freebsdSeals; rest != 0 {
		return fmt.Errorf("seals %v do not exist on FreeBSD: %w", rest, errors.ErrUnsupported)
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, fd, fAddSeals, uintptr(seals)); errno != 0 {
		return sealError(seals, errno)
	}
	return nil
}

func getSeals(fd uintptr) (Seal, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, fd, fGetSeals, 0)
	if errno != 0 {
		return 0, errno
	}
	return Seal(r), nil
}

// hugetlbfsPageSize: FreeBSD has no hugetlbfs.
func hugetlbfsPageSize(int) int { return 0 }
