//go:build !(linux || freebsd || darwin || windows)

package shm

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/hugemap/mmap"
)

// Systems without an implementation: every call is errors.ErrUnsupported.

var errNoSegments = fmt.Errorf("shm: shared-memory segments are not implemented on %s: %w", runtime.GOOS, errors.ErrUnsupported)

func create(string, int, int) (*Segment, error)   { return nil, errNoSegments }
func fileInfo(uintptr) (int64, int, error)        { return 0, 0, errNoSegments }
func osMap(*Segment, int, int) (mmap.MMap, error) { return nil, errNoSegments }
func addSeals(uintptr, Seal) error                { return errNoSegments }
func getSeals(uintptr) (Seal, error)              { return 0, errNoSegments }
