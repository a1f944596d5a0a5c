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

// What Linux offers, from /proc and /sys: hugetlb pools, the default
// hugetlb page size, the transparent hugepage mode and size, and whether a
// file is procfs's.

const hugepagesDir = "/sys/kernel/mm/hugepages"

func hugetlbPools() ([]HugetlbPool, error) {
	dirs, err := os.ReadDir(hugepagesDir)
	if err != nil {
		return nil, err
	}
	var pools []HugetlbPool
	for _, d := range dirs {
		kb, ok := strings.CutPrefix(d.Name(), "hugepages-")
		n, err := strconv.Atoi(strings.TrimSuffix(kb, "kB"))
		if !ok || err != nil {
			continue
		}
		p := HugetlbPool{Size: n << 10}
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
	slices.SortFunc(pools, func(a, b HugetlbPool) int { return a.Size - b.Size })
	return pools, nil
}

// The default hugepage size and the THP size are fixed at boot.
var defaultHugetlbPageSize = sync.OnceValue(func() int {
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

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
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
