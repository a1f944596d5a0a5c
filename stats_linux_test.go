package mmap

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
)

// Stats against the kernel's own account: each test reads smaps with the
// tests' own parser (vmaOf) and /proc/self/status, and expects Stats to
// match what they show for the same VMAs.

// statsFromVMA is what Stats should say of the one VMA v.
func statsFromVMA(v vma) Stats {
	f := func(k string) int64 { return v.fields[k] << 10 }
	return Stats{
		Size: int64(v.end - v.start), Rss: f("Rss"), Pss: f("Pss"),
		SharedClean: f("Shared_Clean"), SharedDirty: f("Shared_Dirty"),
		PrivateClean: f("Private_Clean"), PrivateDirty: f("Private_Dirty"),
		AnonHugePages: f("AnonHugePages"), FilePmdMapped: f("FilePmdMapped"), ShmemPmdMapped: f("ShmemPmdMapped"),
		SharedHugetlb: f("Shared_Hugetlb"), PrivateHugetlb: f("Private_Hugetlb"),
		Locked: f("Locked"), Swap: f("Swap"),
	}
}

// mustStats is m.Stats(), checked for what holds of every answer: NodeBytes
// present exactly where the kernel has numa_maps, naming only nodes that
// exist.
func mustStats(t *testing.T, m MMap) Stats {
	t.Helper()
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	_, numaErr := os.Stat("/proc/self/numa_maps")
	if (s.NodeBytes != nil) != (numaErr == nil) {
		t.Fatalf("NodeBytes %v with /proc/self/numa_maps %v", s.NodeBytes, numaErr)
	}
	for node := range s.NodeBytes {
		if _, err := os.Stat(fmt.Sprintf("/sys/devices/system/node/node%d", node)); err != nil {
			t.Fatalf("NodeBytes names node %d, which sysfs lacks: %v", node, err)
		}
	}
	return s
}

// nodesHoldWhatIsResident checks that NodeBytes sum to the resident bytes.
// Only for a VMA of the test's own: smaps and numa_maps are read one after
// the other, and the Go runtime may fault pages into a VMA it shares.
func nodesHoldWhatIsResident(t *testing.T, s Stats) {
	t.Helper()
	var sum int64
	for _, n := range s.NodeBytes {
		sum += n
	}
	if s.NodeBytes != nil && sum != s.Rss+s.SharedHugetlb+s.PrivateHugetlb {
		t.Fatalf("NodeBytes %v sum to %d; Rss %d and hugetlb %d+%d", s.NodeBytes, sum, s.Rss, s.SharedHugetlb, s.PrivateHugetlb)
	}
}

// sameCounts compares a and b but for NodeBytes (smaps has none).
func sameCounts(a, b Stats) bool {
	a.NodeBytes, b.NodeBytes = nil, nil
	return reflect.DeepEqual(a, b)
}

func TestStatsMatchesSmaps(t *testing.T) {
	skipUnderQEMU(t, "smaps is the emulator's")
	m := soloAnon(t, 16*page, "")
	defer mustUnmap(t, &m)
	for _, i := range []int{0, 3, 4, 9, 15} {
		m[i*page] = 1
	}
	s := mustStats(t, m)
	if want := statsFromVMA(ownVMA(t, m)); !sameCounts(s, want) {
		t.Fatalf("Stats %+v;\nsmaps says %+v", s, want)
	}
	nodesHoldWhatIsResident(t, s)
	if s.Size != int64(16*page) || s.Rss != int64(5*page) || s.PrivateDirty != int64(5*page) {
		t.Fatalf("Stats %+v; want Size 16 pages, Rss and Private_Dirty 5", s)
	}
	// A sub-slice counts its whole VMA.
	if sub := mustStats(t, m[page+1:page+2]); !sameCounts(sub, s) {
		t.Fatalf("Stats of a one-byte sub-slice %+v; want the whole VMA's %+v", sub, s)
	}
}

