//go:build linux

package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"github.com/hugemap/mmap"
	"github.com/hugemap/mmap/internal/scan"
)

// mapUnmap: map and unmap one page, the same page of the same descriptor
// (or anonymous memory when f is nil), through syscall.Mmap, the C floor
// and this package; for a file also through syscall.Mmap with the
// descriptor held as MapRegion holds it, which tells the price of that
// safety from the rest.
func (b *bench) mapUnmap(what string, f *os.File) error {
	// Many short rounds: a syscall pair costs microseconds, and the rows
	// compare rounds run back to back (pairedRow).
	const ops = 2000
	// Anonymous: private read-write. File: shared read-only.
	fd, sysProt, sysFlags, prot, flags := -1, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON, mmap.RDWR, mmap.ANON
	test, args := "mapunmap-anon", []string(nil)
	if f != nil {
		fd, sysProt, sysFlags, prot, flags = int(f.Fd()), syscall.PROT_READ, syscall.MAP_SHARED, mmap.RDONLY, 0
		test, args = "mapunmap-file", []string{f.Name()}
	}
	page := b.page
	sysPair := func() error {
		m, err := syscall.Mmap(fd, 0, page, sysProt, sysFlags)
		if err != nil {
			return err
		}
		return syscall.Munmap(m)
	}
	var held variant
	if f != nil {
		rc, err := f.SyscallConn()
		if err != nil {
			return err
		}
		// One closure for every call, made here: a new one per call would
		// be an allocation that MapRegion does not make.
		var pairErr error
		pair := func(uintptr) { pairErr = sysPair() }
		held = func() (float64, error) {
			return perOp(ops, func() error {
				if err := rc.Control(pair); err != nil {
					return err
				}
				return pairErr
			})
		}
	}
	oursPair := func() (float64, error) {
		return perOp(ops, func() error {
			m, err := mmap.MapRegion(f, page, prot, flags, 0)
			if err != nil {
				return err
			}
			return m.Unmap()
		})
	}
	// The C floor runs apart, against this package alone: each of its
	// rounds starts a process, and the round after one finds the kernel
	// busy with the exit, which disturbed the rows with the target.
	const sys, ours, sysHeld = 0, 1, 2 // in t
	const cFloor, cOurs = 0, 1         // in tc
	t, err := interleaveRounds(6*b.rounds, func() (float64, error) { return perOp(ops, sysPair) }, oursPair, held)
	if err != nil {
		return err
	}
	tc, err := interleaveRounds(3*b.rounds, b.cVariant(test, ops, args...), oursPair)
	if err != nil {
		return err
	}
	what = "map+unmap, " + what
	oursCell := cell{Name: "MapRegion+Unmap"}
	vsSys := pairedRow(what, "map", t, sys, ours, cell{Name: "syscall.Mmap+Munmap"}, oursCell, 1.10)
	r := t.ratios(ours, sys)
	// What the package adds is a fixed cost a pair, so the ratio depends on
	// what the kernel's half costs on the machine: say where it would hold.
	// The costs are the median per-round ratios' excess, in the median
	// round's time of syscall.Mmap, so that they add up to the row's ratio.
	excess := func(ratios []float64) float64 { return (quantile(ratios, 0.5) - 1) * t.median(sys) }
	extra := excess(r)
	spread := fmt.Sprintf("together %s a pair, which is within the target wherever syscall.Mmap+Munmap takes %s or more (here %s); round by round, ours/base ran %.2fx to %.2fx (quartiles) in this run",
		nsString(extra), nsString(extra/(vsSys.Target.MaxRatio-1)), nsString(t.median(sys)), quantile(r, 0.25), quantile(r, 0.75))
	if f == nil {
		vsSys.missedBecause("syscall.Mmap keeps no record of its mapping; MapRegion registers it, so that Unmap can refuse a derived slice or a second unmap: %s", spread)
		b.add(vsSys)
	} else {
		vsSys.missedBecause("syscall.Mmap takes a bare descriptor number; MapRegion holds f's descriptor for the call, so that a concurrent Close cannot hand the number to another file (syscall.Mmap so held took %s, %s more), and registers the mapping, so that Unmap can refuse a derived slice (the other %s): %s",
			nsString(t.median(sysHeld)), nsString(excess(t.ratios(sysHeld, sys))), nsString(extra-excess(t.ratios(sysHeld, sys))), spread)
		b.add(vsSys, pairedRow(what, "map", t, sysHeld, ours, cell{Name: "syscall.Mmap+Munmap, descriptor held"}, oursCell, 0))
	}
	// The C loop is the floor a Go program cannot reach: Go's own system
	// call path (syscall.Mmap) costs more than it, so it has no target.
	b.add(pairedRow(what, "map", tc, cFloor, cOurs, b.cCell("C mmap+munmap loop", 0), oursCell, 0))
	return nil
}

