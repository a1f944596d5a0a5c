package mmap

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// Growth in place as the kernel sees it: the reservation and what Grow
// maps over it in /proc/self/maps and smaps, the hints on the grown part,
// and nothing left once the mapping is gone.

// mapping is one line of /proc/self/maps.
type mapping struct {
	start, end uintptr
	perms      string
}

// mappingsIn lists the lines of /proc/self/maps that overlap [lo, hi),
// clamped to it.
func mappingsIn(t testing.TB, lo, hi uintptr) []mapping {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		a, b, _ := strings.Cut(fs[0], "-")
		start, _ := strconv.ParseUint(a, 16, 64)
		end, _ := strconv.ParseUint(b, 16, 64)
		if uintptr(start) < hi && uintptr(end) > lo {
			// Clamped: an anonymous VMA may have merged with a neighbour.
			out = append(out, mapping{max(uintptr(start), lo), min(uintptr(end), hi), fs[1]})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantLayout checks that [lo, hi) is mapped as parts: each a length and the
// perms of the maps lines that cover it, whole (the kernel may split or
// merge lines; the test does not care how).
func wantLayout(t testing.TB, lo, hi uintptr, parts ...any) {
	t.Helper()
	lines := mappingsIn(t, lo, hi)
	at := lo
	for i := 0; i < len(parts); i += 2 {
		n, perms := uintptr(parts[i].(int)), parts[i+1].(string)
		for end := at + n; at < end; {
			if len(lines) == 0 || lines[0].start > at || lines[0].perms != perms {
				t.Fatalf("at +%#x (part %d, %d bytes %s): /proc/self/maps has %s", at-lo, i/2, n, perms, describeLines(lines, lo))
			}
			if lines[0].end > end {
				t.Fatalf("at +%#x: the %s line runs on to +%#x, past the %d-byte part", at-lo, perms, lines[0].end-lo, n)
			}
			at, lines = lines[0].end, lines[1:]
		}
	}
	if at != hi || len(lines) != 0 {
		t.Fatalf("past the parts (+%#x of +%#x): %s", at-lo, hi-lo, describeLines(lines, lo))
	}
}

func describeLines(lines []mapping, lo uintptr) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "[+%#x, +%#x) %s; ", l.start-lo, l.end-lo, l.perms)
	}
	if b.Len() == 0 {
		return "nothing"
	}
	return b.String()
}

// at is the one-byte slice at off bytes past m's first byte, which may lie
// past len(m): vmaOf and vmFlags look at the mapping that holds it.
func at(m MMap, off int) MMap {
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(&m[0]), off)), 1)
}