// Lock on part of a mapping splits its VMA in three: the whole mapping
// counts all three, a sub-slice only those it touches.
func TestStatsCountsTheVMAsUnderTheSlice(t *testing.T) {
	skipUnderQEMU(t, "smaps is the emulator's")
	needMemlock(t, 2*page)
	m := soloAnon(t, 8*page, "")
	defer mustUnmap(t, &m)
	if err := m[2*page : 4*page].Lock(); err != nil {
		t.Fatal(err)
	}
	defer m.Unlock()
	locked := vmaOf(t, m[2*page:])
	if locked.start != addr(m)+uintptr(2*page) || locked.end != addr(m)+uintptr(4*page) || locked.fields["Locked"] != kb(2*page) {
		t.Fatalf("after Lock of pages 2-3 the VMA at page 2 is %#x-%#x with Locked %d kB; want pages 2-3, %d kB", locked.start, locked.end, locked.fields["Locked"], kb(2*page))
	}
	if s := mustStats(t, m); s.Size != int64(8*page) || s.Locked != int64(2*page) || s.Rss != int64(2*page) {
		t.Fatalf("Stats of the whole mapping %+v; want Size 8 pages, Locked and Rss 2", s)
	}
	if s := mustStats(t, m[3*page:3*page+1]); !sameCounts(s, statsFromVMA(locked)) {
		t.Fatalf("Stats of a byte in page 3 %+v; want the locked VMA's %+v", s, statsFromVMA(locked))
	}
	if s := mustStats(t, m[3*page:5*page]); s.Size != int64(6*page) || s.Locked != int64(2*page) {
		t.Fatalf("Stats of pages 3-4 %+v; want the locked VMA and the one after it: Size 6 pages, Locked 2", s)
	}
}

func TestStatsOfLock(t *testing.T) {
	skipUnderQEMU(t, "smaps and status are the emulator's")
	const size = 16 << 12
	needMemlock(t, size)
	before := statusKB(t, "VmLck")
	m := mustMap(t, nil, size, RDWR, ANON|LOCK, 0)
	defer mustUnmap(t, &m)
	grew := statusKB(t, "VmLck") - before
	v := vmaOf(t, m)
	s := mustStats(t, m)
	if !sameCounts(s, statsFromVMA(v)) {
		t.Fatalf("Stats %+v;\nsmaps says %+v", s, statsFromVMA(v))
	}
	if grew != kb(size) || s.Locked < int64(size) {
		t.Fatalf("LOCK of %d bytes: VmLck grew by %d kB, Stats.Locked %d; want %d kB and at least %d", size, grew, s.Locked, kb(size), size)
	}
}

func TestStatsOfHugetlb(t *testing.T) {
	huge := DefaultHugetlbPageSize()
	if got := setPool(t, huge, 2).Available(); got < 2 {
		t.Skipf("the kernel found %d of 2 hugetlb pages (memory too fragmented)", got)
	}
	m, err := MapRegion(nil, 2*huge, RDWR, ANON|HUGETLB|POPULATE, 0)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("HUGETLB needs the cgo backend; this is %s: %v", Backend(), err)
	} else if err != nil {
		t.Fatal(err)
	}
	defer mustUnmap(t, &m)
	s := mustStats(t, m)
	if want := statsFromVMA(ownVMA(t, m)); !sameCounts(s, want) {
		t.Fatalf("Stats %+v;\nsmaps says %+v", s, want)
	}
	nodesHoldWhatIsResident(t, s)
	if s.Size != int64(2*huge) || s.PrivateHugetlb != int64(2*huge) || s.Rss != 0 {
		t.Fatalf("HUGETLB|POPULATE of 2 pages of %d: Stats %+v; want Size and Private_Hugetlb %d, Rss 0", huge, s, 2*huge)
	}
	// Any sub-slice rounds to the hugepages under it: here, the VMA.
	if sub := mustStats(t, m[huge+5:huge+6]); !sameCounts(sub, s) {
		t.Fatalf("Stats of a byte of the second hugepage %+v; want %+v", sub, s)
	}
}

