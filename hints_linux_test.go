package mmap

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Map-time hints, checked against the kernel's account in /proc/self/smaps.

// kb is n bytes in smaps' kB.
func kb(n int) int64 { return int64(n) >> 10 }

// vmFlags is the VmFlags line of the mapping that holds m.
func vmFlags(t testing.TB, m MMap) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	p, in := addr(m), false
	for _, line := range strings.Split(string(b), "\n") {
		fs := strings.Fields(line)
		if len(fs) >= 5 && strings.Contains(fs[0], "-") && !strings.HasSuffix(fs[0], ":") {
			lo, hi, _ := strings.Cut(fs[0], "-")
			start, _ := strconv.ParseUint(lo, 16, 64)
			end, _ := strconv.ParseUint(hi, 16, 64)
			in = p >= uintptr(start) && p < uintptr(end)
		}
		if v, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			return strings.Fields(v)
		}
	}
	t.Fatalf("no VmFlags for %#x", p)
	return nil
}

func hasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if x == f {
			return true
		}
	}
	return false
}

func TestPopulateAnonymous(t *testing.T) {
	skipUnderQEMU(t, "pagemap is the emulator's")
	const pages = 64
	plain := mustMap(t, nil, pages*page, RDWR, ANON, 0)
	defer mustUnmap(t, &plain)
	if present, _ := pageState(t, plain); present != 0 {
		t.Fatalf("a plain anonymous map has %d pages present before any touch; the check cannot see populate", present)
	}
	m := mustMap(t, nil, pages*page, RDWR, ANON|POPULATE, 0)
	defer mustUnmap(t, &m)
	if present, zero := pageState(t, m); present != pages || zero != 0 {
		t.Fatalf("after POPULATE of a writable map: %d of %d pages present, %d of them the zero page; want all present, none zero (populated for writing)", present, pages, zero)
	}
	if info, _ := m.Info(); !info.Populated || info.Kind != BasePages || info.PageSize != page {
		t.Fatalf("Info %+v", info)
	}
	// A read-only anonymous map populates for reading: every page present,
	// each what this kernel gives a read fault (the zero page, or a private
	// zeroed page where the zero page is forbidden).
	wantZero, kind := 0, "private pages: this kernel answers a read fault with a private page"
	if readFaultTakesZeroPage(t) {
		wantZero, kind = pages, "the zero page: this kernel answers a read fault with it"
	}
	ro := mustMap(t, nil, pages*page, RDONLY, ANON|POPULATE, 0)
	defer mustUnmap(t, &ro)
	if present, zero := pageState(t, ro); present != pages || zero != wantZero {
		t.Fatalf("after POPULATE of a read-only map: %d of %d pages present, %d of them the zero page; want all present, as %s", present, pages, zero, kind)
	}
}

// A file map populates with reads: its pages are resident, a shared map's
// page cache stays clean, and a COPY map copies nothing.
func TestPopulateFileReadsWithoutDirtyingOrCopying(t *testing.T) {
	skipUnderQEMU(t, "smaps is the emulator's")
	const size = 32 << 12
	f := tempFile(t, pattern(size), os.O_RDWR)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	// Clean pages to begin with, where the file system has such.
	clean := true
	if why := memoryOnlyFS(t, f); why != "" {
		clean = false
		t.Logf("dirty pages not checked: %s", why)
	}
	for _, prot := range []int{RDONLY, RDWR, COPY} {
		if prot == COPY && !havePopulateAdvice(t) {
			t.Logf("COPY left out: Linux %s has no MADV_POPULATE_READ (5.14+), and MAP_POPULATE copies every page of a COPY map", kernelRelease(t))
			continue
		}
		m := mustMap(t, f, -1, prot, POPULATE, 0)
		v := vmaOf(t, m)
		if v.fields["Rss"] != kb(size) {
			t.Errorf("prot %d: Rss %d kB after POPULATE, want %d", prot, v.fields["Rss"], kb(size))
		}
		if v.fields["Anonymous"] != 0 || clean && (v.fields["Private_Dirty"] != 0 || v.fields["Shared_Dirty"] != 0) {
			t.Errorf("prot %d: POPULATE dirtied or copied pages: Anonymous %d, Private_Dirty %d, Shared_Dirty %d kB", prot, v.fields["Anonymous"], v.fields["Private_Dirty"], v.fields["Shared_Dirty"])
		}
		mustUnmap(t, &m)
	}
}

