package mmap

import (
	"fmt"
	"reflect"
	"unsafe"
)

// Typed views: a mapping's bytes seen as a slice of fixed-size values,
// with the checks that make that safe done once, at the view's making.

// As returns the bytes of m as a []T over the same memory, with no copy:
// len(view) == cap(view) == len(m)/size of T. m may be the whole mapping or
// any sub-slice of a live mapping; a view at an offset is As[T](m[off:]).
//
// It refuses, with an error and never a panic:
//   - a T that holds pointers (pointers, strings, slices, maps, channels,
//     funcs, interfaces, unsafe.Pointer, anywhere in it) or has size 0:
//     ErrInvalidType. The garbage collector does not scan mappings, so a
//     pointer stored there would not keep its target alive;
//   - an m whose first byte is not on a multiple of T's alignment:
//     ErrMisaligned (a mapping starts page aligned; an offset into it, or
//     an UNALIGNED map, may not be);
//   - a length that is not a whole number of Ts: ErrInvalidLength;
//   - memory that no live mapping of this package holds: ErrNotMapped.
//
// An empty m, such as the MMap of an empty file, gives an empty view and no
// error (after the check of T).
//
// The values are in the machine's native byte order, and their layout is
// Go's for T on this platform: a file written by another machine or program
// must agree on both. The view is plain memory, like m itself: indexing it
// has no fault protection (a page past the end of a truncated file kills
// the process with SIGBUS; run scans that may fault inside [MMap.Guard]),
// writes to a read-only mapping fault, and the view dangles once the
// mapping is unmapped.
func As[T any](m MMap) ([]T, error) {
	var zero T
	size, align := unsafe.Sizeof(zero), unsafe.Alignof(zero)
	if size == 0 {
		return nil, fmt.Errorf("%w: %v has size 0", ErrInvalidType, reflect.TypeFor[T]())
	}
	if hasPointers(reflect.TypeFor[T]()) {
		return nil, fmt.Errorf("%w: %v holds pointers, which cannot live in mapped memory", ErrInvalidType, reflect.TypeFor[T]())
	}
	if len(m) == 0 {
		return []T{}, nil
	}
	if r, _ := lookup(m); r == nil {
		return nil, notInside(m)
	}
	if p := addr(m); p%align != 0 {
		return nil, fmt.Errorf("%w: %v needs %d-byte alignment; the bytes start at %#x", ErrMisaligned, reflect.TypeFor[T](), align, p)
	}
	if uintptr(len(m))%size != 0 {
		return nil, fmt.Errorf("%w: %d bytes are not a whole number of %d-byte %v", ErrInvalidLength, len(m), size, reflect.TypeFor[T]())
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(m))), uintptr(len(m))/size), nil
}

// hasPointers reports whether a value of type t holds anything the garbage
// collector would trace. Go offers no public query for this, so it walks
// the type: only numbers, bools, and arrays and structs of them are free of
// pointers.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true // pointer, unsafe.Pointer, string, slice, map, chan, func, interface
}
