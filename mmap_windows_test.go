//go:build windows

package mmap

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"
)

// What only the Windows backend has: views aligned to the allocation
// granularity, a duplicated handle for Flush, sections that must not grow
// the file, and handles that must all be closed again.

// winPattern is the byte at file offset i: it differs between pages, so a
// view that starts at the wrong offset cannot match.
func winPattern(i int) byte { return byte(i*7 + i>>12) }

// winFile makes a file of size bytes of winPattern, open read-write.
func winFile(t *testing.T, size int) *os.File {
	t.Helper()
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = winPattern(i)
	}
	name := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(name, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// winUnmapAtEnd unmaps m when the test ends (before its temp dir goes,
// which Windows refuses to delete while a view or handle is open).
func winUnmapAtEnd(t *testing.T, m *MMap) {
	t.Cleanup(func() {
		if *m != nil {
			if err := m.Unmap(); err != nil {
				t.Errorf("Unmap at cleanup: %v", err)
			}
		}
	})
}

func TestWindowsBackend(t *testing.T) {
	if Backend() != "windows" {
		t.Fatalf("Backend() = %q, want windows", Backend())
	}
	if g := granularity(); g < int64(os.Getpagesize()) || g&(g-1) != 0 {
		t.Fatalf("allocation granularity %d is not a power of two >= the page size", g)
	}
	t.Logf("page size %d, allocation granularity %d", os.Getpagesize(), granularity())
}

// A view must start on the allocation granularity (64 KiB); offsets that are
// only page aligned are mapped from the granule below and trimmed.
func TestWindowsPageAlignedOffset(t *testing.T) {
	const size = 256 << 10
	f := winFile(t, size)
	page := os.Getpagesize()
	g := int(granularity())
	for _, tc := range []struct{ off, n int }{
		{page, 3 * page},                    // inside the first granule
		{2 * page, 1},                       // one byte
		{g - page, 2 * page},                // across a granule boundary
		{g + page, 5*page + 123},            // second granule, ragged end
		{g, page},                           // granule aligned: no lead
		{size - page, page},                 // the last page
		{3*g + 5*page, size - 3*g - 5*page}, // to the end of the file
	} {
		m, err := MapRegion(f, tc.n, RDONLY, 0, int64(tc.off))
		if err != nil {
			t.Fatalf("MapRegion(off %d, len %d): %v", tc.off, tc.n, err)
		}
		if len(m) != tc.n || cap(m) != tc.n {
			t.Errorf("off %d: len %d cap %d, want %d", tc.off, len(m), cap(m), tc.n)
		}
		for i := range m {
			if m[i] != winPattern(tc.off+i) {
				t.Fatalf("off %d: byte %d is %#x, want %#x", tc.off, i, m[i], winPattern(tc.off+i))
			}
		}
		r, _ := lookup(m)
		if want := uintptr(tc.off % g); r == nil || r.lead != want || r.size != want+uintptr(tc.n) {
			t.Errorf("off %d: region %+v, want lead %d size %d", tc.off, r, want, want+uintptr(tc.n))
		}
		if uintptr(r.base)%uintptr(g) != 0 {
			t.Errorf("off %d: view base %p is not granule aligned", tc.off, r.base)
		}
		if err := m.Unmap(); err != nil {
			t.Fatalf("Unmap(off %d): %v", tc.off, err)
		}
	}

	// The whole file from a page-aligned offset.
	m, err := MapRegion(f, -1, RDONLY, 0, int64(page))
	if err != nil {
		t.Fatal(err)
	}
	winUnmapAtEnd(t, &m)
	if len(m) != size-page || m[0] != winPattern(page) || m[len(m)-1] != winPattern(size-1) {
		t.Errorf("whole file from %d: len %d, first %#x, last %#x", page, len(m), m[0], m[len(m)-1])
	}
}

// Writes through a view at an unaligned offset land at that offset, and
// flushing a sub-slice of it works.
func TestWindowsRDWRRoundTrip(t *testing.T) {
	const size = 192 << 10
	f := winFile(t, size)
	off := int(granularity()) + 3*os.Getpagesize()
	m, err := MapRegion(f, 2*os.Getpagesize(), RDWR, 0, int64(off))
	if err != nil {
		t.Fatal(err)
	}
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
	if err := m.Unmap(); err != nil {
		t.Fatal(err)
	}
	if m != nil {
		t.Error("Unmap did not set m to nil")
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != size {
		t.Fatalf("file size %d after RDWR map, want %d", len(data), size)
	}
	if string(data[off+1000:off+1009]) != "unflushed" {
		t.Errorf("write before Unmap did not reach the file: %q", data[off+1000:off+1009])
	}
	if data[off-1] != winPattern(off-1) || data[off+2*os.Getpagesize()] != winPattern(off+2*os.Getpagesize()) {
		t.Error("bytes outside the view changed")
	}
}

// Flush uses a duplicate of the file handle, so it works after the caller
// closed its *os.File; Unmap then closes the duplicate, so the file can be
// deleted.
func TestWindowsFlushAfterClose(t *testing.T) {
	f := winFile(t, 64<<10)
	name := f.Name()
	m, err := MapRegion(f, 8192, RDWR, 0, 4096)
	if err != nil {
		t.Fatal(err)
	}
	winUnmapAtEnd(t, &m)
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
	if string(data[4096:4096+11]) != "after close" {
		t.Errorf("file holds %q", data[4096:4096+11])
	}
	if err := m.Unmap(); err != nil {
		t.Fatalf("Unmap after the file was closed: %v", err)
	}
	if err := os.Remove(name); err != nil {
		t.Errorf("Remove after Unmap (a handle still open?): %v", err)
	}
}

// A section larger than the file would grow a writable file and fails for a
// read-only one; both are refused up front with ErrInvalidLength.
func TestWindowsMapPastEOF(t *testing.T) {
	const size = 5000
	f := winFile(t, size)
	page := os.Getpagesize()
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
		m, err := MapRegion(f, tc.n, tc.prot, 0, tc.off)
		if err == nil {
			m.Unmap()
			t.Errorf("prot %d off %d len %d past EOF %d: no error", tc.prot, tc.off, tc.n, size)
			continue
		}
		var pe *fs.PathError
		if !errors.Is(err, ErrInvalidLength) || !errors.As(err, &pe) || pe.Path != f.Name() {
			t.Errorf("prot %d off %d len %d: err = %v, want a *fs.PathError wrapping ErrInvalidLength", tc.prot, tc.off, tc.n, err)
		}
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != size {
			t.Fatalf("prot %d off %d len %d: file grew to %d bytes", tc.prot, tc.off, tc.n, fi.Size())
		}
	}
	// Up to the last byte is fine, and the tail of the last page reads zero.
	m, err := MapRegion(f, size-page, RDWR, 0, int64(page))
	if err != nil {
		t.Fatalf("map to exactly EOF: %v", err)
	}
	winUnmapAtEnd(t, &m)
	if m[len(m)-1] != winPattern(size-1) {
		t.Errorf("last byte %#x, want %#x", m[len(m)-1], winPattern(size-1))
	}
}

// A file opened read-only maps RDONLY and COPY, not RDWR, and the error says
// permission.
func TestWindowsReadOnlyFile(t *testing.T) {
	f := winFile(t, 8192)
	ro, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if m, err := MapRegion(ro, 4096, RDWR, 0, 0); err == nil {
		m.Unmap()
		t.Fatal("RDWR map of a read-only handle succeeded")
	} else if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("RDWR map of a read-only handle: %v, want fs.ErrPermission", err)
	}
	for _, prot := range []int{RDONLY, COPY} {
		m, err := Map(ro, prot, 0)
		if err != nil {
			t.Fatalf("prot %d on a read-only handle: %v", prot, err)
		}
		if m[4097] != winPattern(4097) {
			t.Errorf("prot %d: wrong byte", prot)
		}
		if err := m.Flush(); err != nil {
			t.Errorf("prot %d: Flush: %v", prot, err)
		}
		if err := m.Unmap(); err != nil {
			t.Fatal(err)
		}
	}
}

