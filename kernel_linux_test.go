package mmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// What this kernel and this machine do, learned at run time, so that a test
// expects the library to match the kernel it runs on rather than the one it
// was written on: the zero page, page flags as far as this process may read
// them, whether the temporary directory's file system evicts and writes
// back, locked-memory limits, overcommit, and a hugetlb pool that other
// processes share.

// pagemap bits (Documentation/admin-guide/mm/pagemap.rst).
const (
	pmPresent   = 1 << 63
	pmFile      = 1 << 61 // file page or shared anonymous
	pmExclusive = 1 << 56 // mapped by exactly one process (Linux 4.2+)
	pmPFN       = 1<<55 - 1
	kpfDirty    = 1 << 4
	kpfZeroPage = 1 << 24
)

// pagemapEntries reads the pagemap entries of the pages that cover m.
// Unprivileged, the kernel shows the flags but reads every frame number as
// 0 (Linux 4.2+).
func pagemapEntries(t testing.TB, m []byte) []uint64 {
	t.Helper()
	pm, err := os.Open("/proc/self/pagemap")
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			t.Skipf("/proc/self/pagemap is not readable here: %v", err)
		}
		t.Fatal(err)
	}
	defer pm.Close()
	first := addr(m) / uintptr(page)
	last := (addr(m) + uintptr(len(m)) - 1) / uintptr(page)
	buf := make([]byte, 8*(last-first+1))
	if _, err := pm.ReadAt(buf, int64(first)*8); err != nil {
		t.Fatal(err)
	}
	entries := make([]uint64, len(buf)/8)
	for i := range entries {
		entries[i] = binary.LittleEndian.Uint64(buf[8*i:])
	}
	return entries
}

// kpageflags opens /proc/kpageflags, or returns nil and why not: it takes
// CAP_SYS_ADMIN, which root in a container may lack.
func kpageflags() (*os.File, error) {
	f, err := os.Open("/proc/kpageflags")
	if err != nil {
		return nil, fmt.Errorf("/proc/kpageflags: %w (reading physical page flags needs CAP_SYS_ADMIN)", err)
	}
	return f, nil
}

func pageFlags(t testing.TB, kf *os.File, pfn uint64) uint64 {
	t.Helper()
	var e [8]byte
	if _, err := kf.ReadAt(e[:], int64(pfn)*8); err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint64(e[:])
}

// pageState counts m's pages that the kernel has present in its page tables
// (/proc/self/pagemap), and how many of those are the shared zero page,
// page by page: anonymous VMAs merge with their neighbours, so smaps cannot
// speak for one mapping. m must be private anonymous memory that no other
// process maps.
//
// Where this process may read physical page flags, the zero page is
// KPF_ZERO_PAGE of /proc/kpageflags; elsewhere it is a present page that
// pagemap shows neither as a file page nor as mapped by this process alone
// (the zero page is no page of anyone's: the kernel gives it no owner). Both
// ways are taken where both are open, and must agree.
func pageState(t testing.TB, m []byte) (present, zero int) {
	t.Helper()
	kf, _ := kpageflags()
	if kf != nil {
		defer kf.Close()
	}
	for i, e := range pagemapEntries(t, m) {
		if e&pmPresent == 0 {
			continue
		}
		present++
		isZero := e&(pmFile|pmExclusive) == 0
		if pfn := e & pmPFN; kf != nil && pfn != 0 {
			if byFlags := pageFlags(t, kf, pfn)&kpfZeroPage != 0; byFlags != isZero {
				t.Fatalf("page %d at %#x: kpageflags says zero page %v, pagemap's flags (entry %#x) say %v; the unprivileged reading cannot be trusted here", i, addr(m), byFlags, e, isZero)
			}
		}
		if isZero {
			zero++
		}
	}
	return present, zero
}

