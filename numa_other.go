//go:build !linux

package mmap

import (
	"errors"
	"fmt"
	"runtime"
)

// NUMA where this package has no policy call: every platform but Linux.

func numaNodes() ([]int, error) {
	return nil, fmt.Errorf("mmap: NUMA nodes on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func osSetNUMA(*region, uintptr, uintptr, NUMAMode, []int, bool) error {
	return fmt.Errorf("mmap: SetNUMA on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
