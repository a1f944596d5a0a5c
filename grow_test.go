package mmap

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"unsafe"
)

// Growth in place, on every platform with a backend. What the kernel sees
// (the reservation in /proc/self/maps, hints on the grown part, hugetlb
// pages) is checked in grow_linux_test.go.

// mapMaxOrSkip is MapRegionMax, failing the test on error, except where the
// system documents it as unsupported: Windows without placeholders (Wine
// 8), and macOS and the BSDs without cgo.
func mapMaxOrSkip(t testing.TB, f *os.File, length, max, prot, flags int, off int64) MMap {
	t.Helper()
	m, err := MapRegionMax(f, length, max, prot, flags, off)
	if errors.Is(err, errors.ErrUnsupported) && (runtime.GOOS == "windows" || runtime.GOOS != "linux" && Backend() == "syscall") {
		t.Skipf("MapRegionMax is documented as unsupported here (%s, backend %s): %v", runtime.GOOS, Backend(), err)
	}
	if err != nil {
		t.Fatalf("MapRegionMax(len %d, max %d, prot %d, flags %#x, off %d): %v", length, max, prot, flags, off, err)
	}
	return m
}

func mustGrow(t testing.TB, m *MMap, f *os.File, n int, extend bool) {
	t.Helper()
	base := &(*m)[0]
	if err := m.Grow(f, n, extend); err != nil {
		t.Fatalf("Grow from %d to %d bytes: %v", len(*m), n, err)
	}
	if len(*m) != n || cap(*m) != n {
		t.Fatalf("after Grow to %d: len %d cap %d", n, len(*m), cap(*m))
	}
	if &(*m)[0] != base {
		t.Fatalf("Grow moved the mapping from %p to %p", base, &(*m)[0])
	}
}

func TestGrowAnonymousInPlace(t *testing.T) {
	before := liveMappings()
	m := mapMaxOrSkip(t, nil, page+100, 64*page, RDWR, ANON, 0)
	for i := range m {
		m[i] = byte(i)
	}
	held := m[10:]             // a reader's slice: keeps the old end as its capacity
	cut, err := m.Range(0, 50) // and one whose capacity was cut
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{page + 101, 2 * page, 10*page + 5, 64 * page} {
		mustGrow(t, &m, nil, n, false)
		for i := range page + 100 {
			if m[i] != byte(i) {
				t.Fatalf("after Grow to %d, byte %d is %d; want %d", n, i, m[i], byte(i))
			}
		}
		m[n-1] = 0xAB // the new end is mapped and writable
		// The old slices still belong to the mapping.
		if info, err := held.Info(); err != nil || info.Kind != BasePages {
			t.Fatalf("a slice held across Grow: Info %+v, %v", info, err)
		}
		if err := cut.Lock(); err != nil {
			t.Fatalf("a cut slice held across Grow: Lock: %v", err)
		}
		if held[0] != 10 || cut[49] != 49 {
			t.Fatal("a slice held across Grow reads other bytes")
		}
	}
	for i := page + 100; i < 64*page-1; i++ {
		if m[i] != 0 && m[i] != 0xAB {
			t.Fatalf("grown anonymous byte %d is %#x; want zero", i, m[i])
		}
	}
	if err := m.Grow(nil, 64*page+1, false); !errors.Is(err, ErrWouldMove) {
		t.Fatalf("Grow past max: %v; want ErrWouldMove", err)
	}
	if err := held.Unmap(); !errors.Is(err, ErrNotMapped) {
		t.Fatalf("Unmap of a held slice: %v; want ErrNotMapped", err)
	}
	mustUnmap(t, &m)
	if n := liveMappings(); n != before {
		t.Fatalf("%d live mappings after Unmap; want %d", n, before)
	}
}

