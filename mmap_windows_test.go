//go:build windows

package mmap

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
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

// ---- The hints and operations beyond mmap-go's ----

var (
	procVirtualQuery   = kernel32.NewProc("VirtualQuery")
	procWineGetVersion = syscall.NewLazyDLL("ntdll.dll").NewProc("wine_get_version")
)

// onWine reports whether the tests run under Wine, which implements some of
// these calls partly; checks real Windows documents but Wine does not do
// are logged there instead of failing.
func onWine() bool { return procWineGetVersion.Find() == nil }

// memoryBasicInformation is MEMORY_BASIC_INFORMATION. Leaving out the
// 64-bit PartitionId keeps the layout right on 32-bit and 64-bit alike.
type memoryBasicInformation struct {
	baseAddress       uintptr
	allocationBase    uintptr
	allocationProtect uint32
	regionSize        uintptr
	state             uint32
	protect           uint32
	typ               uint32
}

// winPageProtect is VirtualQuery's Protect for the page that holds p.
func winPageProtect(t *testing.T, p *byte) uint32 {
	t.Helper()
	var mbi memoryBasicInformation
	if n, _, err := procVirtualQuery.Call(uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&mbi)), unsafe.Sizeof(mbi)); n == 0 {
		t.Fatalf("VirtualQuery: %v", err)
	}
	return mbi.protect
}

// winAttrs is QueryWorkingSetEx's attributes of each page that covers m.
func winAttrs(t *testing.T, m MMap) []uintptr {
	t.Helper()
	page := uintptr(os.Getpagesize())
	start := addr(m) &^ (page - 1)
	n := int((addr(m) + uintptr(len(m)) - start + page - 1) / page)
	attrs := make([]uintptr, n)
	if err := queryWorkingSet(start, n, func(i int, a uintptr) { attrs[i] = a }); err != nil {
		t.Fatalf("QueryWorkingSetEx: %v", err)
	}
	return attrs
}

func winResident(t *testing.T, m MMap) (resident, pages int) {
	t.Helper()
	resident, pages, err := m.Resident()
	if err != nil {
		t.Fatalf("Resident: %v", err)
	}
	return resident, pages
}

// winFaults reports whether writing m[i] faults.
func winFaults(m MMap, i int) (faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() { faulted = recover() != nil }()
	m[i]++
	m[i]--
	return false
}

func wantUnsupported(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("%s: err = %v, want one matching errors.ErrUnsupported", what, err)
	} else {
		t.Logf("%s: %v", what, err)
	}
}

// A new mapping without hints gets base pages, neither populated nor
// locked; a sub-slice reports the same.
func TestWindowsInfo(t *testing.T) {
	f := winFile(t, 128<<10)
	want := Info{Kind: BasePages, PageSize: os.Getpagesize()}
	for _, tc := range []struct {
		name  string
		f     *os.File
		prot  int
		flags int
		off   int64
	}{
		{"anon", nil, RDWR, ANON, 0},
		{"file RDONLY", f, RDONLY, 0, 4096},
		{"file RDWR", f, RDWR, 0, 0},
		{"file COPY", f, COPY, 0, 69632},
		{"HUGE anon", nil, RDWR, ANON | HUGE, 0},
		{"HUGE|HUGE_1GB anon", nil, RDWR, ANON | HUGE | HUGE_1GB, 0},
		{"HUGE file", f, RDONLY, HUGE, 0},
	} {
		m, err := MapRegion(tc.f, 3*os.Getpagesize(), tc.prot, tc.flags, tc.off)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, s := range []MMap{m, m[100:5000]} {
			if got, err := s.Info(); err != nil || got != want {
				t.Errorf("%s: Info() = %+v, %v; want %+v", tc.name, got, err, want)
			}
		}
		if err := m.Unmap(); err != nil {
			t.Fatal(err)
		}
	}
}

