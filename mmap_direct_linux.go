//go:build cgo && linux && !asan && !msan

package mmap

import (
	"os"
	"unsafe"

	"github.com/hugemap/mmap/internal/sysmmap"
)

// With cgo on Linux, a map that asks for nothing but the mapping, and every
// unmap, go to the kernel from Go (internal/sysmmap, as the pure-Go backend
// does): the shim would add nothing to them but the cost of a cgo call,
// which is twice a system call's in the runtime (callgrind: about 300
// instructions more for the map+unmap pair, a third of what Map cost above
// syscall.Mmap). Hugepages, POPULATE, LOCK and maps inside a reservation
// take the shim's ladder. Built with -asan or -msan, everything goes
// through C, so that the sanitizer's interceptors see every mapping.

// mapDirect maps req itself and reports true when req asks for a plain
// mapping; false leaves it to the shim.
func mapDirect(req *mapReq) (unsafe.Pointer, bool, error) {
	if req.flags&(HUGE|HUGETLB|POPULATE|LOCK|LOCK_ONFAULT) != 0 || req.at != nil {
		return nil, false, nil
	}
	flags, fd, offset := req.mapArgs()
	p, err := sysmmap.Map(nil, req.length, nativeProt(req.prot), flags, fd, offset)
	if err != nil {
		req.failedStep = stepMmap
		return nil, true, err
	}
	req.size = req.length
	req.info = Info{Kind: BasePages, PageSize: os.Getpagesize()}
	return p, true, nil
}

func sysUnmap(addr unsafe.Pointer, length uintptr) error { return sysmmap.Unmap(addr, length) }