// readFaultTakesZeroPage maps one private anonymous page, reads it, and
// reports whether this kernel answered the read fault with the shared zero
// page (most do) or with a private zeroed page (kernels that forbid the
// zero page: s390x guests, some VMs and boot options). Plain syscalls, not
// the package under test.
func readFaultTakesZeroPage(t testing.TB) bool {
	t.Helper()
	b, err := syscall.Mmap(-1, 0, page, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(b)
	readSink += b[0]
	present, zero := pageState(t, b)
	if present != 1 {
		t.Fatalf("probe: a read of an anonymous page left %d pages present, want 1", present)
	}
	return zero == 1
}

// havePopulateAdvice reports whether this kernel has MADV_POPULATE_READ
// (Linux 5.14+). Without it POPULATE falls back to MAP_POPULATE, which
// reports no failure, and on a COPY map copies every page.
func havePopulateAdvice(t testing.TB) bool {
	t.Helper()
	b, err := syscall.Mmap(-1, 0, page, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(b)
	return syscall.Madvise(b, 22 /* MADV_POPULATE_READ */) == nil
}

// needPopulateAdvice skips a test of what MADV_POPULATE_* report, on a
// kernel without them.
func needPopulateAdvice(t testing.TB) {
	t.Helper()
	if !havePopulateAdvice(t) {
		t.Skipf("Linux %s has no MADV_POPULATE_READ (5.14+): POPULATE falls back to MAP_POPULATE, which reports no failure", kernelRelease(t))
	}
}

// pageDirty reports the kernel's PG_dirty flag of the page behind p, from
// /proc/self/pagemap (physical frame) and /proc/kpageflags; it skips the
// test where this process may not read them.
func pageDirty(t testing.TB, p unsafe.Pointer) bool {
	t.Helper()
	e := pagemapEntries(t, unsafe.Slice((*byte)(p), 1))[0]
	if e&pmPresent == 0 {
		t.Fatalf("page at %p is not present (pagemap entry %#x)", p, e)
	}
	kf, err := kpageflags()
	if err != nil {
		t.Skip(err)
	}
	defer kf.Close()
	if e&pmPFN == 0 {
		t.Skip("/proc/self/pagemap hides physical frame numbers from this process (it needs CAP_SYS_ADMIN)")
	}
	return pageFlags(t, kf, e&pmPFN)&kpfDirty != 0
}

// needEvictableFiles skips a test that needs files whose clean pages leave
// the page cache when asked and whose dirty pages are written back to a
// disk (see memoryOnlyFS).
func needEvictableFiles(t testing.TB, f *os.File) {
	t.Helper()
	if why := memoryOnlyFS(t, f); why != "" {
		t.Skip(why)
	}
}

// memoryOnlyFS says why f's file system keeps its files in memory only
// (tmpfs, ramfs: TMPDIR=/dev/shm, or a distribution whose /tmp is tmpfs),
// where pages are never clean, written back or evicted; or "" for a file
// system on a disk.
func memoryOnlyFS(t testing.TB, f *os.File) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	const tmpfsMagic, ramfsMagic = 0x01021994, 0x858458f6
	switch uint32(st.Type) { // int32 on 32-bit platforms
	case tmpfsMagic, ramfsMagic:
		return fmt.Sprintf("%s is on tmpfs or ramfs, whose pages live in memory only, always dirty: nothing to evict or write back; set TMPDIR to a directory on a disk", filepath.Dir(f.Name()))
	}
	return ""
}

// evictAll is evict for a test that needs every page of f out of the page
// cache: it asks again while the kernel keeps some (pages on another CPU's
// LRU batch, in a folio still being written back), and fails the test if
// they stay.
func evictAll(t testing.TB, f *os.File) {
	t.Helper()
	needEvictableFiles(t, f)
	m := mustMap(t, f, -1, RDONLY, 0, 0)
	defer mustUnmap(t, &m)
	res := 0
	for try := range 50 {
		if try > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		evict(t, f)
		var err error
		if res, _, err = m.Resident(); err != nil {
			t.Fatal(err)
		}
		if res == 0 {
			return
		}
	}
	t.Fatalf("%d pages of %s stay in the page cache after asking 50 times to drop them", res, f.Name())
}

// needMemlock skips a test that locks n bytes beyond what this process has
// locked already, where RLIMIT_MEMLOCK does not allow it and the process
// lacks CAP_IPC_LOCK (an unprivileged user, often with a 64 KiB or 8 MiB
// limit).
func needMemlock(t testing.TB, n int) {
	t.Helper()
	if why := memlockShort(t, n); why != "" {
		t.Skip(why)
	}
}

// memlockShort says why this process cannot lock n more bytes, or "" if it
// can.
func memlockShort(t testing.TB, n int) string {
	t.Helper()
	if memlockIsNoLimit() {
		return ""
	}
	var r syscall.Rlimit
	if err := syscall.Getrlimit(8 /* RLIMIT_MEMLOCK */, &r); err != nil {
		t.Fatal(err)
	}
	if locked := uint64(statusKB(t, "VmLck")) << 10; locked+uint64(n) > r.Cur {
		return fmt.Sprintf("locking %d bytes needs more than RLIMIT_MEMLOCK, %d bytes (%d locked already), and this process lacks CAP_IPC_LOCK; raise it with ulimit -l", n, r.Cur, locked)
	}
	return ""
}

// overcommitAlways reports whether vm.overcommit_memory is 1: the kernel
// then grants any anonymous mapping that fits in the address space, however
// much more than memory and swap it is.
func overcommitAlways(t testing.TB) bool {
	t.Helper()
	n, err := readInt("/proc/sys/vm/overcommit_memory")
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// overcommitNever reports whether vm.overcommit_memory is 2: the kernel then
// accounts every private writable mapping against its commit limit and
// ignores MAP_NORESERVE.
func overcommitNever(t testing.TB) bool {
	t.Helper()
	n, err := readInt("/proc/sys/vm/overcommit_memory")
	if err != nil {
		t.Fatal(err)
	}
	return n == 2
}

// memAvailable is the kernel's estimate of the memory available for new
// work, from /proc/meminfo.
func memAvailable(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return n << 10
				}
			}
		}
	}
	t.Fatal("no MemAvailable in /proc/meminfo")
	return 0
}

