package mmap

import (
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// NUMA on Linux: the online nodes from sysfs, and mbind over the backend's
// sysMbind.

// The kernel's MPOL_* modes, by NUMAMode, and MPOL_MF_MOVE (uapi
// linux/mempolicy.h; the same on every architecture).
var mpolModes = [...]int{
	NUMADefault:            0, // MPOL_DEFAULT
	NUMABind:               2, // MPOL_BIND
	NUMAInterleave:         3, // MPOL_INTERLEAVE
	NUMAPreferred:          1, // MPOL_PREFERRED
	NUMAPreferredMany:      5, // MPOL_PREFERRED_MANY
	NUMALocal:              4, // MPOL_LOCAL
	NUMAWeightedInterleave: 6, // MPOL_WEIGHTED_INTERLEAVE
}

const mpolMFMove = 1 << 1

const nodeOnline = "/sys/devices/system/node/online"

func numaNodes() ([]int, error) {
	b, err := os.ReadFile(nodeOnline)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("mmap: NUMA nodes: this kernel has no NUMA support (no %s): %w", nodeOnline, errors.ErrUnsupported)
	}
	if err != nil {
		return nil, err
	}
	nodes, ok := parseNodeList(strings.TrimSpace(string(b)))
	if !ok {
		return nil, fmt.Errorf("mmap: NUMA nodes: %s holds %q, not a node list", nodeOnline, b)
	}
	return nodes, nil
}

// parseNodeList reads the kernel's list format ("0", "0-3,8-11"). It takes
// any text without panicking and refuses more than 1<<16 nodes (the
// kernel's limit is 1024).
func parseNodeList(s string) ([]int, bool) {
	var nodes []int
	if s == "" {
		return nodes, true
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, false
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, false
			}
		}
		if b-a >= 1<<16 || len(nodes)+b-a >= 1<<16 {
			return nil, false
		}
		for n := a; n <= b; n++ {
			nodes = append(nodes, n)
		}
	}
	return nodes, true
}

func osSetNUMA(r *region, off, n uintptr, mode NUMAMode, nodes []int, move bool) error {
	online, err := numaNodes()
	if err != nil {
		return err
	}
	var mask []uint
	for _, node := range nodes {
		if !slices.Contains(online, node) {
			return fmt.Errorf("%w: node %d; online: %v", ErrNoSuchNode, node, online)
		}
		for len(mask) <= node/bits.UintSize {
			mask = append(mask, 0)
		}
		mask[node/bits.UintSize] |= 1 << (node % bits.UintSize)
	}
	flags := 0
	if move {
		flags = mpolMFMove
	}
	err = sysMbind(unsafe.Add(r.base, off), n, mpolModes[mode], mask, flags)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOSYS):
		return fmt.Errorf("mmap: SetNUMA: this kernel has no mbind: %w", errors.Join(errors.ErrUnsupported, os.NewSyscallError("mbind", err)))
	case errors.Is(err, syscall.EINVAL) && (mode == NUMAPreferredMany || mode == NUMAWeightedInterleave):
		return fmt.Errorf("mmap: SetNUMA: this kernel does not know %v (Linux 5.15 has NUMAPreferredMany, 6.9 NUMAWeightedInterleave): %w", mode, errors.Join(errors.ErrUnsupported, os.NewSyscallError("mbind", err)))
	}
	return os.NewSyscallError("mbind", err)
}

// maxNode is mbind's maxnode for mask: its bits plus one, since the kernel
// reads one bit fewer than it is told (get_nodes' --maxnode).
func maxNode(mask []uint) uintptr {
	if len(mask) == 0 {
		return 0
	}
	return uintptr(len(mask)*bits.UintSize + 1)
}
