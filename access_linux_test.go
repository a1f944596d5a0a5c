package mmap

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"unsafe"
)

var guardSink byte

// Faults and cold data, on the kernel that makes them. (Windows refuses to
// map past the end of a file, and to truncate a mapped one.)

// A mapping longer than its file: reading the pages past the end is a
// fault, reported, not a crash.
func TestReadPastEndOfFileIsAnError(t *testing.T) {
	skipUnderQEMU(t, "qemu-user delivers SIGBUS without the faulting address, which Go then reports as a nil dereference")
	f := tempFile(t, pattern(page), os.O_RDWR)
	m := mustMap(t, f, 4*page, RDWR, 0, 0)
	defer mustUnmap(t, &m)
	p := make([]byte, 10)
	if n, err := m.ReadAt(p, 10); n != 10 || err != nil {
		t.Fatalf("ReadAt inside the file: %d, %v", n, err)
	}
	if n, err := m.ReadAt(p, int64(2*page)); n != 0 || !errors.Is(err, ErrFault) {
		t.Fatalf("ReadAt past the end of the file: %d, %v; want 0, ErrFault", n, err)
	}
	if _, err := m.WriteAt(p, int64(3*page)); !errors.Is(err, ErrFault) {
		t.Fatalf("WriteAt past the end of the file: %v; want ErrFault", err)
	}
	err := m.Guard(func(b []byte) error {
		_ = b[0]
		return errors.New("reached the end of fn")
	})
	if err == nil || err.Error() != "reached the end of fn" {
		t.Fatalf("Guard inside the file: %v; want fn's own error", err)
	}
	err = m.Guard(func(b []byte) error {
		var sum byte
		for _, c := range b {
			sum += c
		}
		guardSink = sum // loads the compiler cannot drop
		return nil
	})
	if !errors.Is(err, ErrFault) {
		t.Fatalf("Guard over pages past the end: %v; want ErrFault", err)
	}
	if err := m.Prefault(0); !errors.Is(err, ErrFault) {
		t.Fatalf("Prefault past the end: %v; want ErrFault", err)
	}
}

// Another process truncates the file under live mappings: ReadAt, Guard
// and the x/exp-style reader report ErrFault, and this process lives on.
func TestTruncatedUnderTheMapping(t *testing.T) {
	skipUnderQEMU(t, "qemu-user delivers SIGBUS without the faulting address, which Go then reports as a nil dereference")
	data := pattern(8 * page)
	f := tempFile(t, data, os.O_RDWR)
	m := mustMap(t, f, -1, RDONLY, 0, 0)
	defer mustUnmap(t, &m)
	r, err := Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if out, err := exec.Command("truncate", "-s", strconv.Itoa(page), f.Name()).CombinedOutput(); err != nil {
		t.Fatalf("truncate: %v\n%s", err, out)
	}
	p := make([]byte, 16)
	if n, err := m.ReadAt(p, 5); n != 16 || err != nil || !bytes.Equal(p, data[5:21]) {
		t.Fatalf("ReadAt of the page that is left: %d, %v", n, err)
	}
	if _, err := m.ReadAt(p, int64(4*page)); !errors.Is(err, ErrFault) {
		t.Fatalf("ReadAt of a truncated page: %v; want ErrFault", err)
	}
	if _, err := r.ReadAt(p, int64(4*page)); !errors.Is(err, ErrFault) {
		t.Fatalf("ReaderAt.ReadAt of a truncated page: %v; want ErrFault", err)
	}
	err = m.Guard(func(b []byte) error {
		guardSink = b[6*page]
		return nil
	})
	if !errors.Is(err, ErrFault) {
		t.Fatalf("Guard over a truncated page: %v; want ErrFault", err)
	}
	func() {
		defer func() {
			if err, _ := recover().(error); !errors.Is(err, ErrFault) {
				t.Fatalf("At of a truncated page panicked with %v; want an error wrapping ErrFault", err)
			}
		}()
		r.At(7 * page)
		t.Fatal("At of a truncated page returned")
	}()
	if r.At(3) != data[3] {
		t.Fatal("At of the page that is left is wrong")
	}
}

// evict drops f's pages from the page cache, from another process (GNU dd
// with iflag=nocache and no blocks calls POSIX_FADV_DONTNEED on the whole
// file), on every architecture.
func evict(t testing.TB, f *os.File) {
	t.Helper()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("dd", "if="+f.Name(), "iflag=nocache", "count=0", "status=none").CombinedOutput(); err != nil {
		t.Fatalf("dd iflag=nocache: %v\n%s", err, out)
	}
}

func TestColdReadBringsPagesIn(t *testing.T) {
	skipUnderQEMU(t, "mincore of the emulator's mapping")
	const pages = 64
	data := pattern(pages * page)
	f := tempFile(t, data, os.O_RDONLY)
	evictAll(t, f)
	m := mustMap(t, f, -1, RDONLY, 0, 0)
	defer mustUnmap(t, &m)
	if resident, _, err := m.Resident(); err != nil || resident != 0 {
		t.Fatalf("%d pages resident after eviction (%v); the check cannot see reads bring them in", resident, err)
	}
	got := make([]byte, len(data))
	if n, err := m.ReadAt(got, 0); n != len(data) || err != nil || !bytes.Equal(got, data) {
		t.Fatalf("cold ReadAt: %d, %v, contents equal %v", n, err, bytes.Equal(got, data))
	}
	if resident, all, err := m.Resident(); err != nil || resident != all {
		t.Fatalf("after ReadAt: %d of %d pages resident (%v)", resident, all, err)
	}
}