// typedView: sum the page-cached file as float32s, resident and mapped once,
// through an As view, a hand-written unsafe.Slice, a binary.LittleEndian
// loop over the bytes, and os.File with binary.Read. As must cost nothing
// per element over the hand-written slice.
func (b *bench) typedView() error {
	m, err := mmap.Map(b.large, mmap.RDONLY, mmap.POPULATE)
	if err != nil {
		return err
	}
	defer m.Unmap()
	var sink float32
	sum := func(f func() float32) variant {
		return func() (float64, error) {
			return perOp(1, func() error { sink += f(); return nil })
		}
	}
	chunk := make([]float32, 64<<10)
	best, err := interleave(b.rounds,
		sum(func() float32 {
			return scan.Values(unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(m))), len(m)/4))
		}),
		sum(func() float32 {
			v, err := mmap.As[float32](m)
			if err != nil {
				panic(err) // a page-aligned mapping of a whole number of float32s
			}
			return scan.Values(v)
		}),
		sum(func() float32 { return scan.Float32sLE(m) }),
		sum(func() float32 {
			r := bufio.NewReaderSize(io.NewSectionReader(b.large, 0, int64(len(m))), 1<<20)
			var s float32
			for left := len(m) / 4; left > 0; left -= len(chunk) {
				part := chunk[:min(len(chunk), left)]
				if err := binary.Read(r, binary.LittleEndian, part); err != nil {
					panic(err)
				}
				s += scan.Values(part)
			}
			return s
		}))
	if err != nil {
		return err
	}
	runtime.KeepAlive(sink)
	what := fmt.Sprintf("sum a %s page-cached file as float32", bytesString(b.size))
	as := cell{Name: "As[float32] view", NS: best[1]}
	b.add(
		newRow(what, "view", cell{Name: "unsafe.Slice by hand", NS: best[0]}, as, 1.05),
		newRow(what, "view", cell{Name: "binary.LittleEndian loop", NS: best[2]}, as, 0),
		newRow(what, "view", cell{Name: "os.File+binary.Read", NS: best[3]}, as, 0))
	return nil
}

