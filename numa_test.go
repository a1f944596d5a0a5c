package mmap

import (
	"errors"
	"runtime"
	"testing"
)

// SetNUMA and NUMANodes on every platform: the empty MMap, memory this
// package did not map, and ErrUnsupported off Linux.

func TestSetNUMAOnEmptyAndForeign(t *testing.T) {
	for what, e := range emptyTargets(t) {
		if err := e.SetNUMA(NUMABind, []int{0}, false); err != nil {
			t.Errorf("SetNUMA of the %s: %v", what, err)
		}
		if err := e.SetNUMA(NUMADefault, nil, true); err != nil {
			t.Errorf("SetNUMA(NUMADefault) of the %s: %v", what, err)
		}
		if err := e.SetNUMA(NUMADefault, []int{0}, true); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("SetNUMA(NUMADefault, [0]) of the %s: got %v, want ErrInvalidPolicy", what, err)
		}
	}
	if err := MMap(make([]byte, page)).SetNUMA(NUMALocal, nil, false); !errors.Is(err, ErrNotMapped) {
		t.Errorf("SetNUMA of Go memory: got %v, want ErrNotMapped", err)
	}
	if runtime.GOOS != "linux" {
		if _, err := NUMANodes(); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("NUMANodes on %s: got %v, want ErrUnsupported", runtime.GOOS, err)
		}
		m := mustMap(t, nil, 2*page, RDWR, ANON, 0)
		defer mustUnmap(t, &m)
		if err := m.SetNUMA(NUMALocal, nil, false); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("SetNUMA on %s: got %v, want ErrUnsupported", runtime.GOOS, err)
		}
	}
	if NUMAWeightedInterleave.String() != "NUMAWeightedInterleave" || NUMAMode(99).String() != "NUMAMode(99)" {
		t.Errorf("NUMAMode names: %q, %q", NUMAWeightedInterleave, NUMAMode(99))
	}
}