// needProtNoneInMaps skips a test that reads reservations in
// /proc/self/maps where it does not show them: qemu-user's emulation of it
// for 32-bit guests leaves PROT_NONE, MAP_NORESERVE mappings out. Probed
// with a plain mmap like a reservation, not the package under test.
func needProtNoneInMaps(t testing.TB) {
	t.Helper()
	b, err := syscall.Mmap(-1, 0, page, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(b)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if len(mappingsIn(t, p, p+uintptr(page))) == 0 {
		t.Skip("/proc/self/maps here does not show a PROT_NONE, MAP_NORESERVE mapping (qemu-user's emulation of it does not for 32-bit guests)")
	}
}

func TestMaxReservationAsTheKernelSeesIt(t *testing.T) {
	needProtNoneInMaps(t)
	const max = 64 << 20
	m := mapMaxOrSkip(t, nil, 3*page+1, max, RDWR, ANON, 0)
	base := addr(m)
	if pmd := THPSize(); pmd > 0 && base%uintptr(pmd) != 0 {
		t.Fatalf("a %d-byte reservation starts at %#x, not on a %d-byte boundary", max, base, pmd)
	}
	wantLayout(t, base, base+max, 4*page, "rw-p", max-4*page, "---p")
	// The reservation holds no memory and no commit charge.
	tail := vmaOf(t, at(m, 4*page))
	if tail.fields["Rss"] != 0 || !hasFlag(vmFlags(t, at(m, 4*page)), "nr") || hasFlag(vmFlags(t, at(m, 4*page)), "ac") {
		t.Fatalf("the reservation: Rss %d kB, VmFlags %v; want 0 kB, nr (MAP_NORESERVE), no ac (accounted)", tail.fields["Rss"], vmFlags(t, at(m, 4*page)))
	}

	mustGrow(t, &m, nil, 40<<20, false)
	wantLayout(t, base, base+max, 40<<20, "rw-p", max-40<<20, "---p")
	m[40<<20-1] = 1

	// Resize within the maximum gives the tail back to the reservation.
	if err := m.Resize(nil, page, false); err != nil || addr(m) != base {
		t.Fatalf("Resize to one page within the maximum: %v, at %#x (was %#x)", err, addr(m), base)
	}
	wantLayout(t, base, base+max, page, "rw-p", max-page, "---p")

	mustUnmap(t, &m)
	if lines := mappingsIn(t, base, base+max); len(lines) != 0 {
		t.Fatalf("after Unmap the reservation still holds %s", describeLines(lines, base))
	}
}

// A Resize past the maximum moves the mapping and releases the whole old
// reservation.
func TestResizePastMaxReleasesTheReservation(t *testing.T) {
	const max = 8 << 20
	m := mapMaxOrSkip(t, nil, 2<<20, max, RDWR, ANON, 0)
	old := addr(m)
	m[0] = 9
	if err := m.Resize(nil, 3*max, false); err != nil {
		t.Fatal(err)
	}
	defer func() { mustUnmap(t, &m) }()
	if m[0] != 9 {
		t.Fatal("Resize past the maximum lost the contents")
	}
	now := addr(m)
	for _, l := range mappingsIn(t, old, old+max) {
		if l.start < now || l.end > now+3*max {
			t.Fatalf("after a Resize past the maximum, [+%#x, +%#x) %s of the old reservation is still mapped", l.start-old, l.end-old, l.perms)
		}
	}
}

// A file reservation starts where its address and the file offset agree
// modulo the PMD size, so the kernel can map page-cache folios whole.
func TestMaxFileMapIsPMDAlignedWithTheOffset(t *testing.T) {
	pmd := THPSize()
	if pmd == 0 {
		t.Skip("no transparent hugepages on this kernel (THPSize 0): nothing to align to")
	}
	f := tempFile(t, pattern(8*page), os.O_RDWR)
	for _, off := range []int64{0, int64(3 * page)} {
		for _, flags := range []int{0, HUGE} {
			m := mapMaxOrSkip(t, f, page, 2*pmd, RDONLY, flags, off)
			if got := addr(m) % uintptr(pmd); got != uintptr(off)%uintptr(pmd) {
				t.Errorf("offset %d, flags %#x: address %#x is %#x past a PMD boundary; want %#x", off, flags, addr(m), got, off%int64(pmd))
			}
			mustUnmap(t, &m)
		}
	}
}

// The hints apply to what Grow maps, as the page tables (pagemap) and
// smaps show them, and not to a mapping made without them (the control
// that shows the check can fail).
func TestGrowAppliesTheHints(t *testing.T) {
	skipUnderQEMU(t, "pagemap is the emulator's")
	const from, to = 16, 48 // pages
	for _, c := range []struct {
		flags   int
		present int // pages of the grown part present in the page tables
		vmFlag  string
	}{
		{0, 0, ""},
		{POPULATE, to - from, ""},
		{LOCK, to - from, "lo"},
		{LOCK_ONFAULT, 0, "lo"},
	} {
		if c.flags == LOCK_ONFAULT && Backend() != "cgo" {
			continue // ErrUnsupported without cgo, as TestNoCgoHints checks
		}
		if c.flags&(LOCK|LOCK_ONFAULT) != 0 {
			needMemlock(t, to*page)
		}
		m := mapMaxOrSkip(t, nil, from*page, to*page, RDWR, ANON|c.flags, 0)
		mustGrow(t, &m, nil, to*page, false)
		if got, _ := pageState(t, m[from*page:]); got != c.present {
			t.Errorf("flags %#x: %d pages of the grown part present; want %d", c.flags, got, c.present)
		}
		if got := vmFlags(t, at(m, (to-1)*page)); c.vmFlag != "" && !hasFlag(got, c.vmFlag) {
			t.Errorf("flags %#x: the grown part's VmFlags %v lack %s", c.flags, got, c.vmFlag)
		}
		mustUnmap(t, &m)
	}
}

// HUGE: the grown part gets the kind of pages the mapping got, whichever
// rung of the ladder that was here.
func TestGrowKeepsTheKindOfPages(t *testing.T) {
	skipUnderQEMU(t, "madvise(MADV_HUGEPAGE) is the emulator's, and smaps the host's")
	huge := max(DefaultHugetlbPageSize(), THPSize())
	if huge == 0 {
		t.Skip("no hugepages of any kind on this kernel")
	}
	lockPool(t) // no other run of these tests changes the pool meanwhile
	m := mapMaxOrSkip(t, nil, huge, 4*huge, RDWR, ANON|HUGE, 0)
	defer func() { mustUnmap(t, &m) }()
	info, _ := m.Info()
	if info.Kind == HugetlbPages && poolOf(t, info.PageSize).Available() < 2 {
		// Best effort got hugetlb pages, and growing must take more: a
		// pool that has too few refuses the Grow, changing nothing.
		if err := m.Grow(nil, 3*huge, false); !errors.Is(err, ErrNoHugetlbPages) || len(m) != huge {
			t.Fatalf("Grow by 2 hugetlb pages with fewer in the pool: %v, %d bytes; want ErrNoHugetlbPages, %d", err, len(m), huge)
		}
		return
	}
	mustGrow(t, &m, nil, 3*huge, false)
	if after, _ := m.Info(); after != info {
		t.Fatalf("Info changed with Grow: %+v -> %+v", info, after)
	}
	last := at(m, 3*huge-1)
	switch info.Kind {
	case HugetlbPages:
		if v := vmaOf(t, last); v.fields["KernelPageSize"] != kb(info.PageSize) {
			t.Fatalf("the grown part of a hugetlb mapping has KernelPageSize %d kB; want %d", v.fields["KernelPageSize"], kb(info.PageSize))
		}
	case TransparentHugePages:
		if !hasFlag(vmFlags(t, last), "hg") {
			t.Fatalf("the grown part of a THP mapping is not advised MADV_HUGEPAGE: VmFlags %v", vmFlags(t, last))
		}
	default:
		if Backend() == "cgo" && THPMode() != "never" {
			t.Fatalf("HUGE gave base pages with THP %q", THPMode())
		}
	}
}

// HUGETLB grows from the pool, fails clearly and changes nothing when the
// pool runs dry, and a Resize past the maximum of a mapping grown in
// hugetlb parts (which the kernel never merges, so mremap refuses them)
// moves by copying.
func TestGrowHugetlb(t *testing.T) {
	if Backend() != "cgo" {
		m, err := MapRegionMax(nil, page, 2*page, RDWR, ANON|HUGETLB, 0)
		if !errors.Is(err, errors.ErrUnsupported) || m != nil {
			t.Fatalf("HUGETLB without cgo: %v; want ErrUnsupported", err)
		}
		return
	}
	huge := DefaultHugetlbPageSize()
	pool := setPool(t, huge, 8)
	if pool.Available() < 8 {
		t.Skipf("the kernel found %d of 8 hugetlb pages (memory too fragmented)", pool.Available())
	}
	m := mapMaxOrSkip(t, nil, huge/2, 3*huge, RDWR, ANON|HUGETLB, 0)
	base := addr(m)
	wantLayout(t, base, base+uintptr(3*huge), huge, "rw-p", 2*huge, "---p")
	copy(m, "first")
	mustGrow(t, &m, nil, 2*huge+1, false)
	m[2*huge] = 2
	wantLayout(t, base, base+uintptr(3*huge), 3*huge, "rw-p")
	if got := poolOf(t, huge).Available(); got != pool.Available()-3 {
		t.Fatalf("%d pages available after growing to 3; want %d", got, pool.Available()-3)
	}
	if err := m.Grow(nil, 3*huge+1, false); !errors.Is(err, ErrWouldMove) {
		t.Fatalf("Grow past the maximum: %v; want ErrWouldMove", err)
	}
	if err := m.Resize(nil, 4*huge, false); err != nil {
		t.Fatalf("Resize past the maximum of a mapping in hugetlb parts: %v", err)
	}
	if string(m[:5]) != "first" || m[2*huge] != 2 {
		t.Fatal("Resize past the maximum lost the contents")
	}
	if info, _ := m.Info(); info.Kind != HugetlbPages {
		t.Fatalf("moved by Resize: Info %+v", info)
	}
	mustUnmap(t, &m)
	if !poolSame(t, pool) {
		t.Fatalf("pool after Unmap: %+v; want %+v", poolOf(t, huge), pool)
	}

	// A pool that runs dry refuses the grown part and changes nothing.
	m = mapMaxOrSkip(t, nil, 6*huge, 16*huge, RDWR, ANON|HUGETLB, 0)
	base = addr(m)
	live := liveMappings()
	err := m.Grow(nil, 9*huge, false)
	if !errors.Is(err, ErrNoHugetlbPages) {
		t.Fatalf("Grow by 3 hugetlb pages with 2 left in the pool: %v; want ErrNoHugetlbPages", err)
	}
	if len(m) != 6*huge || addr(m) != base || liveMappings() != live {
		t.Fatal("a Grow refused by the pool changed the mapping or the registry")
	}
	wantLayout(t, base, base+uintptr(16*huge), 6*huge, "rw-p", 10*huge, "---p")
	mustGrow(t, &m, nil, 8*huge, false)
	mustUnmap(t, &m)
	if lines := mappingsIn(t, base, base+uintptr(16*huge)); len(lines) != 0 {
		t.Fatalf("after Unmap the reservation still holds %s", describeLines(lines, base))
	}
	if !poolSame(t, pool) {
		t.Fatalf("pool after Unmap: %+v; want %+v", poolOf(t, huge), pool)
	}
}

// HUGE rounds an anonymous reservation up to the hugetlb page size for the
// ladder's first rung; when the mapping gets other pages, what lies past
// its maximum (in base pages) goes back at once, and Unmap leaves nothing
// of the rounded reservation either way.
func TestHugeMaxGivesBackTheRounding(t *testing.T) {
	needProtNoneInMaps(t)
	huge := DefaultHugetlbPageSize()
	if huge == 0 {
		t.Skip("no hugetlb page size on this kernel: HUGE does not round")
	}
	lockPool(t)
	m := mapMaxOrSkip(t, nil, page, 5*page, RDWR, ANON|HUGE, 0)
	base := addr(m)
	info, _ := m.Info()
	if info.Kind != HugetlbPages {
		if lines := mappingsIn(t, base+uintptr(5*page), base+uintptr(huge)); len(lines) != 0 {
			t.Fatalf("%v pages: past the 5-page maximum the rounded reservation still holds %s", info.Kind, describeLines(lines, base))
		}
	}
	mustGrow(t, &m, nil, 5*page, false)
	mustUnmap(t, &m)
	if lines := mappingsIn(t, base, base+uintptr(huge)); len(lines) != 0 {
		t.Fatalf("%v pages: after Unmap the reservation still holds %s", info.Kind, describeLines(lines, base))
	}
}
