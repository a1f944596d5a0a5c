//go:build cgo

package mmap

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// The hints that only the C shim has: the hugepage ladder, HUGETLB and
// lock-on-fault.

// Before Linux 5.14 there is no MADV_POPULATE_*: POPULATE passes
// MAP_POPULATE, and on the THP rung touches the pages after the advice.
func TestPopulateWithMapFlag(t *testing.T) {
	skipUnderQEMU(t, "pagemap is the emulator's")
	populateByMapFlag.Store(true)
	t.Cleanup(func() { populateByMapFlag.Store(false) })
	const pages = 16
	for _, flags := range []int{ANON | POPULATE, ANON | POPULATE | HUGE} {
		m := mustMap(t, nil, pages*page, RDWR, flags, 0)
		if present, zero := pageState(t, m); present != pages || zero != 0 {
			t.Errorf("flags %#x: %d of %d pages present, %d zero; want all present and written", flags, present, pages, zero)
		}
		if info, _ := m.Info(); !info.Populated {
			t.Errorf("flags %#x: Info %+v; want Populated", flags, info)
		}
		mustUnmap(t, &m)
	}
	// MAP_POPULATE reports nothing: a map past the end of the file succeeds,
	// which is why POPULATE prefers the advice.
	f := tempFile(t, pattern(page), os.O_RDONLY)
	m := mustMap(t, f, 4*page, RDONLY, POPULATE, 0)
	mustUnmap(t, &m)
}

func TestLockOnFaultAtMapTime(t *testing.T) {
	skipUnderQEMU(t, "smaps is the emulator's")
	const pages = 32
	needMemlock(t, pages*page)
	m := mustMap(t, nil, pages*page, RDWR, ANON|LOCK_ONFAULT, 0)
	defer mustUnmap(t, &m)
	onePagePerFault(t, m)
	if f := vmFlags(t, m); !hasFlag(f, "lo") || !hasFlag(f, "lf") {
		t.Fatalf("VmFlags %v; want lo (locked) and lf (on fault)", f)
	}
	if v := vmaOf(t, m); v.fields["Rss"] != 0 || v.fields["Locked"] != 0 {
		t.Fatalf("lock-on-fault made pages resident at once: Rss %d, Locked %d kB", v.fields["Rss"], v.fields["Locked"])
	}
	for _, i := range []int{0, 7, 31} {
		m[i*page] = 1
	}
	if v := vmaOf(t, m); v.fields["Locked"] != kb(3*page) {
		t.Fatalf("after touching 3 pages smaps Locked is %d kB, want %d", v.fields["Locked"], kb(3*page))
	}
	if info, _ := m.Info(); !info.Locked || info.Populated {
		t.Fatalf("Info %+v; want Locked, not Populated", info)
	}
}

func TestHugetlbRequired(t *testing.T) {
	huge := DefaultHugetlbPageSize()
	pool := setPool(t, huge, 4)
	if got := pool.Available(); got < 4 {
		t.Skipf("the kernel found %d of 4 hugetlb pages (memory too fragmented to reserve more)", got)
	}
	const n = 3<<20 + 5 // not a multiple of the hugepage size
	m := mustMap(t, nil, n, RDWR, ANON|HUGETLB|POPULATE, 0)
	defer mustUnmap(t, &m)
	if len(m) != n || cap(m) != n {
		t.Fatalf("len %d cap %d, want %d", len(m), cap(m), n)
	}
	info, _ := m.Info()
	if info.Kind != HugetlbPages || info.PageSize != huge || !info.Populated {
		t.Fatalf("Info %+v; want hugetlb pages of %d bytes, populated", info, huge)
	}
	v := vmaOf(t, m)
	rounded := (n + huge - 1) / huge * huge
	if v.fields["KernelPageSize"] != kb(huge) || v.fields["Private_Hugetlb"] != kb(rounded) || v.end-v.start != uintptr(rounded) {
		t.Fatalf("smaps KernelPageSize %d kB, Private_Hugetlb %d kB, extent %d; want %d kB, %d kB, %d", v.fields["KernelPageSize"], v.fields["Private_Hugetlb"], v.end-v.start, kb(huge), kb(rounded), rounded)
	}
	m[n-1] = 7
	// Two of the pool's pages are now m's; other processes' pages are
	// as they were.
	want := pool
	want.Free -= 2
	if got := poolOf(t, huge); got != want {
		t.Fatalf("HugetlbPools() has the pool %+v; want %+v (2 pages fewer free than %+v)", got, want, pool)
	}
}

