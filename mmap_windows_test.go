//go:build windows

package mmap

import (
	"errors"
	"io/fs"
	"os"
	"testing"
)

// Mapping and unmapping as only the Windows backend does them: views
// aligned to the allocation granularity, a duplicated handle for Flush,
// sections that must not grow the file, and handles that must all be closed
// again. Operations are in ops_windows_test.go, map-time hints in
// hints_windows_test.go, faults in access_windows_test.go, and the helpers
// they share in helpers_windows_test.go.

func TestWindowsBackend(t *testing.T) {
	if Backend() != "windows" {
		t.Fatalf("Backend() = %q, want windows", Backend())
	}
	if g := granularity(); g < int64(page) || g&(g-1) != 0 {
		t.Fatalf("allocation granularity %d is not a power of two >= the page size", g)
	}
	t.Logf("page size %d, allocation granularity %d", page, granularity())
}

// A view must start on the allocation granularity (64 KiB); offsets that are
// only page aligned are mapped from the granule below and trimmed.
func TestWindowsPageAlignedOffset(t *testing.T) {
	const size = 256 << 10
	data := pattern(size)
	f := tempFile(t, data, os.O_RDWR)
	g := int(granularity())
	for _, tc := range []struct{ off, n int }{
		{page, 3 * page},                    // inside the first granule
		{2 * page, 1},                       // one byte
		{g - page, 2 * page},                // across a granule boundary
		{g + page, 5*page + 123},            // second granule, ragged end
		{g, page},                           // granule aligned: no lead
		{size - page, page},                 // the last page
		{3*g + 5*page, size - 3*g - 5*page}, // to the end of the file
		{page, -1},                          // the whole file from a page-aligned offset
	} {
		func() {
			m := mustMap(t, f, tc.n, RDONLY, 0, int64(tc.off))
			defer mustUnmap(t, &m)
			checkView(t, m, data, tc.off, tc.n)
		}()
	}
}

// Writes through a view at an unaligned offset land at that offset, and
// flushing a sub-slice of it works.
func TestWindowsRDWRRoundTrip(t *testing.T) {
	const size = 192 << 10
	data := pattern(size)
	f := tempFile(t, data, os.O_RDWR)
	off := int(granularity()) + 3*page
	m := mustMap(t, f, 2*page, RDWR, 0, int64(off))
	copy(m[100:], "hello, view")
	if err := m[90:200].Flush(); err != nil {
		t.Fatalf("Flush of a sub-slice: %v", err)
	}
	// Views of a file are coherent with its reads and writes.
	got := make([]byte, 11)
	if _, err := f.ReadAt(got, int64(off+100)); err != nil || string(got) != "hello, view" {
		t.Fatalf("ReadAt after Flush = %q, %v", got, err)
	}
	if _, err := f.WriteAt([]byte("from file"), int64(off+500)); err != nil {
		t.Fatal(err)
	}
	if string(m[500:509]) != "from file" {
		t.Errorf("view after WriteAt = %q", m[500:509])
	}
	copy(m[1000:], "unflushed")
	mustUnmap(t, &m)
	now := fileContents(t, f)
	if len(now) != size {
		t.Fatalf("file size %d after RDWR map, want %d", len(now), size)
	}
	if string(now[off+1000:off+1009]) != "unflushed" {
		t.Errorf("write before Unmap did not reach the file: %q", now[off+1000:off+1009])
	}
	if now[off-1] != data[off-1] || now[off+2*page] != data[off+2*page] {
		t.Error("bytes outside the view changed")
	}
}

// Flush uses a duplicate of the file handle, so it works after the caller
// closed its *os.File; Unmap then closes the duplicate, so the file can be
// deleted.
func TestWindowsFlushAfterClose(t *testing.T) {
	f := tempFile(t, pattern(64<<10), os.O_RDWR)
	name := f.Name()
	m := mustMap(t, f, 2*page, RDWR, 0, int64(page))
	t.Cleanup(func() { // if the test stops before its own Unmap
		if m != nil {
			m.Unmap()
		}
	})
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	copy(m, "after close")
	if err := m.Flush(); err != nil {
		t.Fatalf("Flush after the file was closed: %v", err)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if string(data[page:page+11]) != "after close" {
		t.Errorf("file holds %q", data[page:page+11])
	}
	mustUnmap(t, &m)
	if err := os.Remove(name); err != nil {
		t.Errorf("Remove after Unmap (a handle still open?): %v", err)
	}
}

// A section larger than the file would grow a writable file and fails for a
// read-only one; both are refused up front with ErrInvalidLength.
func TestWindowsMapPastEOF(t *testing.T) {
	const size = 5000
	data := pattern(size)
	f := tempFile(t, data, os.O_RDWR)
	for _, tc := range []struct {
		prot, n int
		off     int64
	}{
		{RDWR, 3 * page, 0},
		{RDONLY, 3 * page, 0},
		{COPY, 3 * page, 0},
		{RDWR, size + 1, 0},
		{RDWR, page, int64(page)},
		{RDONLY, 1, 2 * int64(page)},
		{RDWR, page, 1 << 20},
	} {
		err := mapFails(t, f, tc.n, tc.prot, 0, tc.off)
		if err == nil {
			continue
		}
		var pe *fs.PathError
		if !errors.Is(err, ErrInvalidLength) || !errors.As(err, &pe) || pe.Path != f.Name() {
			t.Errorf("prot %s off %d len %d: err = %v, want a *fs.PathError wrapping ErrInvalidLength", protName(tc.prot), tc.off, tc.n, err)
		}
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != size {
			t.Fatalf("prot %s off %d len %d: file grew to %d bytes", protName(tc.prot), tc.off, tc.n, fi.Size())
		}
	}
	// Up to the last byte is fine, and the tail of the last page reads zero.
	m := mustMap(t, f, size-page, RDWR, 0, int64(page))
	defer mustUnmap(t, &m)
	if m[len(m)-1] != data[size-1] {
		t.Errorf("last byte %#x, want %#x", m[len(m)-1], data[size-1])
	}
}

// A file opened read-only maps RDONLY and COPY, not RDWR, and the error says
// permission.
func TestWindowsReadOnlyFile(t *testing.T) {
	data := pattern(2 * page)
	ro := tempFile(t, data, os.O_RDONLY)
	if err := mapFails(t, ro, page, RDWR, 0, 0); err != nil && !errors.Is(err, fs.ErrPermission) {
		t.Errorf("RDWR map of a read-only handle: %v, want fs.ErrPermission", err)
	}
	for _, prot := range []int{RDONLY, COPY} {
		t.Run(protName(prot), func(t *testing.T) {
			m, err := Map(ro, prot, 0)
			if err != nil {
				t.Fatalf("%s on a read-only handle: %v", protName(prot), err)
			}
			defer mustUnmap(t, &m)
			checkView(t, m, data, 0, -1)
			if err := m.Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
		})
	}
}

// os.Open asks for no execute access, so Windows may refuse an EXEC view of
// the file; if it maps, the bytes must be right.
func TestWindowsExecFile(t *testing.T) {
	data := pattern(2 * page)
	f := tempFile(t, data, os.O_RDWR)
	m, err := MapRegion(f, page, RDONLY|EXEC, 0, int64(page))
	if err != nil {
		if !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("EXEC map: %v, want success or fs.ErrPermission", err)
		}
		t.Logf("EXEC map of a file opened without execute access: %v", err)
		return
	}
	defer mustUnmap(t, &m)
	checkView(t, m, data, page, page)
}