// arenas: first touch of a fresh anonymous arena (map, then write one byte
// per base page; the unmap is not timed) and random dependent 8-byte loads
// over a populated arena, with base pages and with hugepages. Transparent
// hugepages are measured without a hugetlb pool (HUGE would take hugetlb
// pages from one); hugetlb pages with a pool reserved for just those rows.
func (b *bench) arenas(cl *cleanup) error {
	size, page := b.size, b.page
	touchWhat := fmt.Sprintf("first touch, %s anonymous", bytesString(size))
	loadWhat := fmt.Sprintf("random loads, %s arena", bytesString(size))
	touch := func(m []byte) {
		for i := 0; i < len(m); i += page {
			m[i] = 1
		}
	}
	sysTouch := func() (float64, error) {
		t0 := time.Now()
		m, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			return 0, err
		}
		touch(m)
		d := time.Since(t0)
		return float64(d.Nanoseconds()), syscall.Munmap(m)
	}
	// got records what the last mapping of each variant got.
	got := map[int]string{}
	ourTouch := func(flags int) variant {
		return func() (float64, error) {
			before := vmstat()
			t0 := time.Now()
			m, err := mmap.MapRegion(nil, size, mmap.RDWR, mmap.ANON|flags, 0)
			if err != nil {
				return 0, err
			}
			touch(m)
			d := time.Since(t0)
			got[flags] = describe(m)
			if info, _ := m.Info(); info.Kind == mmap.TransparentHugePages {
				// A slow THP row is the kernel compacting memory
				// to find 2 MiB blocks, inside the page faults.
				after := vmstat()
				got[flags] += fmt.Sprintf(", %d compaction stalls", after["compact_stall"]-before["compact_stall"])
			}
			return float64(d.Nanoseconds()), m.Unmap()
		}
	}
	// A round maps and touches the whole arena once per variant, the
	// longest rows of the run: fewer rounds here keep the default run near
	// a minute.
	touchRounds := (b.rounds + 1) / 2
	progress("  first touch: syscall.Mmap, ANON, ANON|POPULATE, ANON|HUGE; %d rounds", touchRounds)
	best, err := interleave(touchRounds, sysTouch, ourTouch(0), ourTouch(mmap.POPULATE), ourTouch(mmap.HUGE))
	if err != nil {
		return err
	}
	// The rows go out grouped, first touch then loads, whatever happens.
	var touchRows, loadRows []row
	defer func() { b.add(append(touchRows, loadRows...)...) }()
	baseCell := cell{Name: "syscall.Mmap, base pages", NS: best[0]}
	touchRows = append(touchRows,
		newRow(touchWhat, "arena", baseCell, cell{Name: "MapRegion ANON", NS: best[1], Got: got[0]}, 0),
		newRow(touchWhat, "arena", baseCell, cell{Name: "MapRegion ANON|POPULATE", NS: best[2], Got: got[mmap.POPULATE]}, 0),
		newRow(touchWhat, "arena", baseCell, cell{Name: "MapRegion ANON|HUGE", NS: best[3], Got: got[mmap.HUGE]}, 0))

	// The base-page arena for the random loads stays mapped through the
	// hugetlb rows, which measure it again beside the hugetlb arena.
	base, err := mmap.MapRegion(nil, size, mmap.RDWR, mmap.ANON|mmap.POPULATE, 0)
	if err != nil {
		return err
	}
	defer base.Unmap()
	thp, err := mmap.MapRegion(nil, size, mmap.RDWR, mmap.ANON|mmap.HUGE|mmap.POPULATE, 0)
	if err != nil {
		return err
	}
	thpGot := describe(thp)
	progress("  random loads: base pages, ANON|HUGE")
	best, err = interleave(b.rounds, loads(base), loads(thp))
	thp.Unmap()
	if err != nil {
		return err
	}
	loadRows = append(loadRows, newRow(loadWhat, "load", cell{Name: "ANON|POPULATE", NS: best[0], Got: describe(base)},
		cell{Name: "ANON|HUGE|POPULATE", NS: best[1], Got: thpGot}, 0))

	// hugetlb: a pool of size bytes, for these rows only.
	hugeName := "MapRegion ANON|HUGETLB"
	p, na := reserveHugetlbPages(cl, size)
	if na != "" {
		b.note("hugetlb rows skipped: %s", na)
		touchRows = append(touchRows, newRow(touchWhat, "arena", baseCell, cell{Name: hugeName, NA: na}, 0.40))
		loadRows = append(loadRows, newRow(loadWhat, "load", cell{Name: "ANON|POPULATE", NS: loadRows[0].Base.NS}, cell{Name: "ANON|HUGETLB|POPULATE", NA: na}, 0))
		return nil
	}
	defer p.release()
	progress("  first touch: syscall.Mmap, ANON|HUGETLB")
	best, err = interleave(touchRounds, sysTouch, ourTouch(mmap.HUGETLB))
	if err != nil {
		return err
	}
	touchRows = append(touchRows, newRow(touchWhat, "arena", cell{Name: "syscall.Mmap, base pages", NS: best[0]},
		cell{Name: hugeName, NS: best[1], Got: got[mmap.HUGETLB]}, 0.40))
	huge, err := mmap.MapRegion(nil, size, mmap.RDWR, mmap.ANON|mmap.HUGETLB|mmap.POPULATE, 0)
	if err != nil {
		return err
	}
	hugeGot := describe(huge)
	progress("  random loads: base pages, ANON|HUGETLB")
	best, err = interleave(b.rounds, loads(base), loads(huge))
	huge.Unmap()
	if err != nil {
		return err
	}
	loadRows = append(loadRows, newRow(loadWhat, "load", cell{Name: "ANON|POPULATE", NS: best[0], Got: describe(base)},
		cell{Name: "ANON|HUGETLB|POPULATE", NS: best[1], Got: hugeGot}, 0))
	return nil
}

// describe says what pages m got: its Info, and for transparent hugepages
// how much of it they back now, by the kernel's account of its VMA (Stats).
func describe(m mmap.MMap) string {
	info, err := m.Info()
	if err != nil {
		return "?"
	}
	switch info.Kind {
	case mmap.TransparentHugePages:
		s, err := m.Stats()
		if err != nil {
			return "THP, coverage unknown"
		}
		return fmt.Sprintf("THP, %s of %s backed", bytesString(int(s.AnonHugePages)), bytesString(len(m)))
	case mmap.HugetlbPages:
		return "hugetlb " + bytesString(info.PageSize)
	}
	return info.Kind.String()
}

