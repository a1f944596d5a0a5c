//go:build linux

package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/hugemap/mmap"
)

// machine is what the numbers were measured on.
type machine struct {
	CPU         string     `json:"cpu"`
	CPUs        int        `json:"cpus"`
	Kernel      string     `json:"kernel"`
	GoVersion   string     `json:"go"`
	Backend     string     `json:"backend"`
	PageSize    int        `json:"page_size"`
	THP         string     `json:"thp_enabled"`
	THPDefrag   string     `json:"thp_defrag"`
	MemTotal    int        `json:"mem_total"`
	MemAvail    int        `json:"mem_available"`
	HugePools   []hugePool `json:"hugepage_pools"`
	Dir         string     `json:"dir"`
	DirFS       string     `json:"dir_fs"`
	Root        bool       `json:"root"`
	CCompiler   string     `json:"c_compiler"`
	FincoreTool string     `json:"fincore"`
	FaultNS     float64    `json:"fault_4k_ns"`   // one 4 KiB anonymous first-touch fault
	ReadAheadKB int        `json:"read_ahead_kb"` // of the device that holds Dir; 0: none found
}

// hugePool is one hugetlb pool as it was when the run started.
type hugePool struct {
	Size  int `json:"size"`
	Total int `json:"total"`
	Free  int `json:"free"`
}

func describeMachine(dir string) machine {
	m := machine{
		CPU:         cpuModel(),
		CPUs:        runtime.NumCPU(),
		Kernel:      readTrim("/proc/sys/kernel/osrelease"),
		GoVersion:   runtime.Version(),
		Backend:     mmap.Backend(),
		PageSize:    mmap.PageSize(),
		THP:         bracketed(readTrim("/sys/kernel/mm/transparent_hugepage/enabled")),
		THPDefrag:   bracketed(readTrim("/sys/kernel/mm/transparent_hugepage/defrag")),
		MemTotal:    meminfo("MemTotal:"),
		MemAvail:    meminfo("MemAvailable:"),
		Dir:         dir,
		DirFS:       fsName(dir),
		Root:        os.Geteuid() == 0,
		FaultNS:     faultCost(),
		ReadAheadKB: readAheadKB(dir),
	}
	if pools, err := mmap.HugetlbPools(); err == nil {
		for _, p := range pools {
			m.HugePools = append(m.HugePools, hugePool{p.Size, p.Total, p.Free})
		}
	}
	return m
}

func (m machine) lines() []string {
	var pools []string
	for _, p := range m.HugePools {
		pools = append(pools, fmt.Sprintf("%s: %d reserved, %d free", bytesString(p.Size), p.Total, p.Free))
	}
	if len(pools) == 0 {
		pools = []string{"none"}
	}
	return []string{
		fmt.Sprintf("cpu      %s, %d CPUs", m.CPU, m.CPUs),
		fmt.Sprintf("kernel   %s, page %d B, THP enabled %s, defrag %s", m.Kernel, m.PageSize, m.THP, m.THPDefrag),
		fmt.Sprintf("memory   %s total, %s available", bytesString(m.MemTotal), bytesString(m.MemAvail)),
		fmt.Sprintf("hugetlb  %s (at start)", strings.Join(pools, "; ")),
		fmt.Sprintf("files    %s (%s), device read_ahead_kb %s", m.Dir, m.DirFS, readAheadString(m.ReadAheadKB)),
		fmt.Sprintf("faults   one 4 KiB page fault %s (first touch of anonymous memory): a 1 GiB map pays 262,144 of them with 4 KiB pages, 512 with 2 MiB ones", nsString(m.FaultNS)),
		fmt.Sprintf("go       %s, mmap backend %s, C floor %s, fincore %s", m.GoVersion, m.Backend, m.CCompiler, m.FincoreTool),
	}
}

func readAheadString(kb int) string {
	if kb == 0 {
		return "unknown"
	}
	return strconv.Itoa(kb)
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func cpuModel() string {
	for _, line := range strings.Split(readTrim("/proc/cpuinfo"), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}

// bracketed is the chosen value in a kernel setting like "always [madvise] never".
func bracketed(s string) string {
	if i := strings.Index(s, "["); i >= 0 {
		if j := strings.Index(s[i:], "]"); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return s
}

// meminfo is a field of /proc/meminfo in bytes, or 0.
func meminfo(field string) int { return kBField("/proc/meminfo", field) }

// kBField is a "Field: N kB" line of a /proc file, in bytes, or 0.
func kBField(path, field string) int {
	for _, line := range strings.Split(readTrim(path), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			if f := strings.Fields(v); len(f) > 0 {
				if kb, err := strconv.Atoi(f[0]); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

func memAvailable() int { return meminfo("MemAvailable:") }

// vmstat is /proc/vmstat: the kernel's event counters.
func vmstat() map[string]int {
	m := map[string]int{}
	for _, line := range strings.Split(readTrim("/proc/vmstat"), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			if n, err := strconv.Atoi(v); err == nil {
				m[k] = n
			}
		}
	}
	return m
}

// fsName names the file system that holds dir.
func fsName(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "unknown"
	}
	switch uint32(st.Type) {
	case 0xEF53:
		return "ext4"
	case 0x01021994:
		return "tmpfs"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x794c7630:
		return "overlayfs"
	case 0x2fc12fc1:
		return "zfs"
	case 0x958458f6:
		return "hugetlbfs"
	}
	return fmt.Sprintf("fs magic %#x", uint32(st.Type))
}

// bytesString writes n in the largest binary unit that divides it, or in
// MiB with one decimal.
func bytesString(n int) string {
	switch n := int64(n); {
	case n >= 4<<30 && n%(1<<30) != 0:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
