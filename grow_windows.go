//go:build windows

package mmap

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"unsafe"
)

// Growth in place on Windows: a placeholder reservation (VirtualAlloc2
// with MEM_RESERVE_PLACEHOLDER) and one view per part (MapViewOfFile3 with
// MEM_REPLACE_PLACEHOLDER), each split off the placeholder that is left.
// A section cannot grow past the size it was created with, so every part
// is a view of a section of its own: of the file as long as it is then, or
// of the pagefile. Views that replace placeholders may start on any page
// of the address space and of the section (the 64 KiB rule does not apply
// to them), so parts join without gaps. Windows 10 1803 and later; where
// the system refuses placeholder reservations (Wine 8 exports the calls
// and refuses them), MapRegionMax is ErrUnsupported.

var (
	// The placeholder calls are in kernelbase.dll (Windows 10 1803+);
	// kernel32.dll does not export them.
	kernelbase           = syscall.NewLazyDLL("kernelbase.dll")
	procVirtualAlloc2    = kernelbase.NewProc("VirtualAlloc2")
	procMapViewOfFile3   = kernelbase.NewProc("MapViewOfFile3")
	procUnmapViewOfFile2 = kernelbase.NewProc("UnmapViewOfFile2")
	procVirtualFree      = kernel32.NewProc("VirtualFree")
)

const (
	memReserve              = 0x00002000 // MEM_RESERVE
	memReservePlaceholder   = 0x00040000 // MEM_RESERVE_PLACEHOLDER
	memReplacePlaceholder   = 0x00004000 // MEM_REPLACE_PLACEHOLDER
	memRelease              = 0x00008000 // MEM_RELEASE
	memPreservePlaceholder  = 0x00000002 // MEM_PRESERVE_PLACEHOLDER
	memCoalescePlaceholders = 0x00000001 // MEM_COALESCE_PLACEHOLDERS
)

// placeholders says whether this system maps views into placeholders: it
// reserves one granule as a placeholder and releases it, once.
var placeholders = sync.OnceValue(func() error {
	for _, p := range []*syscall.LazyProc{procVirtualAlloc2, procMapViewOfFile3, procUnmapViewOfFile2, procVirtualFree} {
		if err := find(p); err != nil {
			return fmt.Errorf("mmap: MapRegionMax needs placeholders (Windows 10 1803 or later): %w", err)
		}
	}
	p, _, err := procVirtualAlloc2.Call(0, 0, uintptr(granularity()), memReserve|memReservePlaceholder, pageNoAccess, 0, 0)
	if p == 0 {
		return fmt.Errorf("mmap: MapRegionMax needs placeholders, and this Windows refuses them (VirtualAlloc2 with MEM_RESERVE_PLACEHOLDER: %v; Windows 10 1803 or later has them): %w", err, errors.ErrUnsupported)
	}
	procVirtualFree.Call(p, 0, memRelease)
	return nil
})

func osMapMax(file bool, fd uintptr, offset int64, length, max, prot, flags int) (*region, error) {
	if err := placeholders(); err != nil {
		return nil, err
	}
	if err := checkHints(flags, !file); err != nil {
		return nil, err
	}
	if flags&HUGETLB != 0 {
		return nil, unsupported("HUGETLB with a maximum", "a large-page section cannot be mapped into a placeholder")
	}
	if file {
		if err := fileHolds(syscall.Handle(fd), offset, length); err != nil {
			return nil, err
		}
	}
	span := roundUp(uintptr(max), uintptr(granularity()))
	base, _, err := procVirtualAlloc2.Call(0, 0, span, memReserve|memReservePlaceholder, pageNoAccess, 0, 0)
	if base == 0 {
		return nil, os.NewSyscallError("VirtualAlloc2", err)
	}
	r := newRegion(region{base: viewPointer(base), limit: uintptr(max), len: length, prot: prot, offset: offset, info: baseInfo(), sys: sysRegion{kind: anonView}})
	if file {
		r.sys.kind = fileView
		if prot&COPY != 0 {
			r.sys.kind = copyView
		}
		if prot&RDWR != 0 {
			proc, _ := syscall.GetCurrentProcess() // a pseudo handle; cannot fail
			if err := syscall.DuplicateHandle(proc, syscall.Handle(fd), proc, &r.sys.file, 0, false, syscall.DUPLICATE_SAME_ACCESS); err != nil {
				procVirtualFree.Call(base, 0, memRelease)
				return nil, os.NewSyscallError("DuplicateHandle", err)
			}
		}
	}
	nr, err := growInto(r, syscall.Handle(fd), length, flags)
	if err != nil {
		if r.sys.file != 0 {
			syscall.CloseHandle(r.sys.file)
		}
		procVirtualFree.Call(base, 0, memRelease)
		return nil, err
	}
	return nr, nil
}

