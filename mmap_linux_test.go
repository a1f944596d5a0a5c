package mmap

import (
	"bufio"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// What the kernel did, read back from /proc.

// The backend must follow the build: the C shim with cgo, syscall without.
func TestBackendIsTheOneBuilt(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build info in the test binary")
	}
	want := ""
	for _, s := range bi.Settings {
		if s.Key == "CGO_ENABLED" {
			want = map[string]string{"1": "cgo", "0": "syscall"}[s.Value]
		}
	}
	if Backend() != want {
		t.Fatalf("Backend() = %q, want %q for this build", Backend(), want)
	}
}

// vma is one line of /proc/self/maps plus its smaps fields.
type vma struct {
	start, end uintptr
	perms      string
	path       string
	fields     map[string]int64 // smaps "Key: N kB" lines, in kB
}

// vmaOf returns the mapping that holds m's first byte.
func vmaOf(t testing.TB, m MMap) vma {
	t.Helper()
	p := addr(m)
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cur *vma
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fs := strings.Fields(line)
		if len(fs) >= 5 && strings.Contains(fs[0], "-") && !strings.HasSuffix(fs[0], ":") {
			if cur != nil {
				break
			}
			lo, hi, _ := strings.Cut(fs[0], "-")
			start, _ := strconv.ParseUint(lo, 16, 64)
			end, _ := strconv.ParseUint(hi, 16, 64)
			if p >= uintptr(start) && p < uintptr(end) {
				cur = &vma{start: uintptr(start), end: uintptr(end), perms: fs[1], fields: map[string]int64{}}
				if len(fs) >= 6 {
					cur.path = strings.Join(fs[5:], " ")
				}
			}
			continue
		}
		if cur != nil && len(fs) >= 2 && strings.HasSuffix(fs[0], ":") {
			n, err := strconv.ParseInt(fs[1], 10, 64)
			if err == nil {
				cur.fields[strings.TrimSuffix(fs[0], ":")] = n
			}
		}
	}
	if cur == nil {
		t.Fatalf("no mapping at %#x in /proc/self/smaps", p)
	}
	return *cur
}

// statusKB reads a "Key: N kB" line of /proc/self/status.
func statusKB(t testing.TB, key string) int64 {
	t.Helper()
	return procKB(t, "/proc/self/status", key)
}

// procKB reads a "Key: N kB" line of a file such as /proc/meminfo.
func procKB(t testing.TB, path, key string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in %s", key, path)
	return 0
}

func TestKernelSeesProtAndSharing(t *testing.T) {
	skipUnderQEMU(t, "qemu answers /proc/self/maps from its own table, without the kernel's permissions and extents")
	f := tempFile(t, pattern(2*page), os.O_RDWR)
	cases := []struct {
		prot, flags int
		perms       string
	}{
		{RDONLY, 0, "r--s"},
		{RDWR, 0, "rw-s"},
		{COPY, 0, "rw-p"},
		{RDONLY | EXEC, 0, "r-xs"},
		{RDWR | EXEC, 0, "rwxs"},
		{COPY | EXEC, 0, "rwxp"},
		// Anonymous maps are private: a shared one would show "s" and a
		// "/dev/zero (deleted)" shmem object.
		{RDWR, ANON, "rw-p"},
		{RDONLY, ANON, "r--p"},
	}
	for _, c := range cases {
		m := mustMap(t, f, page, c.prot, c.flags, 0)
		v := vmaOf(t, m)
		if v.perms != c.perms {
			t.Errorf("prot %d flags %d: kernel shows %s, want %s", c.prot, c.flags, v.perms, c.perms)
		}
		wantPath := f.Name()
		if c.flags&ANON != 0 {
			wantPath = ""
		}
		if v.path != wantPath {
			t.Errorf("prot %d flags %d: mapping of %q, want %q", c.prot, c.flags, v.path, wantPath)
		}
		mustUnmap(t, &m)
	}
}

func TestLengthIsExactMappingIsPageRounded(t *testing.T) {
	skipUnderQEMU(t, "qemu answers /proc/self/maps from its own table, without the kernel's permissions and extents")
	f := tempFile(t, pattern(3*page), os.O_RDONLY)
	m := mustMap(t, f, 10, RDONLY, 0, int64(page))
	defer mustUnmap(t, &m)
	if len(m) != 10 || cap(m) != 10 {
		t.Fatalf("len %d cap %d, want 10", len(m), cap(m))
	}
	v := vmaOf(t, m)
	if v.start != addr(m) || v.end-v.start != uintptr(page) {
		t.Fatalf("kernel mapping %#x-%#x, want one page at %#x", v.start, v.end, addr(m))
	}
}

