package shm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"unsafe"

	"github.com/hugemap/mmap"
	"github.com/hugemap/mmap/internal/section"
)

// Windows: a pagefile-backed section (CreateFileMapping over
// INVALID_HANDLE_VALUE) with an inheritable handle. Its size is fixed at
// creation; there are no seals. *os.File carries the section handle, so
// that File, Close and FromFile look as they do on Unix; only Map, Close
// and passing it on mean anything for it (Read, Write, Stat fail).

var (
	ntdll              = syscall.NewLazyDLL("ntdll.dll")
	procNtQuerySection = ntdll.NewProc("NtQuerySection")
)

const errNoSeals = "Windows sections have no seals (a section's size is fixed when it is made, and a peer that can map it writable can write it)"

func create(name string, size, flags int) (*Segment, error) {
	if flags&mmap.HUGETLB != 0 {
		return nil, fmt.Errorf("shm: HUGETLB segments are not implemented on Windows (a SEC_LARGE_PAGES section needs SeLockMemoryPrivilege; package mmap's ANON|HUGETLB maps one for this process alone): %w", errors.ErrUnsupported)
	}
	sa := &syscall.SecurityAttributes{InheritHandle: 1}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	h, err := syscall.CreateFileMapping(syscall.InvalidHandle, sa, syscall.PAGE_READWRITE, uint32(uint64(size)>>32), uint32(size), nil)
	if h == 0 {
		return nil, &fs.PathError{Op: "CreateFileMapping", Path: name, Err: err}
	}
	return &Segment{f: os.NewFile(uintptr(h), "section:"+name), size: size}, nil
}

// sectionBasicInformation is SECTION_BASIC_INFORMATION; Go's layout
// matches C's on 386 and amd64.
type sectionBasicInformation struct {
	baseAddress          uintptr
	allocationAttributes uint32
	maximumSize          int64
}

// fileInfo is the size of the section whose handle is fd
// (NtQuerySection(SectionBasicInformation)).
func fileInfo(fd uintptr) (int64, int, error) {
	if err := procNtQuerySection.Find(); err != nil {
		return 0, 0, fmt.Errorf("ntdll has no NtQuerySection: %w", errors.ErrUnsupported)
	}
	var info sectionBasicInformation
	status, _, _ := procNtQuerySection.Call(fd, 0, uintptr(unsafe.Pointer(&info)), unsafe.Sizeof(info), 0)
	if status != 0 {
		return 0, 0, fmt.Errorf("not a section handle (a file mapping object, as Segment.File gives; map a file with mmap.Map instead): NtQuerySection: NTSTATUS %#x: %w", uint32(status), syscall.EINVAL)
	}
	return info.maximumSize, 0, nil
}

func osMap(s *Segment, prot, flags int) (mmap.MMap, error) {
	var m []byte
	err := control(s.f, "MapViewOfFile", func(h uintptr) (err error) {
		m, err = section.Map(h, s.size, prot, flags)
		return err
	})
	return m, err
}

func addSeals(uintptr, Seal) error {
	return fmt.Errorf("%s: %w", errNoSeals, errors.ErrUnsupported)
}

func getSeals(uintptr) (Seal, error) {
	return 0, fmt.Errorf("%s: %w", errNoSeals, errors.ErrUnsupported)
}