func osGrow(r *region, n int, fd uintptr) (*region, error) {
	return growInto(r, syscall.Handle(fd), n, r.flags)
}

// growInto maps r on to n bytes: a view of a new section of the file open
// as h (or of the pagefile, for ANON) from r.size to the page-rounded end,
// split off the placeholder, then the POPULATE and LOCK of flags on it. On
// failure the placeholder is whole again and r as it was.
func growInto(r *region, h syscall.Handle, n, flags int) (*region, error) {
	page := uintptr(os.Getpagesize())
	size := roundUp(r.lead+uintptr(n), page)
	nr := newRegion(r.clone())
	nr.len = n
	if size <= r.size {
		return nr, nil
	}
	at, part := r.size, size-r.size
	span := r.placeholderEnd()
	addr := uintptr(r.base) + at
	if at+part < span {
		// Split the part off the placeholder that is left.
		if ok, _, err := procVirtualFree.Call(addr, part, memRelease|memPreservePlaceholder); ok == 0 {
			return nil, os.NewSyscallError("VirtualFree(MEM_PRESERVE_PLACEHOLDER)", err)
		}
	}
	coalesce := func() {
		if at+part < span {
			procVirtualFree.Call(addr, span-at, memRelease|memCoalescePlaceholders)
		}
	}
	var protect uint32
	var maxSize uint64
	var offset int64
	if r.sys.kind == anonView {
		// Nobody else can map an unnamed section: COPY is RDWR.
		sectionProt := r.prot
		if sectionProt&COPY != 0 {
			sectionProt = sectionProt&^COPY | RDWR
		}
		protect, _ = protAccess(sectionProt)
		maxSize, h = uint64(part), syscall.InvalidHandle
	} else {
		protect, _ = protAccess(r.prot)
		offset = r.offset - int64(r.lead) + int64(at) // 0: the file as long as it is now
	}
	sec, err := syscall.CreateFileMapping(h, nil, protect, uint32(maxSize>>32), uint32(maxSize), nil)
	if sec == 0 {
		coalesce()
		return nil, os.NewSyscallError("CreateFileMapping", err)
	}
	proc, _ := syscall.GetCurrentProcess()
	args := append([]uintptr{uintptr(sec), uintptr(proc), addr}, uint64Args(uint64(offset))...)
	view, _, err := procMapViewOfFile3.Call(append(args, part, memReplacePlaceholder, uintptr(protect), 0, 0)...)
	syscall.CloseHandle(sec) // the view holds the section
	if view == 0 {
		coalesce()
		return nil, os.NewSyscallError("MapViewOfFile3", err)
	}
	nr.size = size
	nr.sys.views = append(slices.Clip(r.sys.views), at)
	if err := finishPart(nr, at, part, flags); err != nil {
		procUnmapViewOfFile2.Call(uintptr(proc), addr, memPreservePlaceholder)
		coalesce()
		return nil, err
	}
	return nr, nil
}