// Prefault over gigabytes, file and anonymous, leaves every page resident.
func TestPrefaultGigabytes(t *testing.T) {
	skipUnderQEMU(t, "mincore of the emulator's mapping")
	// 2 GiB; 256 MiB in a 32-bit address space, which has no room for more;
	// and no more than a quarter of the memory available, file and
	// anonymous pages together, so that a small machine does not swap or
	// call the OOM killer.
	size := 1 << (28 + 3*(strconv.IntSize/64))
	for int64(size) > memAvailable(t)/8 && size > 64<<20 {
		size /= 2
	}
	t.Logf("%d MiB of each", size>>20)
	f := tempFile(t, nil, os.O_RDWR)
	if err := f.Truncate(int64(size)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		f     *os.File
		flags int
	}{{"file", f, 0}, {"anonymous", nil, ANON}} {
		m := mustMap(t, c.f, size, RDWR, c.flags, 0)
		if err := m.Prefault(0); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if resident, all, err := m.Resident(); err != nil || resident != all || all != size/page {
			t.Fatalf("%s: %d of %d pages resident after Prefault (%v)", c.name, resident, all, err)
		}
		mustUnmap(t, &m)
	}
}

// ReadAt and WriteAt skip bringing pages in only where no page can wait for
// a disk. Each case is checked against what the kernel says of the system
// and the mapping, not against the code's own reasoning.
func TestNoDiskWaitIsDecidedFromTheMapping(t *testing.T) {
	regionOf := func(m MMap) *region {
		r, _ := lookup(m)
		if r == nil {
			t.Fatal("mapping not registered")
		}
		return r
	}
	anon := mustMap(t, nil, page, RDWR, ANON, 0)
	defer mustUnmap(t, &anon)
	noSwap := procKB(t, "/proc/meminfo", "SwapTotal") == 0
	if got := regionOf(anon).cannotWaitForDisk(); got != noSwap {
		t.Errorf("anonymous memory with SwapTotal 0 is %v: cannotWaitForDisk %v", noSwap, got)
	}

	f := tempFile(t, pattern(4*page), os.O_RDWR)
	plain := mustMap(t, f, -1, RDONLY, 0, 0)
	defer mustUnmap(t, &plain)
	if regionOf(plain).cannotWaitForDisk() {
		t.Error("a plain file mapping: the kernel may drop its pages, yet ReadAt would not bring them in")
	}
	// LOCK_ONFAULT needs mlock2, which only the cgo backend calls.
	if onFault, err := MapRegion(f, -1, RDONLY, LOCK_ONFAULT, 0); !errors.Is(err, errors.ErrUnsupported) {
		if err != nil {
			t.Fatal(err)
		}
		defer mustUnmap(t, &onFault)
		if regionOf(onFault).cannotWaitForDisk() {
			t.Error("LOCK_ONFAULT locks pages only once touched, yet ReadAt would not bring them in")
		}
	}

	needMemlock(t, 4*page)
	locked := mustMap(t, f, -1, RDONLY, LOCK, 0)
	defer mustUnmap(t, &locked)
	if !underQEMU() && !hasFlag(vmFlags(t, locked), "lo") { // qemu-user's smaps is not the guest's
		t.Fatal("LOCK mapping not locked by the kernel (no lo in VmFlags)")
	}
	if !regionOf(locked).cannotWaitForDisk() {
		t.Error("a LOCK mapping the kernel has locked: ReadAt still asks for its pages")
	}
	if err := locked[page : 2*page].Unlock(); err != nil {
		t.Fatal(err)
	}
	if regionOf(locked).cannotWaitForDisk() {
		t.Error("after Unlock of one page, ReadAt still trusts LOCK")
	}
	got := make([]byte, 4*page)
	if n, err := locked.ReadAt(got, 0); n != len(got) || err != nil || !bytes.Equal(got, pattern(4*page)) {
		t.Fatalf("ReadAt of the partly unlocked mapping: %d, %v", n, err)
	}
}

// allResident agrees with mincore's page vector (Resident) on a file that
// is partly in the page cache, and asks about no more than
// residentCheckPages pages.
func TestAllResidentAgreesWithResidentPages(t *testing.T) {
	skipUnderQEMU(t, "mincore of the emulator's mapping")
	const pages = residentCheckPages
	f := tempFile(t, pattern((pages+1)*page), os.O_RDONLY)
	evictAll(t, f)
	m := mustMap(t, f, -1, RDONLY, 0, 0)
	defer mustUnmap(t, &m)
	all := func(n int) bool { return allResident(unsafe.Pointer(&m[0]), uintptr(n)) }
	if all(page) {
		t.Fatal("allResident says an evicted page is in memory")
	}
	one := make([]byte, 1)
	if _, err := m.ReadAt(one, 0); err != nil {
		t.Fatal(err)
	}
	if !all(page) {
		t.Error("allResident says the page ReadAt just brought in is missing")
	}
	res, n, err := m[:pages*page].Resident()
	if err != nil {
		t.Fatal(err)
	}
	if got := all(pages * page); got != (res == n) {
		t.Errorf("over %d pages, %d resident: allResident %v", n, res, got)
	}
	if err := m.Prefault(1); err != nil {
		t.Fatal(err)
	}
	if !all(pages * page) {
		t.Error("allResident false after Prefault")
	}
	if all((pages + 1) * page) {
		t.Errorf("allResident answered for %d pages, past its limit of %d", pages+1, pages)
	}
}