func TestLockIsSeenByTheKernel(t *testing.T) {
	skipUnderQEMU(t, "/proc/self/smaps is the emulator's, not the guest's")
	const pages = 64
	needMemlock(t, pages*page)
	m := mustMap(t, nil, pages*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	kb := int64(page / 1024)
	before := statusKB(t, "VmLck")
	if err := m.Lock(); err != nil {
		t.Fatal(err)
	}
	if got := statusKB(t, "VmLck") - before; got != pages*kb {
		t.Fatalf("VmLck grew by %d kB after Lock, want %d", got, pages*kb)
	}
	if v := vmaOf(t, m); v.fields["Locked"] != pages*kb || v.fields["Rss"] != pages*kb {
		t.Fatalf("smaps Locked %d kB, Rss %d kB; want %d each (mlock faults every page in)", v.fields["Locked"], v.fields["Rss"], pages*kb)
	}
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
	if got := statusKB(t, "VmLck") - before; got != 0 {
		t.Fatalf("VmLck still %d kB above the start after Unlock", got)
	}
	// A derived slice locks the whole pages that cover it: here pages 1 and 2.
	if err := m[page+1 : 2*page+1].Lock(); err != nil {
		t.Fatal(err)
	}
	if got := statusKB(t, "VmLck") - before; got != 2*kb {
		t.Fatalf("VmLck grew by %d kB after locking a slice over 2 pages, want %d", got, 2*kb)
	}
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// Flush must write the pages back, not merely succeed: the kernel's dirty
// account goes from set to clear, for a sub-slice as for the whole
// mapping. smaps counts the mapping's dirty pages; where this process may
// read physical page flags, kpageflags says which.
func TestFlushWritesPagesBack(t *testing.T) {
	skipUnderQEMU(t, "/proc/self/smaps and pagemap are the emulator's, not the guest's")
	f := tempFile(t, pattern(3*page), os.O_RDWR)
	needEvictableFiles(t, f)
	m := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &m)
	dirtyKB := func() int64 {
		v := vmaOf(t, m)
		return v.fields["Shared_Dirty"] + v.fields["Private_Dirty"]
	}
	pageAt := func(i int) unsafe.Pointer { return unsafe.Pointer(&m[i*page]) }
	// perPage is whether kpageflags can say which pages are dirty.
	perPage := true
	if kf, err := kpageflags(); err != nil {
		perPage = false
		t.Logf("page by page checks left out: %v", err)
	} else {
		kf.Close()
		if pagemapEntries(t, m[:1])[0]&pmPFN == 0 {
			perPage = false
			t.Log("page by page checks left out: /proc/self/pagemap hides frame numbers from this process")
		}
	}
	for i := range 3 {
		m[i*page] ^= 0xFF
	}
	if got := dirtyKB(); got != kb(3*page) {
		t.Fatalf("smaps counts %d kB dirty right after writing 3 pages, want %d; the check cannot see a flush", got, kb(3*page))
	}
	for i := range 3 {
		if perPage && !pageDirty(t, pageAt(i)) {
			t.Fatalf("page %d is clean right after a write; the check cannot see a flush", i)
		}
	}
	if err := m[page+5 : page+6].Flush(); err != nil {
		t.Fatal(err)
	}
	// Only the flushed page is asserted: ext4 may write its neighbours
	// back too (ordered-mode journal commits flush the inode's data; a
	// large folio is written whole).
	if got := dirtyKB(); got > kb(2*page) {
		t.Fatalf("smaps counts %d kB dirty after flushing a byte of page 1, want at most %d", got, kb(2*page))
	}
	if perPage && pageDirty(t, pageAt(1)) {
		t.Fatal("page 1 still dirty after flushing a byte of it")
	}
	for i := range 3 {
		m[i*page] ^= 0xFF
	}
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := dirtyKB(); got != 0 {
		t.Fatalf("smaps counts %d kB dirty after Flush, want 0", got)
	}
	for i := range 3 {
		if perPage && pageDirty(t, pageAt(i)) {
			t.Fatalf("page %d still dirty after Flush", i)
		}
	}
}

func TestNoLeakOverThousandsOfCycles(t *testing.T) {
	const cycles = 3000
	f := tempFile(t, pattern(4*page), os.O_RDWR)
	needMemlock(t, 4*page)
	ro := tempFile(t, pattern(page), os.O_RDONLY)
	cycle := func() error {
		m, err := MapRegion(f, page, RDWR, 0, int64(page))
		if err != nil {
			return err
		}
		m[0]++
		a, err := MapRegion(nil, 3*page, RDONLY, ANON, 0)
		if err != nil {
			return err
		}
		if err := a.Lock(); err != nil {
			return err
		}
		// Failures must not leak either.
		if _, err := MapRegion(ro, page, RDWR, 0, 0); err == nil {
			return errors.New("RDWR map of a read-only file succeeded")
		}
		if suffix := m[1:]; !errors.Is(suffix.Unmap(), ErrNotMapped) {
			return errors.New("Unmap of a derived slice was not refused")
		}
		return errors.Join(m.Unmap(), a.Unmap())
	}
	before := mapsFootprint(t, filepath.Dir(f.Name()))
	for i := range cycles {
		if err := cycle(); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if i == 0 {
			// The check must see a live mapping, or it could never fail.
			m := mustMap(t, f, page, RDONLY, 0, 0)
			a := mustMap(t, nil, page, RDONLY, ANON, 0)
			if err := a.Lock(); err != nil {
				t.Fatal(err)
			}
			live := mapsFootprint(t, filepath.Dir(f.Name()))
			if live.fileBytes != before.fileBytes+int64(page) || live.otherAnonBytes != before.otherAnonBytes+int64(page) || live.lockedKB <= before.lockedKB {
				t.Fatalf("footprint with one live mapping of each kind: %+v (before %+v)", live, before)
			}
			mustUnmap(t, &m)
			mustUnmap(t, &a)
		}
	}
	if after := mapsFootprint(t, filepath.Dir(f.Name())); after != before {
		t.Fatalf("after %d cycles the footprint is %+v, was %+v", cycles, after, before)
	}
}

func TestAnonymousFailureIsSyscallError(t *testing.T) {
	m, err := MapRegion(nil, math.MaxInt, RDWR, ANON, 0)
	if err == nil && strconv.IntSize == 32 {
		mustUnmap(t, &m)
		t.Skip("this 32-bit address space had room for math.MaxInt bytes; no failure to check")
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "mmap" || !errors.Is(err, syscall.ENOMEM) {
		t.Fatalf("got %v; want an *os.SyscallError for mmap wrapping ENOMEM", err)
	}
}

func TestNonRegularFiles(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, err := Map(r, RDONLY, 0); !errors.Is(err, ErrInvalidLength) {
		t.Errorf("whole-file map of a pipe: got %v, want ErrInvalidLength", err)
	}
	if _, err := MapRegion(r, page, RDONLY, 0, 0); !errors.Is(err, syscall.ENODEV) {
		t.Errorf("map of a pipe: got %v, want ENODEV", err)
	}
	// A character device that can be mapped, with an explicit length.
	z, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	m := mustMap(t, z, page, COPY, 0, 0)
	if m[page-1] != 0 {
		t.Error("/dev/zero mapped non-zero")
	}
	mustUnmap(t, &m)
}

// A whole-file length must fit in an int: a 5 GiB sparse file maps whole on
// 64-bit, and is refused with ErrInvalidLength on 32-bit, where its length
// would wrap.
func TestWholeFileLengthMustFitInt(t *testing.T) {
	f := tempFile(t, nil, os.O_RDONLY)
	const size = 5 << 30
	if err := os.Truncate(f.Name(), size); err != nil {
		t.Fatal(err)
	}
	m, err := Map(f, RDONLY, 0)
	if strconv.IntSize == 32 {
		if !errors.Is(err, ErrInvalidLength) {
			t.Fatalf("32-bit whole-file map of 5 GiB: got %v (len %d), want ErrInvalidLength", err, len(m))
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer mustUnmap(t, &m)
	if int64(len(m)) != size || m[len(m)-1] != 0 {
		t.Fatalf("len %d, want %d", len(m), int64(size))
	}
}

// TestMapUnmapAllocatesNothingOnceWarm: a Map allocates its region and
// registry node together, once, and Unmap gives them back for the next Map
// (recycle), so a steady stream of map+unmap allocates nothing.
func TestMapUnmapAllocatesNothingOnceWarm(t *testing.T) {
	if sanitizer {
		t.Skip("a sanitizer's or the race detector's runtime allocates on its own")
	}
	f := tempFile(t, pattern(page), os.O_RDONLY)
	for _, c := range []struct {
		name  string
		f     *os.File
		flags int
	}{{"file", f, 0}, {"anonymous", nil, ANON}} {
		allocs := testing.AllocsPerRun(200, func() {
			m, err := MapRegion(c.f, page, RDONLY, c.flags, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Unmap(); err != nil {
				t.Fatal(err)
			}
		})
		// A collection may empty the pool once or twice in a run.
		if allocs > 0.05 {
			t.Errorf("Map+Unmap of a 4 KiB %s mapping: %v allocations a pair, want none once warm", c.name, allocs)
		}
	}
}
