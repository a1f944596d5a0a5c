package mmap

import (
	"fmt"
	"slices"
)

// NUMA placement: the memory policy of the pages under a mapping, and the
// system's nodes.

// NUMAMode is a memory policy for SetNUMA. The names are set_mempolicy(2)'s
// MPOL_* modes.
type NUMAMode int

const (
	NUMADefault            NUMAMode = iota // MPOL_DEFAULT: the thread's policy; takes no nodes
	NUMABind                               // MPOL_BIND: only on the nodes given
	NUMAInterleave                         // MPOL_INTERLEAVE: page by page over the nodes given
	NUMAPreferred                          // MPOL_PREFERRED: on the node given when it has memory, else elsewhere; one node
	NUMAPreferredMany                      // MPOL_PREFERRED_MANY: on the nodes given when they have memory (Linux 5.15)
	NUMALocal                              // MPOL_LOCAL: on the node of the CPU that faults the page in; takes no nodes
	NUMAWeightedInterleave                 // MPOL_WEIGHTED_INTERLEAVE: interleave by the weights in /sys/kernel/mm/mempolicy (Linux 6.9)
)

var numaModeNames = [...]string{"NUMADefault", "NUMABind", "NUMAInterleave", "NUMAPreferred",
	"NUMAPreferredMany", "NUMALocal", "NUMAWeightedInterleave"}

func (mode NUMAMode) String() string {
	if mode >= 0 && int(mode) < len(numaModeNames) {
		return numaModeNames[mode]
	}
	return fmt.Sprintf("NUMAMode(%d)", int(mode))
}

// SetNUMA sets the memory policy of the pages that cover m (mbind(2), made
// through the C shim's syscall(2), or from Go without cgo; no libnuma).
// Pages faulted in afterwards follow it; with move, pages already resident
// that break it are migrated (MPOL_MF_MOVE: those this process alone maps).
// Policy is per page range, so a sub-slice sets the pages under it and
// splits the kernel's VMA.
//
// NUMADefault and NUMALocal take no nodes (nil); the other modes need at
// least one, and NUMAPreferred exactly one (ErrInvalidPolicy otherwise). A
// node that does not exist or is offline gives ErrNoSuchNode. A mode the
// running kernel lacks, a kernel without NUMA support, and every platform
// but Linux give an error matching errors.ErrUnsupported. An empty m does
// nothing and succeeds, once mode and nodes are checked.
func (m MMap) SetNUMA(mode NUMAMode, nodes []int, move bool) error {
	switch {
	case mode < NUMADefault || mode > NUMAWeightedInterleave:
		return fmt.Errorf("%w: unknown NUMA mode %d", ErrInvalidPolicy, int(mode))
	case (mode == NUMADefault || mode == NUMALocal) && len(nodes) > 0:
		return fmt.Errorf("%w: %v takes no nodes; got %v", ErrInvalidPolicy, mode, nodes)
	case mode != NUMADefault && mode != NUMALocal && len(nodes) == 0:
		return fmt.Errorf("%w: %v needs at least one node", ErrInvalidPolicy, mode)
	case mode == NUMAPreferred && len(nodes) > 1:
		return fmt.Errorf("%w: NUMAPreferred takes one node; got %v (NUMAPreferredMany takes several)", ErrInvalidPolicy, nodes)
	}
	if len(m) == 0 {
		return nil
	}
	return m.onPages(func(r *region, off, n uintptr) error {
		return osSetNUMA(r, off, n, mode, slices.Clone(nodes), move)
	})
}

// NUMANodes returns the system's online NUMA nodes, in order (Linux:
// /sys/devices/system/node/online). A kernel without NUMA support, and
// other platforms, give an error matching errors.ErrUnsupported.
func NUMANodes() ([]int, error) {
	return numaNodes()
}
