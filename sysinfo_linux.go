package mmap

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// memlockLimit describes RLIMIT_MEMLOCK, from /proc/self/limits.
func memlockLimit() string {
	b, err := os.ReadFile("/proc/self/limits")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Max locked memory"); ok {
				if f := strings.Fields(v); len(f) > 0 {
					return "RLIMIT_MEMLOCK is " + f[0] + " bytes (raise it with ulimit -l or setrlimit, or run with CAP_IPC_LOCK)"
				}
			}
		}
	}
	return "RLIMIT_MEMLOCK reached"
}
