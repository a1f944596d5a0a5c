//go:build windows

package mmap

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// The map-time hints and the operations beyond mmap-go's, on Windows. What
// each does, and why, is in the notes at the top of mmap_windows.go.

var (
	advapi32                  = syscall.NewLazyDLL("advapi32.dll")
	psapi                     = syscall.NewLazyDLL("psapi.dll")
	procVirtualAlloc          = kernel32.NewProc("VirtualAlloc")
	procVirtualProtect        = kernel32.NewProc("VirtualProtect")
	procPrefetchVirtualMemory = kernel32.NewProc("PrefetchVirtualMemory") // Windows 8
	procGetLargePageMinimum   = kernel32.NewProc("GetLargePageMinimum")   // Vista
	procK32QueryWorkingSetEx  = kernel32.NewProc("K32QueryWorkingSetEx")  // Windows 7
	procQueryWorkingSetEx     = psapi.NewProc("QueryWorkingSetEx")        // Vista
	procLookupPrivilegeValueW = advapi32.NewProc("LookupPrivilegeValueW")
	procAdjustTokenPrivileges = advapi32.NewProc("AdjustTokenPrivileges")
)

// Win32 constants that package syscall does not name.
const (
	memReset           = 0x00080000 // MEM_RESET
	pageNoAccess       = 0x01       // PAGE_NOACCESS
	secCommit          = 0x08000000 // SEC_COMMIT
	secLargePages      = 0x80000000 // SEC_LARGE_PAGES
	fileMapLargePages  = 0x20000000 // FILE_MAP_LARGE_PAGES (Windows 10 1703)
	wsValid            = 1 << 0     // PSAPI_WORKING_SET_EX_BLOCK.Valid
	wsLocked           = 1 << 22    // .Locked (meaningful when Valid)
	wsLargePage        = 1 << 23    // .LargePage (meaningful when Valid)
	workingSetExChunk  = 512        // entries per QueryWorkingSetEx call
	sePrivilegeEnabled = 2          // SE_PRIVILEGE_ENABLED

	errInvalidParameter = syscall.Errno(87)   // ERROR_INVALID_PARAMETER
	errNotLocked        = syscall.Errno(158)  // ERROR_NOT_LOCKED
	errPrivilegeNotHeld = syscall.Errno(1300) // ERROR_NOT_ALL_ASSIGNED
)

// find looks p up, so that an export this Windows lacks is an error that
// matches errors.ErrUnsupported instead of a panic in Call.
func find(p *syscall.LazyProc) error {
	if err := p.Find(); err != nil {
		return fmt.Errorf("mmap: this Windows has no %s (%v): %w", p.Name, err, errors.ErrUnsupported)
	}
	return nil
}

// unsupported is the error for what Windows has no equivalent of.
func unsupported(what, why string) error {
	return fmt.Errorf("mmap: %s on windows: %s: %w", what, why, errors.ErrUnsupported)
}

// checkHints refuses, before anything is mapped, the flags Windows cannot
// honour. anon says whether the map is ANON.
func checkHints(flags int, anon bool) error {
	if flags&LOCK_ONFAULT != 0 {
		return unsupported("LOCK_ONFAULT", "Windows cannot lock pages as they are first touched (there is no mlock2(MLOCK_ONFAULT)); use LOCK")
	}
	if flags&HUGETLB != 0 && !anon {
		return fmt.Errorf("%w: HUGETLB maps anonymous memory only on windows (a file's section cannot use large pages): %w", ErrNoHugetlbPages, errors.ErrUnsupported)
	}
	if flags&HUGETLB != 0 && flags&HUGE_1GB != 0 {
		return fmt.Errorf("%w: HUGE_1GB: a large-page section on windows uses GetLargePageMinimum's size (%d bytes) and cannot ask for 1 GiB pages: %w", ErrNoHugetlbPages, largePageMinimum(), errors.ErrUnsupported)
	}
	return nil
}