// MADV_POPULATE_READ reports a range past the end of the file, and the map
// fails whole: nothing stays mapped.
func TestPopulatePastEndOfFileFails(t *testing.T) {
	skipUnderQEMU(t, "maps is the emulator's")
	needPopulateAdvice(t)
	f := tempFile(t, pattern(page), os.O_RDONLY)
	before := mapsFootprint(t, filepath.Dir(f.Name()))
	n := liveMappings()
	m, err := MapRegion(f, 4*page, RDONLY, POPULATE, 0)
	if err == nil {
		mustUnmap(t, &m)
		t.Fatal("POPULATE of a map past the end of the file succeeded")
	}
	var pe *os.PathError
	if !errors.Is(err, syscall.EFAULT) || !errors.As(err, &pe) || !strings.Contains(err.Error(), "MADV_POPULATE_READ") {
		t.Fatalf("got %v; want a *PathError naming MADV_POPULATE_READ and wrapping EFAULT", err)
	}
	if after := mapsFootprint(t, filepath.Dir(f.Name())); after != before || liveMappings() != n {
		t.Fatalf("a failed populate left a mapping: %+v -> %+v", before, after)
	}
}

func TestLockAtMapTime(t *testing.T) {
	skipUnderQEMU(t, "smaps is the emulator's")
	const size = 16 << 12
	needMemlock(t, size)
	before := statusKB(t, "VmLck")
	m := mustMap(t, nil, size, RDWR, ANON|LOCK, 0)
	if got := statusKB(t, "VmLck") - before; got != kb(size) {
		t.Fatalf("VmLck grew by %d kB, want %d", got, kb(size))
	}
	if v := vmaOf(t, m); v.fields["Locked"] != kb(size) || v.fields["Rss"] != kb(size) {
		t.Fatalf("smaps Locked %d, Rss %d kB; want %d", v.fields["Locked"], v.fields["Rss"], kb(size))
	}
	if info, _ := m.Info(); !info.Locked || !info.Populated {
		t.Fatalf("Info %+v; want Locked and Populated", info)
	}
	mustUnmap(t, &m)
	if got := statusKB(t, "VmLck"); got != before {
		t.Fatalf("VmLck %d kB after Unmap, want %d", got, before)
	}
}

func TestNoReserve(t *testing.T) {
	skipUnderQEMU(t, "smaps is the emulator's")
	m := mustMap(t, nil, 4*page, RDWR, ANON|NORESERVE, 0)
	defer mustUnmap(t, &m)
	// Under vm.overcommit_memory=2 the kernel ignores MAP_NORESERVE.
	if f, never := vmFlags(t, m), overcommitNever(t); hasFlag(f, "nr") == never {
		t.Fatalf("VmFlags %v (vm.overcommit_memory=2: %v); want nr (MAP_NORESERVE) unless overcommit is 2", f, never)
	}
	plain := mustMap(t, nil, 4*page, RDWR, ANON, 0)
	defer mustUnmap(t, &plain)
	if f := vmFlags(t, plain); hasFlag(f, "nr") {
		t.Fatalf("a map without NORESERVE has VmFlags %v", f)
	}
}

