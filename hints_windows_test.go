//go:build windows

package mmap

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

// Map-time hints as the Windows backend does them (POPULATE, LOCK,
// LOCK_ONFAULT, HUGE and HUGETLB with large pages, NORESERVE, UNALIGNED)
// and what Info reports for them, checked against QueryWorkingSetEx.

// A new mapping without hints gets base pages, neither populated nor
// locked; a sub-slice reports the same.
func TestWindowsInfo(t *testing.T) {
	f := tempFile(t, pattern(128<<10), os.O_RDWR)
	want := Info{Kind: BasePages, PageSize: page}
	for _, tc := range []struct {
		name  string
		f     *os.File
		prot  int
		flags int
		off   int64
	}{
		{"anon", nil, RDWR, ANON, 0},
		{"file RDONLY", f, RDONLY, 0, int64(page)},
		{"file RDWR", f, RDWR, 0, 0},
		{"file COPY", f, COPY, 0, granularity() + int64(page)},
		{"HUGE anon", nil, RDWR, ANON | HUGE, 0},
		{"HUGE|HUGE_1GB anon", nil, RDWR, ANON | HUGE | HUGE_1GB, 0},
		{"HUGE file", f, RDONLY, HUGE, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustMap(t, tc.f, 3*page, tc.prot, tc.flags, tc.off)
			defer mustUnmap(t, &m)
			for _, s := range []MMap{m, m[100:5000]} {
				if got, err := s.Info(); err != nil || got != want {
					t.Errorf("Info() of %d bytes = %+v, %v; want %+v", len(s), got, err, want)
				}
			}
		})
	}
}

// POPULATE makes every page resident in the working set before Map
// returns, without changing a byte: writing for writable anonymous memory,
// reading for file views, so a COPY view is not copied and a shared view not
// dirtied.
func TestWindowsPopulate(t *testing.T) {
	const n = 1 << 20
	m := mustMap(t, nil, n, RDWR, ANON|POPULATE, 0)
	defer mustUnmap(t, &m)
	if info, _ := m.Info(); !info.Populated || info.Locked {
		t.Errorf("ANON|POPULATE: Info %+v, want Populated and not Locked", info)
	}
	if pages := wantAllResident(t, "ANON|POPULATE", m); pages != n/page {
		t.Errorf("ANON|POPULATE: %d pages, want %d", pages, n/page)
	}
	if m[0] != 0 || m[n-1] != 0 {
		t.Error("ANON|POPULATE: memory is not zero")
	}

	// Without POPULATE a fresh view has nothing in the working set.
	fresh := mustMap(t, nil, n, RDWR, ANON, 0)
	defer mustUnmap(t, &fresh)
	if info, _ := fresh.Info(); info.Populated {
		t.Error("ANON without POPULATE: Info says Populated")
	}
	if res, _ := resident(t, fresh); res != 0 {
		t.Errorf("fresh ANON view: %d pages resident before any touch, want 0", res)
	}

	const size = 256 << 10
	data := pattern(size)
	f := tempFile(t, data, os.O_RDWR)
	off := int(granularity()) + 2*page
	for _, prot := range []int{RDONLY, RDWR, COPY} {
		t.Run("file "+protName(prot), func(t *testing.T) {
			fm := mustMap(t, f, size-off, prot, POPULATE, int64(off))
			defer mustUnmap(t, &fm)
			if info, _ := fm.Info(); !info.Populated {
				t.Errorf("Info %+v, want Populated", info)
			}
			wantAllResident(t, "POPULATE", fm)
			checkView(t, fm, data, off, size-off)
			if prot == COPY {
				// Read, not written: the pages are still the file's, shared
				// and copy-on-write (Shared bit 15, Win32Protection bits 4-14).
				for i, a := range wsAttrs(t, fm) {
					if a&(1<<15) == 0 || (a>>4)&0x7ff != syscall.PAGE_WRITECOPY {
						wineGap(t, "Wine does not report Shared and Win32Protection", "COPY POPULATE: page %d attributes %#x: copied, not shared WRITECOPY", i, a)
						break
					}
				}
			}
		})
	}
	// Nothing was written to the file.
	if now := fileContents(t, f); !bytes.Equal(now, data) {
		i := 0
		for i < min(len(now), len(data)) && now[i] == data[i] {
			i++
		}
		t.Fatalf("POPULATE changed the file at %d", i)
	}
}

// LOCK locks with VirtualLock at map time, which also makes the pages
// resident; QueryWorkingSetEx reports them Locked.
func TestWindowsLockAtMap(t *testing.T) {
	f := tempFile(t, pattern(256<<10), os.O_RDWR)
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
		{"file RDWR", f, 128 << 10, RDWR, LOCK, int64(page)},
		{"file COPY", f, 64 << 10, COPY, LOCK, granularity() + int64(page)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustMap(t, tc.f, tc.n, tc.prot, tc.flags, tc.off)
			defer mustUnmap(t, &m)
			if info, _ := m.Info(); !info.Locked || !info.Populated {
				t.Errorf("Info %+v, want Locked and Populated", info)
			}
			wantAllResident(t, "after LOCK", m)
			locked := 0
			attrs := wsAttrs(t, m)
			for _, a := range attrs {
				if a&(wsValid|wsLocked) == wsValid|wsLocked {
					locked++
				}
			}
			if locked != len(attrs) {
				wineGap(t, "Wine does not report Locked", "QueryWorkingSetEx reports %d of %d pages Locked", locked, len(attrs))
			}
			if err := m.Unlock(); err != nil {
				t.Errorf("Unlock: %v", err)
			}
		})
	}
}