func TestGrowFile(t *testing.T) {
	data := pattern(5*page + 7)
	f := tempFile(t, data, os.O_RDWR)
	m := mapMaxOrSkip(t, f, page+3, 16*page, RDWR, 0, int64(page))
	defer func() { mustUnmap(t, &m) }()
	if !bytes.Equal(m, data[page:2*page+3]) {
		t.Fatal("the first part does not hold the file's bytes")
	}
	mustGrow(t, &m, f, 4*page+7, false) // to the end of the file
	if !bytes.Equal(m, data[page:]) {
		t.Fatal("the grown mapping does not hold the file's bytes")
	}
	// Past the end of the file: refused without extend, and nothing changes.
	if err := m.Grow(f, 8*page, false); !errors.Is(err, ErrInvalidLength) {
		t.Fatalf("Grow past the end of the file: %v; want ErrInvalidLength", err)
	}
	if fi, _ := f.Stat(); fi.Size() != int64(len(data)) || len(m) != 4*page+7 {
		t.Fatalf("a refused Grow changed the file (%d bytes) or the slice (%d)", fi.Size(), len(m))
	}
	mustGrow(t, &m, f, 8*page, true)
	if fi, _ := f.Stat(); fi.Size() != int64(9*page) {
		t.Fatalf("Grow with extend left the file at %d bytes; want %d", fi.Size(), 9*page)
	}
	copy(m[7*page:], "grown")
	got := make([]byte, 5)
	if _, err := f.ReadAt(got, int64(8*page)); err != nil || string(got) != "grown" {
		t.Fatalf("a write to the grown part reads back from the file as %q (%v)", got, err)
	}
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := m.Grow(nil, 9*page, true); !errors.Is(err, ErrNoFile) {
		t.Fatalf("Grow of a file mapping without its file: %v; want ErrNoFile", err)
	}
}

// COPY keeps private writes private in the grown part too; a read-only
// mapping grows read-only.
func TestGrowCopyAndReadOnly(t *testing.T) {
	data := pattern(8 * page)
	f := tempFile(t, data, os.O_RDONLY)
	for _, prot := range []int{COPY, RDONLY} {
		m := mapMaxOrSkip(t, f, page, 8*page, prot, 0, 0)
		mustGrow(t, &m, f, 6*page+1, false)
		if !bytes.Equal(m, data[:6*page+1]) {
			t.Fatalf("prot %d: the grown mapping does not hold the file's bytes", prot)
		}
		if prot == COPY {
			m[5*page] ^= 0xFF
			got := make([]byte, 1)
			f.ReadAt(got, int64(5*page))
			if got[0] != data[5*page] {
				t.Fatal("a COPY write to the grown part reached the file")
			}
		} else if err := writeFaults(m[5*page:]); err == nil {
			t.Fatal("the grown part of a read-only mapping is writable")
		}
		mustUnmap(t, &m)
	}
}

func TestGrowUnalignedOffset(t *testing.T) {
	data := pattern(6 * page)
	f := tempFile(t, data, os.O_RDWR)
	const off = 3*4096 + 123 // not a multiple of any page size, nor of 64 KiB
	m := mapMaxOrSkip(t, f, 10, 5*page, RDWR, UNALIGNED, off)
	defer func() { mustUnmap(t, &m) }()
	mustGrow(t, &m, f, len(data)-off, false)
	if !bytes.Equal(m, data[off:]) {
		t.Fatal("an unaligned mapping grown to the end of the file does not hold the file's bytes")
	}
	if err := m.Grow(f, 5*page+1, true); !errors.Is(err, ErrWouldMove) {
		t.Fatalf("Grow past max with an unaligned offset: %v; want ErrWouldMove", err)
	}
}

