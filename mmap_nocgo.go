//go:build !cgo && (linux || darwin || freebsd || openbsd || dragonfly)

package mmap

import (
	"errors"
	"fmt"
	"math"
	"os"
	"syscall"
	"unsafe"
)

// The pure-Go twin of mmap_cgo.go, for CGO_ENABLED=0: the same sys*
// functions through system calls made from Go, with this platform's own
// constants from package syscall. It has fewer hints than the C shim: no
// hugepage ladder (HUGE maps base pages and Info says so), no HUGETLB or
// LOCK_ONFAULT (errors.ErrUnsupported), and POPULATE and in-place Resize
// only on Linux. Mapping and unmapping are per system, in
// mmap_nocgo_linux.go and mmap_nocgo_bsd.go.

const backend = "syscall"

var errNeedsCgo = fmt.Errorf("mmap: needs the cgo backend (this binary was built with CGO_ENABLED=0): %w", errors.ErrUnsupported)

func sysMap(req *mapReq) (unsafe.Pointer, error) {
	req.failedStep = stepMmap
	if req.flags&(HUGETLB|LOCK_ONFAULT) != 0 {
		return nil, errNeedsCgo
	}
	if req.length > math.MaxInt {
		// The kernel refuses such a length with ENOMEM, as the cgo
		// backend reports it.
		return nil, syscall.ENOMEM
	}
	f, fd, offset := req.mapArgs()
	req.size = req.length
	req.info = Info{Kind: BasePages, PageSize: os.Getpagesize()}
	if fd >= 0 && req.flags&(HUGE|HUGETLB) != 0 {
		// A hugetlbfs file maps with its hugepages; munmap needs the
		// length rounded up to them. Only maps that ask look (fstatfs).
		if size := hugetlbfsPageSize(fd); size > 0 {
			req.size = (req.length + uintptr(size) - 1) / uintptr(size) * uintptr(size)
			req.info = Info{Kind: HugetlbPages, PageSize: size}
		}
	}
	if req.at != nil && req.size != req.length {
		// MAP_FIXED past what was asked would replace what lies beyond.
		return nil, syscall.EINVAL
	}
	addr, err := mapPages(req.at, req.size, nativeProt(req.prot), f, fd, offset)
	if err != nil {
		return nil, err
	}
	if req.flags&POPULATE != 0 {
		req.failedStep = stepPopulate
		populated, err := populateAtMap(addr, req)
		if err != nil {
			undoMap(req, addr)
			return nil, err
		}
		req.info.Populated = populated
	}
	if req.flags&LOCK != 0 {
		req.failedStep = stepLock
		if err := sysLock(addr, req.size, false); err != nil {
			undoMap(req, addr)
			return nil, err
		}
		req.info.Populated, req.info.Locked = true, true
	}
	return addr, nil
}

// undoMap unmaps a map that failed after mapPages, or gives it back to the
// reservation it was made in.
func undoMap(req *mapReq, addr unsafe.Pointer) {
	if req.at != nil {
		sysReserve(addr, req.size, 0, 0)
		return
	}
	sysUnmap(addr, req.size)
}

func sysSync(addr unsafe.Pointer, length uintptr, async bool) error {
	flag := syscall.MS_SYNC
	if async {
		flag = syscall.MS_ASYNC
	}
	return rangeCall(syscall.SYS_MSYNC, addr, length, uintptr(flag))
}

func sysLock(addr unsafe.Pointer, length uintptr, onFault bool) error {
	if onFault {
		return errNeedsCgo
	}
	return rangeCall(syscall.SYS_MLOCK, addr, length, 0)
}

func sysUnlock(addr unsafe.Pointer, length uintptr) error {
	return rangeCall(syscall.SYS_MUNLOCK, addr, length, 0)
}

func sysAdvise(addr unsafe.Pointer, length uintptr, a Advice) error {
	native, ok := nativeAdvices[a]
	if !ok {
		return syscall.ENOSYS
	}
	return rangeCall(syscall.SYS_MADVISE, addr, length, uintptr(native))
}

func sysProtect(addr unsafe.Pointer, length uintptr, prot int) error {
	return rangeCall(syscall.SYS_MPROTECT, addr, length, uintptr(nativeProt(prot)))
}

// sysPopulate is madvise(MADV_POPULATE_*) where nativeAdvices has it.
func sysPopulate(addr unsafe.Pointer, length uintptr, write, _ bool) error {
	a := AdvicePopulateRead
	if write {
		a = AdvicePopulateWrite
	}
	return sysAdvise(addr, length, a)
}

func sysMincore(addr unsafe.Pointer, length uintptr, vec []byte) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(addr), length, uintptr(unsafe.Pointer(unsafe.SliceData(vec)))); errno != 0 {
		return errno
	}
	return nil
}

func rangeCall(trap uintptr, addr unsafe.Pointer, length uintptr, arg uintptr) error {
	if _, _, errno := syscall.Syscall(trap, uintptr(addr), length, arg); errno != 0 {
		return errno
	}
	return nil
}
