package mmap

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests hold on every platform with a backend. Linux-only checks of
// what the kernel did (/proc/self/maps, smaps, status) are in
// mmap_linux_test.go.

var page = os.Getpagesize()

// skipUnderQEMU skips a test that qemu-user cannot run faithfully.
func skipUnderQEMU(t testing.TB, why string) {
	t.Helper()
	if underQEMU() {
		t.Skip("under qemu-user: " + why)
	}
}

// nativeMachines are the kernel machine names that run GOARCH's code
// natively: 64-bit x86 and arm kernels also run their 32-bit code.
var nativeMachines = map[string][]string{
	"386":      {"i386", "i486", "i586", "i686", "x86_64"},
	"amd64":    {"x86_64"},
	"arm":      {"armv6l", "armv7l", "armv8l", "aarch64"},
	"arm64":    {"aarch64"},
	"loong64":  {"loongarch64"},
	"ppc64":    {"ppc64"},
	"ppc64le":  {"ppc64le"},
	"riscv64":  {"riscv64"},
	"s390x":    {"s390x"},
	"mips64le": {"mips64"},
	"mips64":   {"mips64"},
	"mipsle":   {"mips", "mips64"},
	"mips":     {"mips", "mips64"},
}

// underQEMU reports whether this test binary runs under qemu-user, which
// emulates uname(2) and parts of /proc/self (maps, stat, exe) but passes
// the rest through from the real kernel: /proc/sys/kernel/arch names the
// machine the kernel runs on, and one that cannot run GOARCH's code means
// an emulator. Where that file is missing (older kernels) or cannot tell
// (qemu-i386 on x86_64), /proc/self/status names the emulator's own
// executable when it was started by name, as the build script does.
var underQEMU = sync.OnceValue(func() bool {
	if runtime.GOOS != "linux" {
		return false
	}
	if b, err := os.ReadFile("/proc/sys/kernel/arch"); err == nil {
		if native, known := nativeMachines[runtime.GOARCH]; known && !slices.Contains(native, strings.TrimSpace(string(b))) {
			return true
		}
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	name, _, _ := strings.Cut(string(b), "\n")
	return strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(name, "Name:")), "qemu-")
})

// pattern is n bytes that differ from page to page and byte to byte.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/page)
	}
	return b
}

// tempFile creates a file holding data, opened with flag (os.O_RDWR or
// os.O_RDONLY), closed when the test ends.
func tempFile(t testing.TB, data []byte, flag int) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func mustMap(t testing.TB, f *os.File, length, prot, flags int, off int64) MMap {
	t.Helper()
	m, err := MapRegion(f, length, prot, flags, off)
	if err != nil {
		t.Fatalf("MapRegion(len %d, prot %d, flags %d, off %d): %v", length, prot, flags, off, err)
	}
	return m
}

func mustUnmap(t testing.TB, m *MMap) {
	t.Helper()
	if err := m.Unmap(); err != nil {
		t.Fatalf("Unmap: %v", err)
	}
	if *m != nil {
		t.Fatalf("Unmap left %d bytes in the slice; want nil", len(*m))
	}
}

// liveMappings is the number of mappings in the registry once the cleanups
// of unreachable Readers have run: a Reader from Open that its user drops
// unmaps itself after a garbage collection, at a moment of the runtime's
// choosing, and a count taken by a later test must not move with it.
// emptyTargets are the empty MMaps whose methods must all succeed doing
// nothing: the MMap of an empty file, an empty slice of a live mapping, and
// nil.
func emptyTargets(t *testing.T) map[string]MMap {
	t.Helper()
	empty := mustMap(t, tempFile(t, nil, os.O_RDWR), -1, RDWR, 0, 0)
	t.Cleanup(func() { mustUnmap(t, &empty) })
	m := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	t.Cleanup(func() { mustUnmap(t, &m) })
	return map[string]MMap{"empty MMap": empty, "empty slice of a mapping": m[1:1], "nil": nil}
}

func liveMappings() int {
	n := liveCount()
	for range 10 {
		runtime.GC()
		time.Sleep(time.Millisecond) // cleanups run in a goroutine of their own
		now := liveCount()
		if now == n {
			break
		}
		n = now
	}
	return n
}

func TestReadWriteRoundTrip(t *testing.T) {
	data := pattern(3 * page)
	f := tempFile(t, data, os.O_RDWR)
	m := mustMap(t, f, -1, RDWR, 0, 0)
	if !bytes.Equal(m, data) {
		t.Fatal("mapping does not hold the file's bytes")
	}
	m[0], m[page+1], m[len(m)-1] = 'a', 'b', 'c'
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	mustUnmap(t, &m)
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	data[0], data[page+1], data[len(data)-1] = 'a', 'b', 'c'
	if !bytes.Equal(got, data) {
		t.Fatal("file does not hold the bytes written through the mapping")
	}
}