// A file on hugetlbfs maps with its hugepages; HUGE or HUGETLB make the
// package look, so Info knows.
func TestHugetlbfsFile(t *testing.T) {
	huge := DefaultHugetlbPageSize()
	if got := setPool(t, huge, 2).Available(); got < 2 {
		t.Skipf("the kernel found %d of 2 hugetlb pages (memory too fragmented)", got)
	}
	dir := t.TempDir()
	if err := syscall.Mount("none", dir, "hugetlbfs", 0, ""); errors.Is(err, syscall.EPERM) {
		t.Skipf("mount hugetlbfs: %v (root without CAP_SYS_ADMIN, as in a container)", err)
	} else if err != nil {
		t.Fatalf("mount hugetlbfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	f, err := os.Create(filepath.Join(dir, "huge"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(int64(huge)); err != nil {
		t.Fatal(err)
	}
	// Without HUGE the package does not look, but Unmap still finds the
	// length the kernel wants.
	plain := mustMap(t, f, huge-1, RDWR, 0, 0)
	plain[0] = 1
	mustUnmap(t, &plain)
	m := mustMap(t, f, huge-1, RDWR, HUGE, 0)
	m[huge-2] = 9
	info, _ := m.Info()
	if info.Kind != HugetlbPages || info.PageSize != huge {
		t.Fatalf("Info %+v; want hugetlb pages of %d", info, huge)
	}
	// One mapper: the kernel counts its page as Private_Hugetlb.
	if v := vmaOf(t, m); v.fields["KernelPageSize"] != kb(huge) || v.fields["Private_Hugetlb"]+v.fields["Shared_Hugetlb"] != kb(huge) {
		t.Fatalf("KernelPageSize %d kB, hugetlb pages %d kB", v.fields["KernelPageSize"], v.fields["Private_Hugetlb"]+v.fields["Shared_Hugetlb"])
	}
	mustUnmap(t, &m)
	again := mustMap(t, f, -1, RDONLY, HUGE, 0)
	defer mustUnmap(t, &again)
	if again[huge-2] != 9 || again[0] != 1 {
		t.Fatal("a write through a hugetlbfs mapping did not reach the file")
	}
}

func TestUnalignedOffsets(t *testing.T) {
	data := pattern(4 * page)
	f := tempFile(t, data, os.O_RDWR)
	if _, err := MapRegion(f, 100, RDONLY, 0, 5000); !errors.Is(err, ErrInvalidOffset) {
		t.Fatalf("unaligned offset without UNALIGNED: got %v, want ErrInvalidOffset", err)
	}
	for _, off := range []int{1, 5000, page - 1, 3*page + 7} {
		m := mustMap(t, f, -1, RDWR, UNALIGNED, int64(off))
		if len(m) != len(data)-off || string(m[:10]) != string(data[off:off+10]) {
			t.Fatalf("offset %d: %d bytes starting %v, want %d starting %v", off, len(m), m[:10], len(data)-off, data[off:off+10])
		}
		m[0] = 'U'
		if err := errors.Join(m.Flush(), m[1:].Flush(), m.Lock(), m.Unlock()); err != nil {
			t.Fatalf("offset %d: %v", off, err)
		}
		if tail := m[1:]; !errors.Is(tail.Unmap(), ErrNotMapped) {
			t.Fatalf("offset %d: Unmap of a derived slice was not refused", off)
		}
		mustUnmap(t, &m)
		data[off] = 'U'
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(data) {
		t.Fatal("writes through unaligned maps did not land at their offsets")
	}
}

// The system queries match sysfs, also on a kernel built without hugetlb
// pages or transparent hugepages, where they say there are none.
func TestSystemQueries(t *testing.T) {
	if PageSize() != os.Getpagesize() {
		t.Fatalf("PageSize %d", PageSize())
	}
	pools, err := HugetlbPools()
	switch _, statErr := os.Stat(hugepagesDir); {
	case errors.Is(statErr, fs.ErrNotExist):
		if err == nil || DefaultHugetlbPageSize() != 0 {
			t.Fatalf("no %s: HugetlbPools() = %+v, %v and DefaultHugetlbPageSize() = %d; want an error and 0", hugepagesDir, pools, err, DefaultHugetlbPageSize())
		}
	case err != nil:
		t.Fatal(err)
	case !hasHugetlbPageSize(DefaultHugetlbPageSize()):
		t.Fatalf("the default hugepage size %d is not among the pools %+v", DefaultHugetlbPageSize(), pools)
	}
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if THPMode() != "" || THPSize() != 0 {
			t.Fatalf("no transparent hugepages in sysfs: THPMode %q, THPSize %d; want \"\" and 0", THPMode(), THPSize())
		}
	case err != nil:
		t.Fatal(err)
	default:
		if mode := THPMode(); mode == "" || !strings.Contains(string(b), "["+mode+"]") {
			t.Fatalf("THPMode %q, sysfs says %q", mode, b)
		}
		if THPSize() <= page || THPSize()&(THPSize()-1) != 0 {
			t.Fatalf("THPSize %d", THPSize())
		}
	}
	t.Logf("pools %+v, THP %q of %d bytes", pools, THPMode(), THPSize())
}

// A lock past RLIMIT_MEMLOCK names the limit. A child without CAP_IPC_LOCK
// (which ignores the limit: root drops it with setpriv) and with a 64 KiB
// limit does the locking.
func TestLockLimitNamesTheLimit(t *testing.T) {
	if os.Getenv("MMAP_TEST_LOCK_CHILD") != "" {
		_, mapErr := MapRegion(nil, 1<<20, RDWR, ANON|LOCK, 0)
		m := mustMap(t, nil, 1<<20, RDWR, ANON, 0)
		defer mustUnmap(t, &m)
		errs := []error{mapErr, m.Lock()}
		if Backend() == "cgo" {
			errs = append(errs, m.LockOnFault())
		}
		for _, err := range errs {
			if !errors.Is(err, ErrMemlockLimit) || !strings.Contains(err.Error(), "RLIMIT_MEMLOCK is 65536 bytes") {
				t.Errorf("got %v; want ErrMemlockLimit naming the 65536-byte limit", err)
			}
		}
		return
	}
	skipUnderQEMU(t, "the child would run outside the emulator")
	args := append(limitedChild(t), os.Args[0], "-test.run=^TestLockLimitNamesTheLimit$", "-test.count=1", "-test.v")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "MMAP_TEST_LOCK_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestLockLimitNamesTheLimit") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