// finishMap applies POPULATE and LOCK to the new view r. On failure it
// unmaps r, closing everything it holds.
func finishMap(r *region, flags int) (*region, error) {
	if flags&POPULATE != 0 {
		if err := populate(r, 0, r.size, populatesForWriting(r.prot, flags)); err != nil {
			osUnmap(r)
			return nil, fmt.Errorf("populating %d bytes: %w", r.size, err)
		}
		r.info.Populated = true
	}
	if flags&LOCK != 0 {
		if err := osLock(r, 0, r.size); err != nil {
			osUnmap(r)
			return nil, err
		}
		// VirtualLock makes the pages resident as it locks them.
		r.info.Locked, r.info.Populated = true, true
	}
	return r, nil
}

// populate makes the pages covering [off, off+n) of r resident in the
// working set. For file views PrefetchVirtualMemory first reads them in
// with large I/Os; it does not add them to the working set (its
// documentation says so), so every page is then touched: read, or with
// write, written with an atomic add of zero.
func populate(r *region, off, n uintptr, write bool) error {
	if r.sys.kind != anonView {
		// A strong hint that may fail under memory pressure or be
		// missing (before Windows 8); the touch below does the work.
		prefetch(unsafe.Add(r.base, off), n)
	}
	return touch(unsafe.Add(r.base, off), n, write)
}

// touch faults in each page of [p, p+n), p page aligned: it reads a byte of
// each (touchRead), or, with write, adds zero to a word of each with an
// atomic instruction, which makes the page writable (a COPY page private, a
// shared file page dirty) without changing a byte, even with other
// goroutines writing. A fault (an I/O error reading a file page, a page
// made read-only by Protect) is an error wrapping ErrFault rather than the
// end of the process. The fault-safe paths (ReadAt, WriteAt, Prefault of
// anything but writable anonymous memory) never touch for writing.
func touch(p unsafe.Pointer, n uintptr, write bool) error {
	b := unsafe.Slice((*byte)(p), n)
	page := os.Getpagesize()
	var at uintptr
	var faulted bool
	if write {
		at, faulted = guard(func() {
			for i := 0; i < len(b); i += page {
				atomic.AddUint32((*uint32)(unsafe.Pointer(&b[i])), 0)
			}
		}, true)
	} else {
		at, faulted = touchRead(b, page)
	}
	if faulted {
		return fmt.Errorf("%w: touching the page at %#x", ErrFault, at)
	}
	return nil
}

// memoryRangeEntry is WIN32_MEMORY_RANGE_ENTRY.
type memoryRangeEntry struct {
	addr uintptr
	n    uintptr
}

// prefetch asks Windows to read [p, p+n) into memory (not into the working
// set) with PrefetchVirtualMemory.
func prefetch(p unsafe.Pointer, n uintptr) error {
	if err := find(procPrefetchVirtualMemory); err != nil {
		return err
	}
	proc, _ := syscall.GetCurrentProcess()
	e := memoryRangeEntry{addr: uintptr(p), n: n}
	if ok, _, err := procPrefetchVirtualMemory.Call(uintptr(proc), 1, uintptr(unsafe.Pointer(&e)), 0); ok == 0 {
		return os.NewSyscallError("PrefetchVirtualMemory", err)
	}
	return nil
}

// largePageMinimum is GetLargePageMinimum: the large page size, or 0 where
// the processor or system has none.
func largePageMinimum() int {
	if find(procGetLargePageMinimum) != nil {
		return 0
	}
	n, _, _ := procGetLargePageMinimum.Call()
	return int(n)
}

// tokenPrivileges is TOKEN_PRIVILEGES with one LUID_AND_ATTRIBUTES.
type tokenPrivileges struct {
	count     uint32
	lowPart   uint32
	highPart  uint32
	attribute uint32
}

