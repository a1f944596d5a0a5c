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
	kb, err := strconv.Atoi(firstField(string(b), "Hugepagesize:"))
	if err != nil {
		return 0
	}
	return kb << 10
})

// firstField is the first word after prefix on the first line of text that
// starts with it, or "" where there is none: the shape of every /proc line
// read here ("Key: value unit"). Whatever the text, it does not panic.
func firstField(text, prefix string) string {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			if f := strings.Fields(v); len(f) > 0 {
				return f[0]
			}
			return ""
		}
	}
	return ""
}

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
// process's RLIMIT_MEMLOCK, and describes the limit.
func memlockLimitHit(n uintptr) (bool, string) {
	limits, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		return true, "RLIMIT_MEMLOCK reached"
	}
	status, _ := os.ReadFile("/proc/self/status")
	return memlockVerdict(string(limits), string(status), n)
}

// memlockVerdict is memlockLimitHit over the text of /proc/self/limits and
// /proc/self/status. A process with CAP_IPC_LOCK has no limit: its ENOMEM
// from mlock means something else (vm.max_map_count, a hole in the range).
// Text it cannot read says the limit was hit: that is what the errno said.
func memlockVerdict(limits, status string, n uintptr) (bool, string) {
	limit := firstField(limits, "Max locked memory")
	desc := "RLIMIT_MEMLOCK is " + limit + " bytes (raise it with ulimit -l or setrlimit, or run with CAP_IPC_LOCK)"
	if limit == "unlimited" {
		return false, desc
	}
	bytes, err := strconv.ParseUint(limit, 10, 64)
	if err != nil {
		return true, "RLIMIT_MEMLOCK reached"
	}
	const capIPCLock = 14
	if capEff, err := strconv.ParseUint(firstField(status, "CapEff:"), 16, 64); err == nil && capEff&(1<<capIPCLock) != 0 {
		return false, desc
	}
	lockedKB, err := strconv.ParseUint(firstField(status, "VmLck:"), 10, 64)
	if err != nil {
		return true, desc
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