// A Grow whose map fails after the file was extended puts the file back
// and changes nothing: f2 names the same file, open write-only, which
// Truncate accepts and mmap refuses (EACCES on Unix).
func TestFailedGrowLeavesEverythingAlone(t *testing.T) {
	data := pattern(2 * page)
	f := tempFile(t, data, os.O_RDWR)
	m := mapMaxOrSkip(t, f, 2*page, 16*page, RDWR, 0, 0)
	defer func() { mustUnmap(t, &m) }()
	f2, err := os.OpenFile(f.Name(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	before, live := m, liveMappings()
	if err := m.Grow(f2, 8*page, true); err == nil {
		t.Fatal("Grow through a write-only file succeeded")
	}
	if fi, _ := f.Stat(); fi.Size() != int64(2*page) {
		t.Fatalf("after a failed Grow the file has %d bytes; want %d", fi.Size(), 2*page)
	}
	if len(m) != 2*page || &m[0] != &before[0] || !bytes.Equal(m, data) || liveMappings() != live {
		t.Fatal("a failed Grow changed the mapping or the registry")
	}
	mustGrow(t, &m, f, 3*page, true) // the reservation is still whole
}

func TestGrowRefusesBadInput(t *testing.T) {
	f := tempFile(t, pattern(4*page), os.O_RDWR)
	m := mapMaxOrSkip(t, f, page, 4*page, RDWR, 0, 0)
	defer func() { mustUnmap(t, &m) }()
	plain := mustMap(t, f, page, RDWR, 0, 0)
	defer func() { mustUnmap(t, &plain) }()
	var empty MMap
	for _, c := range []struct {
		name string
		m    *MMap
		n    int
		want error
	}{
		{"same length", &m, page, ErrInvalidLength},
		{"shorter", &m, 1, ErrInvalidLength},
		{"negative", &m, -1, ErrInvalidLength},
		{"past max", &m, 4*page + 1, ErrWouldMove},
		{"huge", &m, math.MaxInt, ErrWouldMove},
		{"made without a maximum", &plain, 2 * page, ErrWouldMove},
		{"derived slice", func() *MMap { d := m[:page-1]; return &d }(), 2 * page, ErrNotMapped},
		{"cut capacity", func() *MMap { d := m[: page-1 : page-1]; return &d }(), 2 * page, ErrNotMapped},
		{"nil", &empty, 2 * page, ErrNotMapped},
	} {
		if err := c.m.Grow(f, c.n, true); !errors.Is(err, c.want) {
			t.Errorf("Grow, %s: %v; want %v", c.name, err, c.want)
		}
	}
	if len(m) != page {
		t.Fatal("a refused Grow changed the slice")
	}
	if fi, _ := f.Stat(); fi.Size() != int64(4*page) {
		t.Fatalf("a refused Grow changed the file to %d bytes", fi.Size())
	}
}

// Resize of a mapping with a maximum: in place within it (longer is Grow,
// shorter gives the tail back to the reservation), moved past it, and the
// moved mapping has no maximum left.
func TestResizeWithinAndPastMax(t *testing.T) {
	for _, anon := range []bool{true, false} {
		var f *os.File
		flags := 0
		if anon {
			flags = ANON
		} else {
			f = tempFile(t, pattern(32*page), os.O_RDWR)
		}
		m := mapMaxOrSkip(t, f, 2*page, 8*page, RDWR, flags, 0)
		copy(m, pattern(2*page))
		base := &m[0]
		for _, n := range []int{6 * page, page + 1, 8 * page, 3 * page} {
			if err := m.Resize(f, n, false); err != nil {
				t.Fatalf("anon %v: Resize to %d within max: %v", anon, n, err)
			}
			if &m[0] != base || len(m) != n {
				t.Fatalf("anon %v: Resize to %d within max moved the mapping or gave %d bytes", anon, n, len(m))
			}
			if !bytes.Equal(m[:page+1], pattern(2 * page)[:page+1]) {
				t.Fatalf("anon %v: Resize to %d lost the contents", anon, n)
			}
		}
		if anon && m[2*page] != 0 {
			t.Fatal("anonymous bytes given back by a shrink came back nonzero")
		}
		m[3*page-1] = 7
		if err := m.Resize(f, 20*page, false); err != nil {
			t.Fatalf("anon %v: Resize past max: %v", anon, err)
		}
		if len(m) != 20*page || m[3*page-1] != 7 || !bytes.Equal(m[:page+1], pattern(2 * page)[:page+1]) {
			t.Fatalf("anon %v: Resize past max lost the contents", anon)
		}
		m[20*page-1] = 1
		if err := m.Grow(f, 21*page, false); !errors.Is(err, ErrWouldMove) {
			t.Fatalf("anon %v: Grow after a moving Resize: %v; want ErrWouldMove", anon, err)
		}
		mustUnmap(t, &m)
	}
}

// Readers keep reading and looking up the slices they hold while the
// mapping grows under them, many times over; under -race this also checks
// that the registry's swap publishes the new node safely.
func TestGrowWhileReadersHoldSlices(t *testing.T) {
	const start, step, steps = 4096, 4096, 64
	m := mapMaxOrSkip(t, nil, start, start+step*steps, RDWR, ANON, 0)
	defer func() { mustUnmap(t, &m) }()
	for i := range m {
		m[i] = byte(i % 251)
	}
	held := m // each reader reads this slice: the first start bytes
	base := &m[0]
	var stop atomic.Bool
	var lookups atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for i := 0; !stop.Load(); i++ {
				off := (i*97 + g*13) % (start - 64)
				var err error
				switch i % 4 {
				case 0:
					_, err = held.ReadAt(buf, int64(off))
				case 1:
					_, err = held[off:].Info()
					copy(buf, held[off:off+64])
				case 2:
					var r MMap
					if r, err = held.Range(off, 64); err == nil {
						_, err = r.Info()
						copy(buf, r)
					}
				case 3:
					_, err = held[off:off+64].ReadAt(buf, 0)
				}
				if err == nil {
					for j, b := range buf {
						if b != byte((off+j)%251) {
							err = errors.New("a reader read a wrong byte")
							break
						}
					}
				}
				if err != nil {
					errs <- err
					return
				}
				lookups.Add(1)
			}
		}()
	}
	for s := 1; s <= steps; s++ {
		mustGrow(t, &m, nil, start+s*step, false)
		if &m[0] != base {
			t.Fatal("the base moved")
		}
		m[len(m)-1] = 1
		runtime.Gosched()
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a reader of a slice held across %d Grows: %v", steps, err)
	}
	t.Logf("%d lookups and reads across %d Grows", lookups.Load(), steps)
}