// Without pages in the pool a required-hugetlb map fails clearly, and a
// best-effort one falls back to transparent hugepages.
func TestHugepageFallbacks(t *testing.T) {
	huge := DefaultHugetlbPageSize()
	pool := setPool(t, huge, 0)
	_, err := MapRegion(nil, huge, RDWR, ANON|HUGETLB, 0)
	if !errors.Is(err, ErrNoHugetlbPages) || !errors.Is(err, syscall.ENOMEM) || !strings.Contains(err.Error(), fmt.Sprintf("%d in the pool", pool.Total)) {
		t.Fatalf("HUGETLB with an empty pool: got %v; want ErrNoHugetlbPages wrapping ENOMEM and naming the pool", err)
	}

	const n = 4 << 20
	m := mustMap(t, nil, n, RDWR, ANON|HUGE, 0)
	defer mustUnmap(t, &m)
	info, _ := m.Info()
	switch THPMode() {
	case "always", "madvise":
		thp := THPSize()
		if info.Kind != TransparentHugePages || info.PageSize != thp {
			t.Fatalf("HUGE with an empty pool, THP %s: Info %+v; want transparent pages of %d", THPMode(), info, thp)
		}
		if addr(m)%uintptr(thp) != 0 || !hasFlag(vmFlags(t, m), "hg") {
			t.Fatalf("THP rung: start %#x (want %d-aligned), VmFlags %v (want hg)", addr(m), thp, vmFlags(t, m))
		}
	default:
		if info.Kind != BasePages {
			t.Fatalf("HUGE with THP %q: Info %+v; want base pages", THPMode(), info)
		}
	}
	t.Logf("HUGE fell back to %v pages", info.Kind)
}

// With pages in the pool, best effort takes them.
func TestHugeUsesThePool(t *testing.T) {
	huge := DefaultHugetlbPageSize()
	if got := setPool(t, huge, 2).Available(); got < 2 {
		t.Skipf("the kernel found %d of 2 hugetlb pages (memory too fragmented)", got)
	}
	m := mustMap(t, nil, 2*huge, RDWR, ANON|HUGE, 0)
	defer mustUnmap(t, &m)
	if info, _ := m.Info(); info.Kind != HugetlbPages {
		t.Fatalf("Info %+v; want hugetlb pages", info)
	}
	// The pool is now promised to m: a third page is not there, so best
	// effort falls back rather than failing.
	more := mustMap(t, nil, huge, RDWR, ANON|HUGE, 0)
	defer mustUnmap(t, &more)
	if info, _ := more.Info(); info.Kind == HugetlbPages {
		t.Fatalf("a map past the pool got hugetlb pages: %+v", info)
	}
}