// POPULATE makes every page resident in the working set before Map
// returns, without changing a byte: writing for writable anonymous memory,
// reading for file views, so a COPY view is not copied and a shared view not
// dirtied.
func TestWindowsPopulate(t *testing.T) {
	const n = 1 << 20
	m, err := MapRegion(nil, n, RDWR, ANON|POPULATE, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	if info, _ := m.Info(); !info.Populated || info.Locked {
		t.Errorf("ANON|POPULATE: Info %+v, want Populated and not Locked", info)
	}
	if res, pages := winResident(t, m); res != pages || pages != n/os.Getpagesize() {
		t.Errorf("ANON|POPULATE: %d of %d pages resident, want all %d", res, pages, n/os.Getpagesize())
	}
	if m[0] != 0 || m[n-1] != 0 {
		t.Error("ANON|POPULATE: memory is not zero")
	}

	// Without POPULATE a fresh view has nothing in the working set.
	fresh, err := MapRegion(nil, n, RDWR, ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Unmap()
	if info, _ := fresh.Info(); info.Populated {
		t.Error("ANON without POPULATE: Info says Populated")
	}
	if res, _ := winResident(t, fresh); res != 0 {
		t.Errorf("fresh ANON view: %d pages resident before any touch, want 0", res)
	}

	const size = 256 << 10
	f := winFile(t, size)
	for _, prot := range []int{RDONLY, RDWR, COPY} {
		off := int(granularity()) + 2*os.Getpagesize()
		fm, err := MapRegion(f, size-off, prot, POPULATE, int64(off))
		if err != nil {
			t.Fatalf("file prot %d POPULATE: %v", prot, err)
		}
		if info, _ := fm.Info(); !info.Populated {
			t.Errorf("file prot %d POPULATE: Info %+v, want Populated", prot, info)
		}
		if res, pages := winResident(t, fm); res != pages {
			t.Errorf("file prot %d POPULATE: %d of %d pages resident", prot, res, pages)
		}
		for _, i := range []int{0, 4095, 4096, len(fm) - 1} {
			if fm[i] != winPattern(off+i) {
				t.Fatalf("file prot %d POPULATE: byte %d is %#x, want %#x", prot, i, fm[i], winPattern(off+i))
			}
		}
		if prot == COPY && !onWine() {
			// Read, not written: the pages are still the file's, shared
			// and copy-on-write (Shared bit 15, Win32Protection bits 4-14).
			for i, a := range winAttrs(t, fm) {
				if a&(1<<15) == 0 || (a>>4)&0x7ff != syscall.PAGE_WRITECOPY {
					t.Errorf("COPY POPULATE: page %d attributes %#x: copied, not shared WRITECOPY", i, a)
					break
				}
			}
		}
		if err := fm.Unmap(); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing was written to the file.
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		if data[i] != winPattern(i) {
			t.Fatalf("POPULATE changed the file at %d", i)
		}
	}
}

// LOCK locks with VirtualLock at map time, which also makes the pages
// resident; QueryWorkingSetEx reports them Locked.
func TestWindowsLockAtMap(t *testing.T) {
	f := winFile(t, 256<<10)
	for _, tc := range []struct {
		name  string
		f     *os.File
		n     int
		prot  int
		flags int
		off   int64
	}{
		{"anon", nil, 4 << 20, RDWR, ANON | LOCK, 0},
		{"anon POPULATE", nil, 1 << 20, RDWR, ANON | LOCK | POPULATE, 0},
		{"anon RDONLY", nil, 1 << 20, RDONLY, ANON | LOCK, 0},
		{"file RDWR", f, 128 << 10, RDWR, LOCK, 4096},
		{"file COPY", f, 64 << 10, COPY, LOCK, 69632},
	} {
		m, err := MapRegion(tc.f, tc.n, tc.prot, tc.flags, tc.off)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if info, _ := m.Info(); !info.Locked || !info.Populated {
			t.Errorf("%s: Info %+v, want Locked and Populated", tc.name, info)
		}
		if res, pages := winResident(t, m); res != pages {
			t.Errorf("%s: %d of %d pages resident after LOCK", tc.name, res, pages)
		}
		locked := 0
		attrs := winAttrs(t, m)
		for _, a := range attrs {
			if a&(wsValid|wsLocked) == wsValid|wsLocked {
				locked++
			}
		}
		if locked != len(attrs) {
			if onWine() {
				t.Logf("%s: QueryWorkingSetEx reports %d of %d pages Locked (Wine does not report Locked)", tc.name, locked, len(attrs))
			} else {
				t.Errorf("%s: QueryWorkingSetEx reports %d of %d pages Locked", tc.name, locked, len(attrs))
			}
		}
		if err := m.Unlock(); err != nil {
			t.Errorf("%s: Unlock: %v", tc.name, err)
		}
		if err := m.Unmap(); err != nil {
			t.Fatalf("%s: Unmap: %v", tc.name, err)
		}
	}
}

// When POPULATE or LOCK fails after the view exists, finishMap unmaps it and
// closes the duplicated file handle. Neither fails on demand, so a page made
// PAGE_NOACCESS stands in for an unreadable file page: touching it faults,
// and the fault comes back as an error, not a crash.
func TestWindowsFinishMapCleanup(t *testing.T) {
	f := winFile(t, 128<<10)
	name := f.Name()
	m, err := MapRegion(f, 8192, RDWR, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := unregister(m)
	if err != nil {
		t.Fatal(err)
	}
	var old uint32
	if ok, _, err := procVirtualProtect.Call(uintptr(r.base)+4096, 4096, pageNoAccess, uintptr(unsafe.Pointer(&old))); ok == 0 {
		t.Fatalf("VirtualProtect(PAGE_NOACCESS): %v", err)
	}
	got, err := finishMap(r, POPULATE)
	if err == nil || got != nil {
		t.Fatalf("finishMap(POPULATE) over a PAGE_NOACCESS page = %v, %v; want an error", got, err)
	}
	t.Logf("POPULATE over an unreadable page: %v", err)
	var mbi memoryBasicInformation
	if n, _, err := procVirtualQuery.Call(uintptr(r.base), uintptr(unsafe.Pointer(&mbi)), unsafe.Sizeof(mbi)); n == 0 {
		t.Fatalf("VirtualQuery: %v", err)
	}
	const memFree = 0x10000
	if mbi.state != memFree {
		t.Errorf("after a failed POPULATE the view is still there (state %#x)", mbi.state)
	}
	f.Close()
	if err := os.Remove(name); err != nil {
		t.Errorf("Remove after a failed POPULATE (a handle left open?): %v", err)
	}
}

// Advice that writes to pages Protect made read-only faults inside the
// package; that is an error, and the mapping lives on.
func TestWindowsPopulateWriteFault(t *testing.T) {
	m, err := MapRegion(nil, 4*os.Getpagesize(), RDWR, ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	if err := m.Protect(RDONLY); err != nil {
		t.Fatal(err)
	}
	if err := m.Advise(AdvicePopulateWrite); err == nil {
		t.Error("AdvicePopulateWrite on pages Protect made read-only: no error")
	} else {
		t.Logf("AdvicePopulateWrite on read-only pages: %v", err)
	}
	if err := m.Protect(RDWR); err != nil {
		t.Fatal(err)
	}
	m[0] = 1
}

func TestWindowsLockOnFault(t *testing.T) {
	m, err := MapRegion(nil, 1<<16, RDWR, ANON|LOCK_ONFAULT, 0)
	if err == nil {
		m.Unmap()
	}
	wantUnsupported(t, "ANON|LOCK_ONFAULT", err)
	m, err = MapRegion(nil, 1<<16, RDWR, ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	wantUnsupported(t, "LockOnFault", m.LockOnFault())
}

// HUGETLB needs large pages: they map (with SeLockMemoryPrivilege held) and
// Info says so, or the map fails with ErrNoHugePages saying why.
func TestWindowsHugetlb(t *testing.T) {
	lp := largePageMinimum()
	t.Logf("GetLargePageMinimum: %d", lp)
	const n = 3 << 20
	m, err := MapRegion(nil, n, RDWR, ANON|HUGETLB, 0)
	if err != nil {
		if !errors.Is(err, ErrNoHugePages) {
			t.Fatalf("ANON|HUGETLB: %v, want success or ErrNoHugePages", err)
		}
		if lp != 0 && enableLockMemory() != nil {
			var errno syscall.Errno
			if !strings.Contains(err.Error(), "SeLockMemoryPrivilege") || !errors.As(err, &errno) {
				t.Errorf("ANON|HUGETLB without the privilege: %q does not name SeLockMemoryPrivilege and wrap the errno", err)
			}
		}
		t.Logf("ANON|HUGETLB: %v", err)
	} else {
		defer m.Unmap()
		info, _ := m.Info()
		if info.Kind != HugetlbPages || info.PageSize != lp || info.PageSize == 0 {
			t.Errorf("ANON|HUGETLB: Info %+v, want hugetlb pages of %d bytes", info, lp)
		}
		if len(m) != n {
			t.Errorf("ANON|HUGETLB: len %d", len(m))
		}
		m[0], m[n-1] = 1, 2
		if a := winAttrs(t, m[:1])[0]; a&(wsValid|wsLargePage) != wsValid|wsLargePage {
			if onWine() {
				t.Logf("ANON|HUGETLB: first page attributes %#x, not LargePage (Wine)", a)
			} else {
				t.Errorf("ANON|HUGETLB: first page attributes %#x, not a valid LargePage", a)
			}
		}
		t.Logf("ANON|HUGETLB mapped %d bytes with %d-byte pages", n, lp)
	}

	f := winFile(t, 64<<10)
	if m, err := MapRegion(f, 4096, RDONLY, HUGETLB, 0); err == nil {
		m.Unmap()
		t.Error("HUGETLB file map succeeded")
	} else if !errors.Is(err, ErrNoHugePages) || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("HUGETLB file map: %v, want ErrNoHugePages and ErrUnsupported", err)
	}
	if m, err := MapRegion(nil, 1<<30, RDWR, ANON|HUGETLB|HUGE_1GB, 0); err == nil {
		m.Unmap()
		t.Error("HUGETLB|HUGE_1GB succeeded")
	} else if !errors.Is(err, ErrNoHugePages) {
		t.Errorf("HUGETLB|HUGE_1GB: %v, want ErrNoHugePages", err)
	}
}

// NORESERVE is a documented no-op: a pagefile-backed section is charged
// against the commit limit when it is created.
func TestWindowsNoReserve(t *testing.T) {
	m, err := MapRegion(nil, 1<<20, RDWR, ANON|NORESERVE, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	m[0] = 1
	f := winFile(t, 64<<10)
	fm, err := MapRegion(f, 8192, RDWR, NORESERVE, 0)
	if err != nil {
		t.Fatal(err)
	}
	winUnmapAtEnd(t, &fm)
	if fm[1] != winPattern(1) {
		t.Error("NORESERVE file view has the wrong bytes")
	}
}

// FlushAsync (FlushViewOfFile alone) writes a shared view's pages; it does
// nothing for ANON, COPY and read-only views.
func TestWindowsFlushAsync(t *testing.T) {
	const size = 192 << 10
	f := winFile(t, size)
	off := int(granularity()) + os.Getpagesize()
	m, err := MapRegion(f, 3*os.Getpagesize(), RDWR, 0, int64(off))
	if err != nil {
		t.Fatal(err)
	}
	copy(m[5000:], "async flush")
	if err := m[4990:5020].FlushAsync(); err != nil {
		t.Fatalf("FlushAsync of a sub-slice: %v", err)
	}
	if err := m.FlushAsync(); err != nil {
		t.Fatalf("FlushAsync: %v", err)
	}
	if err := m.Unmap(); err != nil {
		t.Fatal(err)
	}
	cm, err := MapRegion(f, 8192, COPY, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	copy(cm, "private")
	if err := cm.FlushAsync(); err != nil {
		t.Errorf("FlushAsync of COPY: %v", err)
	}
	cm.Unmap()
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if string(data[off+5000:off+5011]) != "async flush" {
		t.Errorf("file after FlushAsync and Unmap holds %q", data[off+5000:off+5011])
	}
	if data[0] != winPattern(0) {
		t.Error("FlushAsync of a COPY view wrote the file")
	}
	ro, err := MapRegion(f, 4096, RDONLY, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Unmap()
	an, err := MapRegion(nil, 4096, RDWR, ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer an.Unmap()
	for _, x := range []MMap{ro, an} {
		if err := x.FlushAsync(); err != nil {
			t.Errorf("FlushAsync: %v", err)
		}
	}
}

// Advice: the read-ahead hints succeed and do nothing, WillNeed prefetches,
// the populate advice touches every page, and the rest are unsupported.
func TestWindowsAdvise(t *testing.T) {
	page := os.Getpagesize()
	m, err := MapRegion(nil, 64*page, RDWR, ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	m[3*page+1] = 9
	for _, a := range []Advice{AdviceNormal, AdviceRandom, AdviceSequential} {
		if err := m.Advise(a); err != nil {
			t.Errorf("%v: %v", a, err)
		}
		if !AdviceSupported(a) {
			t.Errorf("AdviceSupported(%v) = false", a)
		}
	}
	if err := m.Advise(AdviceWillNeed); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("AdviceWillNeed: %v", err)
	} else {
		t.Logf("AdviceWillNeed (PrefetchVirtualMemory): %v", err)
	}
	part := m[10*page+7 : 20*page]
	if err := part.Advise(AdvicePopulateWrite); err != nil {
		t.Fatalf("AdvicePopulateWrite: %v", err)
	}
	if res, pages := winResident(t, part); res != pages || pages != 10 {
		t.Errorf("after AdvicePopulateWrite: %d of %d pages resident, want 10 of 10", res, pages)
	}
	if err := m.Advise(AdvicePopulateRead); err != nil {
		t.Fatalf("AdvicePopulateRead: %v", err)
	}
	if res, pages := winResident(t, m); res != pages {
		t.Errorf("after AdvicePopulateRead: %d of %d pages resident", res, pages)
	}
	for i, b := range m {
		if b != 0 && i != 3*page+1 || i == 3*page+1 && b != 9 {
			t.Fatalf("populate advice changed byte %d to %d", i, b)
		}
	}
	for _, a := range []Advice{AdviceHugePage, AdviceNoHugePage, AdviceCold, AdvicePageOut, AdviceDontFork, AdviceDoFork, AdviceDontDump, AdviceDoDump, AdviceCollapse} {
		wantUnsupported(t, a.String(), m.Advise(a))
		if AdviceSupported(a) {
			t.Errorf("AdviceSupported(%v) = true", a)
		}
	}

	// File views: PopulateRead prefetches and reads; PopulateWrite on a
	// COPY view copies the pages but leaves the file alone; on a
	// read-only view it is refused.
	f := winFile(t, 256<<10)
	for _, prot := range []int{RDONLY, RDWR, COPY} {
		fm, err := MapRegion(f, 32*page, prot, 0, int64(16*page))
		if err != nil {
			t.Fatal(err)
		}
		if err := fm.Advise(AdviceWillNeed); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("prot %d AdviceWillNeed: %v", prot, err)
		}
		if err := fm.Advise(AdvicePopulateRead); err != nil {
			t.Errorf("prot %d AdvicePopulateRead: %v", prot, err)
		}
		if res, pages := winResident(t, fm); res != pages {
			t.Errorf("prot %d after AdvicePopulateRead: %d of %d pages resident", prot, res, pages)
		}
		err = fm.Advise(AdvicePopulateWrite)
		if prot == RDONLY {
			if !errors.Is(err, ErrInvalidProt) {
				t.Errorf("AdvicePopulateWrite on RDONLY: %v, want ErrInvalidProt", err)
			}
		} else if err != nil {
			t.Errorf("prot %d AdvicePopulateWrite: %v", prot, err)
		}
		for i := range fm {
			if fm[i] != winPattern(16*page+i) {
				t.Fatalf("prot %d: populate advice changed byte %d", prot, i)
			}
		}
		if err := fm.Unmap(); err != nil {
			t.Fatal(err)
		}
	}
}

// Discard: DontNeed drops a shared file view's pages from the working set
// (they read back from the file) and is refused for private memory, which
// Windows cannot make read back as zeros; Free resets anonymous pages
// (MEM_RESET); Remove is unsupported.
func TestWindowsDiscard(t *testing.T) {
	page := os.Getpagesize()
	m, err := MapRegion(nil, 16*page, RDWR, ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	for i := range m {
		m[i] = byte(i/page + 1)
	}
	wantUnsupported(t, "ANON DiscardDontNeed", m.Discard(DiscardDontNeed))
	wantUnsupported(t, "ANON DiscardRemove", m.Discard(DiscardRemove))
	if m[0] != 1 {
		t.Fatal("a refused Discard changed the memory")
	}
	// Pages 2..9 wholly inside; pages 1 and 10 only in part, so kept.
	if err := m[page+1 : 10*page+5].Discard(DiscardFree); err != nil {
		t.Fatalf("ANON DiscardFree: %v", err)
	}
	for p := 0; p < 16; p++ {
		pg := m[p*page : (p+1)*page]
		asWas, zero := true, true
		for _, b := range pg {
			asWas = asWas && b == byte(p+1)
			zero = zero && b == 0
		}
		switch {
		case p >= 2 && p < 10 && !asWas && !zero:
			t.Errorf("DiscardFree: page %d is neither as it was nor zeros", p)
		case (p < 2 || p >= 10) && !asWas:
			t.Errorf("DiscardFree: page %d outside the range changed", p)
		case zero:
			t.Logf("DiscardFree: page %d reads back as zeros", p)
		}
	}
	m[5*page] = 42 // usable again
	if m[5*page] != 42 {
		t.Error("write after DiscardFree lost")
	}

	f := winFile(t, 256<<10)
	fm, err := MapRegion(f, 32*page, RDWR, 0, int64(4*page))
	if err != nil {
		t.Fatal(err)
	}
	winUnmapAtEnd(t, &fm)
	copy(fm[5*page:], "kept in the file")
	if err := fm.Advise(AdvicePopulateRead); err != nil {
		t.Fatal(err)
	}
	if err := fm.Discard(DiscardDontNeed); err != nil {
		t.Fatalf("file DiscardDontNeed: %v", err)
	}
	if res, pages := winResident(t, fm); res != 0 {
		if onWine() {
			t.Logf("file DiscardDontNeed: %d of %d pages still resident (Wine's VirtualUnlock does not trim the working set)", res, pages)
		} else {
			t.Errorf("file DiscardDontNeed: %d of %d pages still resident", res, pages)
		}
	}
	if string(fm[5*page:5*page+16]) != "kept in the file" || fm[0] != winPattern(4*page) {
		t.Error("file DiscardDontNeed: the pages do not read back from the file")
	}
	wantUnsupported(t, "file DiscardFree", fm.Discard(DiscardFree))
	wantUnsupported(t, "file DiscardRemove", fm.Discard(DiscardRemove))
	// Locked pages are not discarded (Linux: EINVAL), and stay locked.
	if err := fm[:4*page].Lock(); err != nil {
		t.Fatal(err)
	}
	if err := fm[:4*page].Discard(DiscardDontNeed); err == nil {
		if onWine() {
			t.Log("file DiscardDontNeed of locked pages succeeded (Wine does not report Locked)")
		} else {
			t.Error("file DiscardDontNeed of locked pages succeeded")
		}
	}
	fm[:4*page].Unlock()

	cm, err := MapRegion(f, 8*page, COPY, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Unmap()
	wantUnsupported(t, "COPY DiscardDontNeed", cm.Discard(DiscardDontNeed))
	wantUnsupported(t, "COPY DiscardFree", cm.Discard(DiscardFree))
}

// Protect sets the pages' protection (VirtualQuery shows it, and writes to
// read-only pages fault); a COPY view stays copy-on-write.
func TestWindowsProtect(t *testing.T) {
	page := os.Getpagesize()
	m, err := MapRegion(nil, 8*page, RDWR, ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	if err := m[2*page+5 : 3*page+1].Protect(RDONLY); err != nil {
		t.Fatalf("Protect(RDONLY): %v", err)
	}
	for p, want := range []uint32{syscall.PAGE_READWRITE, syscall.PAGE_READWRITE, syscall.PAGE_READONLY, syscall.PAGE_READONLY, syscall.PAGE_READWRITE} {
		if got := winPageProtect(t, &m[p*page]); got != want {
			t.Errorf("after Protect(RDONLY) of pages 2-3: page %d protect %#x, want %#x", p, got, want)
		}
	}
	if !winFaults(m, 2*page) {
		t.Error("write to a page made RDONLY did not fault")
	}
	if winFaults(m, page) {
		t.Error("write to a page left RDWR faulted")
	}
	if err := m.Protect(RDWR); err != nil {
		t.Fatalf("Protect(RDWR): %v", err)
	}
	if got := winPageProtect(t, &m[2*page]); got != syscall.PAGE_READWRITE || winFaults(m, 2*page) {
		t.Errorf("after Protect(RDWR): protect %#x", got)
	}
	if err := m.Protect(RDWR | EXEC); !errors.Is(err, ErrInvalidProt) {
		t.Errorf("Protect(EXEC) of a mapping without EXEC: %v, want ErrInvalidProt", err)
	}

	x, err := MapRegion(nil, 2*page, RDWR|EXEC, ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Unmap()
	for _, tc := range []struct {
		prot int
		want uint32
	}{{RDONLY | EXEC, syscall.PAGE_EXECUTE_READ}, {RDWR | EXEC, syscall.PAGE_EXECUTE_READWRITE}, {RDONLY, syscall.PAGE_READONLY}, {RDWR, syscall.PAGE_READWRITE}} {
		if err := x.Protect(tc.prot); err != nil {
			t.Fatalf("EXEC mapping Protect(%d): %v", tc.prot, err)
		}
		if got := winPageProtect(t, &x[0]); got != tc.want {
			t.Errorf("EXEC mapping Protect(%d): protect %#x, want %#x", tc.prot, got, tc.want)
		}
	}

	f := winFile(t, 64<<10)
	ro, err := MapRegion(f, page, RDONLY, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Unmap()
	if err := ro.Protect(RDWR); !errors.Is(err, ErrInvalidProt) {
		t.Errorf("Protect(RDWR) of a read-only view: %v, want ErrInvalidProt", err)
	}
	if err := ro.Protect(RDONLY); err != nil {
		t.Errorf("Protect(RDONLY) of a read-only view: %v", err)
	}

	// COPY: page 0 written (private), page 1 not (still the file's).
	cm, err := MapRegion(f, 2*page, COPY, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Unmap()
	if got := winPageProtect(t, &cm[page]); got != syscall.PAGE_WRITECOPY {
		t.Errorf("fresh COPY view: protect %#x, want PAGE_WRITECOPY", got)
	}
	cm[0] = 0xAA
	if err := cm.Protect(RDONLY); err != nil {
		t.Fatalf("COPY Protect(RDONLY): %v", err)
	}
	if got := winPageProtect(t, &cm[page]); got != syscall.PAGE_READONLY || !winFaults(cm, page) {
		t.Errorf("COPY after Protect(RDONLY): protect %#x", got)
	}
	for _, prot := range []int{COPY, RDWR} {
		if err := cm.Protect(prot); err != nil {
			t.Fatalf("COPY Protect(%d): %v", prot, err)
		}
		if got := winPageProtect(t, &cm[page]); got != syscall.PAGE_WRITECOPY {
			t.Errorf("COPY Protect(%d): unwritten page protect %#x, want PAGE_WRITECOPY", prot, got)
		}
		// A copied page is private: Windows reports it READWRITE.
		if got := winPageProtect(t, &cm[0]); got != syscall.PAGE_READWRITE && got != syscall.PAGE_WRITECOPY {
			t.Errorf("COPY Protect(%d): written page protect %#x, want PAGE_READWRITE or PAGE_WRITECOPY", prot, got)
		} else {
			t.Logf("COPY Protect(%d): written page protect %#x", prot, got)
		}
	}
	cm[page] = 0xBB
	if cm[0] != 0xAA || cm[page] != 0xBB {
		t.Error("COPY view lost its writes")
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if data[0] != winPattern(0) || data[page] != winPattern(page) {
		t.Error("writes to a COPY view after Protect reached the file")
	}
}

// ResidentPages reports QueryWorkingSetEx's Valid bit page by page.
func TestWindowsResident(t *testing.T) {
	page := os.Getpagesize()
	m, err := MapRegion(nil, 8*page, RDWR, ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	m[0], m[2*page+9], m[7*page] = 1, 1, 1
	in, err := m.ResidentPages()
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, true, false, false, false, false, true}
	if fmt.Sprint(in) != fmt.Sprint(want) {
		t.Errorf("ResidentPages = %v, want %v", in, want)
	}
	// A sub-slice from the middle of page 1 to the middle of page 3 is
	// covered by pages 1, 2 and 3.
	in, err = m[page+100 : 3*page+1].ResidentPages()
	if err != nil || fmt.Sprint(in) != fmt.Sprint(want[1:4]) {
		t.Errorf("ResidentPages of a sub-slice = %v, %v; want %v", in, err, want[1:4])
	}
	if res, pages := winResident(t, m); res != 3 || pages != 8 {
		t.Errorf("Resident = %d, %d; want 3, 8", res, pages)
	}
	// More pages than one QueryWorkingSetEx call takes.
	big, err := MapRegion(nil, (workingSetExChunk*2+3)*page, RDWR, ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Unmap()
	big[len(big)-1] = 1
	big[workingSetExChunk*page] = 1
	in, err = big.ResidentPages()
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range in {
		if b != (i == workingSetExChunk || i == len(in)-1) {
			t.Errorf("big ResidentPages: page %d resident %v", i, b)
		}
	}
}

// UNALIGNED maps from any byte offset: the view starts on the allocation
// granule below it.
func TestWindowsUnaligned(t *testing.T) {
	const size = 256 << 10
	f := winFile(t, size)
	page := os.Getpagesize()
	g := int(granularity())
	if _, err := MapRegion(f, 10, RDONLY, 0, 1); !errors.Is(err, ErrInvalidOffset) {
		t.Errorf("unaligned offset without UNALIGNED: %v, want ErrInvalidOffset", err)
	}
	for _, tc := range []struct{ off, n int }{
		{1, 10},
		{page + 5, page},
		{g - 3, 7},                   // across a granule boundary
		{g + page + 123, 3*page + 1}, // second granule
		{size - 1, 1},                // the last byte
	} {
		for _, prot := range []int{RDONLY, COPY, RDWR} { // RDWR writes: last
			m, err := MapRegion(f, tc.n, prot, UNALIGNED, int64(tc.off))
			if err != nil {
				t.Fatalf("UNALIGNED off %d len %d prot %d: %v", tc.off, tc.n, prot, err)
			}
			if len(m) != tc.n || cap(m) != tc.n {
				t.Errorf("off %d: len %d cap %d", tc.off, len(m), cap(m))
			}
			for i := range m {
				if m[i] != winPattern(tc.off+i) {
					m.Unmap()
					t.Fatalf("off %d prot %d: byte %d is %#x, want %#x", tc.off, prot, i, m[i], winPattern(tc.off+i))
				}
			}
			if r, _ := lookup(m); r == nil || r.lead != uintptr(tc.off%g) || uintptr(r.base)%uintptr(g) != 0 {
				t.Errorf("off %d: region %+v, want lead %d from a granule-aligned base", tc.off, r, tc.off%g)
			}
			if prot == RDWR {
				m[0] = ^winPattern(tc.off)
				if err := m.Flush(); err != nil {
					t.Errorf("off %d: Flush: %v", tc.off, err)
				}
			}
			if err := m.Unmap(); err != nil {
				t.Fatal(err)
			}
		}
		data, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if data[tc.off] != ^winPattern(tc.off) {
			t.Errorf("off %d: write through an UNALIGNED view landed elsewhere", tc.off)
		}
		if tc.off > 0 && data[tc.off-1] != winPattern(tc.off-1) {
			t.Errorf("off %d: the byte before the view changed", tc.off)
		}
		// Restore for the next case.
		if _, err := f.WriteAt([]byte{winPattern(tc.off)}, int64(tc.off)); err != nil {
			t.Fatal(err)
		}
	}
}
