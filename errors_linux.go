package mmap

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The words Linux's errors add from /proc and /sys: the state of a hugetlb
// pool, and whether RLIMIT_MEMLOCK is what a lock hit.

// hugetlbPool is the pool of the given page size, for error messages.
func hugetlbPool(size int) string {
	pools, err := hugetlbPools()
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