// POPULATE reports a pool that runs dry; MAP_POPULATE would not.
func TestHugetlbPopulateFailureLeavesNothing(t *testing.T) {
	needPopulateAdvice(t)
	huge := DefaultHugetlbPageSize()
	pool := setPool(t, huge, 1)
	if pool.Available() < 1 {
		t.Skip("the kernel could not find a hugetlb page to put in the pool (memory too fragmented)")
	}
	n := liveMappings()
	// NORESERVE skips the reservation at mmap time, so the pool runs dry
	// only when the pages are faulted in.
	_, err := MapRegion(nil, 2*huge, RDWR, ANON|HUGETLB|POPULATE|NORESERVE, 0)
	if !errors.Is(err, ErrNoHugetlbPages) || !errors.Is(err, syscall.EFAULT) || !strings.Contains(fmt.Sprint(err), "MADV_POPULATE_WRITE") {
		t.Fatalf("populating 2 hugepages from a pool of 1: got %v; want ErrNoHugetlbPages from MADV_POPULATE_WRITE", err)
	}
	if liveMappings() != n {
		t.Fatal("the failed map stayed in the registry")
	}
	if !poolSame(t, pool) {
		t.Fatalf("pool after the failure: %+v; want its page free again, as in %+v", poolOf(t, huge), pool)
	}
	// Best effort takes the next rung instead.
	m := mustMap(t, nil, 2*huge, RDWR, ANON|HUGE|POPULATE|NORESERVE, 0)
	defer mustUnmap(t, &m)
	if info, _ := m.Info(); info.Kind == HugetlbPages || !info.Populated {
		t.Fatalf("HUGE|POPULATE past the pool: Info %+v; want a populated fallback", info)
	}
}

