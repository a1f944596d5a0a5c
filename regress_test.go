package mmap

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Regressions of the lifetime and fault bugs of the hardening issue, on every
// platform with a backend; each test failed before its fix. The ones that
// need Linux (eviction, files shorter than their mapping, tmpfs, /dev/null)
// are in regress_linux_test.go.

// Prefault of anonymous memory that Protect made read-only: the current
// protection decides how to populate, not the one the map was made with.
// It used to return ErrFault, and kill the process under -race.
func TestPrefaultFollowsTheCurrentProtection(t *testing.T) {
	const pages = 8
	m := mustMap(t, nil, pages*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	if err := m[2*page : 6*page].Protect(RDONLY); err != nil {
		t.Fatal(err)
	}
	if err := m.Prefault(1); err != nil {
		t.Fatalf("Prefault over pages made read-only: %v", err)
	}
	if err := m[2*page : 3*page].Prefault(1); err != nil {
		t.Fatalf("Prefault of read-only pages alone: %v", err)
	}
	if err := m.Protect(RDWR); err != nil {
		t.Fatal(err)
	}
	m[3*page] = 1 // still writable memory once Protect gives writes back
}

// WriteAt into pages that Protect made read-only is an error wrapping
// ErrFault that says what faulted, with n the bytes written before the
// read-only page. It used to kill the process under -race (a touch with
// sync/atomic, which runs in the race runtime's C code), and to blame a
// file in an anonymous mapping.
func TestWriteAtIntoProtectedPages(t *testing.T) {
	const pages = 4
	m := mustMap(t, nil, pages*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	if err := m[2*page:].Protect(RDONLY); err != nil {
		t.Fatal(err)
	}
	p := bytes.Repeat([]byte{7}, pages*page)
	n, err := m.WriteAt(p, 0)
	if n != 2*page || !errors.Is(err, ErrFault) {
		t.Fatalf("WriteAt over 2 writable then 2 read-only pages = %d, %v; want %d, ErrFault", n, err, 2*page)
	}
	for _, want := range []string{fmt.Sprintf("writing the page at byte %d ", 2*page), "anonymous mapping", "read-only (Protect)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ErrFault says %q; want it to say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "file") {
		t.Errorf("a fault in anonymous memory blames a file: %q", err)
	}
	if !bytes.Equal(m[:2*page], p[:2*page]) || m[2*page] != 0 {
		t.Fatal("WriteAt did not write the writable pages, or wrote a read-only one")
	}
	// A write wholly inside the read-only pages writes nothing.
	if n, err := m.WriteAt(p[:10], int64(3*page)); n != 0 || !errors.Is(err, ErrFault) {
		t.Fatalf("WriteAt into a read-only page = %d, %v; want 0, ErrFault", n, err)
	}
}

// Resize by copying (the pure-Go backend, macOS, the BSDs, Windows) keeps
// the contents whatever the prot: it used to copy into a read-only new map
// (a crash) and to drop a COPY map's private writes. remapByCopy is called
// directly too, so the copy runs on the cgo backend, which has mremap.
func TestResizeByCopyKeepsContents(t *testing.T) {
	data := pattern(4 * page)
	f := tempFile(t, data, os.O_RDWR)
	cases := []struct {
		name        string
		f           *os.File
		prot, flags int
		length      int
	}{
		{"read-only anonymous", nil, RDONLY, ANON, 2 * page},
		{"writable anonymous", nil, RDWR, ANON, 2 * page},
		{"COPY of a file", f, COPY, 0, 2 * page},
		{"shared file", f, RDWR, 0, 2 * page},
	}
	for _, c := range cases {
		for _, direct := range []bool{false, true} {
			m := mustMap(t, c.f, c.length, c.prot, c.flags, 0)
			if c.prot != RDONLY {
				m[5], m[page+6] = 'x', 'y'
			}
			want := append([]byte(nil), m...)
			if direct {
				m = resizeByCopy(t, m, c.f, 3*page)
			} else if err := m.Resize(c.f, 3*page, false); err != nil {
				t.Fatalf("%s: Resize: %v", c.name, err)
			}
			if len(m) != 3*page || !bytes.Equal(m[:c.length], want) {
				t.Errorf("%s (direct %v): the contents did not survive the Resize", c.name, direct)
			}
			if c.f != nil && !bytes.Equal(m[c.length:], data[c.length:3*page]) {
				t.Errorf("%s (direct %v): the grown part does not show the file", c.name, direct)
			}
			mustUnmap(t, &m)
		}
	}
	if got, _ := os.ReadFile(f.Name()); !bytes.Equal(got[:5], data[:5]) || got[5] != 'x' {
		t.Fatal("the file does not hold exactly the shared map's writes (a COPY map's writes reached it, or a shared one's did not)")
	}
}

// resizeByCopy resizes m to n bytes through remapByCopy.
func resizeByCopy(t *testing.T, m MMap, f *os.File, n int) MMap {
	t.Helper()
	r, err := unregister(m)
	if err != nil {
		t.Fatal(err)
	}
	var nr *region
	if f == nil {
		nr, err = remapByCopy(r, n, nil, 0, 0)
	} else {
		fi, _ := f.Stat()
		err = withFile(f, "resize", func(fd uintptr) (err error) {
			nr, err = remapByCopy(r, n, f, fd, fi.Size())
			return err
		})
	}
	if err != nil {
		register(r)
		t.Fatal(err)
	}
	return register(nr)
}

// Every method of the empty MMap succeeds, Info too (a zero Info). An empty
// slice of a live mapping is a derived slice: Unmap refuses it, and Info
// reports its mapping.
func TestEmptyMMapMethodsSucceed(t *testing.T) {
	f := tempFile(t, nil, os.O_RDWR)
	e, err := Map(f, RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := e.Info(); err != nil || info != (Info{}) {
		t.Fatalf("Info of the empty MMap = %+v, %v; want a zero Info", info, err)
	}
	if info, err := MMap(nil).Info(); err != nil || info != (Info{}) {
		t.Fatalf("Info of nil = %+v, %v; want a zero Info", info, err)
	}
	mustUnmap(t, &e)

	m := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	want, _ := m.Info()
	for _, empty := range []MMap{m[:0], m[page:page], m[len(m):]} {
		if info, err := empty.Info(); err != nil || info != want {
			t.Errorf("Info of an empty slice of a live mapping = %+v, %v; want the mapping's %+v", info, err, want)
		}
		if err := empty.Unmap(); !errors.Is(err, ErrNotMapped) || empty == nil {
			t.Errorf("Unmap of an empty slice of a live mapping: %v; want ErrNotMapped and the slice untouched", err)
		}
	}
	m[2*page-1] = 1 // still mapped
}
