package shm

import (
	"bytes"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/hugemap/mmap"
)

// The ring on every platform that has one: the two halves alias, a record
// written across the end reads back whole through either half, and bad
// sizes and a second Close are clear errors.

// newRing makes a ring that is closed when t ends, or skips where this
// platform has none.
func newRing(t testing.TB, size int) *Ring {
	t.Helper()
	r, err := NewRing(size)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("no ring here: %v", err)
	}
	if err != nil {
		t.Fatalf("NewRing(%d): %v", size, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRingHalvesAlias(t *testing.T) {
	r := newRing(t, 1)
	size := r.Size()
	if size < os.Getpagesize() || size%ringUnit() != 0 {
		t.Fatalf("Size %d: not rounded up to the unit %d", size, ringUnit())
	}
	b := r.Bytes()
	if len(b) != 2*size || cap(b) != 2*size {
		t.Fatalf("len %d cap %d, want %d", len(b), cap(b), 2*size)
	}
	for _, i := range []int{0, 1, size / 2, size - 1} {
		b[i] = byte(i + 1)
		if b[i+size] != byte(i+1) {
			t.Fatalf("b[%d] = %d, b[%d] = %d: the halves do not alias", i, b[i], i+size, b[i+size])
		}
		b[i+size] = byte(i + 2)
		if b[i] != byte(i+2) {
			t.Fatalf("a write to the second half at %d is not seen at %d", i+size, i)
		}
	}
}

// A record written across the end of the ring, in one copy, reads back
// contiguously from where it started, and its tail sits at the start of
// the first half.
func TestRingWriteAcrossTheWrap(t *testing.T) {
	r := newRing(t, 3*os.Getpagesize())
	size := r.Size()
	b := r.Bytes()
	rec := pattern(1000, 5)
	off := size - 300
	copy(b[off:], rec)
	if !bytes.Equal(b[off:off+len(rec)], rec) {
		t.Fatal("the record does not read back where it was written")
	}
	if !bytes.Equal(b[:len(rec)-300], rec[300:]) {
		t.Fatal("the record's tail is not at the start of the first half")
	}
	if !bytes.Equal(b[size-300:size], rec[:300]) {
		t.Fatal("the record's head is not at the end of the first half")
	}
	// Every offset of the first half starts a contiguous window of size
	// bytes.
	for i := range size {
		b[i] = byte(i % 251)
	}
	for _, off := range []int{0, 1, size / 3, size - 1} {
		w := b[off : off+size]
		for j := range w {
			if w[j] != byte((off+j)%size%251) {
				t.Fatalf("window at %d, byte %d: %d, want %d", off, j, w[j], byte((off+j)%size%251))
			}
		}
	}
}

func TestRingBadSizes(t *testing.T) {
	for _, size := range []int{0, -1, math.MinInt, math.MaxInt, math.MaxInt / 2} {
		r, err := NewRing(size)
		if !errors.Is(err, mmap.ErrInvalidLength) {
			if r != nil {
				r.Close()
			}
			t.Errorf("NewRing(%d): %v, want ErrInvalidLength", size, err)
		}
	}
}

func TestRingCloseTwice(t *testing.T) {
	r, err := NewRing(1)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("no ring here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if b := r.Bytes(); b != nil {
		t.Fatalf("Bytes after Close: %d bytes, want nil", len(b))
	}
	if err := r.Close(); !errors.Is(err, mmap.ErrNotMapped) {
		t.Fatalf("second Close: %v, want ErrNotMapped", err)
	}
}
