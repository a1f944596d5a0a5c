package shm

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"github.com/hugemap/mmap/internal/section"
)

// The ring on Windows: placeholders (Windows 10 1803+). VirtualAlloc2
// reserves a placeholder of 2*size bytes, VirtualFree with
// MEM_PRESERVE_PLACEHOLDER splits it in two, and MapViewOfFile3 with
// MEM_REPLACE_PLACEHOLDER maps one pagefile-backed section into each half,
// so nothing else can be mapped in the window between the calls. Where
// kernelbase.dll lacks these calls, NewRing is errors.ErrUnsupported.

var (
	kernelbase         = syscall.NewLazyDLL("kernelbase.dll")
	procVirtualAlloc2  = kernelbase.NewProc("VirtualAlloc2")
	procMapViewOfFile3 = kernelbase.NewProc("MapViewOfFile3")
	kernel32           = syscall.NewLazyDLL("kernel32.dll")
	procVirtualFree    = kernel32.NewProc("VirtualFree")
)

const (
	memReserve             = 0x2000
	memRelease             = 0x8000
	memPreservePlaceholder = 0x2
	memReservePlaceholder  = 0x40000
	memReplacePlaceholder  = 0x4000
	pageNoAccess           = 0x01

	errInvalidParameter = syscall.Errno(87) // ERROR_INVALID_PARAMETER
)

//lint:ignore U1000 the views are found again from the base and size
type ringSys struct{}

func ringUnit() int { return section.Granularity() }

func (r *Ring) mapTwice() error {
	for _, p := range []*syscall.LazyProc{procVirtualAlloc2, procMapViewOfFile3} {
		if err := p.Find(); err != nil {
			return fmt.Errorf("shm: the ring needs placeholders (Windows 10 1803+), and this system has no %s: %w", p.Name, errors.ErrUnsupported)
		}
	}
	size := uintptr(r.size)
	sec, err := syscall.CreateFileMapping(syscall.InvalidHandle, nil, syscall.PAGE_READWRITE, uint32(uint64(size)>>32), uint32(size), nil)
	if sec == 0 {
		return os.NewSyscallError("CreateFileMapping", err)
	}
	// The views hold the section.
	defer syscall.CloseHandle(sec)
	proc, _ := syscall.GetCurrentProcess()

	p, _, err := procVirtualAlloc2.Call(uintptr(proc), 0, 2*size, memReserve|memReservePlaceholder, pageNoAccess, 0, 0)
	if p == 0 {
		err = os.NewSyscallError("VirtualAlloc2 (reserving the ring's placeholder)", err)
		if errors.Is(err, errInvalidParameter) {
			// VirtualAlloc2 without placeholder support (Wine 8) refuses
			// the flag as an invalid parameter.
			return fmt.Errorf("shm: the ring needs placeholders (Windows 10 1803+), and this system's VirtualAlloc2 refuses MEM_RESERVE_PLACEHOLDER (%w): %w", err, errors.ErrUnsupported)
		}
		return err
	}
	base := viewPointer(p)
	if ok, _, err := procVirtualFree.Call(p, size, memRelease|memPreservePlaceholder); ok == 0 {
		virtualFree(base)
		return os.NewSyscallError("VirtualFree (splitting the ring's placeholder)", err)
	}
	for half := range 2 {
		at := unsafe.Add(base, uintptr(half)*size)
		if err := mapView3(sec, proc, at, size); err != nil {
			if half == 1 {
				syscall.UnmapViewOfFile(uintptr(base))
			}
			// The placeholders left: the second half, and the first if
			// it was never replaced.
			for h := half; h < 2; h++ {
				virtualFree(unsafe.Add(base, uintptr(h)*size))
			}
			return fmt.Errorf("half %d of the ring: %w", half, err)
		}
	}
	r.base = base
	return nil
}

// mapView3 maps all of sec over the placeholder at at (MapViewOfFile3,
// MEM_REPLACE_PLACEHOLDER), read-write.
func mapView3(sec, proc syscall.Handle, at unsafe.Pointer, size uintptr) error {
	args := []uintptr{uintptr(sec), uintptr(proc), uintptr(at), 0}
	if unsafe.Sizeof(uintptr(0)) == 4 {
		args = append(args, 0) // the ULONG64 offset takes two words on 386
	}
	args = append(args, size, memReplacePlaceholder, syscall.PAGE_READWRITE, 0, 0)
	v, _, err := procMapViewOfFile3.Call(args...)
	if v == 0 {
		return os.NewSyscallError("MapViewOfFile3", err)
	}
	if v != uintptr(at) {
		syscall.UnmapViewOfFile(v)
		return fmt.Errorf("MapViewOfFile3 mapped the view at %#x, not over the placeholder at %p", v, at)
	}
	return nil
}

// virtualFree releases a placeholder.
func virtualFree(p unsafe.Pointer) {
	procVirtualFree.Call(uintptr(p), 0, memRelease)
}

func (r *Ring) unmap() error {
	var errs []error
	for half := range 2 {
		if err := syscall.UnmapViewOfFile(uintptr(unsafe.Add(r.base, half*r.size))); err != nil {
			errs = append(errs, os.NewSyscallError(fmt.Sprintf("UnmapViewOfFile (half %d of the ring)", half), err))
		}
	}
	return errors.Join(errs...)
}

// viewPointer turns the address of memory the system mapped into a
// pointer. It is not Go memory, so no Go pointer hides in the integer:
// reading its bits as a pointer says so without the conversion vet flags.
func viewPointer(addr uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}
