//go:build cgo && unix

package mmap

/*
#cgo CFLAGS: -O2
// The shim never calls back into Go and keeps no pointer it is given, so
// cgo may skip its callback bookkeeping and leave arguments on Go's stack
// (a map request would otherwise be a heap allocation on every Map).
#cgo nocallback hm_map
#cgo noescape hm_map
#cgo nocallback hm_sync
#cgo nocallback hm_lock
#cgo nocallback hm_unlock
#cgo nocallback hm_advise
#cgo nocallback hm_protect
#cgo nocallback hm_populate
#cgo nocallback hm_remap
#cgo nocallback hm_mincore
#cgo noescape hm_mincore
#cgo nocallback hm_mbind
#cgo noescape hm_mbind
#include "mmap.h"
*/
import "C"

import "unsafe"

// The calls into C (with hm_unmap, in mmap_direct_other.go, where unmaps
// go through the shim). Each wrapper is one crossing into the shim; errno
// is read only when the result says the call failed.

const backend = "cgo"

// The shim takes this package's prot and flags bits as they are; a constant
// that drifted from its C twin fails to compile here (constant index out of
// range).
var _ = [1]struct{}{}[(RDWR^C.HM_RDWR)|(COPY^C.HM_COPY)|(EXEC^C.HM_EXEC)|
	(ANON^C.HM_ANON)|(POPULATE^C.HM_POPULATE)|(HUGE^C.HM_HUGE)|(HUGETLB^C.HM_HUGETLB)|
	(LOCK^C.HM_LOCK)|(LOCK_ONFAULT^C.HM_LOCK_ONFAULT)|(NORESERVE^C.HM_NORESERVE)|
	(int(BasePages)^C.HM_KIND_BASE)|(int(TransparentHugePages)^C.HM_KIND_THP)|(int(HugetlbPages)^C.HM_KIND_HUGETLB)|
	(stepMmap^C.HM_STEP_MMAP)|(stepPopulate^C.HM_STEP_POPULATE)|(stepLock^C.HM_STEP_LOCK)|
	(int(AdviceNormal)^C.HM_ADV_NORMAL)|(int(AdviceCollapse)^C.HM_ADV_COLLAPSE)|(int(adviceRemove)^C.HM_ADV_REMOVE)]

func sysMap(req *mapReq) (unsafe.Pointer, error) {
	if p, done, err := mapDirect(req); done {
		return p, err
	}
	m := C.struct_hm_map{
		fd:        C.int(req.fd),
		prot:      C.int(req.prot),
		flags:     C.int(req.flags),
		offset:    C.int64_t(req.offset),
		length:    C.size_t(req.length),
		huge_size: C.size_t(req.hugeSize),
		thp_size:  C.size_t(req.thpSize),

		populate_write:       cbool(populatesForWriting(req.prot, req.flags)),
		populate_by_map_flag: cbool(req.populateByMapFlag),
		at:                   C.uintptr_t(uintptr(req.at)),
	}
	p, err := C.hm_map(&m)
	req.size = uintptr(m.size) // on failure: what the failed step covered, or 0
	if p == nil {
		req.failedStep = int(m.failed_step)
		return nil, err
	}
	req.info = Info{
		Kind:      PageKind(m.kind),
		PageSize:  int(m.page_size),
		Populated: m.populated != 0,
		Locked:    m.locked != 0,
	}
	return p, nil
}

// sysReserve reserves size bytes of address space (PROT_NONE, no memory,
// no swap) starting congruent to phase modulo align; with at set, it gives
// [at, at+size), which the caller owns, back to its reservation.
func sysReserve(at unsafe.Pointer, size, align, phase uintptr) (unsafe.Pointer, error) {
	p, err := C.hm_reserve(at, C.size_t(size), C.size_t(align), C.size_t(phase))
	if p == nil {
		return nil, err
	}
	return p, nil
}

func sysSync(addr unsafe.Pointer, length uintptr, async bool) error {
	r, err := C.hm_sync(addr, C.size_t(length), cbool(async))
	return check(r, err)
}

func sysLock(addr unsafe.Pointer, length uintptr, onFault bool) error {
	r, err := C.hm_lock(addr, C.size_t(length), cbool(onFault))
	return check(r, err)
}

func sysUnlock(addr unsafe.Pointer, length uintptr) error {
	r, err := C.hm_unlock(addr, C.size_t(length))
	return check(r, err)
}

func sysAdvise(addr unsafe.Pointer, length uintptr, advice Advice) error {
	r, err := C.hm_advise(addr, C.size_t(length), C.int(advice))
	return check(r, err)
}

// sysProtect sets prot (RDONLY, RDWR, EXEC bits).
func sysProtect(addr unsafe.Pointer, length uintptr, prot int) error {
	r, err := C.hm_protect(addr, C.size_t(length), C.int(prot))
	return check(r, err)
}

// sysPopulate makes a range resident for ReadAt or WriteAt; ENOSYS where
// the system has no MADV_POPULATE_*.
func sysPopulate(addr unsafe.Pointer, length uintptr, write, file bool) error {
	r, err := C.hm_populate(addr, C.size_t(length), cbool(write), cbool(file))
	return check(r, err)
}

// sysRemap resizes a mapping in place or moved; ENOSYS where the system
// has no mremap.
func sysRemap(addr unsafe.Pointer, oldSize, newSize uintptr) (unsafe.Pointer, error) {
	p, err := C.hm_remap(addr, C.size_t(oldSize), C.size_t(newSize))
	if p == nil {
		return nil, err
	}
	return p, nil
}

// sysMincore fills vec, one byte per page, bit 0 set where resident.
func sysMincore(addr unsafe.Pointer, length uintptr, vec []byte) error {
	r, err := C.hm_mincore(addr, C.size_t(length), (*C.uchar)(unsafe.Pointer(unsafe.SliceData(vec))))
	return check(r, err)
}

// sysMbind sets the NUMA policy of a range (mbind with the kernel's MPOL_*
// mode and flags); mask is a bitmap of nodes in words of C's unsigned long,
// which is Go's uint on every Unix. ENOSYS where there is no mbind.
func sysMbind(addr unsafe.Pointer, length uintptr, mode int, mask []uint, flags int) error {
	var p *C.ulong
	if len(mask) > 0 {
		p = (*C.ulong)(unsafe.Pointer(unsafe.SliceData(mask)))
	}
	r, err := C.hm_mbind(addr, C.size_t(length), C.int(mode), p, C.ulong(maxNode(mask)), C.uint(flags))
	return check(r, err)
}

// check trusts errno only when the shim's result says the call failed.
func check(r C.int, errno error) error {
	if r != 0 {
		return errno
	}
	return nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