func TestCopyNeverReachesFile(t *testing.T) {
	data := pattern(2 * page)
	f := tempFile(t, data, os.O_RDWR)
	m := mustMap(t, f, -1, COPY, 0, 0)
	for i := range m {
		m[i] = 0xEE
	}
	if err := m.Flush(); err != nil {
		t.Fatalf("Flush of a COPY mapping: %v", err)
	}
	mustUnmap(t, &m)
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("writes to a COPY mapping reached the file")
	}
}

// A COPY mapping needs only read access to the file: it never writes it.
func TestCopyOfReadOnlyFile(t *testing.T) {
	data := pattern(page)
	f := tempFile(t, data, os.O_RDONLY)
	m := mustMap(t, f, -1, COPY, 0, 0)
	defer mustUnmap(t, &m)
	m[0] = ^data[0]
	if m[0] == data[0] || !bytes.Equal(m[1:], data[1:]) {
		t.Fatal("COPY mapping of a read-only file is not privately writable")
	}
}

func TestReadOnlyMappingFaultsOnWrite(t *testing.T) {
	data := pattern(page)
	f := tempFile(t, data, os.O_RDONLY)
	m := mustMap(t, f, -1, RDONLY, 0, 0)
	defer mustUnmap(t, &m)
	if !bytes.Equal(m, data) {
		t.Fatal("RDONLY mapping does not hold the file's bytes")
	}
	if err := writeFaults(m); err == nil {
		t.Fatal("a write to an RDONLY mapping did not fault")
	}
}

// writeFaults writes m[0] with faults turned into panics and reports the fault.
func writeFaults(m MMap) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("fault: %v", r)
		}
	}()
	m[0] = 1
	return nil
}

func TestRegionAtOffset(t *testing.T) {
	data := pattern(4 * page)
	f := tempFile(t, data, os.O_RDWR)
	m := mustMap(t, f, page+10, RDWR, 0, int64(2*page))
	defer mustUnmap(t, &m)
	if len(m) != page+10 || cap(m) != page+10 {
		t.Fatalf("len %d cap %d; want both %d", len(m), cap(m), page+10)
	}
	if !bytes.Equal(m, data[2*page:3*page+10]) {
		t.Fatal("region does not hold the file's bytes at its offset")
	}
}

func TestWholeFileAtOffset(t *testing.T) {
	data := pattern(3*page + 100)
	f := tempFile(t, data, os.O_RDONLY)
	for _, off := range []int{0, page, 3 * page} {
		m := mustMap(t, f, -1, RDONLY, 0, int64(off))
		if !bytes.Equal(m, data[off:]) {
			t.Errorf("whole file from %d: got %d bytes, want the %d from the offset to the end", off, len(m), len(data)-off)
		}
		mustUnmap(t, &m)
	}
	// Offset exactly at the end: nothing left to map.
	g := tempFile(t, pattern(page), os.O_RDONLY)
	m := mustMap(t, g, -1, RDONLY, 0, int64(page))
	if m == nil || len(m) != 0 {
		t.Fatalf("whole file from its end: got %v (len %d), want an empty non-nil MMap", m == nil, len(m))
	}
	mustUnmap(t, &m)
	// Past the end: an error, not a map past EOF.
	if _, err := MapRegion(g, -1, RDONLY, 0, int64(2*page)); !errors.Is(err, ErrInvalidOffset) {
		t.Fatalf("offset past the end: got %v, want ErrInvalidOffset", err)
	}
}

func TestEmptyFile(t *testing.T) {
	for _, prot := range []int{RDONLY, RDWR, COPY} {
		f := tempFile(t, nil, os.O_RDWR)
		m, err := Map(f, prot, 0)
		if err != nil {
			t.Fatalf("prot %d: Map of an empty file: %v", prot, err)
		}
		if m == nil || len(m) != 0 {
			t.Fatalf("prot %d: want an empty non-nil MMap", prot)
		}
		for name, op := range map[string]func() error{"Flush": m.Flush, "Lock": m.Lock, "Unlock": m.Unlock} {
			if err := op(); err != nil {
				t.Errorf("prot %d: %s of an empty MMap: %v", prot, name, err)
			}
		}
		mustUnmap(t, &m)
	}
	// An explicit zero length is empty too, and still checks the file.
	f := tempFile(t, pattern(page), os.O_RDWR)
	if m, err := MapRegion(f, 0, RDWR, 0, 0); err != nil || m == nil || len(m) != 0 {
		t.Fatalf("zero length: %v, %v; want an empty MMap", m, err)
	}
	f.Close()
	if _, err := MapRegion(f, 0, RDWR, 0, 0); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("zero length of a closed file: got %v, want os.ErrClosed", err)
	}
}

