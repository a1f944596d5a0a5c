package mmap

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"testing"
	"unsafe"
)

// Tests of As, the typed view. Portable: they run on every backend, under
// Wine and with CGO_ENABLED=0.

type viewRecord struct {
	ID    uint32
	Flags uint16
	_     uint16
	Score float64
	Tags  [2]int32
}

func TestAsSeesTheFileInNativeOrder(t *testing.T) {
	const n = 3 * 1024 // floats, 12 KiB: three pages, not a round number of them
	data := make([]byte, 4*n)
	for i := range n {
		binary.NativeEndian.PutUint32(data[4*i:], math.Float32bits(float32(i)*0.5))
	}
	f := tempFile(t, data, os.O_RDWR)
	m := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &m)

	v, err := As[float32](m)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != n || cap(v) != n {
		t.Fatalf("len %d cap %d; want %d", len(v), cap(v), n)
	}
	if unsafe.Pointer(&v[0]) != unsafe.Pointer(&m[0]) {
		t.Fatal("the view is not over the mapping's memory")
	}
	for i, x := range v {
		if x != float32(i)*0.5 {
			t.Fatalf("v[%d] = %v; want %v", i, x, float32(i)*0.5)
		}
	}
	// Writes through the view are the mapping's bytes, and reach the file.
	v[7] = -1.25
	if got := math.Float32frombits(binary.NativeEndian.Uint32(m[28:])); got != -1.25 {
		t.Fatalf("m[28:32] holds %v after v[7] = -1.25", got)
	}
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, 4)
	if _, err := f.ReadAt(back, 28); err != nil {
		t.Fatal(err)
	}
	if got := math.Float32frombits(binary.NativeEndian.Uint32(back)); got != -1.25 {
		t.Fatalf("the file holds %v at byte 28; want -1.25", got)
	}
}

func TestAsOnSubSlicesAndStructs(t *testing.T) {
	m := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)

	// An offset view, through a two-index slice and through Range (whose
	// capacity is cut, so the registry finds it another way).
	tail, err := As[uint64](m[page:])
	if err != nil || len(tail) != page/8 {
		t.Fatalf("As[uint64](m[page:]) = %d values, %v", len(tail), err)
	}
	tail[0] = 0x0102030405060708
	if binary.NativeEndian.Uint64(m[page:]) != 0x0102030405060708 {
		t.Fatal("tail[0] is not m[page:page+8]")
	}
	r, err := m.Range(16, 64)
	if err != nil {
		t.Fatal(err)
	}
	mid, err := As[uint32](r)
	if err != nil || len(mid) != 16 || unsafe.Pointer(&mid[0]) != unsafe.Pointer(&m[16]) {
		t.Fatalf("As[uint32] of Range(16, 64) = %d values, %v", len(mid), err)
	}

	// A pointer-free struct, with padding and arrays.
	size := int(unsafe.Sizeof(viewRecord{}))
	recs, err := As[viewRecord](m[:size*10])
	if err != nil || len(recs) != 10 {
		t.Fatalf("As[viewRecord] = %d, %v", len(recs), err)
	}
	recs[9].Score = 2.5
	if *(*float64)(unsafe.Pointer(&m[9*size+int(unsafe.Offsetof(viewRecord{}.Score))])) != 2.5 {
		t.Fatal("recs[9].Score is not where Go lays it out in m")
	}
	// Every other pointer-free kind.
	for name, err := range map[string]error{
		"bool":       errOf(As[bool](m)),
		"int":        errOf(As[int](m)),
		"uintptr":    errOf(As[uintptr](m)),
		"complex128": errOf(As[complex128](m)),
		"[4]int16":   errOf(As[[4]int16](m)),
		"[0]*int in a struct": errOf(As[struct { // 16 bytes, or 12 on 386 and arm
			A int64
			_ [0]*int
		}](m[:48])),
	} {
		if err != nil {
			t.Errorf("As[%s]: %v", name, err)
		}
	}
}

func errOf[T any](_ []T, err error) error { return err }

