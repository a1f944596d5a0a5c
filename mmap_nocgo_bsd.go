//go:build !cgo && (darwin || freebsd || openbsd || dragonfly)

package mmap

import (
	"syscall"
	"unsafe"
)

var nativeAdvices = map[Advice]int{
	AdviceNormal: syscall.MADV_NORMAL, AdviceRandom: syscall.MADV_RANDOM,
	AdviceSequential: syscall.MADV_SEQUENTIAL, AdviceWillNeed: syscall.MADV_WILLNEED,
	adviceFree: syscall.MADV_FREE,
	// No adviceDontNeed: here MADV_DONTNEED keeps the data, which would
	// break Discard's promise of zeros.
}

func nativeAdvice(a Advice) (int, bool) {
	native, ok := nativeAdvices[a]
	return native, ok
}

// populateAtMap is a no-op here: these systems have no call that reports
// population failures, and Info says the pages were not populated.
func populateAtMap(unsafe.Pointer, *mapReq) (bool, error) { return false, nil }

// hugetlbfsPageSize: there is no hugetlbfs here.
func hugetlbfsPageSize(int) int { return 0 }
