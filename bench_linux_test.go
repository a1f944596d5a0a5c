package mmap

import (
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"unsafe"
)

// Benchmarks of the hints, each against its baseline in the same run:
//
//	go test -run '^$' -bench 'FirstTouch|RandomReads|FlushOnePage' -benchtime 5x .
//
// Sizes follow MMAP_BENCH_MIB (default 1024). Hugetlb rows reserve pages in
// vm.nr_hugepages (as root) and put the old value back.

func benchBytes() int {
	mib := 1024
	if v, err := strconv.Atoi(os.Getenv("MMAP_BENCH_MIB")); err == nil && v > 0 {
		mib = v
	}
	return mib << 20
}

// reservePool makes room for n bytes of default-size hugetlb pages, or
// reports why not.
func reservePool(b *testing.B, n int) bool {
	huge := DefaultHugetlbPageSize()
	path := hugepagesDir + "/hugepages-" + strconv.Itoa(huge>>10) + "kB/nr_hugepages"
	old, err := readInt(path)
	if err != nil || os.Geteuid() != 0 {
		b.Skip("reserving hugetlb pages needs root and a hugetlb pool")
	}
	want := (n + huge - 1) / huge
	if err := os.WriteFile(path, []byte(strconv.Itoa(old+want)), 0o644); err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { os.WriteFile(path, []byte(strconv.Itoa(old)), 0o644) })
	got, _ := readInt(path)
	if got < old+want {
		b.Skipf("the kernel reserved %d of %d hugetlb pages", got-old, want)
	}
	return true
}

// BenchmarkFirstTouch: map an anonymous arena and write one byte per base
// page. The rows differ only in map-time flags.
func BenchmarkFirstTouch(b *testing.B) {
	n := benchBytes()
	for _, c := range []struct {
		name  string
		flags int
		pool  bool
	}{
		{"base", 0, false},
		{"populate", POPULATE, false},
		{"thp", HUGE, false},
		{"hugetlb", HUGETLB, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			if c.pool {
				reservePool(b, n)
			}
			b.SetBytes(int64(n))
			for b.Loop() {
				m, err := MapRegion(nil, n, RDWR, ANON|c.flags, 0)
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < len(m); i += page {
					m[i] = 1
				}
				if err := m.Unmap(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRandomReads: 8-byte loads at random offsets of a populated
// arena; hugepages need fewer TLB entries for the same bytes.
func BenchmarkRandomReads(b *testing.B) {
	n := 2 * benchBytes()
	for _, c := range []struct {
		name  string
		flags int
		pool  bool
	}{
		{"base", 0, false},
		{"thp", HUGE, false},
		{"hugetlb", HUGETLB, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			if c.pool {
				reservePool(b, n)
			}
			m, err := MapRegion(nil, n, RDWR, ANON|POPULATE|c.flags, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Unmap()
			words := unsafe.Slice((*uint64)(unsafe.Pointer(&m[0])), n/8)
			rng := rand.New(rand.NewPCG(1, 2))
			idx := make([]uint32, 1<<20)
			for i := range idx {
				idx[i] = uint32(rng.IntN(len(words)))
			}
			// One op is a million loads, so -benchtime 5x still measures.
			const loads = 1 << 20
			var sum uint64
			for b.Loop() {
				for i := range loads {
					sum += words[idx[i&(len(idx)-1)]]
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*loads), "ns/load")
			benchSink = sum
		})
	}
}

var benchSink uint64

// BenchmarkFlushOnePage: dirty one page of a large shared file mapping and
// write it back: a sub-slice Flush, the whole mapping's Flush, and a raw
// msync of that page.
func BenchmarkFlushOnePage(b *testing.B) {
	n := benchBytes()
	f, err := os.CreateTemp(b.TempDir(), "flush")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(int64(n)); err != nil {
		b.Fatal(err)
	}
	m, err := MapRegion(f, n, RDWR, POPULATE, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Unmap()
	mid := n / 2
	flushes := []struct {
		name  string
		flush func() error
	}{
		{"range", func() error { return m[mid : mid+1].Flush() }},
		{"whole", m.Flush},
		{"raw-msync", func() error {
			p := uintptr(unsafe.Pointer(&m[mid])) &^ uintptr(page-1)
			if _, _, e := syscall.Syscall(syscall.SYS_MSYNC, p, uintptr(page), syscall.MS_SYNC); e != 0 {
				return e
			}
			return nil
		}},
	}
	for _, c := range flushes {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				m[mid]++
				if err := c.flush(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
