package mmap

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Linux side of the reliability suite: the leak probe and the Linux-only bad
// inputs of TestBadInputTable, what is mapped executable, failed maps that
// must leave nothing, RLIMIT_MEMLOCK and vm.max_map_count.

func init() {
	leakProbe = func(t testing.TB, dir string) any {
		if underQEMU() {
			return nil // /proc/self is the emulator's
		}
		return mapsFootprint(t, dir)
	}
	platformBadCases = linuxBadCases
}

// mapFootprint is what a leaked mapping, descriptor or lock would grow:
// bytes mapped from files under dir, bytes of anonymous and special
// mappings other than the Go runtime's (which are all rw-p or ---p, and
// grow as they like), bytes of executable mappings, open descriptors, and
// locked kB. Bytes, not lines: anonymous VMAs merge.
type mapFootprint struct {
	fileBytes, otherAnonBytes, execBytes, fds, lockedKB int64
}

func mapsFootprint(t testing.TB, dir string) mapFootprint {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	fp := mapFootprint{fds: int64(len(ents)), lockedKB: statusKB(t, "VmLck")}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		fs := strings.Fields(line)
		lo, hi, _ := strings.Cut(fs[0], "-")
		start, _ := strconv.ParseUint(lo, 16, 64)
		end, _ := strconv.ParseUint(hi, 16, 64)
		n, perms, path := int64(end-start), fs[1], ""
		if len(fs) >= 6 {
			path = strings.Join(fs[5:], " ")
		}
		if perms[2] == 'x' {
			fp.execBytes += n
		}
		switch {
		case dir != "" && strings.HasPrefix(path, dir+"/"):
			fp.fileBytes += n
		case (path == "" || strings.HasPrefix(path, "/anon_hugepage") || strings.HasPrefix(path, "/dev/zero")) && perms != "rw-p" && perms != "---p":
			fp.otherAnonBytes += n
		case strings.HasPrefix(path, "/anon_hugepage"), strings.HasPrefix(path, "/dev/zero"):
			fp.otherAnonBytes += n
		}
	}
	return fp
}