// enableLockMemory enables SeLockMemoryPrivilege in the process token,
// which large-page sections need. It is tried once; the user must hold the
// privilege ("Lock pages in memory" in the local security policy) for it to
// be enabled.
var enableLockMemory = sync.OnceValue(func() error {
	for _, p := range []*syscall.LazyProc{procLookupPrivilegeValueW, procAdjustTokenPrivileges} {
		if err := find(p); err != nil {
			return err
		}
	}
	proc, _ := syscall.GetCurrentProcess()
	var tok syscall.Token
	if err := syscall.OpenProcessToken(proc, syscall.TOKEN_ADJUST_PRIVILEGES|syscall.TOKEN_QUERY, &tok); err != nil {
		return os.NewSyscallError("OpenProcessToken", err)
	}
	defer tok.Close()
	name, err := syscall.UTF16PtrFromString("SeLockMemoryPrivilege")
	if err != nil {
		return err
	}
	tp := tokenPrivileges{count: 1, attribute: sePrivilegeEnabled}
	if ok, _, err := procLookupPrivilegeValueW.Call(0, uintptr(unsafe.Pointer(name)), uintptr(unsafe.Pointer(&tp.lowPart))); ok == 0 {
		return os.NewSyscallError("LookupPrivilegeValue", err)
	}
	ok, _, err := procAdjustTokenPrivileges.Call(uintptr(tok), 0, uintptr(unsafe.Pointer(&tp)), 0, 0, 0)
	if ok == 0 {
		return os.NewSyscallError("AdjustTokenPrivileges", err)
	}
	// Success with ERROR_NOT_ALL_ASSIGNED: the user does not hold it.
	if errors.Is(err, errPrivilegeNotHeld) {
		return os.NewSyscallError("AdjustTokenPrivileges", err)
	}
	return nil
})

// mapLargePages maps length bytes of anonymous memory with large pages: a
// pagefile-backed section created SEC_COMMIT|SEC_LARGE_PAGES, which takes
// its physical pages at creation and never pages them out.
func mapLargePages(length, prot int) (*region, error) {
	lp := largePageMinimum()
	if lp == 0 {
		return nil, fmt.Errorf("%w: this system has no large pages (GetLargePageMinimum is 0 or missing)", ErrNoHugetlbPages)
	}
	if err := enableLockMemory(); err != nil {
		return nil, fmt.Errorf("%w: large pages need SeLockMemoryPrivilege (\"Lock pages in memory\") granted to the user and enabled in the process token: %w", ErrNoHugetlbPages, err)
	}
	if uintptr(length) > ^uintptr(0)-uintptr(lp) {
		return nil, fmt.Errorf("%w: %d bytes rounded up to the large page size %d overflow", ErrInvalidLength, length, lp)
	}
	size := (uintptr(length) + uintptr(lp) - 1) &^ uintptr(lp-1)
	// A large-page section must be writable; the view gets what prot
	// asks, COPY being RDWR for memory nobody else can map.
	viewProt := prot
	if prot&COPY != 0 {
		viewProt = prot&^COPY | RDWR
	}
	protect, _ := protAccess(prot&EXEC | RDWR)
	_, access := protAccess(viewProt)
	sec, err := syscall.CreateFileMapping(syscall.InvalidHandle, nil, protect|secCommit|secLargePages, uint32(uint64(size)>>32), uint32(size), nil)
	if sec == 0 {
		return nil, fmt.Errorf("%w: a %d-byte large-page section (%d-byte pages): %w", ErrNoHugetlbPages, size, lp, os.NewSyscallError("CreateFileMapping", err))
	}
	defer syscall.CloseHandle(sec)
	addr, err := syscall.MapViewOfFile(sec, access|fileMapLargePages, 0, 0, size)
	if addr == 0 && errors.Is(err, errInvalidParameter) {
		// Before Windows 10 1703 there is no FILE_MAP_LARGE_PAGES; a view
		// of a large-page section uses large pages anyway.
		addr, err = syscall.MapViewOfFile(sec, access, 0, 0, size)
	}
	if addr == 0 {
		return nil, fmt.Errorf("%w: mapping a %d-byte large-page section: %w", ErrNoHugetlbPages, size, os.NewSyscallError("MapViewOfFile", err))
	}
	info := Info{Kind: HugetlbPages, PageSize: lp}
	return newRegion(region{base: viewPointer(addr), size: size, len: length, prot: prot, info: info, sys: sysRegion{kind: anonView}}), nil
}

