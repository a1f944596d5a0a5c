package mmap

import (
	"fmt"
	"math"
	"os"
	"unsafe"
)

// Growth in place: a mapping made inside a reservation of address space,
// lengthened into it without moving, so slices that readers hold stay
// valid.

// MapRegionMax maps length bytes of f from offset, as MapRegion does,
// inside a reservation of max bytes of address space, so that [MMap.Grow]
// can lengthen the mapping up to max without moving it: &m[0] never
// changes, and every slice of m that a reader holds stays valid while the
// mapping grows.
//
// The reservation costs address space only: on Unix it is one
// PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE mapping, no memory and
// no swap or commit charge, which the mapping then replaces from its start
// (MAP_FIXED, inside the reservation only). Touching reserved bytes past
// len(m) faults as any unmapped memory does. A reservation of 2 MiB or more
// starts on a transparent-hugepage boundary (for a file, one where the
// address and the file offset agree modulo the hugepage size), so HUGE
// anonymous maps can use transparent hugepages and page-cache folios can
// be mapped whole. With HUGE or HUGETLB an anonymous map's length and
// max are rounded up to the hugetlb page size; a hugetlbfs file needs a
// length and max of whole hugepages. Hints apply as they do for
// MapRegion, and again to each part Grow adds.
//
// length and offset are as for MapRegion (a negative length maps the rest
// of the file, UNALIGNED takes any offset), except that length must not be
// 0: an empty MMap has no address to grow from. max must be at least
// length; offset+max must fit in an int64. Like any mapping it is released
// by [MMap.Unmap], which releases the whole reservation.
//
// Windows: a placeholder reservation (VirtualAlloc2 with
// MEM_RESERVE_PLACEHOLDER) and views mapped into it (MapViewOfFile3 with
// MEM_REPLACE_PLACEHOLDER), Windows 10 1803 and later; where the system
// refuses placeholders (Wine 8 does), an error matching
// errors.ErrUnsupported. Without cgo on macOS and the BSDs, whose package
// syscall cannot map at a fixed address, and where there is no backend:
// errors.ErrUnsupported.
func MapRegionMax(f *os.File, length, max int, prot, flags int, offset int64) (MMap, error) {
	if err := checkMap(f, length, prot, flags, offset); err != nil {
		return nil, err
	}
	if flags&ANON != 0 {
		if err := checkMax(0, length, max); err != nil {
			return nil, err
		}
		r, err := mapMax(nil, 0, 0, length, max, prot, flags)
		if err != nil {
			return nil, err
		}
		return register(r), nil
	}
	var m MMap
	err := withFile(f, "mmap", func(fd uintptr) error {
		if length < 0 {
			var err error
			if length, err = wholeFileLength(f, offset); err != nil {
				return err
			}
		}
		if length == 0 {
			return fmt.Errorf("%w: MapRegionMax of 0 bytes of %s: an empty mapping has no address to grow from; map at least a byte", ErrInvalidLength, f.Name())
		}
		if err := checkMax(offset, length, max); err != nil {
			return err
		}
		r, err := mapMax(f, fd, offset, length, max, prot, flags)
		if err != nil {
			return err
		}
		m = register(r)
		return nil
	})
	return m, err
}

// checkMax checks a maximum against the length and offset it goes with.
func checkMax(offset int64, length, max int) error {
	if max < length {
		return fmt.Errorf("%w: max %d is less than length %d", ErrInvalidLength, max, length)
	}
	if uint64(offset)+uint64(max) > math.MaxInt64 {
		return fmt.Errorf("%w: offset %d + max %d overflows int64", ErrInvalidLength, offset, max)
	}
	return nil
}

// mapMax maps length bytes of f (nil: anonymous memory) from offset inside
// a reservation of max bytes; the caller registers it.
func mapMax(f *os.File, fd uintptr, offset int64, length, max, prot, flags int) (*region, error) {
	// As in mapAt: the OS maps from a page boundary, lead bytes below the
	// caller's first byte.
	lead := pageOffset(offset)
	if max > math.MaxInt-int(lead) {
		return nil, fmt.Errorf("%w: max %d from the page below offset %d does not fit in an int", ErrInvalidLength, max, offset)
	}
	r, err := osMapMax(f != nil, fd, offset-lead, int(lead)+length, int(lead)+max, prot, flags)
	if err != nil {
		if f != nil {
			return nil, explainMapError(f, err)
		}
		return nil, err
	}
	r.lead += uintptr(lead)
	r.len = length
	r.flags, r.offset = flags, offset
	return r, nil
}