func linuxBadCases(t *testing.T) []badCase {
	dir := t.TempDir()
	var cases []badCase
	add := func(name string, call func() error, want ...error) {
		cases = append(cases, badCase{name, call, want})
	}
	openT := func(path string, flag int) *os.File {
		f, err := os.OpenFile(path, flag, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	data := filepath.Join(dir, "data")
	if err := os.WriteFile(data, pattern(2*page), 0o644); err != nil {
		t.Fatal(err)
	}
	wo := openT(data, os.O_WRONLY)
	opath := openT(data, os.O_RDONLY|0x200000 /* O_PATH */)
	ro := openT(data, os.O_RDONLY)
	rw := openT(data, os.O_RDWR)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	sp, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	sock := os.NewFile(uintptr(sp[0]), "socket")
	t.Cleanup(func() { sock.Close(); syscall.Close(sp[1]) })

	for name, f := range map[string]*os.File{
		"pipe (read end)": r, "pipe (write end)": w, "socket": sock,
		"/dev/null": openT("/dev/null", os.O_RDWR), "/dev/urandom": openT("/dev/urandom", os.O_RDONLY),
	} {
		add("Map of a "+name, wholeCall(f, RDONLY, 0), ErrInvalidLength)
		if f == w {
			// A write-only descriptor cannot back a readable map.
			add("MapRegion(len page) of a "+name, mapCall(f, page, RDONLY, 0, 0), fs.ErrPermission)
			continue
		}
		add("MapRegion(len page) of a "+name, mapCall(f, page, RDONLY, 0, 0), syscall.ENODEV)
	}
	// procfs and sysfs files are regular files whose size says nothing
	// of their contents; the kernel maps none of them. (A whole-file Map of
	// a procfs file, whose size is 0, is TestMapOfProcFileIsNotSilentlyEmpty.)
	for _, p := range []string{"/proc/self/status", "/proc/self/maps", "/sys/kernel/mm/transparent_hugepage/enabled"} {
		if p == "/proc/self/maps" && underQEMU() {
			continue // qemu-user serves its own copy of this file, from a file that maps
		}
		if _, err := os.Stat(p); err != nil {
			continue // a kernel without transparent hugepages has no such sysfs file
		}
		f := openT(p, os.O_RDONLY)
		add("MapRegion(len page) of "+p, mapCall(f, page, RDONLY, 0, 0), syscall.ENODEV)
		if strings.HasPrefix(p, "/sys/") {
			add("Map (whole file) of "+p, wholeCall(f, RDONLY, 0), syscall.ENODEV)
		}
	}
	add("Map(RDONLY) of an O_WRONLY file", wholeCall(wo, RDONLY, 0), fs.ErrPermission, syscall.EACCES)
	add("MapRegion(RDWR) of an O_WRONLY file", mapCall(wo, page, RDWR, 0, 0), fs.ErrPermission)
	add("MapRegion(COPY) of an O_WRONLY file", mapCall(wo, page, COPY, 0, 0), fs.ErrPermission)
	add("Map of an O_PATH descriptor", wholeCall(opath, RDONLY, 0), syscall.EBADF)
	add("MapRegion(len page) of an O_PATH descriptor", mapCall(opath, page, RDONLY, 0, 0), syscall.EBADF)
	if Backend() == "cgo" {
		add("MapRegion(HUGETLB) of a regular file", mapCall(rw, page, RDWR, HUGETLB, 0), ErrNoHugetlbPages)
	} else {
		add("MapRegion(HUGETLB) without the cgo backend", mapCall(rw, page, RDWR, HUGETLB, 0), errors.ErrUnsupported)
	}
	if strconv.IntSize == 64 {
		add("MapRegion(len MaxInt) of a 2-page file", mapCall(rw, math.MaxInt, RDWR, 0, 0), syscall.ENOMEM)
		add("MapRegion(ANON, len MaxInt)", mapCall(nil, math.MaxInt, RDWR, ANON, 0), syscall.ENOMEM)
		add("MapRegion(ANON|HUGE|POPULATE, len MaxInt-page)", mapCall(nil, math.MaxInt-page, RDWR, ANON|HUGE|POPULATE, 0), syscall.ENOMEM)
	}
	// qemu-user answers these two with errnos of its own (EINVAL, ENOMEM).
	qemu := underQEMU()
	if huge := DefaultHugetlbPageSize(); Backend() == "cgo" && !qemu && huge != 0 {
		// Emptied for the test as root; otherwise only when nobody has
		// pages to spare in it (and under the pool lock, so that no other
		// run of these tests fills it meanwhile).
		p, err := resizePool(t, huge, 0)
		if err != nil {
			lockPool(t)
			p = poolOf(t, huge)
		}
		if p.Size == huge && p.Available() == 0 && poolOvercommit(t, huge) == 0 {
			add("MapRegion(ANON|HUGETLB) with an empty pool", mapCall(nil, page, RDWR, ANON|HUGETLB, 0), ErrNoHugetlbPages, syscall.ENOMEM)
		}
	}

	// Resize that must grow a file it cannot write, and that the kernel
	// cannot place.
	roMap := mustMap(t, ro, -1, RDONLY, 0, 0)
	t.Cleanup(func() { mustUnmap(t, &roMap) })
	add("Resize with extend of a map of a read-only file", func() error { return roMap.Resize(ro, 3*page, true) }, syscall.EINVAL)
	anon := mustMap(t, nil, page, RDWR, ANON, 0)
	t.Cleanup(func() { mustUnmap(t, &anon) })
	if strconv.IntSize == 64 {
		// mremap (both backends have it on Linux): the page-rounded length
		// passes the address space.
		if !qemu {
			add("Resize of an anonymous map to MaxInt", func() error { return anon.Resize(nil, math.MaxInt, false) }, syscall.EINVAL)
		}
		// Unless vm.overcommit_memory is 1, which grants any length that
		// fits in the address space.
		if big := int64(1) << 46; !overcommitAlways(t) {
			add("Resize of an anonymous map to 64 TiB (more than memory and swap)", func() error { return anon.Resize(nil, int(big), false) }, syscall.ENOMEM)
		}
	}
	return cases
}

// Map of a /proc file with no length: procfs reports size 0, so this is the
// empty-file case unless the package looks closer. The table asserts ENODEV
// (what mmap says of procfs); this test says what the package does.
func TestMapOfProcFileIsNotSilentlyEmpty(t *testing.T) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	content, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Map(f, RDONLY, 0)
	if err == nil {
		t.Fatalf("Map of /proc/self/status (read(2) gives %d bytes) returned %d bytes and no error; "+
			"a loader mapping a procfs file gets an empty slice where mmap(2) says ENODEV", len(content), len(m))
	}
	if !errors.Is(err, syscall.ENODEV) {
		t.Fatalf("Map of /proc/self/status: got %v; want ENODEV, as mmap(2) says of procfs", err)
	}
}

// Nothing is mapped executable unless EXEC was asked, for every prot and
// every combination of hints, file and anonymous; the kernel's perms and
// VmFlags say so, and no executable byte appears anywhere else in the
// process. Protect cannot add write or exec beyond the mapping's prot.
func TestNothingExecutableUnlessAsked(t *testing.T) {
	skipUnderQEMU(t, "/proc/self/smaps is the emulator's")
	dir := t.TempDir()
	path := filepath.Join(dir, "data")
	if err := os.WriteFile(path, pattern(8*page), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hints := []int{POPULATE, HUGE, LOCK, LOCK_ONFAULT, NORESERVE, UNALIGNED}
	// HUGE|LOCK locks a whole transparent hugepage.
	if why := memlockShort(t, max(4*page, THPSize())); why != "" {
		hints = slices.DeleteFunc(hints, func(h int) bool { return h == LOCK || h == LOCK_ONFAULT })
		t.Logf("LOCK and LOCK_ONFAULT left out: %s", why)
	}
	var flagSets []int
	for bits := 0; bits < 1<<len(hints); bits++ {
		fl := 0
		for i, h := range hints {
			if bits&(1<<i) != 0 {
				fl |= h
			}
		}
		if fl&LOCK != 0 && fl&LOCK_ONFAULT != 0 {
			continue
		}
		flagSets = append(flagSets, fl, fl|ANON)
	}
	huge := DefaultHugetlbPageSize()
	if Backend() == "cgo" {
		if p, err := resizePool(t, huge, 2); err != nil || p.Available() < 2 {
			t.Logf("HUGETLB maps left out: %v, %d hugetlb pages available", err, p.Available())
		} else {
			for _, fl := range flagSets {
				if fl&ANON != 0 && fl&HUGE == 0 {
					flagSets = append(flagSets, fl|HUGETLB)
				}
			}
		}
	}
	before := mapsFootprint(t, dir)
	maps, refusals := 0, 0
	for _, prot := range []int{RDONLY, RDWR, COPY, RDONLY | EXEC, RDWR | EXEC, COPY | EXEC} {
		for _, flags := range flagSets {
			off, length := int64(0), 3*page+7
			if flags&ANON == 0 && flags&UNALIGNED != 0 {
				off = int64(page + 5)
			}
			if flags&HUGETLB != 0 {
				length = huge
			}
			name := fmt.Sprintf("prot %#x flags %#x", prot, flags)
			m, err := MapRegion(f, length, prot, flags, off)
			if flags&LOCK_ONFAULT != 0 && documentedUnsupported(t, "LockOnFault", err) {
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			maps++
			checkPerms := func(when string) {
				t.Helper()
				wantX, wantW := prot&EXEC != 0, prot&(RDWR|COPY) != 0
				shared := flags&ANON == 0 && prot&COPY == 0
				start := addr(m) &^ uintptr(page-1)
				for p := start; p < addr(m)+uintptr(len(m)); p += uintptr(page) {
					v, fl := vmFlagsAt(t, p)
					if (v.perms[2] == 'x') != wantX || fl["ex"] != wantX {
						t.Fatalf("%s %s: page at %#x is %s (VmFlags ex %v); want executable %v", name, when, p, v.perms, fl["ex"], wantX)
					}
					if (v.perms[1] == 'w') != wantW || (v.perms[3] == 's') != shared {
						t.Fatalf("%s %s: page at %#x is %s; want writable %v, shared %v", name, when, p, v.perms, wantW, shared)
					}
					p = max(p, v.end-uintptr(page))
				}
				if fp := mapsFootprint(t, dir); !wantX && fp.execBytes != before.execBytes {
					t.Fatalf("%s %s: %d executable bytes in the process, %d before", name, when, fp.execBytes, before.execBytes)
				}
			}
			checkPerms("after Map")
			// Protect may not add what the map was not made with.
			for _, more := range []int{EXEC, RDONLY | EXEC, RDWR, RDWR | EXEC, COPY, COPY | EXEC} {
				granted := more&EXEC != 0 && prot&EXEC == 0 ||
					more&(RDWR|COPY) != 0 && prot&(RDWR|COPY) == 0 ||
					more&COPY != 0 && prot&COPY == 0
				if !granted {
					continue
				}
				refusals++
				if err := m[len(m)/2:].Protect(more); !errors.Is(err, ErrInvalidProt) {
					t.Fatalf("%s: Protect(%#x) on a slice: got %v; want ErrInvalidProt", name, more, err)
				}
			}
			if err := m.Protect(RDONLY); err != nil {
				t.Fatalf("%s: Protect(RDONLY): %v", name, err)
			}
			if err := m.Protect(prot); err != nil {
				t.Fatalf("%s: Protect(%#x) back: %v", name, prot, err)
			}
			checkPerms("after refused and allowed Protect calls")
			if err := m.Unmap(); err != nil {
				t.Fatalf("%s: Unmap: %v", name, err)
			}
			if after := mapsFootprint(t, dir); after != before {
				t.Fatalf("%s: footprint after Unmap %+v, before %+v", name, after, before)
			}
		}
	}
	t.Logf("%d mappings checked page by page, %d Protect escalations refused", maps, refusals)
}

// A hugepage or populate failure leaves no half-made mapping: the process's
// maps, the registry and the hugetlb pool are as they were.
func TestFailedMapsLeaveNothing(t *testing.T) {
	skipUnderQEMU(t, "/proc/self/maps is the emulator's")
	dir := t.TempDir()
	path := filepath.Join(dir, "data")
	if err := os.WriteFile(path, pattern(page), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type attempt struct {
		name   string
		f      *os.File
		length int
		prot   int
		flags  int
		want   error
	}
	// try makes each map, which must fail and leave nothing; and the pool
	// of hugetlb pages of poolSize bytes, unless 0, as it was.
	try := func(t *testing.T, poolSize int, tries []attempt) {
		var pool HugetlbPool
		if poolSize != 0 {
			pool = poolOf(t, poolSize)
		}
		before, live := mapsFootprint(t, dir), liveMappings()
		for _, a := range tries {
			m, err := MapRegion(a.f, a.length, a.prot, a.flags, 0)
			if !errors.Is(err, a.want) || m != nil {
				t.Errorf("%s: got %d bytes, %v; want %v and nothing", a.name, len(m), err, a.want)
				if m != nil {
					m.Unmap()
				}
			}
			if after := mapsFootprint(t, dir); after != before || liveMappings() != live {
				t.Fatalf("%s: a failed map left %+v (before %+v), registry %d (before %d)", a.name, after, before, liveMappings(), live)
			}
			if pool.Size != 0 && !poolSame(t, pool) {
				t.Fatalf("%s: hugetlb pool %+v after the failure, %+v before", a.name, poolOf(t, pool.Size), pool)
			}
		}
		t.Logf("%d failed maps, none left anything behind", len(tries))
	}
	// A file map that populates past the end of the file fails at the
	// populate step (MADV_POPULATE_READ: EFAULT), whatever else it asks for.
	t.Run("populate", func(t *testing.T) {
		needPopulateAdvice(t)
		try(t, 0, []attempt{
			{"POPULATE past EOF", f, 4 * page, RDONLY, POPULATE, syscall.EFAULT},
			{"POPULATE|HUGE past EOF", f, 4 * page, RDONLY, POPULATE | HUGE, syscall.EFAULT},
			{"POPULATE|LOCK past EOF", f, 4 * page, COPY, POPULATE | LOCK, syscall.EFAULT},
			{"POPULATE|UNALIGNED past EOF", f, 4 * page, RDONLY | EXEC, POPULATE | UNALIGNED | NORESERVE, syscall.EFAULT},
		})
	})
	t.Run("hugetlb", func(t *testing.T) {
		if Backend() != "cgo" {
			t.Skipf("HUGETLB is the cgo backend's; the %s backend refuses it before mapping anything", Backend())
		}
		needPopulateAdvice(t)
		huge := DefaultHugetlbPageSize()
		if setPool(t, huge, 1).Available() < 1 {
			t.Skip("the kernel could not find a hugetlb page to put in the pool (memory too fragmented)")
		}
		var tries []attempt
		// NORESERVE: the pool runs dry at fault time, in the populate step.
		for _, prot := range []int{RDONLY, RDWR, RDONLY | EXEC} {
			tries = append(tries,
				attempt{fmt.Sprintf("HUGETLB|POPULATE beyond the pool, prot %#x", prot), nil, 2 * huge, prot, ANON | HUGETLB | POPULATE | NORESERVE, ErrNoHugetlbPages},
				attempt{fmt.Sprintf("HUGETLB|POPULATE|LOCK_ONFAULT beyond the pool, prot %#x", prot), nil, 2 * huge, prot, ANON | HUGETLB | POPULATE | NORESERVE | LOCK_ONFAULT, ErrNoHugetlbPages},
				// Without NORESERVE the reservation fails at mmap.
				attempt{fmt.Sprintf("HUGETLB beyond the pool, prot %#x", prot), nil, 2 * huge, prot, ANON | HUGETLB, ErrNoHugetlbPages},
			)
		}
		try(t, huge, tries)
	})
}

// runChild re-runs the test named test in a child process of this test
// binary, with env added, behind the command prefix (setpriv, prlimit),
// and fails unless the child's test passed. It returns the child's output.
func runChild(t *testing.T, test string, env []string, prefix ...string) string {
	t.Helper()
	args := append(prefix, os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("child %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// RLIMIT_MEMLOCK at map time for a file map (LOCK, POPULATE|LOCK, HUGE|LOCK
// for anonymous memory through the transparent-hugepage rung) and for Lock
// and LockOnFault of a sub-slice: ErrMemlockLimit naming the limit, nothing
// left mapped or locked, and a lock within the limit still works.
func TestLockLimitAtMapTimeAndOnSlices(t *testing.T) {
	if os.Getenv("MMAP_TEST_MEMLOCK_CHILD") != "" {
		memlockChild(t)
		return
	}
	skipUnderQEMU(t, "the child would run outside the emulator")
	out := runChild(t, "TestLockLimitAtMapTimeAndOnSlices", []string{"MMAP_TEST_MEMLOCK_CHILD=1"},
		limitedChild(t)...)
	t.Logf("child:\n%s", out)
}

func memlockChild(t *testing.T) {
	const limit = "RLIMIT_MEMLOCK is 65536 bytes"
	dir := t.TempDir()
	path := filepath.Join(dir, "data")
	if err := os.WriteFile(path, pattern(1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before, live := mapsFootprint(t, dir), liveMappings()
	wantLimit := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrMemlockLimit) || !strings.Contains(fmt.Sprint(err), limit) {
			t.Errorf("%s: got %v; want ErrMemlockLimit naming the 65536-byte limit", what, err)
		}
	}
	for _, c := range []struct {
		name        string
		f           *os.File
		prot, flags int
	}{
		{"file LOCK", f, RDWR, LOCK},
		{"file COPY|POPULATE|LOCK", f, COPY, POPULATE | LOCK},
		{"file RDONLY|UNALIGNED|LOCK", f, RDONLY, LOCK | UNALIGNED},
		{"anon HUGE|LOCK", nil, RDWR, ANON | HUGE | LOCK},
		{"anon HUGE|POPULATE|LOCK", nil, RDWR, ANON | HUGE | POPULATE | LOCK},
	} {
		m, err := MapRegion(c.f, 1<<20, c.prot, c.flags, 0)
		wantLimit(c.name, err)
		if m != nil {
			t.Errorf("%s: returned %d bytes with the error", c.name, len(m))
		}
		if after := mapsFootprint(t, dir); after != before || liveMappings() != live {
			t.Fatalf("%s: a failed LOCK left %+v (before %+v)", c.name, after, before)
		}
	}
	// 16 KiB is within the limit, but HUGE's rungs lock a whole hugepage:
	// the error must blame the limit for what was really locked.
	if Backend() == "cgo" && THPSize() > 1<<16 {
		_, err := MapRegion(nil, 3*page+7, RDWR, ANON|HUGE|LOCK, 0)
		wantLimit("anon HUGE|LOCK of 16 KiB (a whole hugepage locked)", err)
	}
	m := mustMap(t, f, -1, RDWR, 0, 0)
	wantLimit("Lock of a 128 KiB slice of a file map", m[page+1:33*page].Lock())
	wantLimit("Lock of a 128 KiB Range of a file map", func() error {
		r, err := m.Range(2*page, 32*page)
		if err != nil {
			return err
		}
		return r.Lock()
	}())
	if Backend() == "cgo" {
		wantLimit("LockOnFault of the whole file map", m.LockOnFault())
	}
	if got := statusKB(t, "VmLck"); got != 0 {
		t.Fatalf("VmLck %d kB after refused locks", got)
	}
	// Within the limit: 2 pages of a slice lock, and unlock.
	if err := m[page+1 : 2*page+1].Lock(); err != nil {
		t.Fatalf("Lock of a 2-page slice within the limit: %v", err)
	}
	if got := statusKB(t, "VmLck"); got != kb(2*page) {
		t.Fatalf("VmLck %d kB after locking 2 pages", got)
	}
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
	copy(m[page:], "still usable")
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	mustUnmap(t, &m)
	if after := mapsFootprint(t, dir); after != before || liveMappings() != live {
		t.Fatalf("footprint %+v at the end, %+v at the start", after, before)
	}
}

// vm.max_map_count: a child maps one-page mappings until the kernel says
// ENOMEM (the system's limit, left as it is). The error is clear (ENOMEM
// wrapped, naming mmap), the mappings made before it stay usable (read,
// written, flushed), operations that would split a VMA fail cleanly, and
// every mapping unmaps.
func TestMaxMapCountExhaustion(t *testing.T) {
	if os.Getenv("MMAP_TEST_MAPCOUNT_CHILD") != "" {
		mapCountChild(t)
		return
	}
	skipUnderQEMU(t, "the child would run outside the emulator")
	if sanitizer {
		t.Skip("a race or address sanitizer needs mappings of its own and dies when they run out; the plain go test run checks this")
	}
	out := runChild(t, "TestMaxMapCountExhaustion", []string{"MMAP_TEST_MAPCOUNT_CHILD=1"})
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "reliability_linux_test.go") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

func mapCountChild(t *testing.T) {
	limitB, err := os.ReadFile("/proc/sys/vm/max_map_count")
	if err != nil {
		t.Fatal(err)
	}
	limit, err := strconv.Atoi(strings.TrimSpace(string(limitB)))
	if err != nil {
		t.Fatal(err)
	}
	if limit > 1<<20 {
		t.Skipf("vm.max_map_count is %d: too many mappings to reach in a test", limit)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "data")
	if err := os.WriteFile(path, make([]byte, 2*page), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Room for every mapping's slice, made now: once the limit is reached the
	// Go runtime cannot map more heap either.
	maps := make([]MMap, 0, limit+16)
	// And heap the runtime keeps mapped: 64 MiB allocated and dropped, so
	// the small allocations of the error paths reuse it.
	ballast := make([]byte, 64<<20)
	for i := 0; i < len(ballast); i += page {
		ballast[i] = 1
	}
	ballast = nil
	// And span records: each small-object span the maps below fill needs
	// one, and the runtime maps memory for more of them when it runs out,
	// which at the limit is fatal. Thousands of spans' worth of small
	// objects, dropped, leave their records free for reuse.
	var small [][]byte
	for range 1 << 18 {
		small = append(small, make([]byte, 48+len(small)%3*48))
	}
	small = nil
	runtime.GC()
	// No collection to run while at the limit.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var mapErr error
	for i := 0; ; i++ {
		var m MMap
		if i%2 == 0 {
			// The same file pages each time: neighbours never merge. The
			// first mapping is two pages wide, to be split later.
			n := page
			if i == 0 {
				n = 2 * page
			}
			m, mapErr = MapRegion(f, n, RDWR, 0, 0)
		} else {
			// Anonymous, read-only between writable file maps: no merging.
			m, mapErr = MapRegion(nil, page, RDONLY, ANON, 0)
		}
		if mapErr != nil {
			break
		}
		maps = append(maps, m)
		if i > limit+8 {
			t.Fatalf("%d mappings made with vm.max_map_count %d and no error", i, limit)
		}
	}
	var se *os.SyscallError
	var pe *fs.PathError
	if !errors.Is(mapErr, syscall.ENOMEM) || !(errors.As(mapErr, &se) && se.Syscall == "mmap" || errors.As(mapErr, &pe) && pe.Op == "mmap") {
		t.Fatalf("after %d mappings: got %v; want ENOMEM from mmap, wrapped", len(maps), mapErr)
	}
	t.Logf("vm.max_map_count %d: %d mappings made, then %v", limit, len(maps), mapErr)
	// At the limit: operations that split a VMA get a clear error and
	// change nothing.
	file := maps[0]
	for name, op := range map[string]func() error{
		"Protect of one byte":     func() error { return file[:1].Protect(RDONLY) },
		"Advise of a sub-slice":   func() error { return maps[0][:1].Advise(AdviceRandom) },
		"another mapping":         func() error { return mapCall(nil, page, RDWR, ANON, 0)() },
		"another file mapping":    func() error { return mapCall(f, page, RDWR, 0, 0)() },
		"a growing Resize (move)": func() error { return maps[1].Resize(nil, 64*page, false) },
	} {
		err := op()
		if err == nil {
			continue // nothing to split or move; fine
		}
		// madvise says EAGAIN where the split fails, the others ENOMEM.
		if !errors.Is(err, syscall.ENOMEM) && !errors.Is(err, syscall.EAGAIN) {
			t.Errorf("%s at the map count limit: got %v; want ENOMEM or EAGAIN, wrapped", name, err)
		}
	}
	// Lock of one page of the first mapping, two pages wide, would split
	// its VMA, which the map count forbids: mlock says ENOMEM. Where this
	// process has CAP_IPC_LOCK (root) or an unlimited RLIMIT_MEMLOCK, no
	// locked-memory limit is involved and the error must not say there is.
	if err := maps[0][:1].Lock(); err == nil {
		t.Errorf("Lock of one page of a two-page VMA at the map count limit succeeded; the test could not see a split fail")
	} else if !errors.Is(err, syscall.ENOMEM) || errors.Is(err, ErrMemlockLimit) && memlockIsNoLimit() {
		t.Errorf("Lock that would split a VMA at vm.max_map_count: got %q; want ENOMEM, wrapped, "+
			"not ErrMemlockLimit: this process has no locked-memory limit (CAP_IPC_LOCK or unlimited)", err)
	}
	if err := maps[0].Lock(); err != nil {
		t.Errorf("Lock of a whole mapping at the limit (no split): %v", err)
	}
	if err := maps[0].Unlock(); err != nil {
		t.Errorf("Unlock: %v", err)
	}
	// Headroom for the Go runtime before the long part: ten of ours go.
	for range 10 {
		if err := maps[len(maps)-1].Unmap(); err != nil {
			t.Fatal(err)
		}
		maps = maps[:len(maps)-1]
	}
	// Every earlier mapping is usable, and the first, a middle and the
	// last file mappings flush: the writeback of the page they share walks
	// every mapping of it, so a Flush costs as much as there are mappings
	// (vm.max_map_count is 1048576 on some distributions), and flushing
	// more of them would make the test quadratic.
	checked, flushed := 0, 0
	flushAt := map[int]bool{0: true, len(maps) / 2 &^ 1: true, (len(maps) - 1) &^ 1: true}
	for i, m := range maps {
		if i%2 == 0 {
			m[i%page] = byte(i)
			if maps[0][i%page] != byte(i) {
				t.Fatalf("a write through mapping %d is not seen through mapping 0 of the same page", i)
			}
			if flushAt[i] {
				if err := m.Flush(); err != nil {
					t.Fatalf("Flush of mapping %d at the limit: %v", i, err)
				}
				flushed++
			}
		} else if m[page-1] != 0 {
			t.Fatalf("anonymous mapping %d not zero", i)
		}
		checked++
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The last write to each byte of the file page won; every even i wrote
	// byte i%page with byte(i).
	last := map[int]byte{}
	for i := 0; i < len(maps); i += 2 {
		last[i%page] = byte(i)
	}
	for off, b := range last {
		if got[off] != b {
			t.Fatalf("file byte %d is %d; the last flushed write was %d", off, got[off], b)
		}
	}
	for i := range maps {
		if err := maps[i].Unmap(); err != nil {
			t.Fatalf("Unmap of mapping %d: %v", i, err)
		}
	}
	if n := liveMappings(); n != 0 {
		t.Fatalf("%d mappings left in the registry", n)
	}
	t.Logf("%d mappings used at the limit, %d flushed, %d file bytes verified, all unmapped", checked, flushed, len(last))
}

// memlockIsNoLimit reports whether locking memory is unlimited for this
// process: CAP_IPC_LOCK in its effective set, or RLIMIT_MEMLOCK infinite.
func memlockIsNoLimit() bool {
	var r syscall.Rlimit
	if syscall.Getrlimit(8 /* RLIMIT_MEMLOCK */, &r) == nil && r.Cur == math.MaxUint64 {
		return true
	}
	return hasCapIPCLock()
}

// hasCapIPCLock reports whether CAP_IPC_LOCK is in this process's effective
// set.
func hasCapIPCLock() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<14) != 0 // CAP_IPC_LOCK
		}
	}
	return false
}

// limitedChild is the command prefix that starts a child without
// CAP_IPC_LOCK, under which RLIMIT_MEMLOCK binds (setpriv drops it for
// root; other users lack it anyway), with that limit set to 64 KiB
// (prlimit).
func limitedChild(t testing.TB) []string {
	t.Helper()
	var prefix []string
	switch {
	case os.Geteuid() == 0:
		prefix = []string{"setpriv", "--bounding-set=-ipc_lock", "--inh-caps=-ipc_lock"}
	case hasCapIPCLock():
		t.Skip("this user holds CAP_IPC_LOCK, which only root can drop for a child (setpriv)")
	}
	prefix = append(prefix, "prlimit", "--memlock=65536")
	for _, cmd := range []string{prefix[0], "prlimit"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("%s (util-linux) is not installed: %v", cmd, err)
		}
	}
	return prefix
}

// HUGE is best effort and HUGETLB fails with ErrNoHugetlbPages when the pool
// has no pages; with NORESERVE the kernel's MAP_HUGETLB succeeds without
// reserving anything, so with an empty pool the map "succeeds" as hugetlb
// and the first touch raises SIGBUS, killing the host. Found by
// FuzzMapRegion (testdata/fuzz/FuzzMapRegion/hugetlb-noreserve-empty-pool).
func TestHugeNoReserveWithEmptyPool(t *testing.T) {
	if Backend() != "cgo" {
		t.Skip("the hugetlb ladder is the cgo backend's; HUGE gives base pages here")
	}
	setPool(t, DefaultHugetlbPageSize(), 0)
	for _, flags := range []int{ANON | HUGE | NORESERVE, ANON | HUGETLB | NORESERVE, ANON | HUGE | HUGETLB | NORESERVE} {
		m, err := MapRegion(nil, page, RDWR, flags, 0)
		if flags&HUGETLB != 0 {
			if !errors.Is(err, ErrNoHugetlbPages) {
				info, _ := m.Info()
				t.Errorf("flags %#x with an empty pool: got %d bytes (Info %+v), %v; want ErrNoHugetlbPages", flags, len(m), info, err)
			}
		} else if err != nil {
			t.Errorf("flags %#x: %v; want a fallback to transparent or base pages", flags, err)
		}
		if err == nil {
			if ferr := faults(func() { m[0] = 1 }); ferr != nil {
				info, _ := m.Info()
				t.Errorf("flags %#x with an empty pool: the map succeeded (Info %+v) and its first write faults (%v): SIGBUS would kill the process", flags, info, ferr)
			}
			mustUnmap(t, &m)
		}
	}
}
