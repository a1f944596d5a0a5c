package shm

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/hugemap/mmap"
)

// Segments on every platform that has them: two mappings of one segment
// share their bytes, a mapping outlives the segment's Close, and bad
// arguments are clear errors.

// skipWithoutSegments skips where this platform has no segments.
func skipWithoutSegments(t *testing.T) {
	t.Helper()
	s, err := Create("probe", 1, 0)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("no shared-memory segments here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestMapsShareTheSegment(t *testing.T) {
	skipWithoutSegments(t)
	s := newSegment(t, "shared", 3*os.Getpagesize()+1, 0)
	a := mapSegment(t, s, mmap.RDWR)
	b := mapSegment(t, s, mmap.RDONLY)
	if len(a) != s.Size() || len(b) != s.Size() {
		t.Fatalf("mapped %d and %d bytes of a %d-byte segment", len(a), len(b), s.Size())
	}
	if !bytes.Equal(b, make([]byte, s.Size())) {
		t.Fatal("a new segment is not zeroed")
	}
	copy(a, pattern(len(a), 4))
	if !bytes.Equal(b, pattern(len(b), 4)) {
		t.Fatal("the read-only mapping does not see the writable one's bytes")
	}
	// A COPY mapping is private.
	c := mapSegment(t, s, mmap.COPY)
	c[0] ^= 0xff
	if a[0] == c[0] {
		t.Fatal("a write to the COPY mapping reached the segment")
	}
	// package mmap's methods work on the mapping.
	if n, err := b.ReadAt(make([]byte, 10), int64(len(b)-5)); n != 5 || err == nil {
		t.Fatalf("ReadAt at the end: %d, %v; want 5 and io.EOF", n, err)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	if info, err := a.Info(); err != nil || info.Kind != mmap.BasePages {
		t.Fatalf("Info: %+v, %v", info, err)
	}
	// The mapping outlives the segment's descriptor.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	a[1] = 0x5a
	if b[1] != 0x5a {
		t.Fatal("after Close the mappings no longer share their bytes")
	}
	if err := s.Close(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second Close: %v, want os.ErrClosed", err)
	}
	if _, err := s.Map(mmap.RDWR, 0); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Map after Close: %v, want os.ErrClosed", err)
	}
}

func TestSegmentBadArguments(t *testing.T) {
	for _, c := range []struct {
		name  string
		size  int
		flags int
		want  error
	}{
		{"zero", 0, 0, mmap.ErrInvalidLength},
		{"negative", -1, 0, mmap.ErrInvalidLength},
		{"map flags", 1, mmap.POPULATE, mmap.ErrInvalidFlags},
		{"anon", 1, mmap.ANON, mmap.ErrInvalidFlags},
		{"1GB alone", 1, mmap.HUGE_1GB, mmap.ErrInvalidFlags},
		{"nul\x00", 1, 0, fs.ErrInvalid},
	} {
		if s, err := Create(c.name, c.size, c.flags); !errors.Is(err, c.want) {
			if s != nil {
				s.Close()
			}
			t.Errorf("Create(%q, %d, %#x): %v, want %v", c.name, c.size, c.flags, err, c.want)
		}
	}
	if _, err := FromFile(nil); !errors.Is(err, mmap.ErrNoFile) {
		t.Errorf("FromFile(nil): %v, want ErrNoFile", err)
	}

	skipWithoutSegments(t)
	s := newSegment(t, "args", 1, 0)
	if _, err := s.Map(mmap.RDWR, mmap.ANON); !errors.Is(err, mmap.ErrInvalidFlags) {
		t.Errorf("Map with ANON: %v, want ErrInvalidFlags", err)
	}
	if _, err := s.Map(mmap.RDWR|mmap.COPY, 0); !errors.Is(err, mmap.ErrInvalidProt) {
		t.Errorf("Map RDWR|COPY: %v, want ErrInvalidProt", err)
	}
	if err := s.Seal(1 << 10); !errors.Is(err, ErrInvalidSeal) {
		t.Errorf("Seal of an unknown bit: %v, want ErrInvalidSeal", err)
	}
}

func TestSealString(t *testing.T) {
	for s, want := range map[Seal]string{
		0:                       "none",
		SealShrink | SealGrow:   "shrink|grow",
		SealSeal | SealExec:     "seal|exec",
		SealFutureWrite | 1<<10: "future-write|0x400",
	} {
		if got := s.String(); got != want {
			t.Errorf("Seal(%#x).String() = %q, want %q", uint(s), got, want)
		}
	}
	if !strings.Contains(SealWrite.String(), "write") {
		t.Error(SealWrite.String())
	}
}
