package mmap

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

const hugepagesDir = "/sys/kernel/mm/hugepages"

func hugePagePools() ([]HugePagePool, error) {
	dirs, err := os.ReadDir(hugepagesDir)
	if err != nil {
		return nil, err
	}
	var pools []HugePagePool
	for _, d := range dirs {
		kb, ok := strings.CutPrefix(d.Name(), "hugepages-")
		n, err := strconv.Atoi(strings.TrimSuffix(kb, "kB"))
		if !ok || err != nil {
			continue
		}
		p := HugePagePool{Size: n << 10}
		for _, f := range []struct {
			name string
			to   *int
		}{{"nr_hugepages", &p.Total}, {"free_hugepages", &p.Free}, {"resv_hugepages", &p.Reserved}} {
			if *f.to, err = readInt(filepath.Join(hugepagesDir, d.Name(), f.name)); err != nil {
				return nil, err
			}
		}
		pools = append(pools, p)
	}
	slices.SortFunc(pools, func(a, b HugePagePool) int { return a.Size - b.Size })
	return pools, nil
}

// The default hugepage size and the THP size are fixed at boot.
var defaultHugePageSize = sync.OnceValue(func() int {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Hugepagesize:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				if kb, err := strconv.Atoi(f[0]); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
})

var thpSize = sync.OnceValue(func() int {
	n, err := readInt("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
	if err != nil {
		return 0
	}
	return n
})

// thpMode is read each time: an administrator can change it at run time.
func thpMode() string {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return ""
}

// hugetlbPool is the pool of the given page size, for error messages.
func hugetlbPool(size int) string {
	pools, err := hugePagePools()
	if err != nil {
		return err.Error()
	}
	var sizes []string
	for _, p := range pools {
		if p.Size == size {
			return fmt.Sprintf("%d-byte pages: %d free, %d reserved, %d in the pool (vm.nr_hugepages)", size, p.Free, p.Reserved, p.Total)
		}
		sizes = append(sizes, strconv.Itoa(p.Size))
	}
	return fmt.Sprintf("no %d-byte hugetlb pages on this system (sizes: %s)", size, strings.Join(sizes, ", "))
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// memlockLimitHit reports whether locking n more bytes passes this
// process's RLIMIT_MEMLOCK, and describes the limit. A process with
// CAP_IPC_LOCK has no limit: its ENOMEM from mlock means something else
// (vm.max_map_count, a hole in the range).
func memlockLimitHit(n uintptr) (bool, string) {
	limits, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		return true, "RLIMIT_MEMLOCK reached"
	}
	limit := ""
	for _, line := range strings.Split(string(limits), "\n") {
		if v, ok := strings.CutPrefix(line, "Max locked memory"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				limit = f[0]
			}
		}
	}
	desc := "RLIMIT_MEMLOCK is " + limit + " bytes (raise it with ulimit -l or setrlimit, or run with CAP_IPC_LOCK)"
	bytes, err := strconv.ParseUint(limit, 10, 64)
	if err != nil { // "unlimited"
		return false, desc
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true, desc
	}
	var lockedKB, capEff uint64
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmLck:"); ok {
			lockedKB, _ = strconv.ParseUint(strings.Fields(v)[0], 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			capEff, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	const capIPCLock = 14
	if capEff&(1<<capIPCLock) != 0 {
		return false, desc
	}
	return lockedKB<<10+uint64(n) > bytes, desc
}

// sizeless refuses a file whose size of 0 says nothing of what it holds
// (procfs), with the ENODEV mmap(2) would give for it.
func sizeless(name string, fd uintptr) error {
	var st syscall.Statfs_t
	if syscall.Fstatfs(int(fd), &st) == nil && st.Type == 0x9fa0 { // PROC_SUPER_MAGIC
		return &fs.PathError{Op: "mmap", Path: name, Err: fmt.Errorf("a procfs file reports size 0 whatever it holds, and cannot be mapped: %w", syscall.ENODEV)}
	}
	return nil
}
