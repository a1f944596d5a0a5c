package mmap

import (
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The cheap checks that let ReadAt and WriteAt skip bringing pages in: a
// copy that cannot wait for a disk needs no call that releases the P first.

// residentCheckPages is the most pages allResident asks about: mincore's
// cost grows with the range, and a large read gains little from skipping
// the populate call, which finds resident pages quickly too.
const residentCheckPages = 64

// allResident reports whether every page of the n bytes at p, a
// page-aligned range of at most residentCheckPages pages, is in memory, so
// that touching it takes minor faults at most. It makes mincore(2) as a raw
// system call, holding the P: mincore never waits for a disk, and a raw call
// costs a third less than one that hands the P off (about 0.5 us against
// 0.75 us for 16 pages here).
func allResident(p unsafe.Pointer, n uintptr) bool {
	var vec [residentCheckPages]byte
	if n == 0 || n > residentCheckPages*uintptr(pageSize) {
		return n == 0
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_MINCORE, uintptr(p), n, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		return false
	}
	for _, v := range vec[:(n+uintptr(pageSize)-1)/uintptr(pageSize)] {
		if v&1 == 0 {
			return false
		}
	}
	return true
}

var pageSize = syscall.Getpagesize()

// swapless reports whether the system has no swap space, so that anonymous
// memory never waits for a disk: a touch of it maps a zeroed page at worst.
// Swap can be added while the process runs (swapon), so the answer is
// asked again once a second.
func swapless() bool {
	now := time.Now().UnixNano()
	if s := swapSeen.Load(); s != nil && now-s.at < int64(time.Second) {
		return s.none
	}
	var si syscall.Sysinfo_t
	none := syscall.Sysinfo(&si) == nil && si.Totalswap == 0
	swapSeen.Store(&swapAnswer{at: now, none: none})
	return none
}

type swapAnswer struct {
	at   int64 // UnixNano
	none bool
}

var swapSeen atomic.Pointer[swapAnswer]
