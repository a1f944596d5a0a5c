package shm

import (
	"testing"

	"github.com/hugemap/mmap"
)

// newSegment makes a segment that is closed when t ends.
func newSegment(t testing.TB, name string, size, flags int) *Segment {
	t.Helper()
	s, err := Create(name, size, flags)
	if err != nil {
		t.Fatalf("Create(%q, %d, %#x): %v", name, size, flags, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mapSegment maps all of s, unmapped when t ends.
func mapSegment(t testing.TB, s *Segment, prot int) mmap.MMap {
	t.Helper()
	m, err := s.Map(prot, 0)
	if err != nil {
		t.Fatalf("Map(%#x): %v", prot, err)
	}
	t.Cleanup(func() { m.Unmap() })
	return m
}

// pattern is n bytes that differ from page to page and within a page.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i) ^ byte(i>>12) ^ seed
	}
	return b
}
