package mmap

import (
	"math"
	"os"
	"strconv"
	"strings"
	"unsafe"
)

// Stats on Linux: /proc/self/smaps and /proc/self/numa_maps, read for the
// VMAs that overlap a range of addresses. The parsers take the files' text
// and never panic, whatever it holds.

func osStats(r *region, off, n uintptr) (Stats, error) {
	lo := uintptr(unsafe.Add(r.base, off))
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return Stats{}, err
	}
	s, starts := parseSmaps(string(smaps), lo, lo+n)
	// numa_maps exists only on kernels built with NUMA support.
	if numa, err := os.ReadFile("/proc/self/numa_maps"); err == nil {
		s.NodeBytes = parseNumaMaps(string(numa), starts)
	}
	return s, nil
}

// smapsFields are the "Key: N kB" lines of smaps that Stats sums.
var smapsFields = []struct {
	key string
	to  func(*Stats) *int64
}{
	{"Rss:", func(s *Stats) *int64 { return &s.Rss }},
	{"Pss:", func(s *Stats) *int64 { return &s.Pss }},
	{"Shared_Clean:", func(s *Stats) *int64 { return &s.SharedClean }},
	{"Shared_Dirty:", func(s *Stats) *int64 { return &s.SharedDirty }},
	{"Private_Clean:", func(s *Stats) *int64 { return &s.PrivateClean }},
	{"Private_Dirty:", func(s *Stats) *int64 { return &s.PrivateDirty }},
	{"AnonHugePages:", func(s *Stats) *int64 { return &s.AnonHugePages }},
	{"FilePmdMapped:", func(s *Stats) *int64 { return &s.FilePmdMapped }},
	{"ShmemPmdMapped:", func(s *Stats) *int64 { return &s.ShmemPmdMapped }},
	{"Shared_Hugetlb:", func(s *Stats) *int64 { return &s.SharedHugetlb }},
	{"Private_Hugetlb:", func(s *Stats) *int64 { return &s.PrivateHugetlb }},
	{"Locked:", func(s *Stats) *int64 { return &s.Locked }},
	{"Swap:", func(s *Stats) *int64 { return &s.Swap }},
}

// parseSmaps sums the fields of the VMAs in smaps text that overlap
// [lo, hi), and returns their start addresses (numa_maps names VMAs by
// them). A VMA is a header line ("start-end perms offset dev inode path")
// and the lines up to the next header.
func parseSmaps(text string, lo, hi uintptr) (Stats, []uintptr) {
	var (
		s      Stats
		starts []uintptr
	)
	for len(text) > 0 {
		block := text
		start, end, ok := vmaHeader(block)
		// The block runs to the next header line.
		for i := 0; ; {
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				text = ""
				break
			}
			i += j + 1
			if _, _, next := vmaHeader(text[i:]); next {
				block, text = text[:i], text[i:]
				break
			}
		}
		if !ok || start >= hi || end <= lo {
			continue
		}
		starts = append(starts, start)
		s.Size = addSat(s.Size, int64(end-start))
		for _, f := range smapsFields {
			kb, err := strconv.ParseInt(firstField(block, f.key), 10, 64)
			if err == nil && kb > 0 {
				p := f.to(&s)
				*p = addSat(*p, mulSat(kb, 1024))
			}
		}
	}
	return s, starts
}

// vmaHeader reads the address range of the smaps or maps header line that
// text starts with; ok is false for any other line.
func vmaHeader(text string) (start, end uintptr, ok bool) {
	line, _, _ := strings.Cut(text, "\n")
	// Most lines are "Key: N kB"; a header's first word has a '-' in it.
	// Looking for it first spares splitting every line of a big file.
	word, _, _ := strings.Cut(line, " ")
	if !strings.Contains(word, "-") {
		return 0, 0, false
	}
	f := strings.Fields(line)
	if len(f) < 5 || strings.HasSuffix(f[0], ":") {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(f[0], "-")
	if !ok {
		return 0, 0, false
	}
	x, err1 := strconv.ParseUint(a, 16, 64)
	y, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil || y < x || uint64(uintptr(y)) != y {
		return 0, 0, false
	}
	return uintptr(x), uintptr(y), true
}

// parseNumaMaps sums, over the numa_maps lines of the VMAs that start at
// starts, the pages each node holds ("N<node>=<pages>") times the line's
// page size ("kernelpagesize_kB=<n>"). It returns an empty, non-nil map
// where no page is resident.
func parseNumaMaps(text string, starts []uintptr) map[int]int64 {
	want := make(map[uintptr]bool, len(starts))
	for _, p := range starts {
		want[p] = true
	}
	nodes := map[int]int64{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		start, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil || !want[uintptr(start)] {
			continue
		}
		pageKB := int64(4) // numa_maps has always named it; this is only a fallback
		for _, w := range f[1:] {
			if v, ok := strings.CutPrefix(w, "kernelpagesize_kB="); ok {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
					pageKB = n
				}
			}
		}
		for _, w := range f[1:] {
			k, v, ok := strings.Cut(w, "=")
			if !ok || len(k) < 2 || k[0] != 'N' {
				continue
			}
			node, err1 := strconv.Atoi(k[1:])
			pages, err2 := strconv.ParseInt(v, 10, 64)
			if err1 != nil || err2 != nil || node < 0 || pages < 0 {
				continue
			}
			nodes[node] = addSat(nodes[node], mulSat(mulSat(pages, pageKB), 1024))
		}
	}
	return nodes
}

// addSat and mulSat stop at math.MaxInt64 instead of wrapping, for counts
// of nonnegative numbers read from text that might be absurd.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func mulSat(a, b int64) int64 {
	if b != 0 && a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}