func TestAsRefusesPointersAndZeroSize(t *testing.T) {
	m := mustMap(t, nil, page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	m[0] = 0xAA
	for _, target := range []MMap{m, m[:0], nil} {
		for name, err := range map[string]error{
			"*int":           errOf(As[*int](target)),
			"unsafe.Pointer": errOf(As[unsafe.Pointer](target)),
			"string":         errOf(As[string](target)),
			"[]byte":         errOf(As[[]byte](target)),
			"map[int]int":    errOf(As[map[int]int](target)),
			"chan int":       errOf(As[chan int](target)),
			"func()":         errOf(As[func()](target)),
			"any":            errOf(As[any](target)),
			"error":          errOf(As[error](target)),
			"[1]*int":        errOf(As[[1]*int](target)),
			"struct with *int": errOf(As[struct {
				A, B int64
				P    *int
			}](target)),
			"nested string": errOf(As[struct{ In [2]struct{ S string } }](target)),
			"struct{}":      errOf(As[struct{}](target)),
			"[0]int64":      errOf(As[[0]int64](target)),
			"[4]struct{}":   errOf(As[[4]struct{}](target)),
		} {
			if !errors.Is(err, ErrInvalidType) {
				t.Errorf("As[%s] of %d bytes: got %v, want ErrInvalidType", name, len(target), err)
			}
		}
	}
	if m[0] != 0xAA {
		t.Fatal("a refused As changed the mapping")
	}
}

func TestAsRefusesMisalignmentAndPartialValues(t *testing.T) {
	m := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	align := int(unsafe.Alignof(uint64(0))) // 8, or 4 on 386 and arm
	for off := 1; off < 8; off++ {
		if _, err := As[uint64](m[off:]); off%align != 0 && !errors.Is(err, ErrMisaligned) {
			t.Errorf("As[uint64](m[%d:]): got %v, want ErrMisaligned", off, err)
		}
		if v, err := As[byte](m[off:]); err != nil || len(v) != 2*page-off {
			t.Errorf("As[byte](m[%d:]) = %d, %v", off, len(v), err)
		}
	}
	if _, err := As[uint16](m[2:]); err != nil {
		t.Errorf("As[uint16](m[2:]): %v", err)
	}
	for _, n := range []int{1, 3, 7, 9, page - 1} {
		if _, err := As[uint64](m[:n]); !errors.Is(err, ErrInvalidLength) {
			t.Errorf("As[uint64](m[:%d]): got %v, want ErrInvalidLength", n, err)
		}
	}
	if _, err := As[[3]byte](m[:2*page-1]); !errors.Is(err, ErrInvalidLength) {
		t.Errorf("As[[3]byte] of %d bytes: got %v, want ErrInvalidLength", 2*page-1, err)
	}
	if v, err := As[[3]byte](m[:2*page-2]); err != nil || len(v) != (2*page-2)/3 {
		t.Errorf("As[[3]byte] of %d bytes = %d, %v", 2*page-2, len(v), err)
	}

	// An UNALIGNED map at a file offset of 3 starts 3 bytes into a page.
	f := tempFile(t, pattern(2*page), os.O_RDONLY)
	u := mustMap(t, f, page, RDONLY, UNALIGNED, 3)
	defer mustUnmap(t, &u)
	if _, err := As[uint32](u); !errors.Is(err, ErrMisaligned) {
		t.Errorf("As[uint32] of an UNALIGNED map at offset 3: got %v, want ErrMisaligned", err)
	}
	if v, err := As[uint32](u[1 : page-3]); err != nil || len(v) != (page-4)/4 {
		t.Errorf("As[uint32](u[1:page-3]) = %d, %v", len(v), err)
	} else if want := binary.NativeEndian.Uint32(pattern(2 * page)[4:]); v[0] != want {
		t.Errorf("As[uint32](u[1:page-3])[0] = %#x; want the file's bytes 4..8, %#x", v[0], want)
	}
}

func TestAsRefusesForeignAndUnmappedMemory(t *testing.T) {
	m := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	// Past the end: a header that reaches a page beyond the mapping (never
	// touched).
	past := unsafe.Slice(&m[page], 2*page)
	gone := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	stale, staleTail := gone, gone[page:]
	mustUnmap(t, &gone)
	for name, s := range map[string]MMap{
		"Go memory":          make(MMap, 64),
		"past the end":       past,
		"unmapped":           stale,
		"unmapped sub-slice": staleTail,
	} {
		if _, err := As[uint32](s); !errors.Is(err, ErrNotMapped) {
			t.Errorf("As[uint32] of %s: got %v, want ErrNotMapped", name, err)
		}
	}
}

func TestAsOfEmptyIsEmpty(t *testing.T) {
	f := tempFile(t, nil, os.O_RDWR)
	empty := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &empty)
	m := mustMap(t, nil, page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	for what, e := range map[string]MMap{"empty MMap": empty, "empty slice of a mapping": m[3:3], "nil": nil} {
		v, err := As[float64](e)
		if err != nil || v == nil || len(v) != 0 {
			t.Errorf("As[float64] of the %s = %v (nil %t), %v; want an empty view, nil", what, v, v == nil, err)
		}
	}
}

// Every offset and length over a small mapping: an error or a view that
// matches, never a panic.
func TestAsNeverPanics(t *testing.T) {
	m := mustMap(t, nil, page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	align := int(unsafe.Alignof(uint64(0)))
	for off := 0; off <= 40; off++ {
		for n := 0; off+n <= 48; n++ {
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("As[uint64](m[%d:%d]) panicked: %v", off, off+n, p)
					}
				}()
				v, err := As[uint64](m[off : off+n])
				switch {
				case n == 0:
					if err != nil || len(v) != 0 {
						t.Errorf("As[uint64](m[%d:%d]) = %d, %v", off, off+n, len(v), err)
					}
				case off%align != 0:
					if !errors.Is(err, ErrMisaligned) {
						t.Errorf("As[uint64](m[%d:%d]): %v; want ErrMisaligned", off, off+n, err)
					}
				case n%8 != 0:
					if !errors.Is(err, ErrInvalidLength) {
						t.Errorf("As[uint64](m[%d:%d]): %v; want ErrInvalidLength", off, off+n, err)
					}
				case err != nil || len(v) != n/8:
					t.Errorf("As[uint64](m[%d:%d]) = %d, %v", off, off+n, len(v), err)
				}
			}()
		}
	}
}
