package mmap

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// SetNUMA and NUMANodes against the kernel: sysfs for the nodes, and
// /proc/self/numa_maps (read here with the tests' own parser) for the
// policy of each VMA and the node of its pages.

// needNUMA skips where the kernel has no NUMA support, and returns the
// online nodes.
func needNUMA(t *testing.T) []int {
	t.Helper()
	skipUnderQEMU(t, "numa_maps is the emulator's, and qemu-user passes mbind to the host")
	if _, err := os.Stat("/proc/self/numa_maps"); err != nil {
		if _, err := NUMANodes(); !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("no numa_maps, and NUMANodes says %v; want ErrUnsupported", err)
		}
		t.Skip("this kernel has no NUMA support (no /proc/self/numa_maps)")
	}
	nodes, err := NUMANodes()
	if err != nil {
		t.Fatal(err)
	}
	return nodes
}

// numaLine is the numa_maps line of the VMA that starts at p: its policy
// ("bind:0", "prefer (many):0", ...) and the pages on each node.
func numaLine(t testing.TB, p uintptr) (policy string, pages map[int]int) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/numa_maps")
	if err != nil {
		t.Fatal(err)
	}
	prefix := strconv.FormatUint(uint64(p), 16) + " "
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		pages = map[int]int{}
		// The policy may hold spaces ("weighted interleave:0"); the
		// key=value words come after it.
		words := strings.Fields(rest)
		i := 0
		for i < len(words) && !strings.Contains(words[i], "=") {
			i++
		}
		policy = strings.Join(words[:i], " ")
		for _, w := range words[i:] {
			k, v, _ := strings.Cut(w, "=")
			if node, err := strconv.Atoi(strings.TrimPrefix(k, "N")); err == nil && strings.HasPrefix(k, "N") {
				pages[node], _ = strconv.Atoi(v)
			}
		}
		return policy, pages
	}
	t.Fatalf("no numa_maps line for a VMA at %#x", p)
	return "", nil
}

func TestNUMANodesMatchesSysfs(t *testing.T) {
	nodes := needNUMA(t)
	dirs, err := filepath.Glob("/sys/devices/system/node/node[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, d := range dirs {
		n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "node"))
		if err != nil {
			continue
		}
		want = append(want, n)
	}
	slices.Sort(want)
	if !slices.Equal(nodes, want) {
		t.Fatalf("NUMANodes %v; sysfs has node directories %v", nodes, want)
	}
	t.Logf("online nodes %v", nodes)
}