// loads is a variant of randomLoads over m: a round is 1<<19 dependent
// 8-byte loads at pseudo-random offsets (each offset depends on the value
// loaded before, so the loads do not overlap and each pays its TLB miss).
func loads(m mmap.MMap) variant {
	words, err := mmap.As[uint64](m)
	if err != nil {
		return func() (float64, error) { return 0, err }
	}
	seed := uint64(0x9e3779b97f4a7c15)
	return func() (float64, error) {
		const n = 1 << 19
		t0 := time.Now()
		seed = randomLoads(words, n, seed)
		return float64(time.Since(t0).Nanoseconds()) / n, nil
	}
}

func randomLoads(words []uint64, n int, x uint64) uint64 {
	size := uint64(len(words))
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		i, _ := bits.Mul64(x, size)
		x += words[i]
	}
	return x
}

// flushOnePage: dirty one byte of a large shared mapping and write its page
// back, through a sub-slice Flush, a whole-mapping Flush, msync(2) of that
// page from Go, and the C floor's msync loop over the same file.
func (b *bench) flushOnePage() error {
	// Many short rounds: each flush waits for the disk, which on a shared
	// VM stalls now and then.
	const ops = 40
	m, err := mmap.Map(b.large, mmap.RDWR, 0)
	if err != nil {
		return err
	}
	defer m.Unmap()
	mid := len(m)/2 + 123
	pageAddr := uintptr(unsafe.Pointer(&m[mid])) &^ uintptr(b.page-1)
	flush := func(f func() error) variant {
		return func() (float64, error) {
			return perOp(ops, func() error {
				m[mid]++
				return f()
			})
		}
	}
	best, err := interleave(4*b.rounds,
		flush(func() error {
			if _, _, e := syscall.Syscall(syscall.SYS_MSYNC, pageAddr, uintptr(b.page), syscall.MS_SYNC); e != 0 {
				return e
			}
			return nil
		}),
		b.cVariant("msync", ops, b.large.Name(), strconv.Itoa(mid)),
		flush(func() error { return m[mid : mid+1].Flush() }),
		flush(m.Flush))
	if err != nil {
		return err
	}
	raw := cell{Name: "msync(2) of the page", NS: best[0]}
	ranged := cell{Name: "m[i:i+1].Flush()", NS: best[2]}
	what := fmt.Sprintf("flush 1 dirty page of %s map", bytesString(b.size))
	b.add(
		newRow(what, "flush", raw, ranged, 1.2),
		newRow(what, "flush", b.cCell("C msync loop", best[1]), ranged, 1.2),
		newRow(what, "flush", raw, cell{Name: "m.Flush() (whole map)", NS: best[3]}, 0))
	return nil
}

// residency: how many pages of a large file mapping are in memory, through
// Resident, the C floor's mincore loop, and fincore(1) (a process of its
// own, so its time includes starting it).
func (b *bench) residency() error {
	const ops = 3
	m, err := mmap.Map(b.large, mmap.RDONLY, 0)
	if err != nil {
		return err
	}
	defer m.Unmap()
	var resident, pages int
	var fincore variant
	if b.fincore != "" {
		fincore = func() (float64, error) {
			return perOp(1, func() error {
				return exec.Command(b.fincore, "--bytes", "--noheadings", "--output", "RES", b.large.Name()).Run()
			})
		}
	}
	best, err := interleave(b.rounds,
		b.cVariant("mincore", ops, b.large.Name()),
		fincore,
		func() (float64, error) {
			return perOp(ops, func() (err error) {
				resident, pages, err = m.Resident()
				return err
			})
		})
	if err != nil {
		return err
	}
	what := fmt.Sprintf("residency of %s file map", bytesString(b.size))
	ours := cell{Name: "m.Resident()", NS: best[2], Got: fmt.Sprintf("%d/%d pages in", resident, pages)}
	fc := cell{Name: "fincore(1), whole process", NS: best[1]}
	if b.fincore == "" {
		fc.NA = "n/a (no fincore)"
	}
	b.add(
		newRow(what, "query", b.cCell("C mincore loop", best[0]), ours, 0),
		newRow(what, "query", fc, ours, 0))
	return nil
}
