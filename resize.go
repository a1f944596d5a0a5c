package mmap

import (
	"errors"
	"fmt"
	"math"
	"os"
)

// Resize changes the length of the mapping *m to n bytes, keeping its
// contents up to the shorter of the two lengths. *m must be the slice that
// Map returned, as for Unmap; on success it is replaced by the new slice, and
// the old one and every slice derived from it are invalid, since the mapping
// may have moved.
//
// Linux: mremap(MREMAP_MAYMOVE), in place when the address space after the
// mapping is free, moved otherwise, without copying through user space.
// Elsewhere, and for the pure-Go backend: a new mapping (made with the same
// prot and flags), anonymous contents copied across, then the old one
// unmapped.
//
// For a file mapping, f must be the file it maps. A length that reaches past
// the end of f is an error wrapping ErrInvalidLength unless extend is set;
// then f is first grown to cover it (f.Truncate: f must be open for
// writing). For an anonymous mapping f and extend are ignored.
func (m *MMap) Resize(f *os.File, n int, extend bool) error {
	if n <= 0 {
		return fmt.Errorf("%w: Resize to %d bytes (Unmap to drop a mapping)", ErrInvalidLength, n)
	}
	r := exact(*m)
	if r == nil {
		return fmt.Errorf("%w: Resize needs the slice that Map returned", ErrNotMapped)
	}
	if r.flags&ANON == 0 {
		if err := fitFile(f, r.offset, n, extend); err != nil {
			return err
		}
	}
	// Out of the registry before mremap frees the old range, so that a
	// mapping another goroutine gets there is never confused with it.
	if _, err := unregister(*m); err != nil {
		return err
	}
	nr, err := osRemap(r, n)
	if err != nil {
		register(r) // still mapped where it was
		if errors.Is(err, errors.ErrUnsupported) {
			return m.remapByCopy(r, f, n)
		}
		return err
	}
	*m = register(nr)
	return nil
}

// fitFile checks that n bytes of f from offset lie within f, growing f
// first if extend is set.
func fitFile(f *os.File, offset int64, n int, extend bool) error {
	if f == nil {
		return fmt.Errorf("%w: Resize of a file mapping needs its file", ErrNoFile)
	}
	if uint64(offset)+uint64(n) > math.MaxInt64 {
		return fmt.Errorf("%w: offset %d + length %d overflows int64", ErrInvalidLength, offset, n)
	}
	return withFile(f, "resize", func(uintptr) error {
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		end := offset + int64(n)
		if end <= fi.Size() {
			return nil
		}
		if !extend {
			return fmt.Errorf("%w: %d bytes from offset %d pass the end of %s (size %d); pass extend to grow the file", ErrInvalidLength, n, offset, f.Name(), fi.Size())
		}
		return f.Truncate(end)
	})
}

// remapByCopy resizes where the system cannot: map anew, copy, unmap.
func (m *MMap) remapByCopy(r *region, f *os.File, n int) error {
	flags, offset := r.flags, r.offset
	if flags&ANON == 0 {
		flags |= UNALIGNED // r.offset is the caller's, which UNALIGNED may have allowed
	} else {
		f = nil
	}
	nm, err := MapRegion(f, n, r.prot, flags, offset)
	if err != nil {
		return err
	}
	if flags&ANON != 0 {
		copy(nm, *m)
	}
	if err := m.Unmap(); err != nil {
		nm.Unmap()
		return err
	}
	*m = nm
	return nil
}
