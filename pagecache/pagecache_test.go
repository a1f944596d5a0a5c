package pagecache

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hugemap/mmap"
)

// Tests that hold on every platform with a mapping backend.

// call is one of the package's functions over a range, reduced to its
// error.
type call struct {
	name string
	fn   func(f *os.File, off, n int64) error
}

func calls() []call {
	return []call{
		{"Stat", func(f *os.File, off, n int64) error { _, err := Stat(f, off, n); return err }},
		{"Touch", func(f *os.File, off, n int64) error { _, err := Touch(f, off, n, 0); return err }},
		{"Evict", Evict},
		{"Refold", func(f *os.File, off, n int64) error { _, err := Refold(f, off, n); return err }},
		{"Lock", func(f *os.File, off, n int64) error { return closePin(Lock(f, off, n)) }},
		{"LockResident", func(f *os.File, off, n int64) error { return closePin(LockResident(f, off, n)) }},
	}
}

func closePin(p *Pin, err error) error {
	if p != nil {
		if cerr := p.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// unsupportedHere says whether name is a function this platform does not
// have, per the package docs.
func unsupportedHere(name string) bool {
	switch runtime.GOOS {
	case "linux":
		// Lock-on-fault needs the C shim's mlock2.
		return name == "LockResident" && mmap.Backend() != "cgo"
	case "windows":
		return name == "Stat" || name == "Evict" || name == "Refold" || name == "LockResident"
	}
	return name == "Evict" || name == "Refold" || name == "LockResident"
}

func tempData(t *testing.T, n int) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data")
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Bad ranges and files: the sentinel of each, from every function, on
// every platform, before any platform question.
func TestBadRanges(t *testing.T) {
	f := tempData(t, 3*os.Getpagesize())
	closed := tempData(t, 10)
	closed.Close()
	for _, c := range []struct {
		name   string
		f      *os.File
		off, n int64
		want   error
	}{
		{"nil file", nil, 0, -1, mmap.ErrNoFile},
		{"negative offset", f, -1, 10, mmap.ErrInvalidOffset},
		{"off+n overflows", f, 10, math.MaxInt64 - 5, mmap.ErrInvalidLength},
		{"closed file", closed, 0, -1, fs.ErrClosed},
	} {
		for _, call := range calls() {
			if err := call.fn(c.f, c.off, c.n); !errors.Is(err, c.want) {
				t.Errorf("%s with %s: %v, want %v", call.name, c.name, err, c.want)
			}
		}
	}
}

// Empty ranges succeed everywhere without a system question: n == 0, an
// offset at or past the end, an empty file.
func TestEmptyRanges(t *testing.T) {
	f := tempData(t, 5000)
	empty := tempData(t, 0)
	for _, c := range []struct {
		f      *os.File
		off, n int64
	}{{f, 0, 0}, {f, 5000, -1}, {f, 1 << 40, 10}, {empty, 0, -1}} {
		for _, call := range calls() {
			if err := call.fn(c.f, c.off, c.n); err != nil {
				t.Errorf("%s(%s, %d, %d): %v", call.name, c.f.Name(), c.off, c.n, err)
			}
		}
		if r, err := Stat(c.f, c.off, c.n); err != nil || r != (Residency{}) {
			t.Errorf("Stat of an empty range = %+v, %v", r, err)
		}
	}
}

// Touch makes every page of its range resident and Lock holds it, on every
// platform with a backend; the rest answer as the package docs say.
func TestEveryPlatform(t *testing.T) {
	pg := int64(os.Getpagesize())
	f := tempData(t, int(10*pg+1))
	r, err := Touch(f, pg+1, 5*pg, 2)
	if err != nil {
		t.Fatal(err)
	}
	if r.Pages != 6 || r.Resident != 6 {
		t.Errorf("Touch of 5 pages from byte %d = %+v; want 6 pages, all resident", pg+1, r)
	}
	for _, call := range calls() {
		err := call.fn(f, 0, -1)
		if unsupportedHere(call.name) {
			if !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("%s on %s: %v, want errors.ErrUnsupported", call.name, runtime.GOOS, err)
			}
		} else if err != nil && !((call.name == "Refold" || call.name == "LockResident") && errors.Is(err, errors.ErrUnsupported)) {
			// Refold: a file system without large folios; LockResident: a
			// system without mlock2 (qemu-user answers ENOSYS).
			t.Errorf("%s on %s: %v", call.name, runtime.GOOS, err)
		}
	}
}

// runs finds exactly the pages that are missing, joining short gaps, and
// cuts the first and last at the mapping's bytes.
func TestRuns(t *testing.T) {
	pg := os.Getpagesize()
	m, err := mmap.MapRegion(nil, 20*pg, mmap.RDWR, mmap.ANON, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	o, x := true, false
	in := []bool{x, o, o, x, x, o, o, o, o, o, x, o, x, x, x, x, x, x, x, x}
	got := runs(m, in, false, 0)
	want := []span32{{0, pg}, {3 * pg, 5 * pg}, {10 * pg, 11 * pg}, {12 * pg, 20 * pg}}
	if len(got) != len(want) {
		t.Fatalf("runs = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("runs = %v, want %v", got, want)
		}
	}
	if got := runs(m, in, false, 1); len(got) != 3 || got[2] != (span32{10 * pg, 20 * pg}) {
		t.Errorf("runs with a gap of 1 = %v", got)
	}
	// A slice that starts mid-page: the first run starts at its byte 0.
	sub := m[pg/2 : 3*pg]
	if got := runs(sub, []bool{x, x, o}, false, 0); len(got) != 1 || got[0] != (span32{0, 2*pg - pg/2}) {
		t.Errorf("runs of a sub-slice = %v", got)
	}
}
