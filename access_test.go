package mmap

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

func TestReadAtSemantics(t *testing.T) {
	data := pattern(3*page + 17)
	f := tempFile(t, data, os.O_RDONLY)
	m := mustMap(t, f, -1, RDONLY, 0, 0)
	defer mustUnmap(t, &m)
	size := int64(len(data))
	cases := []struct {
		off     int64
		n       int
		wantN   int
		wantErr error
	}{
		{0, 10, 10, nil},
		{0, len(data), len(data), nil},
		{int64(page) - 3, 2 * page, 2 * page, nil},
		{size - 5, 10, 5, io.EOF},
		{size, 0, 0, nil},
		{size, 1, 0, io.EOF},
		{size + 100, 1, 0, io.EOF},
		{-1, 1, 0, ErrInvalidOffset},
	}
	for _, c := range cases {
		p := make([]byte, c.n)
		n, err := m.ReadAt(p, c.off)
		if n != c.wantN || !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) {
			t.Errorf("ReadAt(%d bytes, off %d) = %d, %v; want %d, %v", c.n, c.off, n, err, c.wantN, c.wantErr)
			continue
		}
		if c.off >= 0 && !bytes.Equal(p[:n], data[min(c.off, size):min(c.off, size)+int64(n)]) {
			t.Errorf("ReadAt(%d bytes, off %d) read the wrong bytes", c.n, c.off)
		}
	}
	// The standard library's reader checks, through a SectionReader.
	if err := iotest.TestReader(io.NewSectionReader(m, 0, size), data); err != nil {
		t.Fatal(err)
	}
	// A sub-slice reads from its own start.
	sub := m[page+1 : 2*page]
	p := make([]byte, 8)
	if n, err := sub.ReadAt(p, 2); n != 8 || err != nil || !bytes.Equal(p, data[page+3:page+11]) {
		t.Fatalf("ReadAt of a sub-slice: %d, %v, %v", n, err, p)
	}
	if _, err := MMap(make([]byte, 10)).ReadAt(p, 0); !errors.Is(err, ErrNotMapped) {
		t.Fatalf("ReadAt of Go memory: %v, want ErrNotMapped", err)
	}
}

func TestWriteAtSemantics(t *testing.T) {
	data := pattern(2 * page)
	f := tempFile(t, data, os.O_RDWR)
	m := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &m)
	if n, err := m.WriteAt([]byte("hello"), int64(page-2)); n != 5 || err != nil {
		t.Fatalf("WriteAt across a page boundary: %d, %v", n, err)
	}
	if n, err := m.WriteAt([]byte("tail!"), int64(2*page-3)); n != 3 || !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("WriteAt past the end: %d, %v; want 3, io.ErrShortWrite", n, err)
	}
	if n, err := m.WriteAt([]byte("x"), int64(2*page+5)); n != 0 || !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("WriteAt beyond the end: %d, %v; want 0, io.ErrShortWrite", n, err)
	}
	if _, err := m.WriteAt([]byte("x"), -1); !errors.Is(err, ErrInvalidOffset) {
		t.Fatalf("WriteAt at -1: %v, want ErrInvalidOffset", err)
	}
	if n, err := m.WriteAt(nil, int64(len(m))); n != 0 || err != nil {
		t.Fatalf("empty WriteAt at the end: %d, %v", n, err)
	}
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	copy(data[page-2:], "hello")
	copy(data[2*page-3:], "tai")
	if got, _ := os.ReadFile(f.Name()); !bytes.Equal(got, data) {
		t.Fatal("the file does not hold what WriteAt wrote")
	}
	ro := mustMap(t, f, -1, RDONLY, 0, 0)
	defer mustUnmap(t, &ro)
	if _, err := ro.WriteAt([]byte("x"), 0); !errors.Is(err, ErrInvalidProt) {
		t.Fatalf("WriteAt to a read-only mapping: %v, want ErrInvalidProt", err)
	}
}

func TestGuardLetsOtherPanicsThrough(t *testing.T) {
	m := mustMap(t, nil, page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	defer func() {
		if r := recover(); r != "not a fault" {
			t.Fatalf("recovered %v; want the caller's own panic", r)
		}
	}()
	m.Guard(func([]byte) error { panic("not a fault") })
}

func TestPrefaultAnonymousAndFile(t *testing.T) {
	const size = 8 << 20
	a := mustMap(t, nil, size, RDWR, ANON, 0)
	defer mustUnmap(t, &a)
	if err := a.Prefault(3); err != nil {
		t.Fatal(err)
	}
	// qemu-user takes madvise without acting on it.
	if resident, pages, err := a.Resident(); !underQEMU() && (err != nil || resident != pages || pages != size/page) {
		t.Fatalf("after Prefault: %d of %d pages resident (%v)", resident, pages, err)
	}
	f := tempFile(t, pattern(size), os.O_RDONLY)
	m := mustMap(t, f, -1, RDONLY, 0, 0)
	defer mustUnmap(t, &m)
	if err := m[page:].Prefault(0); err != nil {
		t.Fatal(err)
	}
	if err := (MMap{}).Prefault(0); err != nil {
		t.Fatalf("Prefault of an empty MMap: %v", err)
	}
}

// The x/exp/mmap drop-in: zero-size files, idempotent Close, x/exp's offset
// rules, and faults as errors.
func TestReaderAt(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(empty)
	if err != nil || r.Len() != 0 {
		t.Fatalf("Open of an empty file: %v, len %d", err, r.Len())
	}
	if n, err := r.ReadAt(make([]byte, 1), 0); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt of an empty file: %d, %v", n, err)
	}
	if err := errors.Join(r.Close(), r.Close()); err != nil {
		t.Fatal(err)
	}

	data := pattern(2*page + 1)
	path := filepath.Join(dir, "data")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	before := liveMappings()
	r, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != len(data) || r.At(page+1) != data[page+1] {
		t.Fatal("Len or At disagree with the file")
	}
	p := make([]byte, 4)
	if n, err := r.ReadAt(p, int64(len(data)-2)); n != 2 || err != io.EOF {
		t.Fatalf("short ReadAt: %d, %v", n, err)
	}
	if _, err := r.ReadAt(p, int64(len(data)+1)); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("ReadAt past the end: %v; want x/exp's invalid-offset error", err)
	}
	if _, err := r.ReadAt(p, -1); err == nil {
		t.Fatal("ReadAt at -1 succeeded")
	}
	if err := errors.Join(r.Close(), r.Close()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadAt(p, 0); err == nil {
		t.Fatal("ReadAt after Close succeeded")
	}
	if liveMappings() != before {
		t.Fatal("Close left the mapping live")
	}
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open of a missing file: %v", err)
	}
}
