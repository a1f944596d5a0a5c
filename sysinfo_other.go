//go:build !linux

package mmap

import (
	"errors"
	"fmt"
	"runtime"
)

// What the system offers where there is no /proc or /sys: no hugetlb
// pools, no transparent hugepages.

func hugetlbPools() ([]HugetlbPool, error) {
	return nil, fmt.Errorf("mmap: hugetlb pools on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func defaultHugetlbPageSize() int { return 0 }
func thpSize() int                { return 0 }
func thpMode() string             { return "" }

// sizeless: only Linux's procfs reports size 0 for files with contents.
func sizeless(string, uintptr) error { return nil }
