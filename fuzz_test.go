package mmap

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"testing"
)

// Fuzz targets over the argument space of MapRegion, of every range method
// through Range, and of Resize. Their seed corpora (testdata/fuzz/FuzzXxx)
// run as ordinary tests with go test; CI runs each target briefly with
//
//	go test -run '^$' -fuzz '^FuzzMapRegion$' -fuzztime 10s .
//	go test -run '^$' -fuzz '^FuzzRangeOps$' -fuzztime 10s .
//	go test -run '^$' -fuzz '^FuzzResize$' -fuzztime 10s .
//
// Invariants: never a panic; on success the length and capacity are exact,
// the bytes are the file's, and Unmap works; on error nothing was left
// (registry and, on Linux, the process's maps, descriptors and locked
// memory unchanged).
//
// The inputs are bounded where the kernel would do real work on them: a
// length past 1 MiB drops POPULATE, LOCK and LOCK_ONFAULT (root may lock
// without limit, and populating a terabyte is an out-of-memory kill, not a
// bug), and bytes past the end of the file are never touched (SIGBUS).

// fuzzFile is the small real file the file maps use: two and a half
// pages, so that maps past its end and into its last partial page occur.
func fuzzFile(f *testing.F) (*os.File, []byte, string) {
	dir := f.TempDir()
	data := pattern(2*page + page/2)
	path := filepath.Join(dir, "data")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		f.Fatal(err)
	}
	file, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { file.Close() })
	return file, data, dir
}

// boundFlags keeps the expensive hints off huge lengths.
func boundFlags(length int64, flags int) int {
	if length > 1<<20 || length < -1<<20 {
		flags &^= POPULATE | LOCK | LOCK_ONFAULT
	}
	return flags
}

// probeOrNil is leakProbe where the platform has one.
func probeOrNil(t testing.TB, dir string) any {
	if leakProbe == nil {
		return nil
	}
	return leakProbe(t, dir)
}

// isKnownError reports whether err wraps one of this package's sentinels or
// a system error naming its call or file: an error a caller can act on.
func isKnownError(err error) bool {
	for _, s := range []error{ErrInvalidOffset, ErrInvalidLength, ErrInvalidProt, ErrInvalidFlags,
		ErrInvalidAdvice, ErrNoFile, ErrNotMapped, ErrNoHugetlbPages, ErrMemlockLimit, errors.ErrUnsupported} {
		if errors.Is(err, s) {
			return true
		}
	}
	// A system error: the errno in an *os.SyscallError or *fs.PathError.
	var se *os.SyscallError
	var pe *fs.PathError
	return errors.As(err, &se) || errors.As(err, &pe)
}