// HUGE|POPULATE with the hugetlb pool empty takes transparent hugepages
// where the kernel has them. Whether it gets any at fault time is the
// kernel's call (THP is erratic on some VMs), so the probe is the kernel's
// own smaps for the same VMA, read around the Stats call, and Stats must
// say what it says.
func TestStatsOfTransparentHugepages(t *testing.T) {
	skipUnderQEMU(t, "smaps is the emulator's")
	huge := DefaultHugetlbPageSize()
	if os.Geteuid() == 0 && huge != 0 {
		setPool(t, huge, 0)
	}
	thp := THPSize()
	n := 2 * max(thp, 2<<20)
	m := mustMap(t, nil, n, RDWR, ANON|HUGE|POPULATE, 0)
	defer mustUnmap(t, &m)
	info, _ := m.Info()
	var s Stats
	for range 5 { // khugepaged may change the VMA between two reads
		before := vmaOf(t, m)
		s = mustStats(t, m)
		after := vmaOf(t, m)
		if fmt.Sprint(before) != fmt.Sprint(after) {
			continue
		}
		if !sameCounts(s, statsFromVMA(after)) {
			t.Fatalf("Stats %+v;\nsmaps says %+v", s, statsFromVMA(after))
		}
		switch {
		case info.Kind == HugetlbPages:
			if s.PrivateHugetlb < int64(n) {
				t.Fatalf("HUGE got hugetlb pages; Stats %+v", s)
			}
			t.Logf("HUGE took hugetlb pages (the pool was not emptied: not root)")
		case info.Kind == TransparentHugePages && s.AnonHugePages > 0:
			if s.AnonHugePages%int64(thp) != 0 || s.AnonHugePages > s.Rss {
				t.Fatalf("AnonHugePages %d: not whole %d-byte pages, or more than Rss %d", s.AnonHugePages, thp, s.Rss)
			}
			t.Logf("THP %q: %d of %d bytes in transparent hugepages", THPMode(), s.AnonHugePages, n)
		case info.Kind == TransparentHugePages:
			t.Logf("THP %q: the kernel gave no transparent hugepages at fault time (erratic here); Stats agrees", THPMode())
		default:
			if s.AnonHugePages != 0 && THPMode() != "always" {
				t.Fatalf("HUGE fell back to %v pages with THP %q, yet AnonHugePages %d", info.Kind, THPMode(), s.AnonHugePages)
			}
			t.Logf("HUGE fell back to %v pages (THP %q, backend %s)", info.Kind, THPMode(), Backend())
		}
		if s.Rss+s.PrivateHugetlb < int64(n) {
			t.Fatalf("POPULATE left pages out: Stats %+v for %d bytes", s, n)
		}
		return
	}
	t.Skip("smaps changed under every read (khugepaged at work); nothing to compare")
}

// A file map: the page cache's pages, and where this kernel caches a file
// read sequentially in large folios and maps them with PMD entries (Linux
// 6.18 ext4 does; tmpfs and older kernels do not), FilePmdMapped. The
// kernel's smaps for the VMA is the probe; Stats must match it.
func TestStatsOfFileMap(t *testing.T) {
	skipUnderQEMU(t, "smaps is the emulator's")
	// 64 MiB read back in 128 KiB steps, as cat does: readahead grows its
	// folios as the reads go on (one read of the whole file, or 8 MiB,
	// left this ext4 with at most a few PMD-mapped MiB; this, 58 of 64).
	const size = 64 << 20
	f := tempFile(t, pattern(size), os.O_RDWR)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if memoryOnlyFS(t, f) == "" {
		evictAll(t, f) // so that the read below brings it back in large folios, where the kernel uses them
	}
	r, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, make([]byte, 128<<10))
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	m := mustMap(t, f, -1, RDONLY, POPULATE, 0)
	defer mustUnmap(t, &m)
	s := mustStats(t, m)
	if want := statsFromVMA(ownVMA(t, m)); !sameCounts(s, want) {
		t.Fatalf("Stats %+v;\nsmaps says %+v", s, want)
	}
	nodesHoldWhatIsResident(t, s)
	if s.Size != size || s.Rss != size || s.AnonHugePages != 0 {
		t.Fatalf("Stats of a populated read-only file map %+v; want Size and Rss %d, no anonymous hugepages", s, size)
	}
	t.Logf("FilePmdMapped %d of %d bytes (mapping at %#x)", s.FilePmdMapped, size, addr(m))
}

