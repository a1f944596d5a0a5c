//go:build !linux && !windows

package mmap

import (
	"errors"
	"fmt"
	"runtime"
)

// Stats where the kernel keeps no account of a mapping that this package
// reads: macOS, the BSDs and the rest.

func osStats(*region, uintptr, uintptr) (Stats, error) {
	return Stats{}, fmt.Errorf("mmap: Stats on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
