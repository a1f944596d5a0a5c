//go:build windows

package mmap

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// The Windows operations: a section (CreateFileMapping) and a view of it
// (MapViewOfFile). The section handle is closed as soon as the view exists;
// the view keeps the section, and the section the file, alive.

const backend = "windows"

// The hints and operations beyond mmap-go's, on Windows (ops_windows.go).
// Where Windows has no equivalent the call fails with an error matching
// errors.ErrUnsupported that says what is missing; an export a Windows
// version lacks (looked up when first used) fails the same way.
//
//   - POPULATE: PrefetchVirtualMemory (Windows 8+) for file views, then one
//     touch per page, because prefetched pages are cached but not added to
//     the working set: a read for file and read-only views (a COPY view is
//     not copied, a shared one not dirtied), an atomic add of zero for
//     writable ANON views. A fault while touching (an I/O error) is an
//     error, and nothing stays mapped. Info.Populated is set.
//   - HUGE: best effort, and Windows gives base pages (Info says so);
//     large pages are only the required kind, HUGETLB.
//   - HUGETLB: ANON only, a SEC_COMMIT|SEC_LARGE_PAGES section of
//     GetLargePageMinimum pages (physical at creation, never paged out).
//     Needs SeLockMemoryPrivilege ("Lock pages in memory") granted to the
//     user; the package enables it in the token once. Otherwise an error
//     wrapping ErrNoHugetlbPages and the errno. Files: ErrNoHugetlbPages and
//     ErrUnsupported. HUGE_1GB with HUGETLB: the same (no size choice).
//   - LOCK: VirtualLock at map time (growing the working set as Lock does);
//     on failure nothing stays mapped. Info.Locked and Populated are set.
//   - LOCK_ONFAULT and LockOnFault: ErrUnsupported (no equivalent).
//   - NORESERVE: no-op. A pagefile-backed section (ANON) and a COPY view
//     are charged against the commit limit in full when mapped; Windows has
//     no way to map without that charge and still fault pages in on touch
//     (SEC_RESERVE needs VirtualAlloc(MEM_COMMIT) before each use), so a
//     map too big for the commit limit fails at map time, never later.
//   - UNALIGNED: as everywhere; the view starts on the allocation granule
//     below the offset.
//   - FlushAsync: FlushViewOfFile alone; no-op for ANON, COPY and
//     read-only views.
//   - Advise: AdviceNormal, AdviceRandom and AdviceSequential succeed and do
//     nothing (Windows takes read-ahead hints only when a file is opened,
//     FILE_FLAG_RANDOM_ACCESS/SEQUENTIAL_SCAN, not for a view).
//     AdviceWillNeed is PrefetchVirtualMemory. AdvicePopulateRead and
//     AdvicePopulateWrite touch every page as POPULATE does (Write: on any
//     writable view, copying COPY pages and dirtying shared file pages, as
//     MADV_POPULATE_WRITE does; a read-only view gives ErrInvalidProt).
//     The rest (hugepage, cold, pageout, fork, dump, collapse):
//     ErrUnsupported.
//   - Discard: DiscardDontNeed of a shared file view removes its pages from
//     the working set (VirtualUnlock of unlocked pages; locked pages are
//     refused); they read back from the file. Of ANON or COPY memory it is
//     ErrUnsupported: nothing on Windows drops private pages so that they
//     read back as zeros. DiscardFree of ANON memory is VirtualAlloc(
//     MEM_RESET): not written to the pagefile, reads back as it was or as
//     zeros (DiscardVirtualMemory would leave it "undefined"); of file
//     views ErrUnsupported. DiscardRemove: ErrUnsupported.
//   - Protect: VirtualProtect with PAGE_READONLY, PAGE_READWRITE, or for a
//     COPY file view PAGE_WRITECOPY (pages already copied are private and
//     Windows reports them PAGE_READWRITE), and the PAGE_EXECUTE_ forms.
//   - Resident, ResidentPages: QueryWorkingSetEx (kernel32's
//     K32QueryWorkingSetEx, else psapi's), the Valid bit of each page: in
//     the process's working set, not merely in memory.
//   - Info: Kind BasePages and the page size, or HugetlbPages and the large
//     page size for HUGETLB; Populated and Locked as above.