// Grow lengthens the mapping *m, made by [MapRegionMax], to length bytes in
// place: the bytes after len(*m) are mapped into its reservation, so
// &(*m)[0] does not change and every slice of the old *m stays valid, for
// readers in other goroutines too, during and after the call. On success
// *m is replaced by the longer slice; the old slice is then a derived slice
// (Unmap, Resize and Grow refuse it).
//
// length is the new total length, as in Resize. A length not above len(*m)
// is an error wrapping ErrInvalidLength (Resize shrinks). A length past
// the maximum the mapping was made with, or any Grow of a mapping made
// without one (Map, MapRegion, a Resize past the maximum), is an error
// wrapping [ErrWouldMove]: the mapping cannot grow without moving, and
// [MMap.Resize] may move it. *m must be the slice that MapRegionMax (or an
// earlier Grow) returned, else ErrNotMapped.
//
// For a file mapping, f must be the file it maps; the new part maps the
// file from where the old part ends, with the same prot and flags. A length
// past the end of f is an error wrapping ErrInvalidLength unless extend is
// set; then f is grown first (f.Truncate: f must be open for writing) and
// cut back to its old size if the map fails. For an anonymous mapping f
// and extend are ignored; the new part starts zeroed.
//
// The new part gets the kind of pages the mapping got (Info does not
// change: hugetlb pages from the pool, or ErrNoHugetlbPages; transparent
// hugepages advised; base pages) and the map-time hints again: POPULATE
// makes it resident, LOCK and LOCK_ONFAULT lock it. Pages that Protect
// changed keep their protection; the new part has the mapping's own. A
// Grow that fails changes nothing: the mapping, its registration and the
// file are as they were.
//
// Grow must not run at the same time as Unmap, Resize or another Grow of
// the same mapping; reads and writes through any slice of it may.
func (m *MMap) Grow(f *os.File, length int, extend bool) error {
	if length <= len(*m) {
		return fmt.Errorf("%w: Grow to %d bytes from %d: Grow only lengthens (Resize shrinks)", ErrInvalidLength, length, len(*m))
	}
	r := exact(*m)
	if r == nil {
		return fmt.Errorf("%w: Grow needs the slice that MapRegionMax or the last Grow returned", ErrNotMapped)
	}
	if r.limit == 0 {
		return fmt.Errorf("%w: the %s was made without a maximum (MapRegionMax makes one that can grow)", ErrWouldMove, r.describe())
	}
	if !r.holds(length) {
		return fmt.Errorf("%w: Grow to %d bytes passes the %d bytes reserved for the %s", ErrWouldMove, length, r.room(), r.describe())
	}
	if r.flags&ANON != 0 {
		return m.grow(r, length, nil, 0)
	}
	if f == nil {
		return fmt.Errorf("%w: Grow of a file mapping needs its file", ErrNoFile)
	}
	return withLength(f, r, length, extend, "grow", func(fd uintptr, _ int64) error {
		return m.grow(r, length, f, fd)
	})
}

// room is the maximum length of the caller's slice of r.
func (r *region) room() int { return int(r.limit - r.lead) }

// holds says whether n bytes fit in r's reservation.
func (r *region) holds(n int) bool { return n <= r.room() }

// grow maps r, which *m is the view of, on to n bytes in place; f (open as
// fd) is its file, nil for anonymous memory. On failure r is as it was.
func (m *MMap) grow(r *region, n int, f *os.File, fd uintptr) error {
	nr, err := osGrow(r, n, fd)
	if err != nil {
		if f != nil {
			return explainMapError(f, err)
		}
		return err
	}
	*m = reregister(*m, nr)
	return nil
}

// inPlace is Resize within r's reservation: Grow when n is longer, else
// the pages past the new end go back to the reservation, where a later
// Grow or Resize can map them again.
func (m *MMap) inPlace(r *region, n int, f *os.File, fd uintptr) error {
	if n > r.len {
		return m.grow(r, n, f, fd)
	}
	nr, err := osShrink(r, n)
	if err != nil {
		return err
	}
	*m = reregister(*m, nr)
	return nil
}

// roundUp is n rounded up to a multiple of unit, a power of two.
func roundUp(n, unit uintptr) uintptr { return (n + unit - 1) &^ (unit - 1) }

// at is the address off bytes into r.
func (r *region) at(off uintptr) unsafe.Pointer { return unsafe.Add(r.base, off) }