// uint64Args is v as the arguments of a ULONG64 parameter: one word on
// 64-bit Windows, two (low, high) on 32-bit.
func uint64Args(v uint64) []uintptr {
	if unsafe.Sizeof(uintptr(0)) == 4 {
		return []uintptr{uintptr(v), uintptr(v >> 32)}
	}
	return []uintptr{uintptr(v)}
}

// placeholderEnd is where r's reservation ends, from base: its maximum
// rounded up to the allocation granularity, as VirtualAlloc2 reserves.
func (r *region) placeholderEnd() uintptr { return roundUp(r.limit, uintptr(granularity())) }

// finishPart applies POPULATE and LOCK to the part [off, off+n) of r, as
// finishMap does to a whole new view.
func finishPart(r *region, off, n uintptr, flags int) error {
	if flags&POPULATE != 0 {
		if err := populate(r, off, n, populatesForWriting(r.prot, flags)); err != nil {
			return fmt.Errorf("populating %d bytes: %w", n, err)
		}
		r.info.Populated = true
	}
	if flags&LOCK != 0 {
		if err := osLock(r, off, n); err != nil {
			return err
		}
		r.info.Locked, r.info.Populated = true, true
	}
	return nil
}

// osShrink unmaps the views that lie wholly past n bytes of r, back into
// the placeholder; a view cannot be cut, so the one that holds the new end
// stays mapped whole until Unmap.
func osShrink(r *region, n int) (*region, error) {
	end := r.lead + uintptr(n)
	nr := newRegion(r.clone())
	nr.len = n
	keep := len(r.sys.views)
	for keep > 1 && r.sys.views[keep-1] >= end {
		keep--
	}
	if keep == len(r.sys.views) {
		return nr, nil
	}
	proc, _ := syscall.GetCurrentProcess()
	for i := len(r.sys.views) - 1; i >= keep; i-- {
		if r.sys.file != 0 {
			flushView(r.at(r.sys.views[i]), 0) // the whole view, as Unmap does
		}
		if ok, _, err := procUnmapViewOfFile2.Call(uintptr(proc), uintptr(r.base)+r.sys.views[i], memPreservePlaceholder); ok == 0 {
			return nil, os.NewSyscallError("UnmapViewOfFile2", err)
		}
	}
	nr.size = r.sys.views[keep]
	nr.sys.views = slices.Clip(r.sys.views[:keep])
	procVirtualFree.Call(uintptr(r.base)+nr.size, r.placeholderEnd()-nr.size, memRelease|memCoalescePlaceholders)
	return nr, nil
}

// unmapReserved unmaps every view of r, flushing writable file views as
// osUnmap does, then releases the placeholder that is left.
func unmapReserved(r *region) error {
	for _, off := range r.sys.views {
		if r.sys.file != 0 {
			flushView(r.at(off), 0) // the whole view
		}
		if err := syscall.UnmapViewOfFile(uintptr(r.base) + off); err != nil {
			return os.NewSyscallError("UnmapViewOfFile", err)
		}
	}
	if span := r.placeholderEnd(); r.size < span {
		procVirtualFree.Call(uintptr(r.base)+r.size, 0, memRelease)
	}
	if r.sys.file != 0 {
		syscall.CloseHandle(r.sys.file)
	}
	return nil
}

// acrossViews runs op on the part of [off, off+n) in each view of r in
// turn: FlushViewOfFile, VirtualProtect and VirtualLock each take ranges
// inside one view.
func acrossViews(r *region, off, n uintptr, op func(off, n uintptr) error) error {
	views := r.sys.views
	if len(views) <= 1 {
		return op(off, n)
	}
	for i, lo := range views {
		hi := r.size
		if i+1 < len(views) {
			hi = views[i+1]
		}
		if a, b := max(off, lo), min(off+n, hi); a < b {
			if err := op(a, b-a); err != nil {
				return err
			}
		}
	}
	return nil
}