func TestHugetlbOneGiB(t *testing.T) {
	if !hasHugetlbPageSize(1 << 30) {
		t.Skip("this kernel has no 1 GiB hugepage size")
	}
	setPool(t, 1<<30, 0)
	_, err := MapRegion(nil, 1<<30, RDWR, ANON|HUGETLB|HUGE_1GB, 0)
	if !errors.Is(err, ErrNoHugetlbPages) || !strings.Contains(err.Error(), "1073741824-byte pages") {
		t.Fatalf("1 GiB HUGETLB with an empty pool: got %v", err)
	}
	if setPool(t, 1<<30, 1).Available() < 1 {
		t.Skip("the kernel could not reserve a 1 GiB page at run time (no free 1 GiB-aligned block); the lent 16-core machine checks this")
	}
	m, err := MapRegion(nil, 1<<30, RDWR, ANON|HUGETLB|HUGE_1GB, 0)
	if err != nil && strconv.IntSize == 32 && errors.Is(err, syscall.ENOMEM) {
		t.Skipf("a 32-bit address space may hold no free 1 GiB-aligned gigabyte: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer mustUnmap(t, &m)
	m[1<<29] = 1
	if v := vmaOf(t, m); v.fields["KernelPageSize"] != 1<<20 {
		t.Fatalf("KernelPageSize %d kB, want 1048576", v.fields["KernelPageSize"])
	}
}

func TestHugetlbNeedsAnonymousOrHugetlbfs(t *testing.T) {
	f := tempFile(t, pattern(4<<20), os.O_RDWR)
	_, err := Map(f, RDWR, HUGETLB)
	if !errors.Is(err, ErrNoHugetlbPages) || !strings.Contains(err.Error(), "hugetlbfs") {
		t.Fatalf("HUGETLB on a regular file: got %v; want ErrNoHugetlbPages saying why", err)
	}
}

// A HUGE map of a file is placed so that its addresses line up with its
// file offsets modulo the THP size whenever it holds a whole aligned block,
// from any page-aligned offset, and Info says so; where this kernel maps
// large folios with PMD entries, smaps confirms it.
func TestHugeFileMapLinesUpWithItsOffsets(t *testing.T) {
	pmd := THPSize()
	if m := THPMode(); pmd == 0 || m == "never" {
		t.Skipf("transparent hugepages are off (mode %q): HUGE maps a file with base pages", m)
	}
	f := tempFile(t, pattern(4*pmd), os.O_RDONLY)
	pmdMaps := filePMDMapsLargeFolios(t)
	// Some file systems' maps the kernel lines up by itself (ext4, xfs),
	// others' not (tmpfs unless its hugepages are on, NFS, FUSE): a tmpfs
	// file shows that the placement is this package's.
	shm, err := os.CreateTemp("/dev/shm", "hugemap-thp-")
	if err != nil {
		t.Fatalf("a file in /dev/shm, the tmpfs every Linux system mounts: %v", err)
	}
	defer os.Remove(shm.Name())
	defer shm.Close()
	if err := shm.Truncate(int64(4 * pmd)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		off, n int
		whole  bool // the range holds a whole pmd-aligned block of the file
	}{
		{0, 2 * pmd, true},
		{page, 2*pmd + page, true},
		{pmd / 2, pmd + pmd/2, true},
		{pmd / 2, pmd, false},
		{pmd + page, 2*pmd - page, true},
		{0, pmd - page, false},
	} {
		onShm := mustMap(t, shm, c.n, RDONLY, HUGE, int64(c.off))
		if info, _ := onShm.Info(); info.PMDMappable != c.whole || (c.whole && (addr(onShm)-uintptr(c.off))%uintptr(pmd) != 0) {
			t.Errorf("HUGE map of %d bytes of a tmpfs file from %d at %#x: Info %+v; want PMDMappable %v, lined up", c.n, c.off, addr(onShm), info, c.whole)
		}
		mustUnmap(t, &onShm)
		m := mustMap(t, f, c.n, RDONLY, HUGE, int64(c.off))
		info, err := m.Info()
		if err != nil {
			t.Fatal(err)
		}
		lined := (addr(m)-uintptr(c.off))%uintptr(pmd) == 0
		if info.Kind != TransparentHugePages || info.PMDMappable != c.whole || (c.whole && !lined) {
			t.Errorf("HUGE map of %d bytes from %d at %#x: Info %+v, lined up %v; want transparent, PMDMappable %v", c.n, c.off, addr(m), info, lined, c.whole)
		}
		// qemu-user takes the advice and drops it.
		if !underQEMU() && !hasFlag(vmFlags(t, m), "hg") {
			t.Errorf("HUGE file map not advised MADV_HUGEPAGE (VmFlags %v)", vmFlags(t, m))
		}
		if c.whole && pmdMaps == "" {
			if err := m.Prefault(1); err != nil {
				t.Fatal(err)
			}
			if kb := vmaOf(t, m).fields["FilePmdMapped"]; kb < int64(pmd>>10) {
				t.Errorf("HUGE map of %d bytes from %d, populated: FilePmdMapped %d kB; this kernel maps such a file with %d kB entries", c.n, c.off, kb, pmd>>10)
			}
		}
		mustUnmap(t, &m)
	}
	if pmdMaps != "" {
		t.Logf("placement checked; smaps not: %s", pmdMaps)
	}
}

// filePMDMapsLargeFolios probes, with plain system calls, whether this
// kernel maps a file's page cache with PMD entries: a file written in one
// write of 2*pmd bytes (the write path caches it in folios as large as the
// write allows, where the file system supports large folios), mapped where
// the kernel puts it and populated with MADV_POPULATE_READ. It returns why
// not, or "" when smaps shows FilePmdMapped.
func filePMDMapsLargeFolios(t testing.TB) string {
	t.Helper()
	pmd := THPSize()
	if pmd == 0 || THPMode() == "never" {
		return fmt.Sprintf("transparent hugepages are off (mode %q, size %d)", THPMode(), pmd)
	}
	if !havePopulateAdvice(t) {
		return "no MADV_POPULATE_READ (Linux before 5.14)"
	}
	f := tempFile(t, pattern(2*pmd), os.O_RDONLY)
	if why := memoryOnlyFS(t, f); why != "" {
		return why
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, 2*pmd, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(b)
	if uintptr(unsafe.Pointer(&b[0]))%uintptr(pmd) != 0 {
		return fmt.Sprintf("the kernel placed a %d-byte file map at %p, not %d-aligned", 2*pmd, &b[0], pmd)
	}
	if err := syscall.Madvise(b, 22 /* MADV_POPULATE_READ */); err != nil {
		t.Fatal(err)
	}
	if kb := vmaOf(t, b).fields["FilePmdMapped"]; kb == 0 {
		return fmt.Sprintf("this kernel and file system (%s) map a freshly written file with small pages (FilePmdMapped 0)", filepath.Dir(f.Name()))
	}
	return ""
}