func FuzzMapRegion(f *testing.F) {
	file, data, dir := fuzzFile(f)
	for _, s := range []struct {
		length      int64
		prot, flags int
		offset      int64
		anon        bool
	}{
		{-1, RDONLY, 0, 0, false}, {int64(page), RDWR, 0, int64(page), false}, {10, COPY, UNALIGNED, 7, false},
		{int64(4 * page), RDONLY, POPULATE, 0, false}, {int64(page), RDWR, ANON | HUGE, 0, true},
		{0, RDWR, 0, 0, false}, {-1, RDONLY, 0, int64(3 * page), false}, {math.MaxInt64, RDONLY, 0, 0, false},
		{int64(page), RDWR | COPY, 0, 0, false}, {int64(page), RDONLY, LOCK | LOCK_ONFAULT, 0, false},
		{int64(page), RDWR, ANON | LOCK, 0, true}, {3, RDWR | EXEC, UNALIGNED | NORESERVE, int64(2*page + 1), false},
		{int64(page), RDWR, ANON | HUGETLB, 0, true}, {-5, RDWR, ANON, 0, true}, {1, 1 << 20, 0, -1, false},
	} {
		f.Add(s.length, s.prot, s.flags, s.offset, s.anon)
	}
	liveMappings() // earlier tests' dropped Readers unmap now; the bodies below count with liveCount
	f.Fuzz(func(t *testing.T, length int64, prot, flags int, offset int64, anon bool) {
		if anon {
			flags |= ANON
		} else {
			flags &^= ANON
		}
		flags = boundFlags(length, flags)
		if length > math.MaxInt || length < math.MinInt {
			length = math.MaxInt // 32-bit: the int the caller could have passed
		}
		var in *os.File
		if !anon {
			in = file
		}
		live, probe := liveCount(), probeOrNil(t, dir)
		m, err := MapRegion(in, int(length), prot, flags, offset)
		if err != nil {
			if m != nil {
				t.Fatalf("MapRegion(%d, %#x, %#x, %d): %d bytes returned with %v", length, prot, flags, offset, len(m), err)
			}
			if !isKnownError(err) {
				t.Fatalf("MapRegion(%d, %#x, %#x, %d): %v wraps neither a sentinel nor an errno", length, prot, flags, offset, err)
			}
			if liveCount() != live {
				t.Fatalf("MapRegion(%d, %#x, %#x, %d) failed (%v) and left a registry entry", length, prot, flags, offset, err)
			}
			if now := probeOrNil(t, dir); now != probe {
				t.Fatalf("MapRegion(%d, %#x, %#x, %d) failed (%v) and changed the footprint: %+v, was %+v", length, prot, flags, offset, err, now, probe)
			}
			return
		}
		want := int(length)
		if length < 0 && !anon {
			want = len(data) - int(offset)
		}
		if len(m) != want || cap(m) != want || m == nil {
			t.Fatalf("MapRegion(%d, %#x, %#x, %d): len %d cap %d nil %v; want %d", length, prot, flags, offset, len(m), cap(m), m == nil, want)
		}
		if anon {
			if len(m) > 0 {
				// A successful anonymous map is memory: touching it must not
				// fault (a hugetlb map without pages would: SIGBUS).
				if err := faults(func() {
					if m[0] != 0 || m[len(m)-1] != 0 {
						t.Error("anonymous map not zeroed")
					}
				}); err != nil {
					info, _ := m.Info()
					pools, _ := HugetlbPools()
					m.Unmap()
					t.Fatalf("MapRegion(%d, %#x, %#x) succeeded (Info %+v; hugetlb pools %+v) but reading it faults: %v",
						length, prot, flags, info, pools, err)
				}
			}
		} else if offset < int64(len(data)) {
			// The bytes that lie in the file are the file's.
			n := min(len(m), len(data)-int(offset))
			if !bytes.Equal(m[:n], data[offset:int(offset)+n]) {
				t.Fatalf("MapRegion(%d, %#x, %#x, %d) does not hold the file's bytes", length, prot, flags, offset)
			}
		}
		if len(m) > 0 {
			if _, err := m.Info(); err != nil {
				t.Fatalf("Info of a new map: %v", err)
			}
		}
		if len(m) > 0 && liveCount() != live+1 {
			t.Fatalf("a new mapping made %d registry entries", liveCount()-live)
		}
		if err := m.Unmap(); err != nil || m != nil {
			t.Fatalf("Unmap: %v (slice nil: %v)", err, m == nil)
		}
		if liveCount() != live {
			t.Fatal("Unmap left a registry entry")
		}
		if now := probeOrNil(t, dir); now != probe {
			t.Fatalf("map and Unmap changed the footprint: %+v, was %+v", now, probe)
		}
	})
}