func osFlushAsync(r *region, off, n uintptr) error {
	// ANON, COPY and read-only views have nothing to write to a file.
	if r.sys.file == 0 {
		return nil
	}
	// FlushViewOfFile starts the writes and returns; FlushFileBuffers,
	// which waits for them, is Flush's.
	return os.NewSyscallError("FlushViewOfFile", acrossViews(r, off, n, func(off, n uintptr) error { return flushView(unsafe.Add(r.base, off), n) }))
}

func osLockOnFault(*region, uintptr, uintptr) error {
	return unsupported("LockOnFault", "Windows cannot lock pages as they are first touched (there is no mlock2(MLOCK_ONFAULT)); use Lock")
}

func osAdvise(r *region, off, n uintptr, a Advice) error {
	p := unsafe.Add(r.base, off)
	switch a {
	case AdviceNormal, AdviceRandom, AdviceSequential:
		// Read-ahead hints: Windows has no call that takes them for a
		// mapped view (FILE_FLAG_RANDOM_ACCESS and _SEQUENTIAL_SCAN are
		// for CreateFile), so they succeed and do nothing.
		return nil
	case AdviceWillNeed:
		return prefetch(p, n)
	case AdvicePopulateRead:
		return populate(r, off, n, false)
	case AdvicePopulateWrite:
		if r.prot&(RDWR|COPY) == 0 {
			return fmt.Errorf("%w: AdvicePopulateWrite on a read-only mapping", ErrInvalidProt)
		}
		return populate(r, off, n, true)
	case adviceDontNeed:
		return discardDontNeed(r, p, n)
	case adviceFree:
		if r.sys.kind != anonView {
			return unsupported("DiscardFree of a file view", "VirtualAlloc(MEM_RESET) takes pagefile-backed memory only (as MADV_FREE takes private anonymous memory only)")
		}
		if err := find(procVirtualAlloc); err != nil {
			return err
		}
		// MEM_RESET: the pages' contents are no longer of interest; they
		// are not written to the pagefile and read back as they were or
		// as zeros. DiscardVirtualMemory leaves them "undefined" instead.
		if addr, _, err := procVirtualAlloc.Call(uintptr(p), n, memReset, pageNoAccess); addr == 0 {
			return os.NewSyscallError("VirtualAlloc(MEM_RESET)", err)
		}
		return nil
	case adviceRemove:
		return unsupported("DiscardRemove", "Windows cannot punch a hole in a file through a view")
	}
	return unsupported(a.String(), "Windows has no equivalent advice")
}

// discardDontNeed is Discard(DiscardDontNeed). Windows has no call that
// drops private pages so that they read back as zeros (MEM_RESET and
// DiscardVirtualMemory leave them as they were or undefined), so ANON and
// COPY views refuse. A shared file view's pages read back from the file
// whatever happens to them: VirtualUnlock of pages that are not locked
// removes them from the working set, which is what MADV_DONTNEED does to
// them on Linux.
func discardDontNeed(r *region, p unsafe.Pointer, n uintptr) error {
	if r.sys.kind != fileView {
		return unsupported("DiscardDontNeed of ANON or COPY memory", "Windows has no call that drops private pages so they read back as zeros (MEM_RESET and DiscardVirtualMemory do not zero); use DiscardFree, or clear the bytes")
	}
	// VirtualUnlock would unlock locked pages instead; Linux refuses to
	// discard locked pages (EINVAL), and so does this.
	locked := false
	if err := queryWorkingSet(uintptr(p), int(n/uintptr(os.Getpagesize())), func(_ int, attrs uintptr) {
		locked = locked || attrs&(wsValid|wsLocked) == wsValid|wsLocked
	}); err != nil {
		return err
	}
	if locked {
		return fmt.Errorf("mmap: DiscardDontNeed of locked pages (Unlock them first): %w", os.NewSyscallError("VirtualUnlock", syscall.EINVAL))
	}
	err := syscall.VirtualUnlock(uintptr(p), n)
	if err != nil && !errors.Is(err, errNotLocked) {
		return os.NewSyscallError("VirtualUnlock", err)
	}
	return nil
}