// Every mode, on the first online node, is what numa_maps shows for the
// VMA, and the pages touched afterwards lie on that node.
func TestSetNUMAEveryMode(t *testing.T) {
	nodes := needNUMA(t)
	node := nodes[0]
	list := strconv.Itoa(node)
	for _, c := range []struct {
		mode   NUMAMode
		nodes  []int
		policy string
		since  [2]int // the kernel release that has the mode
	}{
		{NUMADefault, nil, "default", [2]int{2, 6}},
		{NUMABind, []int{node}, "bind:" + list, [2]int{2, 6}},
		{NUMAInterleave, []int{node}, "interleave:" + list, [2]int{2, 6}},
		{NUMAPreferred, []int{node}, "prefer:" + list, [2]int{2, 6}},
		{NUMAPreferredMany, []int{node}, "prefer (many):" + list, [2]int{5, 15}},
		{NUMALocal, nil, "local", [2]int{3, 8}},
		{NUMAWeightedInterleave, []int{node}, "weighted interleave:" + list, [2]int{6, 9}},
	} {
		t.Run(c.mode.String(), func(t *testing.T) {
			m := soloAnon(t, 8*page, "")
			defer mustUnmap(t, &m)
			err := m.SetNUMA(c.mode, c.nodes, false)
			if errors.Is(err, errors.ErrUnsupported) && !kernelAtLeast(t, c.since[0], c.since[1]) {
				t.Skipf("Linux %s lacks %v: %v", kernelRelease(t), c.mode, err)
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range 8 {
				m[i*page] = 1
			}
			policy, pages := numaLine(t, addr(m))
			if policy != c.policy || pages[node] != 8 {
				t.Fatalf("numa_maps: policy %q, pages per node %v; want %q, 8 on node %d", policy, pages, c.policy, node)
			}
			if s := mustStats(t, m); s.NodeBytes[node] != int64(8*page) {
				t.Fatalf("Stats.NodeBytes %v; want %d on node %d", s.NodeBytes, 8*page, node)
			}
		})
	}
}

// A sub-slice sets the pages under it: the kernel splits the VMA there.
// With move, pages already resident that break the policy are migrated;
// on a one-node machine none do, and the call must still succeed and
// leave them where they are.
func TestSetNUMAOnASubSliceWithMove(t *testing.T) {
	nodes := needNUMA(t)
	node := nodes[0]
	m := soloAnon(t, 8*page, "")
	defer mustUnmap(t, &m)
	for i := range 8 {
		m[i*page] = byte(i)
	}
	if err := m[2*page+1:4*page-1].SetNUMA(NUMABind, []int{node}, true); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("bind:%d", node)
	if policy, pages := numaLine(t, addr(m)+uintptr(2*page)); policy != want || pages[node] != 2 {
		t.Fatalf("pages 2-3: policy %q, pages %v; want %q with 2 pages on node %d", policy, pages, want, node)
	}
	if policy, _ := numaLine(t, addr(m)); policy != "default" {
		t.Fatalf("pages 0-1: policy %q; want default (untouched)", policy)
	}
	if policy, _ := numaLine(t, addr(m)+uintptr(4*page)); policy != "default" {
		t.Fatalf("pages 4-7: policy %q; want default (untouched)", policy)
	}
	for i := range 8 {
		if m[i*page] != byte(i) {
			t.Fatalf("page %d changed", i)
		}
	}
	if len(nodes) > 1 {
		// Move the bound pages to another node and see them there.
		other := nodes[1]
		if err := m[2*page:4*page].SetNUMA(NUMABind, []int{other}, true); err != nil {
			t.Fatal(err)
		}
		if _, pages := numaLine(t, addr(m)+uintptr(2*page)); pages[other] != 2 {
			t.Fatalf("after a move to node %d: pages %v", other, pages)
		}
	}
}

func TestSetNUMARefusesBadInput(t *testing.T) {
	nodes := needNUMA(t)
	m := soloAnon(t, 2*page, "") // a VMA of its own, so numa_maps has a line that starts at it
	defer mustUnmap(t, &m)
	missing := slices.Max(nodes) + 1
	for _, c := range []struct {
		mode  NUMAMode
		nodes []int
		want  error
	}{
		{NUMABind, []int{missing}, ErrNoSuchNode},
		{NUMAInterleave, []int{nodes[0], missing}, ErrNoSuchNode},
		{NUMAPreferred, []int{-1}, ErrNoSuchNode},
		{NUMABind, []int{1 << 30}, ErrNoSuchNode},
		{NUMABind, nil, ErrInvalidPolicy},
		{NUMAPreferred, []int{nodes[0], nodes[0]}, ErrInvalidPolicy},
		{NUMADefault, []int{nodes[0]}, ErrInvalidPolicy},
		{NUMALocal, []int{nodes[0]}, ErrInvalidPolicy},
		{NUMAMode(-1), nil, ErrInvalidPolicy},
		{NUMAWeightedInterleave + 1, []int{nodes[0]}, ErrInvalidPolicy},
	} {
		if err := m.SetNUMA(c.mode, c.nodes, true); !errors.Is(err, c.want) {
			t.Errorf("SetNUMA(%v, %v): got %v, want %v", c.mode, c.nodes, err, c.want)
		}
	}
	if policy, _ := numaLine(t, addr(m)); policy != "default" {
		t.Fatalf("a refused SetNUMA changed the policy to %q", policy)
	}
}

func TestParseNodeList(t *testing.T) {
	for in, want := range map[string][]int{"": {}, "0": {0}, "0-3": {0, 1, 2, 3}, "0,2-3,8": {0, 2, 3, 8}} {
		if got, ok := parseNodeList(in); !ok || !slices.Equal(got, want) {
			t.Errorf("parseNodeList(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"-", "a", "3-1", "-1", "1-", ",", "0-99999999999", "0-65535,1-65535", "1--2"} {
		if got, ok := parseNodeList(in); ok {
			t.Errorf("parseNodeList(%q) = %v; want refused", in, got)
		}
	}
}