// FuzzRangeOps maps a few pages (anonymous, or of the file), takes
// Range(off, n) and runs one method on it. Invariants: Range is exact or a
// sentinel error; a method never changes a byte outside the range, Advise
// never changes any, Discard changes only whole pages inside the range;
// Resident counts the pages that cover the range; the mapping unmaps.
func FuzzRangeOps(f *testing.F) {
	file, data, dir := fuzzFile(f)
	for op := range uint8(12) {
		f.Add(uint8(3), true, int64(page+1), int64(page), op, int64(0))
	}
	f.Add(uint8(2), false, int64(0), int64(2*page), uint8(4), int64(AdvicePopulateWrite))
	f.Add(uint8(2), true, int64(-1), int64(1), uint8(0), int64(0))
	f.Add(uint8(2), true, int64(1), int64(math.MaxInt64), uint8(0), int64(0))
	f.Add(uint8(4), true, int64(10), int64(3*page), uint8(5), int64(DiscardDontNeed))
	f.Add(uint8(4), true, int64(0), int64(4*page), uint8(6), int64(RDWR|EXEC))
	liveMappings() // earlier tests' dropped Readers unmap now; the bodies below count with liveCount
	f.Fuzz(func(t *testing.T, pages uint8, anon bool, off, n int64, op uint8, arg int64) {
		size := (int(pages%4) + 1) * page
		live, probe := liveCount(), probeOrNil(t, dir)
		var m MMap
		var err error
		if anon {
			m, err = MapRegion(nil, size, RDWR, ANON, 0)
		} else {
			size = min(size, len(data))
			m, err = MapRegion(file, size, COPY, 0, 0) // COPY: the file stays as it is
		}
		if err != nil {
			t.Fatal(err)
		}
		want := pattern(size)
		copy(m, want)
		if off > math.MaxInt || off < math.MinInt {
			off = math.MaxInt
		}
		if n > math.MaxInt || n < math.MinInt {
			n = math.MaxInt
		}
		r, err := m.Range(int(off), int(n))
		if err != nil {
			if r != nil || !errors.Is(err, ErrInvalidOffset) && !errors.Is(err, ErrInvalidLength) {
				t.Fatalf("Range(%d, %d) of %d bytes: %d bytes, %v", off, n, size, len(r), err)
			}
			if off >= 0 && off <= int64(size) && n >= 0 && n <= int64(size)-off {
				t.Fatalf("Range(%d, %d) of %d bytes refused a good range: %v", off, n, size, err)
			}
		} else {
			if off < 0 || n < 0 || off+n > int64(size) || len(r) != int(n) || cap(r) != int(n) {
				t.Fatalf("Range(%d, %d) of %d bytes gave len %d cap %d", off, n, size, len(r), cap(r))
			}
			if n > 0 && &r[0] != &m[off] {
				t.Fatalf("Range(%d, %d) does not start at m[%d]", off, n, off)
			}
		}
		var lo, hi int // the bytes the method may change: [lo, hi)
		if err == nil {
			lo, hi = int(off), int(off)
			var opErr error
			switch op % 12 {
			case 0:
				opErr = r.Flush()
			case 1:
				opErr = r.FlushAsync()
			case 2:
				opErr = errors.Join(r.Lock(), r.Unlock())
			case 3:
				opErr = r.LockOnFault()
				if documentedUnsupported(t, "LockOnFault", opErr) {
					opErr = nil
				}
				opErr = errors.Join(opErr, r.Unlock())
			case 4:
				opErr = r.Advise(Advice(arg))
				if documentedUnsupported(t, "Advise", opErr) || errors.Is(opErr, syscall.EINVAL) && !AdviceSupported(Advice(arg)) {
					opErr = nil
				}
				if Advice(arg) == AdvicePopulateWrite || Advice(arg) == AdviceCollapse {
					opErr = nil // may fail for memory reasons (THP); changes no byte either way
				}
				if opErr != nil && errors.Is(opErr, ErrInvalidAdvice) && (arg < 0 || arg > int64(AdviceCollapse)) {
					opErr = nil
				}
			case 5:
				opErr = r.Discard(DiscardMode(arg))
				if opErr == nil && arg >= 0 && arg <= int64(DiscardRemove) {
					// Whole pages inside r, relative to m.
					base := int(addr(m) % uintptr(page))
					lo = (int(off)+base+page-1)/page*page - base
					hi = max(lo, (int(off+n)+base)/page*page-base)
				}
				if errors.Is(opErr, ErrInvalidAdvice) && (arg < 0 || arg > int64(DiscardRemove)) ||
					documentedUnsupported(t, "Discard", opErr) ||
					errors.Is(opErr, syscall.EINVAL) && (DiscardMode(arg) == DiscardRemove || DiscardMode(arg) == DiscardFree && !anon) ||
					errors.Is(opErr, fs.ErrPermission) && DiscardMode(arg) == DiscardRemove && !anon {
					opErr = nil // MADV_REMOVE needs a shared mapping (EINVAL anonymous, EACCES COPY), MADV_FREE an anonymous one
				}
			case 6:
				opErr = r.Protect(int(arg))
				if errors.Is(opErr, ErrInvalidProt) {
					opErr = nil
				}
				// Whatever it did, writable again for the checks below.
				if err := m.Protect(RDWR); err != nil {
					t.Fatalf("Protect(RDWR) of a writable map: %v", err)
				}
			case 7:
				res, pages, err := r.Resident()
				opErr = err
				wantPages := 0
				if n > 0 {
					// In uintptr: 32-bit addresses pass MaxInt32.
					first := addr(r) / uintptr(page)
					last := (addr(r) + uintptr(n) - 1) / uintptr(page)
					wantPages = int(last - first + 1)
				}
				if err == nil && (pages != wantPages || res > pages || res < 0) {
					t.Fatalf("Resident of Range(%d, %d): %d of %d pages; want %d pages", off, n, res, pages, wantPages)
				}
			case 8:
				in, err := r.ResidentPages()
				opErr = err
				if err == nil && n > 0 && len(in) == 0 {
					t.Fatal("ResidentPages of a non-empty range is empty")
				}
			case 9:
				// An empty range lies in the mapping too, and reports it.
				if info, err := r.Info(); err != nil || info.PageSize <= 0 {
					t.Fatalf("Info of Range(%d, %d): %+v, %v", off, n, info, err)
				}
			case 10:
				if err := r.Unmap(); n > 0 && (n != int64(size) || off != 0) && !errors.Is(err, ErrNotMapped) {
					t.Fatalf("Unmap of Range(%d, %d) of %d bytes: %v; want ErrNotMapped", off, n, size, err)
				}
				if n == int64(size) {
					// The range is the whole mapping: Unmap took it.
					if liveCount() != live {
						t.Fatal("Unmap of the whole range left a registry entry")
					}
					return
				}
			case 11:
				if err := r.Resize(nil, page, false); n > 0 && !(off == 0 && n == int64(size)) && !errors.Is(err, ErrNotMapped) {
					t.Fatalf("Resize of Range(%d, %d): %v; want ErrNotMapped", off, n, err)
				}
				if off == 0 && n == int64(size) && n > 0 {
					// The whole mapping, resized to a page: r is the mapping now.
					m = r
					want = want[:min(len(want), len(r))]
				}
			}
			if opErr != nil {
				t.Fatalf("op %d (arg %d) on Range(%d, %d) of a %d-byte map: %v", op%12, arg, off, n, size, opErr)
			}
		}
		for i := range want {
			if i >= len(m) {
				break
			}
			if (i < lo || i >= hi) && m[i] != want[i] {
				t.Fatalf("op %d (arg %d) on Range(%d, %d) changed byte %d, outside what it may change [%d, %d)", op%12, arg, off, n, i, lo, hi)
			}
		}
		if err := m.Unmap(); err != nil {
			t.Fatalf("Unmap: %v", err)
		}
		if liveCount() != live {
			t.Fatal("a registry entry left behind")
		}
		if now := probeOrNil(t, dir); now != probe {
			t.Fatalf("op %d: footprint %+v, was %+v", op%12, now, probe)
		}
	})
}