func TestWindowsLockOnFault(t *testing.T) {
	wantUnsupported(t, "ANON|LOCK_ONFAULT", mapFails(t, nil, 1<<16, RDWR, ANON|LOCK_ONFAULT, 0))
	m := mustMap(t, nil, 1<<16, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	wantUnsupported(t, "LockOnFault", m.LockOnFault())
}

// HUGETLB needs large pages: they map (with SeLockMemoryPrivilege held) and
// Info says so, or the map fails with ErrNoHugetlbPages saying why.
func TestWindowsHugetlb(t *testing.T) {
	lp := largePageMinimum()
	t.Logf("GetLargePageMinimum: %d", lp)
	const n = 3 << 20
	m, err := MapRegion(nil, n, RDWR, ANON|HUGETLB, 0)
	if err != nil {
		if !errors.Is(err, ErrNoHugetlbPages) {
			t.Fatalf("ANON|HUGETLB: %v, want success or ErrNoHugetlbPages", err)
		}
		if lp != 0 && enableLockMemory() != nil {
			var errno syscall.Errno
			if !strings.Contains(err.Error(), "SeLockMemoryPrivilege") || !errors.As(err, &errno) {
				t.Errorf("ANON|HUGETLB without the privilege: %q does not name SeLockMemoryPrivilege and wrap the errno", err)
			}
		}
		t.Logf("ANON|HUGETLB: %v", err)
	} else {
		defer mustUnmap(t, &m)
		info, _ := m.Info()
		if info.Kind != HugetlbPages || info.PageSize != lp || info.PageSize == 0 {
			t.Errorf("ANON|HUGETLB: Info %+v, want hugetlb pages of %d bytes", info, lp)
		}
		if len(m) != n {
			t.Errorf("ANON|HUGETLB: len %d", len(m))
		}
		m[0], m[n-1] = 1, 2
		if a := wsAttrs(t, m[:1])[0]; a&(wsValid|wsLargePage) != wsValid|wsLargePage {
			wineGap(t, "Wine", "ANON|HUGETLB: first page attributes %#x, not a valid LargePage", a)
		}
		t.Logf("ANON|HUGETLB mapped %d bytes with %d-byte pages", n, lp)
	}

	f := tempFile(t, pattern(64<<10), os.O_RDWR)
	if err := mapFails(t, f, page, RDONLY, HUGETLB, 0); err != nil && (!errors.Is(err, ErrNoHugetlbPages) || !errors.Is(err, errors.ErrUnsupported)) {
		t.Errorf("HUGETLB file map: %v, want ErrNoHugetlbPages and ErrUnsupported", err)
	}
	if err := mapFails(t, nil, 1<<30, RDWR, ANON|HUGETLB|HUGE_1GB, 0); err != nil && !errors.Is(err, ErrNoHugetlbPages) {
		t.Errorf("HUGETLB|HUGE_1GB: %v, want ErrNoHugetlbPages", err)
	}
}

// NORESERVE is a documented no-op: a pagefile-backed section is charged
// against the commit limit when it is created.
func TestWindowsNoReserve(t *testing.T) {
	m := mustMap(t, nil, 1<<20, RDWR, ANON|NORESERVE, 0)
	defer mustUnmap(t, &m)
	m[0] = 1
	data := pattern(64 << 10)
	f := tempFile(t, data, os.O_RDWR)
	fm := mustMap(t, f, 2*page, RDWR, NORESERVE, 0)
	defer mustUnmap(t, &fm)
	checkView(t, fm, data, 0, 2*page)
}

// UNALIGNED maps from any byte offset: the view starts on the allocation
// granule below it.
func TestWindowsUnaligned(t *testing.T) {
	const size = 256 << 10
	data := pattern(size)
	f := tempFile(t, data, os.O_RDWR)
	g := int(granularity())
	if err := mapFails(t, f, 10, RDONLY, 0, 1); err != nil && !errors.Is(err, ErrInvalidOffset) {
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
			func() {
				m := mustMap(t, f, tc.n, prot, UNALIGNED, int64(tc.off))
				defer mustUnmap(t, &m)
				checkView(t, m, data, tc.off, tc.n)
				if prot == RDWR {
					m[0] = ^data[tc.off]
					if err := m.Flush(); err != nil {
						t.Errorf("off %d: Flush: %v", tc.off, err)
					}
				}
			}()
		}
		now := fileContents(t, f)
		if now[tc.off] != ^data[tc.off] {
			t.Errorf("off %d: write through an UNALIGNED view landed elsewhere", tc.off)
		}
		if tc.off > 0 && now[tc.off-1] != data[tc.off-1] {
			t.Errorf("off %d: the byte before the view changed", tc.off)
		}
		// Restore for the next case.
		if _, err := f.WriteAt(data[tc.off:tc.off+1], int64(tc.off)); err != nil {
			t.Fatal(err)
		}
	}
}
