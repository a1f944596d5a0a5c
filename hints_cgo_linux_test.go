//go:build cgo

package mmap

import (
	"os"
	"testing"
)

// Before Linux 5.14 there is no MADV_POPULATE_*: POPULATE passes
// MAP_POPULATE, and on the THP rung touches the pages after the advice.
func TestPopulateWithMapFlag(t *testing.T) {
	skipUnderQEMU(t, "pagemap is the emulator's")
	populateWithMapFlag(true)
	t.Cleanup(func() { populateWithMapFlag(false) })
	const pages = 16
	for _, flags := range []int{ANON | POPULATE, ANON | POPULATE | HUGE} {
		m := mustMap(t, nil, pages*page, RDWR, flags, 0)
		if present, zero := pageState(t, m); present != pages || zero != 0 {
			t.Errorf("flags %#x: %d of %d pages present, %d zero; want all present and written", flags, present, pages, zero)
		}
		if info, _ := m.Info(); !info.Populated {
			t.Errorf("flags %#x: Info %+v; want Populated", flags, info)
		}
		mustUnmap(t, &m)
	}
	// MAP_POPULATE reports nothing: a map past the end of the file succeeds,
	// which is why POPULATE prefers the advice.
	f := tempFile(t, pattern(page), os.O_RDONLY)
	m := mustMap(t, f, 4*page, RDONLY, POPULATE, 0)
	mustUnmap(t, &m)
}
