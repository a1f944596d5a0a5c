//go:build !cgo && linux

package mmap

import (
	"syscall"
	"unsafe"

	"github.com/hugemap/mmap/internal/sysmmap"
)

// Mapping without cgo on Linux: mmap, munmap and mremap as raw system calls
// (mmap through internal/sysmmap, which knows each architecture's calling
// convention), so that a mapping can move and grow in
// place and be unmapped with any length, as the C shim's can.

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
	mremapMayMove     = 1
	mapFixedNoReplace = 0x100000
	hugetlbfsMagic    = 0x958458f6
)

// mapPages maps length bytes anywhere, or with at set MAP_FIXED at at,
// inside a reservation of ours (sysReserve); if that fails, the range is
// kept reserved as the C shim's failed_at keeps it.
func mapPages(at unsafe.Pointer, length uintptr, prot, flags, fd int, offset int64) (unsafe.Pointer, error) {
	if at == nil {
		return sysmmap.Map(nil, length, prot, flags, fd, offset)
	}
	p, err := sysmmap.Map(at, length, prot, flags|syscall.MAP_FIXED, fd, offset)
	if err != nil {
		// Linux 6.12+ puts back what a failed MAP_FIXED map unmapped;
		// older kernels can leave a hole, reserved again without
		// replacing what another thread may have mapped there since.
		if q, err := sysmmap.Map(at, length, syscall.PROT_NONE, reserveFlags|mapFixedNoReplace, -1, 0); err == nil && q != at {
			sysUnmap(q, length) // a kernel before 4.17 took the address as a hint
		}
	}
	return p, err
}

// reserveFlags make a reservation: private, anonymous, never charged.
const reserveFlags = syscall.MAP_PRIVATE | syscall.MAP_ANONYMOUS | syscall.MAP_NORESERVE

// sysReserve is the C shim's hm_reserve: size bytes of PROT_NONE address
// space from an address congruent to phase modulo align, or with at set
// mapped MAP_FIXED over [at, at+size), which the caller owns.
func sysReserve(at unsafe.Pointer, size, align, phase uintptr) (unsafe.Pointer, error) {
	if at != nil {
		return sysmmap.Map(at, size, syscall.PROT_NONE, reserveFlags|syscall.MAP_FIXED, -1, 0)
	}
	over := uintptr(0)
	if align > uintptr(syscall.Getpagesize()) {
		over = align
	}
	if size+over < size {
		return nil, syscall.ENOMEM
	}
	raw, err := sysmmap.Map(nil, size+over, syscall.PROT_NONE, reserveFlags, -1, 0)
	if err != nil || over == 0 {
		return raw, err
	}
	// Keep size bytes from the first address congruent to phase.
	skip := (phase - uintptr(raw)) & (align - 1)
	if skip > 0 {
		sysUnmap(raw, skip)
	}
	if over > skip {
		sysUnmap(unsafe.Add(raw, skip+size), over-skip)
	}
	return unsafe.Add(raw, skip), nil
}

func sysUnmap(addr unsafe.Pointer, length uintptr) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_MUNMAP, uintptr(addr), length, 0); errno != 0 {
		return errno
	}
	return nil
}

// sysMbind sets the NUMA policy of a range: mbind with the kernel's MPOL_*
// mode and flags, mask a bitmap of nodes in words of the kernel's long.
func sysMbind(addr unsafe.Pointer, length uintptr, mode int, mask []uint, flags int) error {
	var p unsafe.Pointer
	if len(mask) > 0 {
		p = unsafe.Pointer(unsafe.SliceData(mask))
	}
	if _, _, errno := syscall.Syscall6(syscall.SYS_MBIND, uintptr(addr), length, uintptr(mode), uintptr(p), maxNode(mask), uintptr(flags)); errno != 0 {
		return errno
	}
	return nil
}

// sysRemap resizes a mapping in place or moved (mremap MREMAP_MAYMOVE).
func sysRemap(addr unsafe.Pointer, oldSize, newSize uintptr) (unsafe.Pointer, error) {
	p, _, errno := syscall.Syscall6(syscall.SYS_MREMAP, uintptr(addr), oldSize, newSize, mremapMayMove, 0, 0)
	if errno != 0 {
		return nil, errno
	}
	return mappedAt(p), nil
}

// mappedAt is the address a system call mapped memory at, as a pointer. The
// memory is the kernel's, outside Go's heap, so no pointer of Go's hides in
// the integer: reading it through memory says so to vet's uintptr check.
func mappedAt(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

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

// populateAtMap faults the new mapping in with MADV_POPULATE_READ/WRITE, as
// the C shim does. Before Linux 5.14 (EINVAL) it touches each page instead:
// a store into fresh private anonymous memory, which nobody else holds, or a
// guarded read, so that a page past the end of a file fails the map as the
// advice would (EFAULT) rather than the process.
func populateAtMap(addr unsafe.Pointer, req *mapReq) (bool, error) {
	write := populatesForWriting(req.prot, req.flags)
	advice := uintptr(madvPopulateRead)
	if write {
		advice = madvPopulateWrite
	}
	err := rangeCall(syscall.SYS_MADVISE, addr, req.size, advice)
	if err != syscall.EINVAL {
		return err == nil, err
	}
	b := unsafe.Slice((*byte)(addr), req.size)
	page := syscall.Getpagesize()
	if write {
		for i := 0; i < len(b); i += page {
			b[i] = 0
		}
		return true, nil
	}
	if _, faulted := touchRead(b, page); faulted {
		return false, syscall.EFAULT
	}
	return true, nil
}

// hugetlbfsPageSize is the page size of the hugetlbfs that holds fd, or 0.
func hugetlbfsPageSize(fd int) int {
	var st syscall.Statfs_t
	if syscall.Fstatfs(fd, &st) != nil || uint32(st.Type) != hugetlbfsMagic {
		return 0
	}
	return int(st.Bsize)
}
