package mmap

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

func TestResizeAnonymousKeepsContents(t *testing.T) {
	m := mustMap(t, nil, 3*page+5, RDWR, ANON, 0)
	defer func() { mustUnmap(t, &m) }()
	for i := range m {
		m[i] = byte(i)
	}
	before := liveMappings()
	for _, n := range []int{64 * page, 100, 10*page + 1} {
		old := m
		if err := m.Resize(nil, n, false); err != nil {
			t.Fatalf("Resize to %d: %v", n, err)
		}
		if len(m) != n || cap(m) != n {
			t.Fatalf("after Resize to %d: len %d cap %d", n, len(m), cap(m))
		}
		for i := range 64 { // below every n-1 written here
			if m[i] != byte(i) {
				t.Fatalf("Resize to %d lost byte %d", n, i)
			}
		}
		m[n-1] = 1 // the new tail is mapped
		if liveMappings() != before {
			t.Fatalf("Resize changed the number of live mappings: %d -> %d", before, liveMappings())
		}
		if &old[0] != &m[0] {
			if err := old.Flush(); !errors.Is(err, ErrNotMapped) {
				t.Fatalf("the moved-from slice still counts as mapped: %v", err)
			}
		}
	}
}

func TestResizeFile(t *testing.T) {
	data := pattern(4 * page)
	f := tempFile(t, data, os.O_RDWR)
	m := mustMap(t, f, page, RDWR, 0, int64(page))
	defer func() { mustUnmap(t, &m) }()
	if err := m.Resize(f, 3*page, false); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m, data[page:]) {
		t.Fatal("a grown file mapping does not hold the file's bytes")
	}
	if err := m.Resize(f, 3*page+1, false); !errors.Is(err, ErrInvalidLength) {
		t.Fatalf("Resize past the end of the file: got %v, want ErrInvalidLength", err)
	}
	if len(m) != 3*page {
		t.Fatal("a refused Resize changed the slice")
	}
	if err := m.Resize(nil, 2*page, false); !errors.Is(err, ErrNoFile) {
		t.Fatalf("Resize of a file mapping without its file: got %v, want ErrNoFile", err)
	}
	if err := m.Resize(f, 5*page, true); err != nil {
		t.Fatalf("Resize with extend: %v", err)
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != int64(6*page) {
		t.Fatalf("extend left the file at %v bytes (%v), want %d", fi.Size(), err, 6*page)
	}
	m[len(m)-1] = 'E'
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil || got[6*page-1] != 'E' {
		t.Fatalf("a write to the extended tail did not reach the file (%v)", err)
	}
}

func TestResizeRefusesBadInput(t *testing.T) {
	m := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	for _, n := range []int{0, -1} {
		if err := m.Resize(nil, n, false); !errors.Is(err, ErrInvalidLength) {
			t.Errorf("Resize to %d: got %v, want ErrInvalidLength", n, err)
		}
	}
	d := m[page:]
	if err := d.Resize(nil, page, false); !errors.Is(err, ErrNotMapped) {
		t.Errorf("Resize of a derived slice: got %v, want ErrNotMapped", err)
	}
	var none MMap
	if err := none.Resize(nil, page, false); !errors.Is(err, ErrNotMapped) {
		t.Errorf("Resize of nil: got %v, want ErrNotMapped", err)
	}
}
