//go:build !cgo && (darwin || freebsd || openbsd || dragonfly)

package mmap

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

// Mapping without cgo on macOS and the BSDs: through package syscall, whose
// Mmap knows each system's calling convention. Its Munmap finds a mapping
// in syscall's own table by the slice Mmap returned, so unmapPages rebuilds
// that slice, and there is no mremap here to move one.

func mapPages(at unsafe.Pointer, length uintptr, prot, flags, fd int, offset int64) (unsafe.Pointer, error) {
	if at != nil {
		return nil, errNoFixedMap
	}
	b, err := syscall.Mmap(fd, offset, int(length), prot, flags)
	if err != nil {
		return nil, err
	}
	return unsafe.Pointer(unsafe.SliceData(b)), nil
}

func sysUnmap(addr unsafe.Pointer, length uintptr) error {
	return syscall.Munmap(unsafe.Slice((*byte)(addr), length))
}

// errNoFixedMap: package syscall's Mmap takes no address, so there is no
// mapping inside a reservation here, and no MapRegionMax.
var errNoFixedMap = fmt.Errorf("mmap: MapRegionMax needs a map at a fixed address, which package syscall cannot make on %s; build with cgo: %w", runtime.GOOS, errors.ErrUnsupported)

// sysReserve: see errNoFixedMap.
func sysReserve(unsafe.Pointer, uintptr, uintptr, uintptr) (unsafe.Pointer, error) {
	return nil, errNoFixedMap
}

// sysRemap leaves Resize to map-copy-unmap.
func sysRemap(unsafe.Pointer, uintptr, uintptr) (unsafe.Pointer, error) {
	return nil, syscall.ENOSYS
}

var nativeAdvices = map[Advice]int{
	AdviceNormal: syscall.MADV_NORMAL, AdviceRandom: syscall.MADV_RANDOM,
	AdviceSequential: syscall.MADV_SEQUENTIAL, AdviceWillNeed: syscall.MADV_WILLNEED,
	adviceFree: syscall.MADV_FREE,
	// No adviceDontNeed: here MADV_DONTNEED keeps the data, which would
	// break Discard's promise of zeros.
}

// populateAtMap is a no-op here: these systems have no call that reports
// population failures, and Info says the pages were not populated.
func populateAtMap(unsafe.Pointer, *mapReq) (bool, error) { return false, nil }

// hugetlbfsPageSize: there is no hugetlbfs here.
func hugetlbfsPageSize(int) int { return 0 }
