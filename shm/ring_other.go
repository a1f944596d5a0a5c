//go:build !(linux || windows || ((darwin || freebsd) && (amd64 || arm64 || riscv64)))

package shm

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// Systems without a ring: NewRing is errors.ErrUnsupported.

//lint:ignore U1000 nothing is ever mapped here
type ringSys struct{}

func ringUnit() int { return os.Getpagesize() }

func (r *Ring) mapTwice() error {
	return fmt.Errorf("shm: the double-mapped ring is not implemented on %s/%s: %w", runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)
}

func (r *Ring) unmap() error { return nil }
