//go:build !cgo && linux

package mmap

import (
	"syscall"
	"unsafe"
)

// Linux values that package syscall does not name, from the kernel's uapi
// headers (the same on every Linux architecture).
const (
	madvFree          = 8
	madvDontDump      = 16
	madvDoDump        = 17
	madvCold          = 20
	madvPageOut       = 21
	madvPopulateRead  = 22
	madvPopulateWrite = 23
	madvCollapse      = 25
)

var nativeAdvices = map[Advice]int{
	AdviceNormal: syscall.MADV_NORMAL, AdviceRandom: syscall.MADV_RANDOM,
	AdviceSequential: syscall.MADV_SEQUENTIAL, AdviceWillNeed: syscall.MADV_WILLNEED,
	AdviceHugePage: syscall.MADV_HUGEPAGE, AdviceNoHugePage: syscall.MADV_NOHUGEPAGE,
	AdvicePopulateRead: madvPopulateRead, AdvicePopulateWrite: madvPopulateWrite,
	AdviceCold: madvCold, AdvicePageOut: madvPageOut,
	AdviceDontFork: syscall.MADV_DONTFORK, AdviceDoFork: syscall.MADV_DOFORK,
	AdviceDontDump: madvDontDump, AdviceDoDump: madvDoDump,
	AdviceCollapse: madvCollapse, adviceDontNeed: syscall.MADV_DONTNEED,
	adviceFree: madvFree, adviceRemove: syscall.MADV_REMOVE,
}

func nativeAdvice(a Advice) (int, bool) {
	native, ok := nativeAdvices[a]
	return native, ok
}

// populateAtMap faults the new mapping in with MADV_POPULATE_READ/WRITE, as the C
// shim does; before Linux 5.14 (EINVAL) it reads or writes one byte a page.
func populateAtMap(addr unsafe.Pointer, req *mapReq) (bool, error) {
	write := req.flags&ANON != 0 && req.prot&(RDWR|COPY) != 0
	advice := uintptr(madvPopulateRead)
	if write {
		advice = madvPopulateWrite
	}
	err := rangeCall(syscall.SYS_MADVISE, addr, req.size, advice)
	if err != syscall.EINVAL {
		return err == nil, err
	}
	b := unsafe.Slice((*byte)(addr), req.size)
	var sum byte
	for i := 0; i < len(b); i += syscall.Getpagesize() {
		if write {
			b[i] = 0
		} else {
			sum += b[i]
		}
	}
	populateSink = sum // a read the compiler cannot drop
	return true, nil
}

var populateSink byte

// hugetlbfsPageSize is the page size of the hugetlbfs that holds fd, or 0.
func hugetlbfsPageSize(fd int) int {
	var st syscall.Statfs_t
	if syscall.Fstatfs(fd, &st) != nil || uint32(st.Type) != 0x958458f6 { // HUGETLBFS_MAGIC
		return 0
	}
	return int(st.Bsize)
}
