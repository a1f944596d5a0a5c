package shm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/hugemap/mmap"
)

// Hugetlb segments against the real pool. The pool is the whole system's:
// these tests take the lock file that every run of this module's tests
// shares (package mmap's kernel_linux_test.go explains the protocol), size
// the pool as what others use plus what they need, and put it back.

const poolLockPath = "/tmp/hugemap-mmap-hugetlb.lock"

var poolLock sync.Mutex // one holder of the flock in this process

// lockPool takes the pool lock until t ends.
func lockPool(t *testing.T) {
	t.Helper()
	poolLock.Lock()
	// No O_CREAT on an existing file: fs.protected_regular refuses it for
	// a file of another user in sticky /tmp.
	f, err := os.Open(poolLockPath)
	if errors.Is(err, fs.ErrNotExist) {
		if f, err = os.OpenFile(poolLockPath, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o644); err == nil {
			os.Chmod(poolLockPath, 0o644)
		} else if errors.Is(err, fs.ErrExist) {
			f, err = os.Open(poolLockPath)
		}
	}
	if err == nil {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
	}
	if err != nil {
		poolLock.Unlock()
		t.Fatalf("the hugetlb pool lock %s: %v", poolLockPath, err)
	}
	t.Cleanup(func() {
		f.Close() // and with it the flock
		poolLock.Unlock()
	})
}

// reservePool makes n pages of size bytes available on top of what others
// hold or have reserved, with no surplus pages, until t ends, and returns
// how many the kernel could find. It skips where the pool cannot change.
func reservePool(t *testing.T, size, n int) int {
	t.Helper()
	if underQEMU() {
		// qemu-user places the mapping itself, at an address the kernel
		// refuses for hugetlb pages (EINVAL).
		t.Skip("under qemu-user: its mmap emulation cannot map hugetlb pages")
	}
	if os.Geteuid() != 0 {
		t.Skip("setting vm.nr_hugepages needs root; CI runs as root")
	}
	dir := fmt.Sprintf("/sys/kernel/mm/hugepages/hugepages-%dkB", size>>10)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no %d-byte hugetlb pages on this kernel: %v", size, err)
	}
	lockPool(t)
	for _, name := range []string{"nr_overcommit_hugepages", "nr_hugepages"} {
		path := filepath.Join(dir, name)
		old := readInt(t, path)
		v := 0
		if name == "nr_hugepages" {
			p := pool(t, size)
			v = p.Total - p.Available() + n
		}
		if v == old {
			continue // the kernel refuses any write of overcommit for 1 GiB pages
		}
		if err := os.WriteFile(path, []byte(strconv.Itoa(v)), 0o644); err != nil {
			if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
				t.Skipf("the hugetlb pool cannot be changed here (read-only sysfs, or no CAP_SYS_ADMIN): %v", err)
			}
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := os.WriteFile(path, []byte(strconv.Itoa(old)), 0o644); err != nil {
				t.Errorf("putting %s back to %d: %v", path, old, err)
			}
		})
	}
	return pool(t, size).Available()
}

// underQEMU reports whether this test binary runs under qemu-user, as
// package mmap's tests find out: the kernel's machine cannot run GOARCH's
// code, or the process is qemu started by name (as build does).
func underQEMU() bool {
	native := map[string][]string{
		"386": {"i386", "i486", "i586", "i686", "x86_64"}, "amd64": {"x86_64"},
		"arm": {"armv6l", "armv7l", "armv8l", "aarch64"}, "arm64": {"aarch64"},
	}
	if b, err := os.ReadFile("/proc/sys/kernel/arch"); err == nil {
		if machines, known := native[runtime.GOARCH]; known && !slices.Contains(machines, strings.TrimSpace(string(b))) {
			return true
		}
	}
	b, _ := os.ReadFile("/proc/self/status")
	name, _, _ := strings.Cut(string(b), "\n")
	return strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(name, "Name:")), "qemu-")
}

func pool(t *testing.T, size int) mmap.HugetlbPool {
	t.Helper()
	pools, err := mmap.HugetlbPools()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pools {
		if p.Size == size {
			return p
		}
	}
	t.Fatalf("no %d-byte pool in %v", size, pools)
	return mmap.HugetlbPool{}
}

func readInt(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// meminfo is the default-size pool's HugePages_Free and HugePages_Rsvd.
func meminfo(t *testing.T) (free, rsvd int) {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "HugePages_Free:" {
			free, _ = strconv.Atoi(f[1])
		}
		if len(f) == 2 && f[0] == "HugePages_Rsvd:" {
			rsvd, _ = strconv.Atoi(f[1])
		}
	}
	return free, rsvd
}