// sysRegion is what a view needs beyond its address.
type sysRegion struct {
	// file is a duplicate of the caller's file handle, held only by
	// writable file views: FlushFileBuffers needs a handle, and the
	// caller may close its *os.File while the view lives. Zero otherwise.
	file syscall.Handle
	// kind says what the view is of, which decides what Protect asks
	// for and which Discard modes apply.
	kind viewKind
	// views, for a mapping with a maximum (grow_windows.go), is where
	// each of its views starts, from base: the last runs to size, and
	// the placeholder that is left from there to the maximum.
	views []uintptr
}

// viewKind is what a view maps.
type viewKind uint8

const (
	// fileView: a shared view of a file (RDONLY or RDWR).
	fileView viewKind = iota
	// copyView: a copy-on-write view of a file (COPY, FILE_MAP_COPY).
	copyView
	// anonView: a view of an unnamed pagefile-backed section (ANON),
	// private because its handle is closed at once.
	anonView
)

// Win32 error codes that package syscall does not name.
const (
	errLockViolation  = syscall.Errno(33)   // ERROR_LOCK_VIOLATION
	errWorkingSetQuot = syscall.Errno(1453) // ERROR_WORKING_SET_QUOTA
)

var (
	kernel32                     = syscall.NewLazyDLL("kernel32.dll")
	procGetSystemInfo            = kernel32.NewProc("GetSystemInfo")
	procGetProcessWorkingSetSize = kernel32.NewProc("GetProcessWorkingSetSize")
	procSetProcessWorkingSetSize = kernel32.NewProc("SetProcessWorkingSetSize")
)

// systemInfo is SYSTEM_INFO; Go's field alignment matches the C layout.
type systemInfo struct {
	processorArchitecture     uint16
	reserved                  uint16
	pageSize                  uint32
	minimumApplicationAddress uintptr
	maximumApplicationAddress uintptr
	activeProcessorMask       uintptr
	numberOfProcessors        uint32
	processorType             uint32
	allocationGranularity     uint32
	processorLevel            uint16
	processorRevision         uint16
}

// granularity is the alignment MapViewOfFile demands of file offsets
// (64 KiB on every Windows so far, which is also the fallback).
var granularity = sync.OnceValue(func() int64 {
	var si systemInfo
	if procGetSystemInfo.Find() == nil {
		procGetSystemInfo.Call(uintptr(unsafe.Pointer(&si)))
	}
	g := int64(si.allocationGranularity)
	if g <= 0 || g&(g-1) != 0 {
		return 64 << 10
	}
	return g
})

// protAccess turns prot into the section's page protection and the view's
// access. The EXECUTE protections are the plain ones shifted left by 4.
func protAccess(prot int) (protect, access uint32) {
	switch {
	case prot&COPY != 0:
		protect, access = syscall.PAGE_WRITECOPY, syscall.FILE_MAP_COPY
	case prot&RDWR != 0:
		protect, access = syscall.PAGE_READWRITE, syscall.FILE_MAP_WRITE
	default:
		protect, access = syscall.PAGE_READONLY, syscall.FILE_MAP_READ
	}
	if prot&EXEC != 0 {
		protect <<= 4
		access |= syscall.FILE_MAP_EXECUTE
	}
	return protect, access
}

// baseInfo is what every Windows mapping gets: HUGE is best effort, and
// without large pages it is base pages.
func baseInfo() Info { return Info{Kind: BasePages, PageSize: os.Getpagesize()} }