func TestAnonymous(t *testing.T) {
	const size = 5*4096 + 3
	m := mustMap(t, nil, size, RDWR, ANON, 0)
	if len(m) != size || cap(m) != size {
		t.Fatalf("len %d cap %d; want %d", len(m), cap(m), size)
	}
	for i, b := range m {
		if b != 0 {
			t.Fatalf("byte %d of a new anonymous map is %d, want 0", i, b)
		}
	}
	for i := range m {
		m[i] = byte(i)
	}
	for i := range m {
		if m[i] != byte(i) {
			t.Fatal("anonymous map lost a write")
		}
	}
	if err := m.Flush(); err != nil {
		t.Fatalf("Flush of an anonymous map: %v", err)
	}
	mustUnmap(t, &m)

	// ANON ignores f, as in mmap-go.
	f := tempFile(t, pattern(page), os.O_RDONLY)
	a := mustMap(t, f, page, RDWR, ANON, 0)
	if a[0] != 0 {
		t.Fatal("ANON map with a file holds the file's bytes")
	}
	mustUnmap(t, &a)
}

func TestLockUnlock(t *testing.T) {
	m := mustMap(t, nil, 4*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	for _, s := range []MMap{m, m[page+1 : 2*page+5]} {
		if err := s.Lock(); err != nil {
			t.Fatalf("Lock of %d bytes: %v", len(s), err)
		}
		if err := s.Unlock(); err != nil {
			t.Fatalf("Unlock of %d bytes: %v", len(s), err)
		}
	}
}

func TestUnmapRefusesDerivedSlices(t *testing.T) {
	data := pattern(3 * page)
	f := tempFile(t, data, os.O_RDWR)
	m := mustMap(t, f, -1, RDWR, 0, 0)
	before := liveMappings()
	derived := map[string]MMap{
		"prefix":      m[:page],
		"suffix":      m[page:],
		"middle":      m[10 : 2*page],
		"last byte":   m[len(m)-1:],
		"empty start": m[:0],
	}
	for name, d := range derived {
		err := d.Unmap()
		if !errors.Is(err, ErrNotMapped) {
			t.Errorf("Unmap of the %s: got %v, want ErrNotMapped", name, err)
		}
		if d == nil {
			t.Errorf("a refused Unmap of the %s set the slice to nil", name)
		}
	}
	if liveMappings() != before {
		t.Fatal("a refused Unmap changed the registry")
	}
	// The mapping is intact: readable, writable, and unmaps once.
	if !bytes.Equal(m, data) {
		t.Fatal("mapping changed after refused Unmaps")
	}
	m[0] = 'z'
	again := m
	mustUnmap(t, &m)
	if err := again.Unmap(); !errors.Is(err, ErrNotMapped) {
		t.Fatalf("second Unmap: got %v, want ErrNotMapped", err)
	}
	var nilMap MMap
	if err := nilMap.Unmap(); !errors.Is(err, ErrNotMapped) {
		t.Fatalf("Unmap of nil: got %v, want ErrNotMapped", err)
	}
}

func TestMethodsOnForeignMemory(t *testing.T) {
	foreign := MMap(make([]byte, page))
	for name, op := range map[string]func() error{"Flush": foreign.Flush, "Lock": foreign.Lock, "Unlock": foreign.Unlock, "Unmap": foreign.Unmap} {
		if err := op(); !errors.Is(err, ErrNotMapped) {
			t.Errorf("%s of Go memory: got %v, want ErrNotMapped", name, err)
		}
	}
	// Sub-slices are inside it, whatever their capacity.
	m := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	if err := m[page:].Flush(); err != nil {
		t.Fatalf("Flush of a suffix of a mapping: %v", err)
	}
	if err := m[1:2:3].Flush(); err != nil {
		t.Fatalf("Flush of a three-index slice of a mapping: %v", err)
	}
}

func TestBadArguments(t *testing.T) {
	rw := tempFile(t, pattern(2*page), os.O_RDWR)
	ro := tempFile(t, pattern(2*page), os.O_RDONLY)
	closed := tempFile(t, pattern(page), os.O_RDWR)
	closed.Close()
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()

	cases := []struct {
		name   string
		f      *os.File
		length int
		prot   int
		flags  int
		off    int64
		want   error
	}{
		{"negative offset", rw, page, RDONLY, 0, -int64(page), ErrInvalidOffset},
		{"unaligned offset", rw, page, RDONLY, 0, 1, ErrInvalidOffset},
		{"offset past the end, whole file", rw, -1, RDONLY, 0, int64(4 * page), ErrInvalidOffset},
		{"offset+length overflows", rw, 2 * page, RDONLY, 0, math.MaxInt64 &^ int64(page-1), ErrInvalidLength},
		{"anonymous zero length", nil, 0, RDWR, ANON, 0, ErrInvalidLength},
		{"anonymous negative length", nil, -1, RDWR, ANON, 0, ErrInvalidLength},
		{"unknown prot bit 1", rw, page, 1, 0, 0, ErrInvalidProt},
		{"unknown prot bit 16", rw, page, 16, 0, 0, ErrInvalidProt},
		{"RDWR and COPY", rw, page, RDWR | COPY, 0, 0, ErrInvalidProt},
		{"unknown flag", rw, page, RDONLY, 1 << 20, 0, ErrInvalidFlags},
		{"LOCK and LOCK_ONFAULT", nil, page, RDWR, ANON | LOCK | LOCK_ONFAULT, 0, ErrInvalidFlags},
		{"HUGE_1GB alone", nil, page, RDWR, ANON | HUGE_1GB, 0, ErrInvalidFlags},
		{"nil file", nil, page, RDONLY, 0, 0, ErrNoFile},
		{"nil file, whole", nil, -1, RDONLY, 0, 0, ErrNoFile},
		{"closed file", closed, page, RDONLY, 0, 0, os.ErrClosed},
		{"closed file, whole", closed, -1, RDONLY, 0, 0, os.ErrClosed},
		{"directory", dir, page, RDONLY, 0, 0, syscall.EISDIR},
		{"directory, whole", dir, -1, RDONLY, 0, 0, syscall.EISDIR},
		{"RDWR of a read-only file", ro, -1, RDWR, 0, 0, fs.ErrPermission},
	}
	before := liveMappings()
	for _, c := range cases {
		m, err := MapRegion(c.f, c.length, c.prot, c.flags, c.off)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		if m != nil {
			t.Errorf("%s: returned a %d-byte MMap with the error", c.name, len(m))
		}
		if err != nil && err.Error() == c.want.Error() {
			t.Errorf("%s: error %q says no more than the sentinel", c.name, err)
		}
	}
	if n := liveMappings(); n != before {
		t.Fatalf("bad arguments left %d mappings in the registry", n-before)
	}
}

func TestSyscallErrorsNameTheFile(t *testing.T) {
	ro := tempFile(t, pattern(page), os.O_RDONLY)
	_, err := Map(ro, RDWR, 0)
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != ro.Name() || pe.Op != "mmap" {
		t.Fatalf("got %#v; want an *fs.PathError for mmap of %s", err, ro.Name())
	}
}

// Many goroutines map, write, flush and unmap regions of shared files at
// once; run under -race this also checks the registry's locking.
func TestConcurrentMapFlushUnmap(t *testing.T) {
	const workers, rounds, pages = 8, 50, 8
	f := tempFile(t, make([]byte, pages*page), os.O_RDWR)
	before := liveMappings()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				pg := (w + i) % pages
				m, err := MapRegion(f, page, RDWR, 0, int64(pg*page))
				if err != nil {
					errs <- err
					return
				}
				a, err := MapRegion(nil, page, RDWR, ANON, 0)
				if err != nil {
					errs <- err
					return
				}
				m[w] = byte(i)
				a[w] = byte(i)
				if err := m[w : w+1].Flush(); err != nil {
					errs <- err
					return
				}
				if err := errors.Join(m.Unmap(), a.Unmap()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := liveMappings(); n != before {
		t.Fatalf("%d mappings left in the registry", n-before)
	}
}

func TestBackend(t *testing.T) {
	if Backend() == "unsupported" {
		t.Fatal("tests ran on a build without a backend")
	}
	t.Logf("backend: %s", Backend())
}

// Offsets past 4 GiB reach the kernel intact, also on 32-bit platforms,
// where the C shim needs a 64-bit off_t.
func TestOffsetPast4GiB(t *testing.T) {
	if strconv.IntSize == 32 {
		skipUnderQEMU(t, "qemu 7.2 truncates mmap2's page offset for 32-bit guests (a plain C program maps offset 4 KiB for 4 GiB + 4 KiB there too)")
	}
	f := tempFile(t, nil, os.O_RDWR)
	off := int64(1)<<32 + int64(page)
	if _, err := f.WriteAt([]byte("far away"), off+5); err != nil {
		t.Fatal(err)
	}
	m := mustMap(t, f, 13, RDONLY, 0, off)
	defer mustUnmap(t, &m)
	if string(m[5:13]) != "far away" {
		t.Fatalf("bytes at 4 GiB + %d: %q, want %q", page+5, m[5:13], "far away")
	}
	w := mustMap(t, f, -1, RDONLY, 0, off)
	defer mustUnmap(t, &w)
	if len(w) != 13 || string(w[5:]) != "far away" {
		t.Fatalf("whole file from 4 GiB + %d: %q, want the last 13 bytes", page, w)
	}
}