// A HUGETLB segment takes its pages from the pool: its size is rounded up
// to whole hugepages, mapping it reserves them (HugePages_Rsvd), touching
// them takes them (HugePages_Free), Info says hugetlb with the pool's page
// size, and once it is unmapped and closed the pool is as it was.
func TestHugetlbSegmentUsesThePool(t *testing.T) {
	huge := mmap.DefaultHugetlbPageSize()
	if huge == 0 {
		t.Skip("this kernel has no hugetlb pages")
	}
	if reservePool(t, huge, 2) < 2 {
		t.Skip("the kernel could not find 2 hugetlb pages for the pool (memory too fragmented)")
	}
	free0, rsvd0 := meminfo(t)

	s, err := Create("huge", huge+1, mmap.HUGETLB)
	if err != nil {
		t.Fatal(err)
	}
	if s.Size() != 2*huge {
		t.Fatalf("Size %d, want %d (rounded up to whole hugepages)", s.Size(), 2*huge)
	}
	m, err := s.Map(mmap.RDWR, 0)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	info, err := m.Info()
	if err != nil || info.Kind != mmap.HugetlbPages || info.PageSize != huge {
		t.Errorf("Info %+v, %v; want hugetlb pages of %d bytes", info, err, huge)
	}
	if free, rsvd := meminfo(t); free != free0 || rsvd != rsvd0+2 {
		t.Errorf("mapped: HugePages_Free %d, Rsvd %d; want %d, %d (two pages reserved)", free, rsvd, free0, rsvd0+2)
	}
	for i := 0; i < len(m); i += huge {
		m[i] = 1
	}
	// The receiving side recognises a hugetlb segment as well.
	fd, err := syscall.Dup(int(s.File().Fd()))
	if err != nil {
		t.Fatal(err)
	}
	peer, err := FromFile(os.NewFile(uintptr(fd), "peer"))
	if err != nil {
		t.Fatal(err)
	}
	pm := mapSegment(t, peer, mmap.RDONLY)
	peer.Close()
	if info, err := pm.Info(); err != nil || info.Kind != mmap.HugetlbPages || info.PageSize != huge || pm[huge] != 1 {
		t.Errorf("the peer's map: Info %+v, %v, byte %d; want hugetlb pages of %d bytes holding 1", info, err, pm[huge], huge)
	}
	if err := pm.Unmap(); err != nil {
		t.Fatal(err)
	}
	if free, rsvd := meminfo(t); free != free0-2 || rsvd != rsvd0 {
		t.Errorf("touched: HugePages_Free %d, Rsvd %d; want %d, %d (two pages taken)", free, rsvd, free0-2, rsvd0)
	}
	// Unmap passes munmap whole hugepages: a base-page length is EINVAL.
	if err := m.Unmap(); err != nil {
		t.Fatal(err)
	}
	// The segment still holds its pages after the last mapping is gone.
	if free, _ := meminfo(t); free != free0-2 {
		t.Errorf("unmapped: HugePages_Free %d, want %d (the segment holds its pages)", free, free0-2)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if free, rsvd := meminfo(t); free != free0 || rsvd != rsvd0 {
		t.Errorf("closed: HugePages_Free %d, Rsvd %d; want %d, %d", free, rsvd, free0, rsvd0)
	}

	t.Run("pool too small", func(t *testing.T) {
		s := newSegment(t, "too-big", 3*huge, mmap.HUGETLB)
		if m, err := s.Map(mmap.RDWR, 0); !errors.Is(err, syscall.ENOMEM) {
			if err == nil {
				m.Unmap()
			}
			t.Fatalf("mapping 3 hugepages from a pool of 2: %v, want ENOMEM", err)
		}
	})
}

// HUGE_1GB asks memfd_create for 1 GiB pages: the size is rounded to them,
// and with no page in the pool the map fails with ENOMEM rather than at
// the first touch.
func TestHugetlb1GBSegment(t *testing.T) {
	const gib = 1 << 30
	if _, err := os.Stat("/sys/kernel/mm/hugepages/hugepages-1048576kB"); err != nil {
		if _, err := Create("gig", 1, mmap.HUGETLB|mmap.HUGE_1GB); !errors.Is(err, mmap.ErrNoHugetlbPages) {
			t.Fatalf("HUGE_1GB without 1 GiB pages: %v, want ErrNoHugetlbPages", err)
		}
		return
	}
	reservePool(t, gib, 0)
	s := newSegment(t, "gig", 1, mmap.HUGETLB|mmap.HUGE_1GB)
	if s.Size() != gib {
		t.Fatalf("Size %d, want %d", s.Size(), gib)
	}
	if m, err := s.Map(mmap.RDWR, 0); !errors.Is(err, syscall.ENOMEM) {
		if err == nil {
			m.Unmap()
		}
		t.Fatalf("mapping a 1 GiB page from an empty pool: %v, want ENOMEM", err)
	}
}
