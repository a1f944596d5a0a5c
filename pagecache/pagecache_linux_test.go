package pagecache

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

	"github.com/hugemap/mmap"
)

// The package against the Linux kernel, with fincore as the witness.

// Stat agrees with fincore after an eviction and reads of scattered pages,
// and with mincore on every sub-range: cachestat and the mapping path give
// the same Pages and Resident on a quiet file.
func TestStatMatchesFincoreAndMincore(t *testing.T) {
	needFincore(t)
	const pages = 512
	f := dataFile(t, pages*page+100) // a partial last page
	evictAll(t, f)
	if n := fincorePages(t, f.Name()); n != 0 {
		t.Fatalf("fincore: %d pages cached after the eviction", n)
	}
	readPages(t, f, 0, 3, 100, 101, 300, pages)
	r, err := Stat(f, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	want := fincorePages(t, f.Name())
	if r.Pages != pages+1 || r.Resident != want {
		t.Errorf("Stat = %d of %d pages resident; fincore says %d of %d", r.Resident, r.Pages, want, pages+1)
	}
	if want < 6 || want > pages/2 {
		t.Errorf("fincore: %d of %d pages cached after reading 6 at random; the check cannot tell", want, pages+1)
	}
	if !haveCachestat(t, f) {
		t.Skip("no cachestat here (a kernel before 6.5, or qemu-user): Stat asked mincore, which fincore confirmed; nothing to compare it with")
	}
	if r.Dirty != 0 || r.Writeback != 0 {
		t.Errorf("Stat of a clean file: %d dirty, %d under writeback", r.Dirty, r.Writeback)
	}
	size := int64(pages*page + 100)
	for _, rg := range [][2]int64{{0, -1}, {1, 1}, {int64(page) - 1, 2}, {3*int64(page) + 5, 10 * int64(page)},
		{100 * int64(page), 2 * int64(page)}, {size - 1, 5}, {size - 100, -1}, {0, int64(page)}} {
		s, err := checkSpan(f, rg[0], rg[1])
		if err != nil {
			t.Fatal(err)
		}
		c, err := cachestat(s)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mincoreStat(s)
		if err != nil {
			t.Fatal(err)
		}
		if c.Pages != m.Pages || c.Resident != m.Resident {
			t.Errorf("range %v: cachestat %d of %d pages, mincore %d of %d", rg, c.Resident, c.Pages, m.Resident, m.Pages)
		}
		if m.Dirty != -1 || m.PMDMapped != -1 {
			t.Errorf("range %v: the mincore path claims counts it cannot know: %+v", rg, m)
		}
	}
}

// On a sparse file whose written pages alone are cached (on a disk and on
// tmpfs alike, with no eviction), Stat, cachestat, mincore and fincore
// agree; Touch brings the holes in too.
func TestStatAndTouchOfASparseFile(t *testing.T) {
	needFincore(t)
	const pages = 300
	path := filepath.Join(t.TempDir(), "sparse")
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Truncate(pages * int64(page)); err != nil {
		t.Fatal(err)
	}
	written := []int{0, 7, 8, 150, pages - 1}
	for _, p := range written {
		if _, err := w.WriteAt([]byte{1}, int64(p*page)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Stat(f, 0, -1)
	if want := fincorePages(t, path); err != nil || r.Pages != pages || r.Resident != want || want != int64(len(written)) {
		t.Fatalf("Stat of a sparse file with %d pages written = %+v, %v; fincore says %d", len(written), r, err, want)
	}
	for _, rg := range [][2]int64{{0, -1}, {int64(page) * 7, 2}, {int64(page)*7 + 1, int64(page)}, {10, int64(page) * 149}} {
		if !haveCachestat(t, f) {
			t.Log("no cachestat here (a kernel before 6.5, or qemu-user): nothing to compare mincore with")
			break
		}
		s, err := checkSpan(f, rg[0], rg[1])
		if err != nil {
			t.Fatal(err)
		}
		c, cerr := cachestat(s)
		m, merr := mincoreStat(s)
		if cerr != nil || merr != nil || c.Pages != m.Pages || c.Resident != m.Resident {
			t.Errorf("range %v: cachestat %+v, %v; mincore %+v, %v", rg, c, cerr, m, merr)
		}
	}
	r, err = Touch(f, 0, -1, 2)
	if want := fincorePages(t, path); err != nil || r.Resident != pages || want != pages {
		t.Errorf("Touch of the sparse file = %+v, %v; fincore says %d of %d", r, err, want, pages)
	}
}

// Where the kernel hides a file's cache from the caller (neither owner
// nor allowed to write it), cachestat is refused and mincore would report
// every page resident: Stat says it cannot tell (fs.ErrPermission), and
// Touch reads everything in, which the child's /proc/self/io confirms. As
// root the check runs in a child process as nobody; as another user on a
// system file, which may be cached already.
func TestHiddenCache(t *testing.T) {
	if !haveCachestat(t, mustOpen(t, os.Args[0])) {
		t.Skip("no cachestat here (a kernel before 6.5, or qemu-user): nothing tells a hidden cache from a cached file (mincore reports every page of it resident on kernels since 5.0)")
	}
	if inChild(t.Name()) {
		path, evicted := strings.CutPrefix(os.Getenv(childArgEnv), "evicted:")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := cachestat(span{f: f, n: 1}); !cachestatHidden(err) {
			t.Fatalf("cachestat of a file this user neither owns nor may write: %v, want EPERM", err)
		}
		if s, err := checkSpan(f, 0, -1); err != nil {
			t.Fatal(err)
		} else if m, err := mincoreStat(s); err != nil || m.Resident != m.Pages {
			t.Logf("mincore of the hidden cache: %+v, %v (this kernel does not pretend every page is resident)", m, err)
		}
		if r, err := Stat(f, 0, -1); !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), f.Name()) {
			t.Fatalf("Stat of a hidden cache = %+v, %v; want fs.ErrPermission naming the file", r, err)
		}
		// The parent evicted the file: Touch must fetch all of it from the
		// disk, which /proc/self/io counts (fincore, for this user, would
		// repeat mincore's answer).
		disk := procIO(t, "read_bytes")
		for _, n := range []int64{int64(page), -1} { // a page, the whole file
			r, err := Touch(f, 0, n, 2)
			if err != nil || r.Resident != r.Pages || r.Dirty != -1 {
				t.Fatalf("Touch(0, %d) of a hidden cache = %+v, %v; want every page, the rest unknown", n, r, err)
			}
		}
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if got := procIO(t, "read_bytes") - disk; evicted && got < fi.Size() {
			t.Fatalf("Touch of a hidden cache read %d bytes from the disk; the file has %d, all evicted", got, fi.Size())
		}
		return
	}
	if os.Getuid() != 0 {
		path, err := exec.LookPath("fincore")
		if err != nil {
			path = "/bin/sh"
		}
		t.Setenv(childEnv, t.Name())
		t.Setenv(childArgEnv, path)
		TestHiddenCache(t)
		return
	}
	path := filepath.Join(shareDir(t), "roots")
	if err := os.WriteFile(path, make([]byte, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	arg := path
	if memoryOnlyFS(f) == "" {
		evictAll(t, f)
		arg = "evicted:" + path
	}
	runChild(t, t.Name(), arg)
}

// Touch brings in the missing pages of its range, with any number of
// workers, reading only: no page is dirtied and the file's times stay.
func TestTouchBringsInWithoutDirtying(t *testing.T) {
	needFincore(t)
	const size = 9<<20 + 123
	f := dataFile(t, size)
	before, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{0, 1, 2, 8} {
		evictAll(t, f)
		readPages(t, f, 5, 600) // some already there
		off, n := int64(3*page+7), int64(6<<20)
		r, err := Touch(f, off, n, workers)
		if err != nil {
			t.Fatal(err)
		}
		wantPages := (off+n+int64(page)-1)/int64(page) - off/int64(page)
		if r.Pages != wantPages || r.Resident != wantPages || r.Dirty > 0 {
			t.Errorf("workers %d: Touch = %+v; want all %d pages resident, none dirty", workers, r, wantPages)
		}
		got, err := Stat(f, off, n)
		if err != nil || got.Resident != wantPages {
			t.Errorf("workers %d: Stat after Touch = %+v, %v", workers, got, err)
		}
		if all := fincorePages(t, f.Name()); all < wantPages {
			t.Errorf("workers %d: fincore says %d pages cached, fewer than the %d touched", workers, all, wantPages)
		}
	}
	// The whole file, to the end.
	r, err := Touch(f, 0, -1, 2)
	if want := fincorePages(t, f.Name()); err != nil || r.Resident != want || r.Pages != want {
		t.Errorf("Touch(0, -1) = %+v, %v; fincore says %d", r, err, want)
	}
	after, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("Touch changed the file's modification time")
	}
}

// Evict drops a file's clean pages, only inside its range; fincore sees it.
// Dirty pages stay, and Stat says so.
func TestEvictDropsCleanPagesOnly(t *testing.T) {
	needFincore(t)
	const pages = 256
	f := dataFile(t, pages*page)
	evictAll(t, f)
	// Read page by page, so the cache holds 4 KiB folios: the kernel drops
	// only folios that lie wholly inside the range.
	all := make([]int, pages)
	for i := range all {
		all[i] = i
	}
	readPages(t, f, all...)
	if n := fincorePages(t, f.Name()); n != pages {
		t.Fatalf("fincore: %d of %d pages cached after reading them", n, pages)
	}
	// Bytes 10.5 pages to 100.5 pages: whole pages 11 to 99 go.
	if err := Evict(f, int64(10*page+page/2), int64(90*page)); err != nil {
		t.Fatal(err)
	}
	if n := fincorePages(t, f.Name()); n != pages-89 {
		t.Errorf("fincore: %d pages cached after evicting 89 whole pages of %d", n, pages)
	}
	r, err := Stat(f, 0, -1)
	if err != nil || r.Resident != fincorePages(t, f.Name()) {
		t.Errorf("Stat after a partial Evict = %+v, %v; fincore says %d", r, err, fincorePages(t, f.Name()))
	}

	// Dirty pages cannot be dropped.
	w, err := os.OpenFile(f.Name(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.WriteAt(make([]byte, 4*page), int64(20*page)); err != nil {
		t.Fatal(err)
	}
	if err := Evict(f, 0, -1); err != nil {
		t.Fatal(err)
	}
	r, err = Stat(f, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	// The kernel may have started writeback: dirty or under writeback, the
	// pages stay unless that writeback finished within the call.
	if r.Resident < r.Dirty+r.Writeback || r.Dirty+r.Writeback > 4 {
		t.Errorf("after writing 4 pages and Evict: %+v", r)
	}
	t.Logf("after writing 4 pages and Evict: %d resident, %d dirty, %d under writeback", r.Resident, r.Dirty, r.Writeback)
}

// On tmpfs, Evict changes nothing and Refold says it cannot.
func TestMemoryOnlyFileSystems(t *testing.T) {
	f, err := os.CreateTemp("/dev/shm", "pagecache-test-")
	if err != nil {
		t.Skipf("no tmpfs at /dev/shm to test on: %v", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if memoryOnlyFS(f) == "" {
		t.Skip("/dev/shm is not tmpfs here")
	}
	if _, err := f.Write(make([]byte, 4<<20)); err != nil {
		t.Fatal(err)
	}
	if err := Evict(f, 0, -1); err != nil {
		t.Fatal(err)
	}
	r, err := Stat(f, 0, -1)
	if err != nil || r.Resident != r.Pages || r.Pages != 4<<20/int64(page) {
		t.Errorf("Stat of a tmpfs file after Evict = %+v, %v; want every page resident", r, err)
	}
	if _, err := Refold(f, 0, -1); !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "tmpfs") {
		t.Errorf("Refold on tmpfs: %v, want errors.ErrUnsupported naming tmpfs", err)
	}
}

// Refold turns a file cached in small folios into one a mapping gets as
// PMD entries, where a probe of raw system calls shows this kernel and file
// system do that; where they do not, it says so with ErrUnsupported.
func TestRefold(t *testing.T) {
	needFincore(t)
	if underQEMU() {
		t.Skip("under qemu-user: /proc/self/smaps is the emulator's, and mappings are not the guest's own")
	}
	const size = 16 << 20
	probe := dataFile(t, size)
	if why := memoryOnlyFS(probe); why != "" {
		t.Skip(why)
	}
	can, why := probePMD(t, probe)
	t.Logf("probe: %s", why)

	// A file written and not synced: dirty, in small folios. Refold writes
	// it back first.
	path := filepath.Join(t.TempDir(), "written")
	if err := os.WriteFile(path, make([]byte, size+page), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Refold(f, 0, -1)
	if is32bit && err != nil && r.PMDMapped == 0 {
		// The probe aligned its mapping by hand; the kernel aligns no file
		// mapping of a 32-bit process (Linux 6.8).
		if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "32-bit") {
			t.Fatalf("Refold in a 32-bit process: %v; want ErrUnsupported saying why", err)
		}
		return
	}
	if !can {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("Refold where the probe got no PMD mapping (%s): %+v, %v; want ErrUnsupported", why, r, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if r.PMDMapped < size/2 || r.Resident != r.Pages || r.Dirty != 0 || r.Resident != fincorePages(t, path) {
		t.Errorf("Refold = %+v; fincore says %d resident; want most of %d bytes PMD-mapped, every page resident, none dirty", r, fincorePages(t, path), size)
	}
	// What it is for: a new mapping of the file gets PMD entries.
	m, err := mmap.Map(f, mmap.RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	if err := m.Prefault(1); err != nil {
		t.Fatal(err)
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.FilePmdMapped < size/2 {
		t.Errorf("a mapping of the file after Refold: FilePmdMapped %d of %d bytes", st.FilePmdMapped, size)
	}
}

// Lock pins a range: /proc/self/status counts it locked, fincore cached;
// Close gives it back. LockResident locks only what is cached and reads
// nothing in.
func TestLock(t *testing.T) {
	needFincore(t)
	const pages = 256
	f := dataFile(t, pages*page)
	if memoryOnlyFS(f) == "" {
		evictAll(t, f)
	}
	locked0 := statusKB(t, "VmLck")
	if why := memlockRoom(t, pages*page); why != "" {
		t.Skip(why)
	}
	p, err := Lock(f, int64(page), int64(100*page))
	if err != nil {
		t.Fatal(err)
	}
	if got := statusKB(t, "VmLck") - locked0; got*1024 != 100*int64(page) {
		t.Errorf("VmLck grew by %d kB after locking 100 pages", got)
	}
	if r, err := Stat(f, int64(page), int64(100*page)); err != nil || r.Resident != 100 {
		t.Errorf("Stat of the locked range = %+v, %v", r, err)
	}
	if err := Evict(f, 0, -1); err != nil {
		t.Fatal(err)
	}
	if n := fincorePages(t, f.Name()); n < 100 {
		t.Errorf("fincore: %d pages cached after an Evict of a range with 100 locked", n)
	}
	if off, n := p.Range(); off != int64(page) || n != int64(100*page) {
		t.Errorf("Range() = %d, %d", off, n)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := statusKB(t, "VmLck"); got != locked0 || mappingsOf(t, f.Name()) != 0 {
		t.Errorf("after Close: VmLck %d kB (was %d), %d mappings of the file", got, locked0, mappingsOf(t, f.Name()))
	}

	if memoryOnlyFS(f) != "" {
		return
	}
	if mmap.Backend() != "cgo" {
		t.Skip("LockResident needs mlock2(MLOCK_ONFAULT), which only the cgo backend of package mmap makes")
	}
	evictAll(t, f)
	readPages(t, f, 10, 200)
	cached := fincorePages(t, f.Name())
	p, err = LockResident(f, 0, -1)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("LockResident: %v (no mlock2 here: qemu-user, or a kernel before 4.4)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// VmLck counts a lock-on-fault mapping whole; smaps' Locked counts its
	// pages that are in.
	if got := smapsField(t, addrOf(p.m), "Locked"); got*1024 != cached*int64(page) {
		t.Errorf("LockResident locked %d kB; %d pages were cached", got, cached)
	}
	if n := fincorePages(t, f.Name()); n != cached {
		t.Errorf("LockResident changed what is cached: %d pages, was %d", n, cached)
	}
}

// memlockRoom says why this process cannot lock n more bytes, or "".
func memlockRoom(t testing.TB, n int) string {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(8 /* RLIMIT_MEMLOCK */, &rl); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 || rl.Cur == ^uint64(0) {
		return ""
	}
	if uint64(statusKB(t, "VmLck")<<10)+uint64(n) > rl.Cur {
		return "RLIMIT_MEMLOCK is too small for this test's lock and this user lacks CAP_IPC_LOCK; raise it with ulimit -l"
	}
	return ""
}

// A lock past RLIMIT_MEMLOCK (a process without CAP_IPC_LOCK) is an error
// wrapping mmap.ErrMemlockLimit that names the limit, and leaves nothing
// mapped or locked.
func TestLockPastTheLimit(t *testing.T) {
	if inChild(t.Name()) {
		if err := syscall.Setrlimit(8, &syscall.Rlimit{Cur: 64 << 10, Max: 64 << 10}); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(os.Getenv(childArgEnv))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		p, err := Lock(f, 0, -1)
		if !errors.Is(err, mmap.ErrMemlockLimit) || !strings.Contains(err.Error(), "RLIMIT_MEMLOCK") || p != nil {
			t.Fatalf("Lock of 1 MiB under a 64 KiB RLIMIT_MEMLOCK: %v, %v; want mmap.ErrMemlockLimit naming RLIMIT_MEMLOCK", p, err)
		}
		t.Log(err)
		if n := mappingsOf(t, f.Name()); n != 0 || statusKB(t, "VmLck") != 0 {
			t.Fatalf("after the failed Lock: %d mappings of the file, VmLck %d kB", n, statusKB(t, "VmLck"))
		}
		return
	}
	if os.Getuid() != 0 && hasCapIPCLock(t) {
		t.Skip("this process has CAP_IPC_LOCK without being root: no limit to hit")
	}
	path := filepath.Join(shareDir(t), "big")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	runChild(t, t.Name(), path)
}

func hasCapIPCLock(t testing.TB) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "CapEff:"); ok {
			var caps uint64
			for _, c := range strings.TrimSpace(rest) {
				caps = caps<<4 | uint64(strings.IndexRune("0123456789abcdef", c))
			}
			return caps&(1<<14) != 0
		}
	}
	return false
}

// Bad input of every kind gives a clear error from every function, and
// leaves nothing mapped or locked.
func TestBadInputLinux(t *testing.T) {
	f := dataFile(t, 4*page)
	locked0 := statusKB(t, "VmLck")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	sock := os.NewFile(uintptr(fds[0]), "socket")
	defer sock.Close()
	syscall.Close(fds[1])
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	for _, c := range []struct {
		name string
		f    *os.File
		want []error
	}{
		{"pipe", r, []error{ErrNotRegular}},
		{"socket", sock, []error{ErrNotRegular}},
		{"device", devNull, []error{ErrNotRegular}},
		{"directory", dir, []error{ErrNotRegular, syscall.EISDIR}},
	} {
		for _, call := range calls() {
			err := call.fn(c.f, 0, -1)
			for _, want := range c.want {
				if !errors.Is(err, want) {
					t.Errorf("%s of a %s: %v, want %v", call.name, c.name, err, want)
				}
			}
		}
	}
	if n := mappingsOf(t, f.Name()); n != 0 || statusKB(t, "VmLck") != locked0 {
		t.Errorf("after bad input: %d mappings of the file, VmLck %d kB (was %d)", n, statusKB(t, "VmLck"), locked0)
	}
}

// A file truncated since it was opened is counted to its new end.
func TestTruncatedFile(t *testing.T) {
	f := dataFile(t, 64*page)
	if err := os.Truncate(f.Name(), int64(10*page+1)); err != nil {
		t.Fatal(err)
	}
	for _, call := range calls() {
		if err := call.fn(f, 0, -1); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("%s of a truncated file: %v", call.name, err)
		}
	}
	if r, err := Stat(f, 0, -1); err != nil || r.Pages != 11 {
		t.Errorf("Stat of a file truncated to 10 pages and a byte: %+v, %v", r, err)
	}
}

func mustOpen(t testing.TB, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// procIO is a field of /proc/self/io: rchar counts bytes read by read(2)
// and friends, cached or not; read_bytes counts bytes fetched from storage
// for this process, read-ahead included.
func procIO(t testing.TB, key string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skipf("no /proc/self/io to count reads with: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, key+": "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/io", key)
	return 0
}

// Touch reads only what is missing: of a cached file nothing (no read(2)
// at all, and nothing from the disk), of a half-evicted one the evicted
// half from the disk, by the mapping (8 MiB) and by read (1 MiB) alike.
func TestTouchReadsOnlyWhatIsMissing(t *testing.T) {
	for _, size := range []int{8 << 20, 1 << 20} {
		f := dataFile(t, size)
		if why := memoryOnlyFS(f); why != "" {
			t.Skip(why)
		}
		if _, err := Touch(f, 0, -1, 2); err != nil {
			t.Fatal(err)
		}
		rchar, disk := procIO(t, "rchar"), procIO(t, "read_bytes")
		if r, err := Touch(f, 0, -1, 2); err != nil || r.Resident != r.Pages {
			t.Fatalf("Touch of a cached file: %+v, %v", r, err)
		}
		// rchar also counts the reads of /proc/self/io itself, a few
		// hundred bytes.
		if dr, dd := procIO(t, "rchar")-rchar, procIO(t, "read_bytes")-disk; dr >= int64(page) || dd != 0 {
			t.Errorf("%d bytes: Touch of a cached file read %d bytes, %d of them from the disk; want none", size, dr, dd)
		}
		// The second half cached, the first not. (Evict of the first half
		// alone could keep a large folio that crosses the middle.)
		half := int64(size / 2)
		evictAll(t, f)
		if _, err := Touch(f, half, -1, 2); err != nil {
			t.Fatal(err)
		}
		if r, err := Stat(f, 0, half); err != nil || r.Resident != 0 {
			t.Fatalf("Touch of the second half brought in %+v of the first, %v", r, err)
		}
		disk = procIO(t, "read_bytes")
		if r, err := Touch(f, 0, -1, 2); err != nil || r.Resident != r.Pages {
			t.Fatalf("Touch of a half-evicted file: %+v, %v", r, err)
		}
		if dd := procIO(t, "read_bytes") - disk; dd < half || dd > half+half/2 {
			t.Errorf("%d bytes: Touch of a file with its first %d bytes evicted read %d bytes from the disk", size, half, dd)
		}
	}
}
