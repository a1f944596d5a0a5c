//go:build !linux

package mmap

import (
	"errors"
	"fmt"
	"runtime"
)

func hugePagePools() ([]HugePagePool, error) {
	return nil, fmt.Errorf("mmap: hugetlb pools on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func defaultHugePageSize() int { return 0 }
func thpSize() int             { return 0 }
func thpMode() string          { return "" }

// sizeless: only Linux's procfs reports size 0 for files with contents.
func sizeless(string, uintptr) error { return nil }
