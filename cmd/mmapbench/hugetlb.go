//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/hugemap/mmap"
)

// pool is a temporary enlargement of the default hugetlb pool.
type pool struct {
	mu    sync.Mutex // release runs from the main goroutine or the signal handler
	path  string     // nr_hugepages of the default size
	old   int        // its value before
	added int        // pages this program added
}

// reserveHugetlbPages makes sure the default hugetlb pool has bytes' worth of
// available pages, adding to nr_hugepages as root. The old value is put
// back by release, which cl also runs, so a signal or an error cannot leave
// the pages reserved. It returns why the hugetlb rows cannot run, or "".
func reserveHugetlbPages(cl *cleanup, bytes int) (*pool, string) {
	huge := mmap.DefaultHugetlbPageSize()
	if huge == 0 {
		return nil, "n/a (no hugetlb support)"
	}
	need := (bytes + huge - 1) / huge
	avail := 0
	if pools, err := mmap.HugetlbPools(); err == nil {
		for _, p := range pools {
			if p.Size == huge {
				avail = p.Available()
			}
		}
	}
	if avail >= need {
		return &pool{}, "" // already there: nothing to add or undo
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Sprintf("n/a (needs root to reserve %d hugetlb pages)", need-avail)
	}
	p := &pool{path: filepath.Join("/sys/kernel/mm/hugepages", fmt.Sprintf("hugepages-%dkB", huge>>10), "nr_hugepages")}
	var err error
	if p.old, err = readInt(p.path); err != nil {
		return nil, fmt.Sprintf("n/a (%v)", err)
	}
	want := p.old + need - avail
	// Register the undo before the change, so that a signal between the
	// two still puts the old value back.
	cl.add(p.release)
	p.added = need - avail
	progress("reserving %d hugetlb pages of %s (nr_hugepages %d -> %d)", p.added, bytesString(huge), p.old, want)
	if err := os.WriteFile(p.path, []byte(strconv.Itoa(want)), 0o644); err != nil {
		p.release()
		return nil, fmt.Sprintf("n/a (writing %s: %v)", p.path, err)
	}
	if got, _ := readInt(p.path); got < want {
		p.release()
		return nil, fmt.Sprintf("n/a (the kernel reserved %d of %d hugetlb pages)", got-p.old, need-avail)
	}
	return p, ""
}

// release puts nr_hugepages back as it was. It may run twice (once when
// the hugetlb rows end, once from the cleanup list); the second does nothing.
func (p *pool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.added == 0 {
		return
	}
	p.added = 0
	if err := os.WriteFile(p.path, []byte(strconv.Itoa(p.old)), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "mmapbench: could not put %s back to %d: %v\n", p.path, p.old, err)
		return
	}
	if got, err := readInt(p.path); err != nil || got != p.old {
		fmt.Fprintf(os.Stderr, "mmapbench: %s is %d, not %d as before (pages still in use?)\n", p.path, got, p.old)
		return
	}
	progress("hugetlb pool back to %d pages", p.old)
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