// FuzzResize maps anonymous memory or a file region and resizes it.
// Invariants: success gives exactly n bytes with the old contents up to the
// shorter length and one registry entry; failure leaves the slice, its
// contents and the registry as they were; the file grows only with extend.
func FuzzResize(f *testing.F) {
	_, _, dir := fuzzFile(f)
	for _, s := range []struct {
		anon         bool
		start, n     int64
		offPages     uint8
		extend, nilF bool
	}{
		{true, int64(page), int64(64 * page), 0, false, false}, {true, int64(3 * page), 100, 0, false, false},
		{false, int64(page), int64(2 * page), 1, false, false}, {false, int64(page), int64(4 * page), 1, true, false},
		{false, int64(page), int64(4 * page), 1, false, false}, {false, int64(page), int64(page), 0, false, true},
		{true, int64(page), 0, 0, false, false}, {true, int64(page), -1, 0, false, false},
		{true, int64(page), math.MaxInt64, 0, false, false}, {false, int64(page), math.MaxInt64, 1, true, false},
	} {
		f.Add(s.anon, s.start, s.n, s.offPages, s.extend, s.nilF)
	}
	liveMappings() // earlier tests' dropped Readers unmap now; the bodies below count with liveCount
	f.Fuzz(func(t *testing.T, anon bool, start, n int64, offPages uint8, extend, nilFile bool) {
		start = start%int64(8*page) + 1
		if start <= 0 {
			start += int64(8 * page)
		}
		// Lengths up to 16 MiB as given; beyond, one of the edges.
		if n > 16<<20 || n < -16<<20 {
			n = []int64{math.MaxInt, math.MaxInt - int64(page), 1 << 40}[uint64(n)%3]
			if n > math.MaxInt {
				n = math.MaxInt
			}
			if n == 1<<40 && !anon {
				extend = false // not a terabyte-long file on the CI disk
			}
		}
		path := filepath.Join(dir, "resize")
		off := int64(offPages%4) * int64(page)
		init := pattern(int(off) + 3*page)
		if err := os.WriteFile(path, init, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		live := liveCount()
		var m MMap
		if anon {
			m, err = MapRegion(nil, int(start), RDWR, ANON, 0)
		} else {
			start = min(start, int64(3*page))
			m, err = MapRegion(file, int(start), RDWR, 0, off)
		}
		if err != nil {
			t.Fatal(err)
		}
		if anon {
			copy(m, init)
		}
		old, oldLen := bytes.Clone(m), len(m)
		arg := file
		if nilFile {
			arg = nil
		}
		probe := probeOrNil(t, dir)
		err = m.Resize(arg, int(n), extend)
		fi, statErr := file.Stat()
		if statErr != nil {
			t.Fatal(statErr)
		}
		if err != nil {
			if !isKnownError(err) && !errors.Is(err, fs.ErrInvalid) {
				t.Fatalf("Resize(%d, extend %v) of %d bytes: %v wraps neither a sentinel nor an errno", n, extend, oldLen, err)
			}
			if len(m) != oldLen || cap(m) != oldLen || !bytes.Equal(m, old) {
				t.Fatalf("a failed Resize(%d) changed the slice: len %d cap %d, was %d", n, len(m), cap(m), oldLen)
			}
			if liveCount() != live+1 {
				t.Fatal("a failed Resize changed the registry")
			}
			if !extend && fi.Size() != int64(len(init)) {
				t.Fatalf("a failed Resize without extend changed the file's size to %d", fi.Size())
			}
			if now := probeOrNil(t, dir); now != probe {
				t.Fatalf("a failed Resize changed the footprint: %+v, was %+v", now, probe)
			}
		} else {
			if len(m) != int(n) || cap(m) != int(n) {
				t.Fatalf("Resize(%d): len %d cap %d", n, len(m), cap(m))
			}
			if liveCount() != live+1 {
				t.Fatal("Resize changed the number of live mappings")
			}
			keep := min(oldLen, int(n))
			// Only bytes that lie in the file can be read in a file map.
			if !anon {
				keep = min(keep, int(fi.Size()-off))
			}
			if keep > 0 && !bytes.Equal(m[:keep], old[:keep]) {
				t.Fatalf("Resize(%d) of %d bytes lost contents", n, oldLen)
			}
			if !anon && off+n > int64(len(init)) && (!extend || fi.Size() != off+n) {
				t.Fatalf("Resize(%d, extend %v) past the end of a %d-byte file succeeded with the file at %d bytes", n, extend, len(init), fi.Size())
			}
			if anon && n <= 16<<20 {
				m[n-1] = 1 // the new tail is mapped and writable
			}
		}
		if err := m.Unmap(); err != nil {
			t.Fatalf("Unmap after Resize: %v", err)
		}
		if liveCount() != live {
			t.Fatal("a registry entry left behind")
		}
	})
}

// faults runs touch with faults turned into panics, and reports one.
func faults(touch func()) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("fault: %v", r)
		}
	}()
	touch()
	return nil
}
