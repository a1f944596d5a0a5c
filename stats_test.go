package mmap

import (
	"errors"
	"reflect"
	"runtime"
	"testing"
)

// Stats on every platform: the empty MMap, memory this package did not
// map, and agreement with Resident where the platform keeps an account.

func TestStatsOfEmptyAndForeign(t *testing.T) {
	for what, e := range emptyTargets(t) {
		if s, err := e.Stats(); err != nil || !reflect.DeepEqual(s, Stats{}) {
			t.Errorf("Stats of the %s = %+v, %v; want zero, nil", what, s, err)
		}
	}
	gone := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	stale, staleTail := gone, gone[page:]
	mustUnmap(t, &gone)
	for what, s := range map[string]MMap{"Go memory": make(MMap, page), "unmapped": stale, "unmapped sub-slice": staleTail} {
		if _, err := s.Stats(); !errors.Is(err, ErrNotMapped) {
			t.Errorf("Stats of %s: got %v, want ErrNotMapped", what, err)
		}
	}
}

func TestStatsAgreesWithResident(t *testing.T) {
	if runtime.GOOS == "linux" {
		skipUnderQEMU(t, "smaps is the emulator's, at the host's addresses")
	}
	m := mustMap(t, nil, 8*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	for _, i := range []int{1, 2, 6} {
		m[i*page] = 1
	}
	s, err := m.Stats()
	switch runtime.GOOS {
	case "linux", "windows":
	default:
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("Stats on %s: got %+v, %v; want ErrUnsupported", runtime.GOOS, s, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := m.Resident()
	if err != nil {
		t.Fatal(err)
	}
	// Linux counts whole VMAs, which may take in a merged neighbour;
	// Windows counts the pages under m alone.
	if runtime.GOOS == "windows" {
		if s.Size != int64(8*page) || s.Rss != int64(res*page) {
			t.Fatalf("Stats %+v; want Size %d and Rss %d (Resident)", s, 8*page, res*page)
		}
	} else if s.Size < int64(8*page) || s.Rss < int64(res*page) || res != 3 {
		t.Fatalf("Stats %+v with %d pages resident; want Size >= %d, Rss >= %d", s, res, 8*page, res*page)
	}
	var sum int64
	for _, n := range s.NodeBytes {
		sum += n
	}
	if s.NodeBytes != nil && sum < int64(res*page) {
		t.Fatalf("NodeBytes %v sum to less than the %d resident pages", s.NodeBytes, res)
	}
}
