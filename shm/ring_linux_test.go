package shm

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/hugemap/mmap/internal/sysmmap"
)

// The ring as /proc/self/maps shows it: two shared mappings of one memfd,
// back to back, and nothing at all once it is closed.

// mapsIn is the lines of /proc/self/maps for the mappings that overlap
// [start, end).
func mapsIn(t *testing.T, start, end uintptr) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var lo, hi uintptr
		if _, err := fmt.Sscanf(line, "%x-%x", &lo, &hi); err != nil {
			t.Fatalf("maps line %q: %v", line, err)
		}
		if lo < end && hi > start {
			lines = append(lines, line)
		}
	}
	return lines
}

func TestRingAsTheKernelSeesIt(t *testing.T) {
	r, err := NewRing(5 * os.Getpagesize())
	if err != nil {
		t.Fatal(err)
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(r.Bytes())))
	size := uintptr(r.Size())
	lines := mapsIn(t, start, start+2*size)
	if len(lines) != 2 {
		t.Fatalf("the ring's window is %d mappings, want 2:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	var inode [2]string
	for half, line := range lines {
		var lo, hi uintptr
		var perms, offset, dev string
		var path string
		if _, err := fmt.Sscanf(line, "%x-%x %s %s %s %s %s", &lo, &hi, &perms, &offset, &dev, &inode[half], &path); err != nil {
			t.Fatalf("maps line %q: %v", line, err)
		}
		if want := start + uintptr(half)*size; lo != want || hi != want+size {
			t.Errorf("half %d is %#x-%#x, want %#x-%#x", half, lo, hi, want, want+size)
		}
		if perms != "rw-s" || offset != "00000000" || !strings.HasPrefix(path, "/memfd:hugemap-ring") {
			t.Errorf("half %d: %q, want a shared rw mapping of /memfd:hugemap-ring from offset 0", half, line)
		}
	}
	if inode[0] != inode[1] {
		t.Errorf("the halves map inodes %s and %s, want one object", inode[0], inode[1])
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if lines := ringLeft(t, start, start+2*size); len(lines) != 0 {
		t.Fatalf("after Close:\n%s", strings.Join(lines, "\n"))
	}
}

// ringLeft is what /proc/self/maps still shows of a ring in [start, end):
// its memfd or its PROT_NONE reservation. (The runtime may map something
// else there once the ring is gone.)
func ringLeft(t *testing.T, start, end uintptr) []string {
	t.Helper()
	var left []string
	for _, line := range mapsIn(t, start, end) {
		if f := strings.Fields(line); strings.Contains(line, "memfd:hugemap-ring") || len(f) == 5 && f[1] == "---p" {
			left = append(left, line)
		}
	}
	return left
}

// A ring whose second half fails to map leaves nothing behind: no
// reservation, no half, no descriptor.
func TestRingFailureLeavesNothing(t *testing.T) {
	fds := func() int {
		d, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(d)
	}
	before := fds()
	var reserved uintptr
	ringMap = func(at unsafe.Pointer, n uintptr, prot, flags, fd int) (unsafe.Pointer, error) {
		if at == nil {
			p, err := sysmmap.Map(at, n, prot, flags, fd, 0)
			reserved = uintptr(p)
			return p, err
		}
		if uintptr(at) != reserved {
			return nil, syscall.ENOMEM // the second half
		}
		return sysmmap.Map(at, n, prot, flags, fd, 0)
	}
	defer func() { ringMap = defaultRingMap }()
	r, err := NewRing(2 * os.Getpagesize())
	if !errors.Is(err, syscall.ENOMEM) || r != nil || !strings.Contains(err.Error(), "half 1") {
		t.Fatalf("NewRing with its second half refused: %v, %v; want ENOMEM naming half 1", r, err)
	}
	if reserved == 0 {
		t.Fatal("the seam saw no reservation")
	}
	if lines := ringLeft(t, reserved, reserved+4*uintptr(os.Getpagesize())); len(lines) != 0 {
		t.Fatalf("left mapped after the failure:\n%s", strings.Join(lines, "\n"))
	}
	if after := fds(); after != before {
		t.Fatalf("%d descriptors open before, %d after", before, after)
	}
}