// os.Open asks for no execute access, so Windows may refuse an EXEC view of
// the file; if it maps, the bytes must be right.
func TestWindowsExecFile(t *testing.T) {
	f := winFile(t, 8192)
	m, err := MapRegion(f, 4096, RDONLY|EXEC, 0, 4096)
	if err != nil {
		if !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("EXEC map: %v, want success or fs.ErrPermission", err)
		}
		t.Logf("EXEC map of a file opened without execute access: %v", err)
		return
	}
	defer m.Unmap()
	if m[0] != winPattern(4096) {
		t.Error("EXEC view has the wrong bytes")
	}
}

func TestWindowsAnon(t *testing.T) {
	for _, prot := range []int{RDWR, COPY, RDWR | EXEC, RDONLY} {
		const n = 1<<20 + 1
		m, err := MapRegion(nil, n, prot, ANON, 0)
		if err != nil {
			t.Fatalf("ANON prot %d: %v", prot, err)
		}
		if len(m) != n || cap(m) != n {
			t.Errorf("ANON prot %d: len %d cap %d", prot, len(m), cap(m))
		}
		for _, i := range []int{0, 4095, n / 2, n - 1} {
			if m[i] != 0 {
				t.Errorf("ANON prot %d: byte %d is %#x, want 0", prot, i, m[i])
			}
		}
		if prot != RDONLY {
			m[0], m[n-1] = 1, 2
			if m[0] != 1 || m[n-1] != 2 {
				t.Errorf("ANON prot %d: writes lost", prot)
			}
		}
		r, _ := lookup(m)
		if r == nil || r.prot != prot || r.lead != 0 {
			t.Errorf("ANON prot %d: region %+v", prot, r)
		}
		if err := m.Flush(); err != nil {
			t.Errorf("ANON prot %d: Flush: %v", prot, err)
		}
		if err := m.Unmap(); err != nil {
			t.Fatalf("ANON prot %d: Unmap: %v", prot, err)
		}
	}
	// Two ANON maps do not share memory.
	a, err := MapRegion(nil, 4096, RDWR, ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Unmap()
	b, err := MapRegion(nil, 4096, RDWR, ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Unmap()
	a[0] = 7
	if b[0] != 0 {
		t.Error("two ANON maps share memory")
	}
}

func TestWindowsLock(t *testing.T) {
	m, err := MapRegion(nil, 1<<20, RDWR, ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	if err := m.Lock(); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if err := m.Unlock(); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := m[5000:9000].Lock(); err != nil {
		t.Fatalf("Lock of a sub-slice: %v", err)
	}
	if err := m[5000:9000].Unlock(); err != nil {
		t.Fatalf("Unlock of a sub-slice: %v", err)
	}

	// More than the default minimum working set (about 200 KiB): the quota
	// path must raise it.
	big, err := MapRegion(nil, 16<<20, RDWR, ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Unmap()
	if err := big.Lock(); err != nil {
		t.Fatalf("Lock of 16 MiB: %v", err)
	}
	if err := big.Unlock(); err != nil {
		t.Fatalf("Unlock of 16 MiB: %v", err)
	}
	// The quota path, called directly: Wine's VirtualLock never hits it.
	if err := growWorkingSet(1 << 20); err != nil {
		t.Errorf("growWorkingSet: %v", err)
	}

	// A file view at an unaligned offset locks too.
	f := winFile(t, 128<<10)
	fm, err := MapRegion(f, 8192, RDWR, 0, 4096)
	if err != nil {
		t.Fatal(err)
	}
	winUnmapAtEnd(t, &fm)
	if err := fm.Lock(); err != nil {
		t.Fatalf("Lock of a file view: %v", err)
	}
	if err := fm.Unlock(); err != nil {
		t.Fatalf("Unlock of a file view: %v", err)
	}
}

var procGetProcessHandleCount = kernel32.NewProc("GetProcessHandleCount")

func winHandleCount(t *testing.T) int {
	t.Helper()
	if procGetProcessHandleCount.Find() != nil {
		return 0
	}
	proc, _ := syscall.GetCurrentProcess()
	var n uint32
	if ok, _, _ := procGetProcessHandleCount.Call(uintptr(proc), uintptr(unsafe.Pointer(&n))); ok == 0 {
		return 0
	}
	return int(n)
}

// Every map, failed or not, and every unmap leaves the process with the
// handles it had.
func TestWindowsNoHandleLeak(t *testing.T) {
	f := winFile(t, 256<<10)
	ro, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	round := func() {
		for _, prot := range []int{RDONLY, RDWR, COPY} {
			m, err := MapRegion(f, 8192, prot, 0, 69632)
			if err != nil {
				t.Fatal(err)
			}
			if prot != RDONLY {
				m[0] = m[1]
			}
			m.Flush()
			if err := m.Unmap(); err != nil {
				t.Fatal(err)
			}
		}
		m, err := MapRegion(nil, 65536, RDWR, ANON, 0)
		if err != nil {
			t.Fatal(err)
		}
		m.Unmap()
		if _, err := MapRegion(f, 1<<20, RDWR, 0, 0); err == nil { // past EOF
			t.Fatal("map past EOF succeeded")
		}
		if _, err := MapRegion(ro, 4096, RDWR, 0, 0); err == nil { // access denied
			t.Fatal("RDWR map of a read-only handle succeeded")
		}
	}
	round() // load the lazy DLL procs first
	before := winHandleCount(t)
	if before == 0 {
		t.Skip("GetProcessHandleCount reports nothing here")
	}
	for range 50 {
		round()
	}
	if after := winHandleCount(t); after > before {
		t.Errorf("handle count grew from %d to %d over 50 rounds", before, after)
	}
}

// Unmap closes the view and the duplicated handle: Go opens files without
// FILE_SHARE_DELETE and Windows will not delete a mapped file, so the file
// can be removed only once both are gone. This holds where the handle count
// is not reported (Wine).
func TestWindowsUnmapReleasesFile(t *testing.T) {
	dir := t.TempDir()
	for _, prot := range []int{RDONLY, RDWR, COPY, RDWR | EXEC} {
		name := filepath.Join(dir, fmt.Sprintf("prot%d", prot))
		if err := os.WriteFile(name, make([]byte, 128<<10), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(name, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		m, err := MapRegion(f, 8192, prot, 0, 69632)
		f.Close()
		if err != nil {
			if prot&EXEC != 0 && errors.Is(err, fs.ErrPermission) {
				continue // see TestWindowsExecFile
			}
			t.Fatalf("prot %d: %v", prot, err)
		}
		removeErr := os.Remove(name)
		t.Logf("prot %d: Remove while mapped: %v", prot, removeErr)
		if err := m.Unmap(); err != nil {
			t.Fatalf("prot %d: Unmap: %v", prot, err)
		}
		if removeErr == nil {
			continue
		}
		if err := os.Remove(name); err != nil {
			t.Errorf("prot %d: Remove after Unmap (a handle or view left open?): %v", prot, err)
		}
	}
}