// The hugetlb pool is the whole system's: other processes may hold or have
// reserved pages in it, and another run of this suite (go test runs the
// packages of ./... side by side; several people or CI jobs may share a
// machine) may resize it. A test that sets the pool takes poolLock, a lock
// file that every run of these tests shares, for as long as it runs, sizes
// the pool as what others use plus what it needs, and compares the pool
// with what it was after that, never with absolute numbers.
var poolLock struct {
	sync.Mutex
	holders int
	f       *os.File
}

const poolLockPath = "/tmp/hugemap-mmap-hugetlb.lock"

// lockPool takes the pool lock until t ends.
func lockPool(t testing.TB) {
	t.Helper()
	poolLock.Lock()
	defer poolLock.Unlock()
	if poolLock.holders == 0 {
		// No O_CREAT on an existing file: fs.protected_regular refuses it
		// for a file of another user in sticky /tmp.
		f, err := os.Open(poolLockPath)
		if errors.Is(err, fs.ErrNotExist) {
			if f, err = os.OpenFile(poolLockPath, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o644); err == nil {
				os.Chmod(poolLockPath, 0o644) // readable (lockable) by every user, whatever the umask
			} else if errors.Is(err, fs.ErrExist) {
				f, err = os.Open(poolLockPath)
			}
		}
		if err != nil {
			t.Fatalf("the hugetlb pool lock: %v", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			t.Fatalf("flock %s: %v", poolLockPath, err)
		}
		poolLock.f = f
	}
	poolLock.holders++
	t.Cleanup(func() {
		poolLock.Lock()
		defer poolLock.Unlock()
		if poolLock.holders--; poolLock.holders == 0 {
			poolLock.f.Close() // and with it the flock
			poolLock.f = nil
		}
	})
}

// poolOf is the pool of size-byte pages, or a zero pool with Size 0 where
// the system has none.
func poolOf(t testing.TB, size int) HugetlbPool {
	t.Helper()
	pools, err := HugetlbPools()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, p := range pools {
		if p.Size == size {
			return p
		}
	}
	return HugetlbPool{}
}

// setPool makes n hugetlb pages of size bytes available to the test (see
// resizePool), or skips the test where the pool cannot be changed.
func setPool(t *testing.T, size, n int) HugetlbPool {
	t.Helper()
	skipUnderQEMU(t, "hugetlb pools and smaps are the host's")
	p, err := resizePool(t, size, n)
	if err != nil {
		t.Skip(err)
	}
	return p
}

// resizePool makes n hugetlb pages of size bytes available to the test, on
// top of what other processes hold or have reserved, with no surplus pages
// (nr_overcommit_hugepages 0, so that an empty pool is empty), and puts both
// settings back when the test ends. It holds the pool lock meanwhile, and
// returns the pool as it then is: Available() says how many pages the kernel
// could find (memory may be too fragmented for all n). Its error says why
// this process cannot change the pool.
func resizePool(t testing.TB, size, n int) (HugetlbPool, error) {
	t.Helper()
	if os.Geteuid() != 0 {
		return HugetlbPool{}, errors.New("setting vm.nr_hugepages needs root; CI runs as root")
	}
	if size == 0 {
		return HugetlbPool{}, errors.New("this kernel has no hugetlb pages")
	}
	dir := fmt.Sprintf("%s/hugepages-%dkB", hugepagesDir, size>>10)
	if _, err := os.Stat(dir); err != nil {
		return HugetlbPool{}, fmt.Errorf("no %d-byte hugetlb pages on this kernel: %w", size, err)
	}
	lockPool(t)
	set := func(name string, v int) error {
		return os.WriteFile(filepath.Join(dir, name), []byte(strconv.Itoa(v)), 0o644)
	}
	// Each setting is put back only if changed: the kernel refuses any
	// write of nr_overcommit_hugepages for gigantic (1 GiB) pages.
	for _, c := range []struct {
		name string
		to   func() int
	}{
		{"nr_overcommit_hugepages", func() int { return 0 }},
		{"nr_hugepages", func() int {
			p := poolOf(t, size)
			// Others hold Total-Free pages and have reserved Reserved of
			// the free ones.
			return p.Total - p.Available() + n
		}},
	} {
		old, err := readInt(filepath.Join(dir, c.name))
		if err != nil {
			t.Fatal(err)
		}
		v := c.to()
		if v == old {
			continue
		}
		if err := set(c.name, v); err != nil {
			if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
				return HugetlbPool{}, fmt.Errorf("the hugetlb pool cannot be changed here (read-only sysfs, or no CAP_SYS_ADMIN): %w", err)
			}
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := set(c.name, old); err != nil {
				t.Errorf("putting %s back to %d: %v", c.name, old, err)
			}
		})
	}
	return poolOf(t, size), nil
}

// poolOvercommit is the pool's nr_overcommit_hugepages: how many surplus
// pages the kernel may allocate beyond it.
func poolOvercommit(t testing.TB, size int) int {
	t.Helper()
	n, err := readInt(fmt.Sprintf("%s/hugepages-%dkB/nr_overcommit_hugepages", hugepagesDir, size>>10))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// poolSame reports whether the pool of a's size is as it was in a: pages,
// free pages and reservations.
func poolSame(t testing.TB, a HugetlbPool) bool {
	t.Helper()
	b := poolOf(t, a.Size)
	return a == b
}
