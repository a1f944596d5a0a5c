package shm

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/bits"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"github.com/hugemap/mmap"
)

// Linux: memfd_create, F_ADD_SEALS, hugetlbfs.

// Linux values that package syscall does not name, from the kernel's uapi
// headers (the same on every architecture).
const (
	mfdCloexec      = 0x1
	mfdAllowSealing = 0x2
	mfdHugetlb      = 0x4
	mfdNoexecSeal   = 0x8 // Linux 6.3+
	mfdHugeShift    = 26  // the hugepage size's log2 goes here
	fAddSeals       = 1033
	fGetSeals       = 1034
	hugetlbfsMagic  = 0x958458f6
	memfdNameMax    = 249 // NAME_MAX less the "memfd:" the kernel adds
)

// memfdCreateTrap is memfd_create's number, which package syscall names
// only for some architectures; these are the kernel's tables (3.17+).
var memfdCreateTrap = map[string]uintptr{
	"386": 356, "amd64": 319, "arm": 385, "arm64": 279, "loong64": 279,
	"mips": 4354, "mipsle": 4354, "mips64": 5314, "mips64le": 5314,
	"ppc64": 360, "ppc64le": 360, "riscv64": 279, "s390x": 350,
}[runtime.GOARCH]

func create(name string, size, flags int) (*Segment, error) {
	if len(name) > memfdNameMax {
		return nil, fmt.Errorf("shm: segment name of %d bytes: Linux takes at most %d: %w", len(name), memfdNameMax, fs.ErrInvalid)
	}
	mfd := mfdCloexec | mfdAllowSealing
	huge := 0
	if flags&mmap.HUGETLB != 0 {
		var err error
		if huge, err = hugetlbPageSize(flags); err != nil {
			return nil, err
		}
		if size > math.MaxInt-huge+1 {
			return nil, fmt.Errorf("%w: %d bytes rounded up to %d-byte hugepages overflow an int", mmap.ErrInvalidLength, size, huge)
		}
		// hugetlbfs takes sizes in whole pages only (ftruncate: EINVAL).
		size = (size + huge - 1) / huge * huge
		mfd |= mfdHugetlb | bits.TrailingZeros(uint(huge))<<mfdHugeShift
	}
	fd, err := memfdCreate(name, mfd|mfdNoexecSeal)
	if err == syscall.EINVAL {
		fd, err = memfdCreate(name, mfd) // before Linux 6.3
	}
	if err != nil {
		if err == syscall.ENOSYS {
			err = fmt.Errorf("%w (memfd_create needs Linux 3.17+): %w", err, errors.ErrUnsupported)
		}
		return nil, &fs.PathError{Op: "memfd_create", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), "memfd:"+name)
	if err := syscall.Ftruncate(fd, int64(size)); err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "ftruncate", Path: f.Name(), Err: err}
	}
	return &Segment{f: f, size: size, hugePage: huge}, nil
}

// hugetlbPageSize is the hugepage size flags ask for, if this system has
// a pool of that size.
func hugetlbPageSize(flags int) (int, error) {
	size := mmap.DefaultHugetlbPageSize()
	if flags&mmap.HUGE_1GB != 0 {
		size = 1 << 30
	}
	pools, _ := mmap.HugetlbPools()
	for _, p := range pools {
		if p.Size == size && size > 0 {
			return size, nil
		}
	}
	return 0, fmt.Errorf("%w: this system has no %d-byte hugetlb pages (/sys/kernel/mm/hugepages): %w", mmap.ErrNoHugetlbPages, size, errors.ErrUnsupported)
}

func memfdCreate(name string, flags int) (int, error) {
	if memfdCreateTrap == 0 {
		return -1, syscall.ENOSYS
	}
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return -1, err
	}
	fd, _, errno := syscall.Syscall(memfdCreateTrap, uintptr(unsafe.Pointer(p)), uintptr(flags), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

func addSeals(fd uintptr, seals Seal) error {
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

// hugetlbfsPageSize is the page size of the hugetlbfs that holds fd (a
// MFD_HUGETLB memfd lives on the kernel's own hugetlbfs mount), or 0.
func hugetlbfsPageSize(fd int) int {
	var st syscall.Statfs_t
	if syscall.Fstatfs(fd, &st) != nil || uint32(st.Type) != hugetlbfsMagic {
		return 0
	}
	return int(st.Bsize)
}
