//go:build windows

package mmap

import (
	"os"
	"testing"
	"unsafe"
)

// Faults taken inside the package on Windows: a touch of a page that
// cannot be read or written comes back as an error, not a crash, and
// leaves the mapping (or, at map time, the process) as it should be.

// When POPULATE or LOCK fails after the view exists, finishMap unmaps it and
// closes the duplicated file handle. Neither fails on demand, so a page made
// PAGE_NOACCESS stands in for an unreadable file page: touching it faults,
// and the fault comes back as an error, not a crash.
func TestWindowsFinishMapCleanup(t *testing.T) {
	f := tempFile(t, pattern(128<<10), os.O_RDWR)
	name := f.Name()
	m := mustMap(t, f, 2*page, RDWR, 0, 0)
	r, err := unregister(m)
	if err != nil {
		t.Fatal(err)
	}
	var old uint32
	if ok, _, err := procVirtualProtect.Call(uintptr(r.base)+uintptr(page), uintptr(page), pageNoAccess, uintptr(unsafe.Pointer(&old))); ok == 0 {
		t.Fatalf("VirtualProtect(PAGE_NOACCESS): %v", err)
	}
	got, err := finishMap(r, POPULATE)
	if err == nil || got != nil {
		t.Fatalf("finishMap(POPULATE) over a PAGE_NOACCESS page = %v, %v; want an error", got, err)
	}
	t.Logf("POPULATE over an unreadable page: %v", err)
	const memFree = 0x10000
	if mbi := virtualQuery(t, uintptr(r.base)); mbi.state != memFree {
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
	m := mustMap(t, nil, 4*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
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
	if writeFaults(m) != nil {
		t.Error("a write after Protect(RDWR) faulted")
	}
}
