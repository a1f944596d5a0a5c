//go:build windows

package mmap

import (
	"os"
	"syscall"

	"github.com/hugemap/mmap/internal/section"
)

// Views of sections that package shm makes: a shared-memory segment is a
// pagefile-backed section, not a file, so MapRegion cannot take it.
// Mapped and registered as MapRegion's views are, so that every method of
// MMap works on them.

func init() {
	section.Map = mapSection
	section.Granularity = func() int { return int(granularity()) }
}

func mapSection(h uintptr, length, prot, flags int) ([]byte, error) {
	if err := checkProtFlags(prot, flags); err != nil {
		return nil, err
	}
	if err := checkHints(flags, false); err != nil {
		return nil, err
	}
	if length == 0 {
		return MMap{}, nil
	}
	_, access := protAccess(prot)
	addr, err := syscall.MapViewOfFile(syscall.Handle(h), access, 0, 0, uintptr(length))
	if addr == 0 {
		return nil, os.NewSyscallError("MapViewOfFile", err)
	}
	// A shared view of a section is a file view without a file to flush.
	kind := fileView
	if prot&COPY != 0 {
		kind = copyView
	}
	r := &region{base: viewPointer(addr), size: uintptr(length), len: length, prot: prot, flags: flags, info: baseInfo(), sys: sysRegion{kind: kind}}
	if r, err = finishMap(r, flags); err != nil {
		return nil, err
	}
	return register(r), nil
}
