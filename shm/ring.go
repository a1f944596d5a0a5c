package shm

import (
	"fmt"
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/hugemap/mmap"
)

// The ring: one shared-memory object mapped twice, back to back, so that
// bytes written across its end read back contiguously. The mapping is per
// system, in ring_unix.go and ring_windows.go.

// Ring is size bytes of memory seen through a window of 2*size bytes:
// Bytes()[i] and Bytes()[i+size] are the same byte. A record that starts
// near the end of the ring and runs past it is one contiguous slice,
// Bytes()[off:off+n] with off < size and n ≤ size, so a ring buffer built
// on it copies each record once, never in two pieces at the wrap.
//
// The Ring holds no read or write positions: the caller keeps them and
// synchronises its producers and consumers, as with any shared memory.
// Close must not race with other use of the memory.
type Ring struct {
	base unsafe.Pointer
	size int
	// closed turns true at the first Close.
	closed atomic.Bool
	//lint:ignore U1000 empty on Unix; Windows keeps its placeholder state here
	sys ringSys
}

// NewRing maps a ring of at least size bytes: size rounded up to the page
// size (Windows: the 64 KiB allocation granularity), which [Ring.Size]
// reports. A size ≤ 0, or one whose double does not fit in the address
// space, is an error wrapping [mmap.ErrInvalidLength].
//
// Linux, FreeBSD (64-bit) and macOS (64-bit): one shared-memory object
// (memfd_create, shm_open2(SHM_ANON), shm_open) mapped twice with
// MAP_SHARED|MAP_FIXED over the two halves of one PROT_NONE reservation of
// 2*size bytes, so MAP_FIXED never replaces anything but the ring's own
// reservation; on failure nothing stays mapped. The object's descriptor
// is closed once both halves are mapped. Windows 10 1803+: a
// pagefile-backed section mapped into the two halves of a placeholder
// reservation (VirtualAlloc2 MEM_RESERVE_PLACEHOLDER, split by VirtualFree
// MEM_PRESERVE_PLACEHOLDER, then MapViewOfFile3 MEM_REPLACE_PLACEHOLDER);
// where the system lacks those calls, an error wrapping
// errors.ErrUnsupported. Elsewhere errors.ErrUnsupported.
func NewRing(size int) (*Ring, error) {
	if size <= 0 {
		return nil, fmt.Errorf("%w: a ring needs a size > 0, got %d", mmap.ErrInvalidLength, size)
	}
	unit := ringUnit()
	if size > math.MaxInt/2-unit {
		return nil, fmt.Errorf("%w: a ring of %d bytes needs twice that much address space, more than an int can say", mmap.ErrInvalidLength, size)
	}
	size = (size + unit - 1) / unit * unit
	r := &Ring{size: size}
	if err := r.mapTwice(); err != nil {
		return nil, err
	}
	return r, nil
}

// Bytes is the ring's window, 2*Size() bytes: b[i] and b[i+Size()] are the
// same byte. After Close it is nil, and slices taken before must not be
// used.
func (r *Ring) Bytes() []byte {
	if r.closed.Load() {
		return nil
	}
	return unsafe.Slice((*byte)(r.base), 2*r.size)
}

// Size is the ring's size in bytes, half of len(Bytes()).
func (r *Ring) Size() int { return r.size }

// Close unmaps the ring; nothing of it stays mapped. A second Close does
// nothing and returns an error wrapping [mmap.ErrNotMapped].
func (r *Ring) Close() error {
	if !r.closed.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: the ring of %d bytes is closed already", mmap.ErrNotMapped, r.size)
	}
	if err := r.unmap(); err != nil {
		r.closed.Store(false) // still mapped: a later Close can try again
		return err
	}
	return nil
}
