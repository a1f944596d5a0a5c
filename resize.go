package mmap

import (
	"errors"
	"fmt"
	"math"
	"os"
)

// Resize: the mapping grown or shrunk in place where the system can, moved
// by copying where it cannot, with the file grown first and cut back on
// failure.

// Resize changes the length of the mapping *m to n bytes, keeping its
// contents up to the shorter of the two lengths. *m must be the slice that
// Map returned, as for Unmap; on success it is replaced by the new slice, and
// the old one and every slice derived from it are invalid, since the mapping
// may have moved. An empty MMap maps nothing, so it has nothing to resize:
// Resize of it is ErrNotMapped (map the file anew instead).
//
// Linux, with cgo or without: mremap(MREMAP_MAYMOVE), in place when the
// address space after the mapping is free, moved otherwise, without copying
// through user space. Elsewhere (macOS, the BSDs, Windows): a new mapping
// made with the same prot and flags, the old one's private contents copied
// across (anonymous memory, a COPY mapping's writes), then the old one
// unmapped; pages that Protect changed get the mapping's own protection
// back.
//
// A mapping made by MapRegionMax stays where it is for any length up to its
// maximum: longer, Resize is Grow; shorter, the pages past the new end go
// back to the reservation, where a later Grow or Resize maps them again
// (Windows: the views wholly past the new end; a view cannot be cut). Past
// the maximum it moves as above, the whole old reservation is released,
// and the moved mapping has no maximum (Grow then says ErrWouldMove).
//
// For a file mapping, f must be the file it maps. A length that reaches past
// the end of f is an error wrapping ErrInvalidLength unless extend is set;
// then f is grown to cover it (f.Truncate: f must be open for writing). For
// an anonymous mapping f and extend are ignored. A Resize that fails changes
// nothing: the mapping stays as it was, and a file it grew is cut back to
// its old size.
func (m *MMap) Resize(f *os.File, n int, extend bool) error {
	if n <= 0 {
		return fmt.Errorf("%w: Resize to %d bytes (Unmap to drop a mapping)", ErrInvalidLength, n)
	}
	r := exact(*m)
	if r == nil {
		return fmt.Errorf("%w: Resize needs the slice that Map returned", ErrNotMapped)
	}
	if r.flags&ANON != 0 {
		return m.resize(r, n, nil, 0, 0)
	}
	if f == nil {
		return fmt.Errorf("%w: Resize of a file mapping needs its file", ErrNoFile)
	}
	return withLength(f, r, n, extend, "resize", func(fd uintptr, size int64) error {
		return m.resize(r, n, f, fd, size)
	})
}

// withLength runs fn with f's descriptor and size once f holds n bytes of
// r from r's offset: past the end of f is an error wrapping
// ErrInvalidLength unless extend, which grows f first and cuts it back to
// its old size if fn fails. Resize and Grow share it.
func withLength(f *os.File, r *region, n int, extend bool, op string, fn func(fd uintptr, size int64) error) error {
	if uint64(r.offset)+uint64(n) > math.MaxInt64 {
		return fmt.Errorf("%w: offset %d + length %d overflows int64", ErrInvalidLength, r.offset, n)
	}
	return withFile(f, op, func(fd uintptr) error {
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		size, end := fi.Size(), r.offset+int64(n)
		grow := end > size
		if grow && !extend {
			return fmt.Errorf("%w: %d bytes from offset %d pass the end of %s (size %d); pass extend to grow the file", ErrInvalidLength, n, r.offset, f.Name(), size)
		}
		// Grown first: Windows cannot map a read-only view past the end.
		if grow {
			if err := f.Truncate(end); err != nil {
				return err
			}
		}
		err = fn(fd, size)
		if err != nil && grow {
			if cut := f.Truncate(size); cut != nil {
				err = errors.Join(err, fmt.Errorf("mmap: putting %s back to its %d bytes: %w", f.Name(), size, cut))
			}
		}
		return err
	})
}

// resize moves r, the mapping *m is the view of, to n bytes; f (open as fd,
// size bytes long before Resize grew it) is its file, nil for anonymous
// memory. On failure r stays mapped and registered.
func (m *MMap) resize(r *region, n int, f *os.File, fd uintptr, size int64) error {
	if r.limit != 0 && r.holds(n) {
		return m.inPlace(r, n, f, fd)
	}
	// Out of the registry before mremap frees the old range, so that a
	// mapping another goroutine gets there is never confused with it.
	if _, err := unregister(*m); err != nil {
		return err
	}
	nr, err := osRemap(r, n)
	if errors.Is(err, errors.ErrUnsupported) {
		nr, err = remapByCopy(r, n, f, fd, size)
	}
	if err != nil {
		register(r) // still mapped where it was
		return err
	}
	*m = register(nr)
	return nil
}

// remapByCopy resizes where the system cannot: map anew with r's prot and
// flags, copy what only r holds, unmap r. Only anonymous memory and a COPY
// mapping's private writes need the copy; a shared or read-only file map
// shows the file's own pages. On failure r is as it was.
func remapByCopy(r *region, n int, f *os.File, fd uintptr, size int64) (*region, error) {
	var nr *region
	var err error
	if f == nil {
		nr, err = mapAnon(n, r.prot, r.flags)
	} else {
		nr, err = mapAt(f, fd, r.offset, n, r.prot, r.flags)
	}
	if err != nil {
		return nil, err
	}
	if r.prot&(RDWR|COPY) != 0 && (f == nil || r.prot&COPY != 0) {
		keep := min(r.len, n)
		if f != nil {
			// Pages past the end of the file held nothing, and fault.
			keep = int(min(int64(keep), max(0, size-r.offset)))
		}
		old := r.data()[:keep]
		if _, err := copyGuarded(nr.data(), old, old, reading); err != nil {
			osUnmap(nr)
			return nil, err
		}
	}
	if err := osUnmap(r); err != nil {
		osUnmap(nr)
		return nil, err
	}
	return nr, nil
}
