//go:build linux || ((darwin || freebsd) && (amd64 || arm64 || riscv64))

package shm

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"github.com/hugemap/mmap/internal/sysmmap"
)

// The ring on Unix: a reservation of 2*size bytes, and the shared-memory
// object mapped over each half with MAP_FIXED. The mmap calls are raw
// (internal/sysmmap), since package syscall's Mmap takes no address and
// package mmap's API places no mapping.

//lint:ignore U1000 Unix needs nothing beyond the base and size
type ringSys struct{}

// ringMap is mmap from offset 0, for the reservation (at nil) and each
// half.
// Tests replace it to fail a step.
var ringMap = defaultRingMap

func defaultRingMap(at unsafe.Pointer, n uintptr, prot, flags, fd int) (unsafe.Pointer, error) {
	return sysmmap.Map(at, n, prot, flags, fd, 0)
}

func ringUnit() int { return os.Getpagesize() }

func (r *Ring) mapTwice() error {
	seg, err := create("hugemap-ring", r.size, 0)
	if err != nil {
		return err
	}
	// The mappings hold the object; its descriptor is not needed after.
	defer seg.Close()
	total := 2 * uintptr(r.size)
	base, err := ringMap(nil, total, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON|reserveFlags, -1)
	if err != nil {
		return os.NewSyscallError("mmap (reserving the ring's address space)", err)
	}
	err = control(seg.f, "mmap", func(fd uintptr) error {
		for half := range 2 {
			at := unsafe.Add(base, half*r.size)
			p, err := ringMap(at, uintptr(r.size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_FIXED, int(fd))
			if err != nil {
				return os.NewSyscallError(fmt.Sprintf("mmap (half %d of the ring)", half), err)
			}
			if p != at {
				// MAP_FIXED never moves a mapping; this is a kernel bug.
				return fmt.Errorf("mmap: half %d of the ring was mapped at %p, not at %p", half, p, at)
			}
		}
		return nil
	})
	if err != nil {
		// One munmap takes the reservation and whatever was mapped over it.
		sysmmap.Unmap(base, total)
		return err
	}
	r.base = base
	return nil
}

func (r *Ring) unmap() error {
	return os.NewSyscallError("munmap", sysmmap.Unmap(r.base, 2*uintptr(r.size)))
}