func osMapFile(fd uintptr, offset int64, length, prot, flags int) (*region, error) {
	if err := checkHints(flags, false); err != nil {
		return nil, err
	}
	h := syscall.Handle(fd)
	if err := fileHolds(h, offset, length); err != nil {
		return nil, err
	}

	// Views start on the allocation granularity, not the page size: map
	// from the granule below offset and hand out the bytes from lead on.
	aligned := offset &^ (granularity() - 1)
	lead := uintptr(offset - aligned)
	viewSize := lead + uintptr(length)

	var dup syscall.Handle
	if prot&RDWR != 0 {
		proc, _ := syscall.GetCurrentProcess() // a pseudo handle; cannot fail
		if err := syscall.DuplicateHandle(proc, h, proc, &dup, 0, false, syscall.DUPLICATE_SAME_ACCESS); err != nil {
			return nil, os.NewSyscallError("DuplicateHandle", err)
		}
	}
	protect, access := protAccess(prot)
	// Maximum size 0 means the file's current size, so the section can
	// never grow the file even if it shrank since the check above.
	base, err := mapView(h, protect, access, 0, aligned, viewSize)
	if err != nil {
		if dup != 0 {
			syscall.CloseHandle(dup)
		}
		return nil, err
	}
	kind := fileView
	if prot&COPY != 0 {
		kind = copyView
	}
	r := newRegion(region{base: base, size: viewSize, lead: lead, len: length, prot: prot, info: baseInfo(), sys: sysRegion{file: dup, kind: kind}})
	return finishMap(r, flags)
}

// fileHolds checks that the file open as h holds length bytes from
// offset: a writable section larger than the file grows the file, and a
// read-only one fails with a vague error; this says what is wrong instead.
func fileHolds(h syscall.Handle, offset int64, length int) error {
	var fi syscall.ByHandleFileInformation
	if err := syscall.GetFileInformationByHandle(h, &fi); err != nil {
		return os.NewSyscallError("GetFileInformationByHandle", err)
	}
	size := int64(fi.FileSizeHigh)<<32 | int64(fi.FileSizeLow)
	if end := offset + int64(length); end > size {
		return fmt.Errorf("%w: mapping %d bytes at offset %d would extend the file past its size %d (Windows cannot map past the end of a file)", ErrInvalidLength, length, offset, size)
	}
	return nil
}

func osMapAnon(length, prot, flags int) (*region, error) {
	if err := checkHints(flags, true); err != nil {
		return nil, err
	}
	if flags&HUGETLB != 0 {
		r, err := mapLargePages(length, prot)
		if err != nil {
			return nil, err
		}
		return finishMap(r, flags)
	}
	// The section is unnamed and its handle closed at once, so nobody else
	// can map it: a writable view is already private, and COPY needs
	// nothing more than RDWR.
	sectionProt := prot
	if prot&COPY != 0 {
		sectionProt = prot&^COPY | RDWR
	}
	protect, access := protAccess(sectionProt)
	size := uintptr(length)
	base, err := mapView(syscall.InvalidHandle, protect, access, uint64(size), 0, size)
	if err != nil {
		return nil, err
	}
	r := newRegion(region{base: base, size: size, len: length, prot: prot, info: baseInfo(), sys: sysRegion{kind: anonView}})
	return finishMap(r, flags)
}

// mapView creates a section of maxSize bytes over h (0: the file's size),
// maps size bytes of it from offset, and closes the section handle.
func mapView(h syscall.Handle, protect, access uint32, maxSize uint64, offset int64, size uintptr) (unsafe.Pointer, error) {
	sec, err := syscall.CreateFileMapping(h, nil, protect, uint32(maxSize>>32), uint32(maxSize), nil)
	if sec == 0 {
		return nil, os.NewSyscallError("CreateFileMapping", err)
	}
	addr, err := syscall.MapViewOfFile(sec, access, uint32(uint64(offset)>>32), uint32(offset), size)
	// The view holds its own reference to the section.
	syscall.CloseHandle(sec)
	if addr == 0 {
		return nil, os.NewSyscallError("MapViewOfFile", err)
	}
	return viewPointer(addr), nil
}

// viewPointer turns the address of a view into a pointer. The view is not
// Go memory, so the collector neither moves nor frees it and the uintptr
// was never a hidden Go pointer; reading its bits as a pointer says so
// without the uintptr-to-Pointer conversion that vet flags.
func viewPointer(addr uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}