func TestWindowsAnon(t *testing.T) {
	for _, prot := range []int{RDWR, COPY, RDWR | EXEC, RDONLY} {
		t.Run(protName(prot), func(t *testing.T) {
			const n = 1<<20 + 1
			m := mustMap(t, nil, n, prot, ANON, 0)
			defer mustUnmap(t, &m)
			if len(m) != n || cap(m) != n {
				t.Errorf("len %d cap %d, want %d", len(m), cap(m), n)
			}
			for _, i := range []int{0, page - 1, n / 2, n - 1} {
				if m[i] != 0 {
					t.Errorf("byte %d is %#x, want 0", i, m[i])
				}
			}
			if prot != RDONLY {
				m[0], m[n-1] = 1, 2
				if m[0] != 1 || m[n-1] != 2 {
					t.Error("writes lost")
				}
			}
			if r, _ := lookup(m); r == nil || r.prot != prot || r.lead != 0 {
				t.Errorf("region %+v, want prot %d and no lead", r, prot)
			}
			if err := m.Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
		})
	}
	// Two ANON maps do not share memory.
	a := mustMap(t, nil, page, RDWR, ANON, 0)
	defer mustUnmap(t, &a)
	b := mustMap(t, nil, page, RDWR, ANON, 0)
	defer mustUnmap(t, &b)
	a[0] = 7
	if b[0] != 0 {
		t.Error("two ANON maps share memory")
	}
}

// Every map, failed or not, and every unmap leaves the process with the
// handles it had.
func TestWindowsNoHandleLeak(t *testing.T) {
	f := tempFile(t, pattern(256<<10), os.O_RDWR)
	ro, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	off := int64(granularity()) + int64(page) // a view with a lead
	round := func() {
		for _, prot := range []int{RDONLY, RDWR, COPY} {
			m := mustMap(t, f, 2*page, prot, 0, off)
			if prot != RDONLY {
				m[0] = m[1]
			}
			m.Flush()
			mustUnmap(t, &m)
		}
		m := mustMap(t, nil, 64<<10, RDWR, ANON, 0)
		m.Unmap()
		if mapFails(t, f, 1<<20, RDWR, 0, 0) == nil { // past EOF
			t.FailNow()
		}
		if mapFails(t, ro, page, RDWR, 0, 0) == nil { // access denied
			t.FailNow()
		}
	}
	round() // load the lazy DLL procs first
	before := handleCount()
	if before == 0 {
		t.Skip("GetProcessHandleCount reports nothing here")
	}
	for range 50 {
		round()
	}
	if after := handleCount(); after > before {
		t.Errorf("handle count grew from %d to %d over 50 rounds", before, after)
	}
}

// Unmap closes the view and the duplicated handle: Go opens files without
// FILE_SHARE_DELETE and Windows will not delete a mapped file, so the file
// can be removed only once both are gone. This holds where the handle count
// is not reported (Wine).
func TestWindowsUnmapReleasesFile(t *testing.T) {
	for _, prot := range []int{RDONLY, RDWR, COPY, RDWR | EXEC} {
		t.Run(protName(prot), func(t *testing.T) {
			f := tempFile(t, make([]byte, 128<<10), os.O_RDWR)
			name := f.Name()
			m, err := MapRegion(f, 2*page, prot, 0, int64(granularity())+int64(page))
			f.Close()
			if err != nil {
				if prot&EXEC != 0 && errors.Is(err, fs.ErrPermission) {
					t.Logf("%v (see TestWindowsExecFile)", err)
					return
				}
				t.Fatal(err)
			}
			removeErr := os.Remove(name)
			t.Logf("Remove while mapped: %v", removeErr)
			mustUnmap(t, &m)
			if removeErr == nil {
				return
			}
			if err := os.Remove(name); err != nil {
				t.Errorf("Remove after Unmap (a handle or view left open?): %v", err)
			}
		})
	}
}