// growCases: TestBadInputTable's cases for MapRegionMax and Grow. Each is
// refused before anything is reserved or the file is touched, on every
// backend, those without MapRegionMax too.
func (b *badInputs) growCases() {
	for name, m := range map[string]*MMap{"anonymous map": &b.anon, "file map": &b.file, "read-only map": &b.roMap} {
		b.add("Grow of a "+name+" made without a maximum", func() error { return m.Grow(b.rw, 3*page, true) }, ErrWouldMove)
		b.add("Grow of a "+name+" to MaxInt", func() error { return m.Grow(b.rw, math.MaxInt, true) }, ErrWouldMove)
		for _, n := range []int{math.MinInt, -1, 0, len(*m)} {
			b.add(fmt.Sprintf("Grow of a %s to %d", name, n), func() error { return m.Grow(b.rw, n, true) }, ErrInvalidLength)
		}
	}
	for name, m := range map[string]MMap{"stale": b.stale, "stale slice": b.staleSlice, "foreign": b.foreign, "empty": b.emptyMap, "nil": nil, "derived": b.file[:page], "cut": b.file[: page : page+1]} {
		b.add("Grow of "+name, func() error { return m.Grow(b.rw, 4*page, true) }, ErrNotMapped)
	}

	b.add("MapRegionMax(nil file)", maxCall(nil, page, 2*page, RDWR, 0, 0), ErrNoFile)
	for _, l := range []int{-1, page} {
		b.add(fmt.Sprintf("MapRegionMax(closed file, len %d)", l), maxCall(b.closed, l, 2*page, RDONLY, 0, 0), os.ErrClosed)
	}
	b.add("MapRegionMax(directory, whole file)", maxCall(b.d, -1, 2*page, RDONLY, 0, 0), syscall.EISDIR)
	b.add("MapRegionMax(len 0)", maxCall(b.rw, 0, 2*page, RDONLY, 0, 0), ErrInvalidLength)
	for _, l := range []int{0, -1, math.MinInt} {
		b.add(fmt.Sprintf("MapRegionMax(ANON, len %d)", l), maxCall(nil, l, 2*page, RDWR, ANON, 0), ErrInvalidLength)
	}
	for _, max := range []int{math.MinInt, -1, 0, page - 1} {
		b.add(fmt.Sprintf("MapRegionMax(max %d below len)", max), maxCall(b.rw, page, max, RDONLY, 0, 0), ErrInvalidLength)
		b.add(fmt.Sprintf("MapRegionMax(ANON, max %d below len)", max), maxCall(nil, page, max, RDWR, ANON, 0), ErrInvalidLength)
	}
	b.add("MapRegionMax(whole file, max below its size)", maxCall(b.rw, -1, page, RDONLY, 0, 0), ErrInvalidLength)
	b.add("MapRegionMax(offset+max overflows int64)", maxCall(b.rw, page, math.MaxInt, RDONLY, 0, math.MaxInt64&^int64(page-1)), ErrInvalidLength)
	b.add("MapRegionMax(UNALIGNED: max MaxInt from the page below)", maxCall(b.rw, page, math.MaxInt, RDONLY, UNALIGNED, 1), ErrInvalidLength)
	if strconv.IntSize == 64 {
		b.add("MapRegionMax(offset page + max MaxInt overflows int64)", maxCall(b.rw, page, math.MaxInt, RDONLY, 0, int64(page)), ErrInvalidLength)
	}
	for _, off := range []int64{-1, math.MinInt64, 1, int64(page) + 1} {
		b.add(fmt.Sprintf("MapRegionMax(offset %d)", off), maxCall(b.rw, page, 2*page, RDONLY, 0, off), ErrInvalidOffset)
	}
	b.add("MapRegionMax(whole file from past the end)", maxCall(b.rw, -1, 2*page, RDONLY, 0, 3*int64(page)), ErrInvalidOffset)
	for _, prot := range []int{-1, 16, RDWR | COPY} {
		b.add(fmt.Sprintf("MapRegionMax(prot %#x)", prot), maxCall(b.rw, page, 2*page, prot, 0, 0), ErrInvalidProt)
	}
	for _, flags := range []int{-1, 1 << 30, LOCK | LOCK_ONFAULT, HUGE_1GB} {
		b.add(fmt.Sprintf("MapRegionMax(ANON, flags %#x)", flags), maxCall(nil, page, 2*page, RDWR, flags|ANON, 0), ErrInvalidFlags)
	}
}

