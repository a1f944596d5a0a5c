//go:build windows

package mmap

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"unsafe"
)

// Helpers for the Windows tests (mmap_, ops_, hints_ and access_windows_test.go)
// that need what only Windows has: VirtualQuery, QueryWorkingSetEx, the
// process handle count, and knowing when Wine runs them. The portable
// helpers (page, pattern, tempFile, mustMap, mustUnmap, writeFaults) are in
// mmap_test.go.

var (
	procVirtualQuery          = kernel32.NewProc("VirtualQuery")
	procGetProcessHandleCount = kernel32.NewProc("GetProcessHandleCount")
	procWineGetVersion        = syscall.NewLazyDLL("ntdll.dll").NewProc("wine_get_version")
)

// onWine reports whether the tests run under Wine, which implements some of
// these calls partly; checks real Windows documents but Wine does not do
// are logged there instead of failing.
func onWine() bool { return procWineGetVersion.Find() == nil }

// wineGap fails the test with the message on Windows; under Wine, which
// does not do what Windows documents here, it logs the message and why.
func wineGap(t testing.TB, why, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if onWine() {
		t.Logf("%s (%s)", msg, why)
	} else {
		t.Error(msg)
	}
}

// protName is prot as the constants spell it, for test names and messages.
func protName(prot int) string {
	s := map[int]string{RDONLY: "RDONLY", RDWR: "RDWR", COPY: "COPY"}[prot&^EXEC]
	if s == "" {
		s = fmt.Sprintf("prot(%d)", prot&^EXEC)
	}
	if prot&EXEC != 0 {
		s += "|EXEC"
	}
	return s
}

// fileContents is what f holds now, read through a new handle.
func fileContents(t testing.TB, f *os.File) []byte {
	t.Helper()
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// mapFails maps what must not map and returns the error; a map that
// succeeds is unmapped again and fails the test.
func mapFails(t testing.TB, f *os.File, length, prot, flags int, off int64) error {
	t.Helper()
	m, err := MapRegion(f, length, prot, flags, off)
	if err == nil {
		m.Unmap()
		t.Errorf("MapRegion(len %d, prot %s, flags %#x, off %d) succeeded; want an error", length, protName(prot), flags, off)
	}
	return err
}

// checkView checks a file view that MapRegion returned for n bytes
// (n < 0: to the end of the file) at offset off of a file holding data: its
// length and capacity, every byte, and a region whose view starts on the
// granule below off and runs to the end of the slice.
func checkView(t testing.TB, m MMap, data []byte, off, n int) {
	t.Helper()
	if n < 0 {
		n = len(data) - off
	}
	if len(m) != n || cap(m) != n {
		t.Errorf("off %d: len %d cap %d, want %d", off, len(m), cap(m), n)
	}
	if want := data[off : off+min(n, len(m))]; !bytes.Equal(m[:len(want)], want) {
		for i := range want {
			if m[i] != want[i] {
				t.Fatalf("off %d: byte %d is %#x, want %#x", off, i, m[i], want[i])
			}
		}
	}
	g := int(granularity())
	r, _ := lookup(m)
	if lead := uintptr(off % g); r == nil || r.lead != lead || r.size != lead+uintptr(n) {
		t.Errorf("off %d: region %+v, want lead %d size %d", off, r, lead, lead+uintptr(n))
	}
	if r != nil && uintptr(r.base)%uintptr(g) != 0 {
		t.Errorf("off %d: view base %p is not granule aligned", off, r.base)
	}
}

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

// virtualQuery is VirtualQuery's account of the pages from p's on.
func virtualQuery(t testing.TB, p uintptr) memoryBasicInformation {
	t.Helper()
	var mbi memoryBasicInformation
	if n, _, err := procVirtualQuery.Call(p, uintptr(unsafe.Pointer(&mbi)), unsafe.Sizeof(mbi)); n == 0 {
		t.Fatalf("VirtualQuery: %v", err)
	}
	return mbi
}

// pageProtect is VirtualQuery's Protect for the page that holds p.
func pageProtect(t testing.TB, p *byte) uint32 {
	t.Helper()
	return virtualQuery(t, uintptr(unsafe.Pointer(p))).protect
}

// wsAttrs is QueryWorkingSetEx's attributes of each page that covers m.
func wsAttrs(t testing.TB, m MMap) []uintptr {
	t.Helper()
	page := uintptr(page)
	start := addr(m) &^ (page - 1)
	n := int((addr(m) + uintptr(len(m)) - start + page - 1) / page)
	attrs := make([]uintptr, n)
	if err := queryWorkingSet(start, n, func(i int, a uintptr) { attrs[i] = a }); err != nil {
		t.Fatalf("QueryWorkingSetEx: %v", err)
	}
	return attrs
}

// resident is m.Resident(), which must succeed.
func resident(t testing.TB, m MMap) (resident, pages int) {
	t.Helper()
	resident, pages, err := m.Resident()
	if err != nil {
		t.Fatalf("Resident: %v", err)
	}
	return resident, pages
}

// wantAllResident checks that every page that covers m is in the working
// set, and returns how many pages that is.
func wantAllResident(t testing.TB, what string, m MMap) int {
	t.Helper()
	res, pages := resident(t, m)
	if res != pages {
		t.Errorf("%s: %d of %d pages resident, want all", what, res, pages)
	}
	return pages
}

// handleCount is the number of handles the process holds, or 0 where
// GetProcessHandleCount reports nothing (Wine).
func handleCount() int {
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

// wantUnsupported checks that err matches errors.ErrUnsupported, as the
// Windows backend documents for what Windows cannot do.
func wantUnsupported(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("%s: err = %v, want one matching errors.ErrUnsupported", what, err)
	} else {
		t.Logf("%s: %v", what, err)
	}
}

// okOrUnsupported checks that err is nil or matches errors.ErrUnsupported
// (advice Windows may lack, such as PrefetchVirtualMemory on old systems).
func okOrUnsupported(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("%s: %v", what, err)
	} else {
		t.Logf("%s: %v", what, err)
	}
}