// The parsers take any text without panicking, and read a well-formed
// sample exactly.
func TestParseStatsOddInput(t *testing.T) {
	sample := `1000-3000 rw-p 00000000 00:00 0 
Size:                  8 kB
Rss:                   4 kB
Pss:                   4 kB
Private_Dirty:         4 kB
AnonHugePages:         0 kB
Locked:                4 kB
VmFlags: rd wr mr mw me ac
3000-4000 r--p 00000000 08:01 12 /x y
Rss:                   4 kB
Shared_Clean:          4 kB
5000-6000 rw-p 00000000 00:00 0
Rss: 999 kB
`
	s, starts := parseSmaps(sample, 0x2000, 0x3001)
	want := Stats{Size: 0x3000, Rss: 8 << 10, Pss: 4 << 10, PrivateDirty: 4 << 10, SharedClean: 4 << 10, Locked: 4 << 10}
	if !sameCounts(s, want) || fmt.Sprint(starts) != fmt.Sprint([]uintptr{0x1000, 0x3000}) {
		t.Fatalf("parseSmaps of the sample = %+v, %x; want %+v, [1000 3000]", s, starts, want)
	}
	nodes := parseNumaMaps("1000 default anon=1 dirty=1 N0=1 N1=2 kernelpagesize_kB=4\n3000 bind:1 file=/x N1=1 kernelpagesize_kB=2048\n5000 default N0=7\n", starts)
	if fmt.Sprint(nodes) != fmt.Sprint(map[int]int64{0: 4 << 10, 1: 8<<10 + 2<<20}) {
		t.Fatalf("parseNumaMaps = %v", nodes)
	}
	for _, odd := range []string{
		"", "\n", "-", "1-", "-1 a b c d", "zz-yy a b c d\nRss: 4 kB", "2000-1000 a b c d\nRss: 4 kB",
		"1000-3000 a b c d\nRss:", "1000-3000 a b c d\nRss: -5 kB", "1000-3000 a b c d\nRss: 99999999999999999999 kB",
		"1000-3000 a b c d\nRss: 9223372036854775807 kB\nPss: 9223372036854775807 kB",
		"0-ffffffffffffffff a b c d\nSize: 1 kB", "1000-3000 a b c d", strings.Repeat("1000-3000 a b c d\n", 3),
		"Rss: 4 kB\n1000-3000 a b c d\nRss: 4 kB\n", "1000-3000 a b c d\x00\nRss:\t4 kB",
	} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("parsing %q panicked: %v", odd, p)
				}
			}()
			s, starts := parseSmaps(odd, 0, ^uintptr(0))
			if s.Rss < 0 || s.Pss < 0 || s.Size < 0 {
				t.Errorf("parseSmaps(%q) = %+v: negative", odd, s)
			}
			parseNumaMaps(odd, starts)
			parseNumaMaps("1000 N0=99999999999999999 kernelpagesize_kB=99999999999 N=1 N-1=2 Nx=3 N2=-1\n"+odd, []uintptr{0x1000})
		}()
	}
}

func FuzzParseStats(f *testing.F) {
	f.Add("1000-3000 rw-p 00000000 00:00 0\nRss: 4 kB\n", "1000 default N0=1 kernelpagesize_kB=4\n")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, smaps, numa string) {
		s, starts := parseSmaps(smaps, 0, ^uintptr(0))
		if s.Size < 0 || s.Rss < 0 || s.Locked < 0 {
			t.Fatalf("negative count %+v", s)
		}
		for _, n := range parseNumaMaps(numa, starts) {
			if n < 0 {
				t.Fatal("negative node bytes")
			}
		}
	})
}