// winProtect is the page protection for prot on r. A COPY view of a file
// must stay copy-on-write: its writable protection is PAGE_WRITECOPY
// (pages already copied are private and Windows reports them
// PAGE_READWRITE).
func winProtect(r *region, prot int) uint32 {
	var p uint32
	switch {
	case prot&(RDWR|COPY) == 0:
		p = syscall.PAGE_READONLY
	case r.sys.kind == copyView:
		p = syscall.PAGE_WRITECOPY
	default:
		p = syscall.PAGE_READWRITE
	}
	if prot&EXEC != 0 {
		p <<= 4
	}
	return p
}

func osProtect(r *region, off, n uintptr, prot int) error {
	if err := find(procVirtualProtect); err != nil {
		return err
	}
	return acrossViews(r, off, n, func(off, n uintptr) error {
		var old uint32
		if ok, _, err := procVirtualProtect.Call(uintptr(unsafe.Add(r.base, off)), n, uintptr(winProtect(r, prot)), uintptr(unsafe.Pointer(&old))); ok == 0 {
			return os.NewSyscallError("VirtualProtect", err)
		}
		return nil
	})
}

func osMincore(r *region, off, n uintptr, vec []byte) error {
	return queryWorkingSet(uintptr(unsafe.Add(r.base, off)), len(vec), func(i int, attrs uintptr) {
		vec[i] = byte(attrs & wsValid)
	})
}

// workingSetExInfo is PSAPI_WORKING_SET_EX_INFORMATION.
type workingSetExInfo struct {
	addr  uintptr
	attrs uintptr // PSAPI_WORKING_SET_EX_BLOCK
}

// queryWorkingSet calls fn with the working-set attributes of each of the
// pages pages from start (QueryWorkingSetEx).
func queryWorkingSet(start uintptr, pages int, fn func(i int, attrs uintptr)) error {
	proc := procK32QueryWorkingSetEx
	if proc.Find() != nil {
		proc = procQueryWorkingSetEx
		if err := find(proc); err != nil {
			return err
		}
	}
	self, _ := syscall.GetCurrentProcess()
	page := uintptr(os.Getpagesize())
	buf := make([]workingSetExInfo, min(pages, workingSetExChunk))
	for i := 0; i < pages; i += len(buf) {
		buf = buf[:min(cap(buf), pages-i)]
		for j := range buf {
			buf[j] = workingSetExInfo{addr: start + uintptr(i+j)*page}
		}
		if ok, _, err := proc.Call(uintptr(self), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf))*unsafe.Sizeof(buf[0])); ok == 0 {
			return os.NewSyscallError("QueryWorkingSetEx", err)
		}
		for j, e := range buf {
			fn(i+j, e.attrs)
		}
	}
	return nil
}

// osPopulate prepares a range for ReadAt and WriteAt: a file view's pages
// are read in with large I/Os (PrefetchVirtualMemory). Windows has no call
// that faults pages in without holding the thread, so the guarded copy that
// follows takes the faults itself; touching first would only fault twice.
func osPopulate(r *region, off, n uintptr, _ bool) error {
	if r.sys.kind == anonView {
		return nil
	}
	return prefetch(unsafe.Add(r.base, off), n)
}

// osRemap: Windows cannot resize a view; Resize maps anew and copies.
func osRemap(*region, int) (*region, error) { return nil, errors.ErrUnsupported }
