//go:build !cgo

package mmap

import (
	"errors"
	"testing"
)

// Built without cgo, the hints only the C shim has say so, and HUGE is
// honest about the base pages it got.
func TestNoCgoHints(t *testing.T) {
	for _, flags := range []int{ANON | HUGETLB, ANON | LOCK_ONFAULT} {
		if _, err := MapRegion(nil, page, RDWR, flags, 0); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("flags %#x: got %v, want errors.ErrUnsupported", flags, err)
		}
	}
	m := mustMap(t, nil, 4<<20, RDWR, ANON|HUGE, 0)
	defer mustUnmap(t, &m)
	if info, _ := m.Info(); info.Kind != BasePages || info.PageSize != page {
		t.Fatalf("HUGE without cgo: Info %+v; want base pages", info)
	}
	if err := m.LockOnFault(); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("LockOnFault without cgo: got %v", err)
	}
}