// maxCall is mapCall for MapRegionMax.
func maxCall(f *os.File, length, max, prot, flags int, off int64) func() error {
	return func() error {
		m, err := MapRegionMax(f, length, max, prot, flags, off)
		if err == nil {
			m.Unmap()
			return nil
		}
		if m != nil {
			return fmt.Errorf("a %d-byte MMap returned with the error %w", len(m), err)
		}
		return err
	}
}

// TestRegionCloneCopiesEveryField: Grow and Resize copy a region with
// clone, which names each field so as to read unlocked atomically; a field
// added to region and not to clone fails here.
func TestRegionCloneCopiesEveryField(t *testing.T) {
	var r region
	v := reflect.ValueOf(&r).Elem()
	for i := range v.NumField() {
		fillNonZero(t, v.Type().Field(i).Name, settable(v.Field(i)))
	}
	c := r.clone()
	cv := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if name == "slot" || name == "pair" {
			continue // the registry node and allocation of the region it was cloned from
		}
		if got, want := settable(cv.Field(i)).Interface(), settable(v.Field(i)).Interface(); !reflect.DeepEqual(got, want) {
			t.Errorf("clone copied region.%s as %v; want %v", name, got, want)
		}
	}
}

// settable is v, an unexported field, made readable and settable.
func settable(v reflect.Value) reflect.Value {
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

// fillNonZero gives v, and every field of a struct v, a value that is not
// the zero of its type.
func fillNonZero(t *testing.T, name string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fillNonZero(t, name+"."+v.Type().Field(i).Name, settable(v.Field(i)))
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(7)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
	case reflect.UnsafePointer:
		v.SetPointer(unsafe.Pointer(new(byte)))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
	default:
		t.Fatalf("region.%s: a %v; teach fillNonZero its kind", name, v.Kind())
	}
}

// TestGrowRacesUnlock: an Unlock of a mapping may run while it grows
// (only Unmap, Resize and another Grow may not); under -race a plain copy
// of the region in Grow was a data race with Unlock's store.
func TestGrowRacesUnlock(t *testing.T) {
	const start, steps = 4096, 16
	m := mapMaxOrSkip(t, nil, start, start*(steps+1), RDWR, ANON, 0)
	defer func() { mustUnmap(t, &m) }()
	head := m[:start]
	var wg sync.WaitGroup
	var stop atomic.Bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if err := head.Unlock(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 2; i <= steps+1; i++ {
		if err := m.Grow(nil, i*start, false); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
}
