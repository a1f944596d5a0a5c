//go:build windows

package mmap

import (
	"errors"
	"os"
	"testing"
)

// Growth in place on Windows: which path this system takes, and on
// systems with placeholders what VirtualQuery says of the reservation and
// the views in it. The portable tests (grow_test.go) run the rest where
// placeholders work and skip, saying why, where they are refused.

const memFree = 0x10000 // MEM_FREE

func TestWindowsMapRegionMaxPath(t *testing.T) {
	err := placeholders()
	t.Logf("placeholders on this system: %v (nil: views into placeholders)", err)
	if onWine() && err == nil {
		t.Log("this Wine maps views into placeholders: the portable tests ran against them")
	}
	f := tempFile(t, pattern(4*page), os.O_RDWR)
	handles, live := handleCount(), liveMappings()
	m, mapErr := MapRegionMax(f, page, 64*page, RDWR, 0, 0)
	if err != nil {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("placeholders refused with %v; want an error matching errors.ErrUnsupported", err)
		}
		wantUnsupported(t, "MapRegionMax without placeholders", mapErr)
		if m != nil || liveMappings() != live || handleCount() != handles {
			t.Fatal("a refused MapRegionMax left a mapping or a handle")
		}
		return
	}
	if mapErr != nil {
		t.Fatal(mapErr)
	}
	base := addr(m)
	mustGrow(t, &m, f, 3*page+5, false)
	// One view per part, then the placeholder: reserved, not committed.
	first, second := virtualQuery(t, base), virtualQuery(t, base+uintptr(page))
	if first.regionSize != uintptr(page) || second.regionSize != uintptr(3*page) {
		t.Errorf("VirtualQuery: views of %d and %d bytes; want %d and %d", first.regionSize, second.regionSize, page, 3*page)
	}
	if tail := virtualQuery(t, base+uintptr(4*page)); tail.state != memReserve {
		t.Errorf("past the views VirtualQuery says state %#x; want MEM_RESERVE (a placeholder)", tail.state)
	}
	copy(m[2*page:], "grown")
	if err := m[2*page : 2*page+5].Flush(); err != nil {
		t.Fatal(err)
	}
	if got := fileContents(t, f)[2*page : 2*page+5]; string(got) != "grown" {
		t.Fatalf("the file holds %q where the grown view wrote", got)
	}
	mustUnmap(t, &m)
	for _, p := range []uintptr{base, base + uintptr(page), base + uintptr(4*page)} {
		if q := virtualQuery(t, p); q.state != memFree {
			t.Errorf("after Unmap, +%#x is in state %#x; want MEM_FREE", p-base, q.state)
		}
	}
	if handleCount() != handles {
		t.Errorf("%d handles after Unmap; want %d", handleCount(), handles)
	}
}