func osUnmap(r *region) error {
	if r.limit != 0 {
		return unmapReserved(r)
	}
	// Write the view's dirty pages first, as mmap-go does. Its error is
	// not returned: the pages stay in the system cache and reach the file
	// whether or not the view is unmapped, as munmap's do on Unix, and an
	// error from osUnmap must mean "still mapped" because Unmap re-registers
	// the region on any error.
	if r.sys.file != 0 {
		flushView(r.base, r.size)
	}
	if err := syscall.UnmapViewOfFile(uintptr(r.base)); err != nil {
		return os.NewSyscallError("UnmapViewOfFile", err)
	}
	if r.sys.file != 0 {
		// Our own duplicate: closing a valid handle does not fail.
		syscall.CloseHandle(r.sys.file)
	}
	return nil
}

func osFlush(r *region, off, n uintptr) error {
	// ANON, COPY and read-only views have nothing to write to a file.
	if r.sys.file == 0 {
		return nil
	}
	if err := acrossViews(r, off, n, func(off, n uintptr) error { return flushView(unsafe.Add(r.base, off), n) }); err != nil {
		return os.NewSyscallError("FlushViewOfFile", err)
	}
	// FlushViewOfFile only starts the writes; FlushFileBuffers waits for
	// them and for the file's metadata, like msync(MS_SYNC).
	return os.NewSyscallError("FlushFileBuffers", syscall.FlushFileBuffers(r.sys.file))
}

// flushView is FlushViewOfFile, retried while the file system reports a lock
// violation: a flush racing the cache manager's own writes can get one.
func flushView(p unsafe.Pointer, n uintptr) error {
	var err error
	for i, wait := 0, time.Millisecond; i < 5; i, wait = i+1, wait*2 {
		err = syscall.FlushViewOfFile(uintptr(p), n)
		if !errors.Is(err, errLockViolation) {
			return err
		}
		time.Sleep(wait)
	}
	return err
}

// workingSet serialises growing the working set, so two Locks that both
// hit the quota do not undo each other's increase.
var workingSet sync.Mutex

func osLock(r *region, off, n uintptr) error {
	return acrossViews(r, off, n, func(off, n uintptr) error { return lockView(r, off, n) })
}

// lockView locks [off, off+n) of r, inside one view.
func lockView(r *region, off, n uintptr) error {
	p := uintptr(unsafe.Add(r.base, off))
	err := syscall.VirtualLock(p, n)
	if errors.Is(err, errWorkingSetQuot) {
		// The minimum working set caps what a process may lock (about
		// 200 KiB by default): raise it by n and try once more.
		workingSet.Lock()
		if growErr := growWorkingSet(n); growErr != nil {
			err = errors.Join(err, growErr)
		} else {
			err = syscall.VirtualLock(p, n)
		}
		workingSet.Unlock()
	}
	if errors.Is(err, errWorkingSetQuot) {
		// The working-set quota is what RLIMIT_MEMLOCK is on Unix.
		return fmt.Errorf("%w: locking %d bytes: the process's working-set quota (SetProcessWorkingSetSize) is reached: %w", ErrMemlockLimit, n, os.NewSyscallError("VirtualLock", err))
	}
	return os.NewSyscallError("VirtualLock", err)
}

func osUnlock(r *region, off, n uintptr) error {
	return acrossViews(r, off, n, func(off, n uintptr) error {
		return os.NewSyscallError("VirtualUnlock", syscall.VirtualUnlock(uintptr(unsafe.Add(r.base, off)), n))
	})
}

// growWorkingSet raises the process's minimum and maximum working set by n.
func growWorkingSet(n uintptr) error {
	for _, p := range []*syscall.LazyProc{procGetProcessWorkingSetSize, procSetProcessWorkingSetSize} {
		if err := find(p); err != nil {
			return err
		}
	}
	proc, _ := syscall.GetCurrentProcess()
	var lo, hi uintptr
	if ok, _, err := procGetProcessWorkingSetSize.Call(uintptr(proc), uintptr(unsafe.Pointer(&lo)), uintptr(unsafe.Pointer(&hi))); ok == 0 {
		return os.NewSyscallError("GetProcessWorkingSetSize", err)
	}
	if ok, _, err := procSetProcessWorkingSetSize.Call(uintptr(proc), lo+n, hi+n); ok == 0 {
		return os.NewSyscallError("SetProcessWorkingSetSize", err)
	}
	return nil
}
