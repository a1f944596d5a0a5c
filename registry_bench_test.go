//go:build linux

package mmap

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"unsafe"
)

// Benchmarks of the registry's cost: every method looks its mapping up, and
// Map and Unmap record and remove it. Each row runs with no other live
// mappings and with 10,000 (live=N), next to its baseline in the same run:
//
//	go test -run '^$' -bench 'ConcurrentReadAt|Lookup|MapUnmapLive' -count 6 . | tee new.txt
//	benchstat -col /impl new.txt      # mmap, range against pread; map against syscall
//	benchstat -col /live new.txt      # what 10,000 other mappings cost
//
// (benchstat: go run golang.org/x/perf/cmd/benchstat@latest, from outside
// the module, so that its go.mod stays without requirements.)

const registryOthers = 10_000

// withOthers runs fn for each live=N row, with N other one-page anonymous
// mappings live during it, unmapped after.
func withOthers(b *testing.B, fn func(b *testing.B)) {
	for _, n := range []int{0, registryOthers} {
		b.Run("live="+strconv.Itoa(n), func(b *testing.B) {
			others := make([]MMap, 0, n)
			defer func() {
				for i := range others {
					if err := others[i].Unmap(); err != nil {
						b.Error(err)
					}
				}
			}()
			for range n {
				m, err := MapRegion(nil, page, RDWR, ANON, 0)
				if err != nil {
					b.Skipf("%d other mappings: %v", len(others), err)
				}
				others = append(others, m)
			}
			fn(b)
		})
	}
}

// BenchmarkConcurrentReadAt: warm 4 KiB reads at random page-aligned
// offsets of one page-cached 1 MiB file, from g goroutines at once (1, 2, 4
// ... GOMAXPROCS), each with its own buffer and offsets. impl=mmap is
// ReadAt on the mapping, impl=range ReadAt on m.Range(off, 4096) (a
// capacity-cut slice, so the lookup cannot use the end of the capacity),
// impl=pread os.File.ReadAt. ns/op is wall time over all goroutines' reads,
// so a row that scales halves it when g doubles.
func BenchmarkConcurrentReadAt(b *testing.B) {
	const size, n = 1 << 20, 4 << 10
	f := tempFile(b, pattern(size), os.O_RDONLY)
	m := mustMap(b, f, size, RDONLY, POPULATE, 0)
	defer mustUnmap(b, &m)
	read := map[string]func(p []byte, off int64) error{
		"mmap": func(p []byte, off int64) error { _, err := m.ReadAt(p, off); return err },
		"range": func(p []byte, off int64) error {
			s, err := m.Range(int(off), len(p))
			if err == nil {
				_, err = s.ReadAt(p, 0)
			}
			return err
		},
		"pread": func(p []byte, off int64) error { _, err := f.ReadAt(p, off); return err },
	}
	withOthers(b, func(b *testing.B) {
		for _, g := range goroutineCounts() {
			for _, impl := range []string{"mmap", "range", "pread"} {
				b.Run("g="+strconv.Itoa(g)+"/impl="+impl, func(b *testing.B) {
					b.SetBytes(n)
					read := read[impl]
					parallel(b, g, func(w int, iters int) {
						rng := rand.New(rand.NewPCG(uint64(w), 7))
						p := make([]byte, n)
						for range iters {
							if err := read(p, int64(rng.IntN(size/n))*n); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		}
	})
}

// BenchmarkLookup: the registry's part of every method, alone: finding
// the mapping of a slice of it that keeps the capacity (impl=slice) and of
// an m.Range result (impl=range), from g goroutines at once.
func BenchmarkLookup(b *testing.B) {
	m := mustMap(b, nil, 64*page, RDWR, ANON, 0)
	defer mustUnmap(b, &m)
	withOthers(b, func(b *testing.B) {
		for _, g := range goroutineCounts() {
			for _, impl := range []string{"slice", "range"} {
				b.Run("g="+strconv.Itoa(g)+"/impl="+impl, func(b *testing.B) {
					cut := impl == "range"
					parallel(b, g, func(w, iters int) {
						for k := range iters {
							off := (k*4099 + w*page) % (len(m) - 64)
							s := m[off:]
							if cut {
								s = m[off : off+64 : off+64]
							}
							if r, _ := lookup(s); r == nil {
								b.Error("not found")
								return
							}
						}
					})
				})
			}
		}
	})
}

// goroutineCounts is 1, 2, 4 ... up to GOMAXPROCS, and GOMAXPROCS.
func goroutineCounts() []int {
	procs := runtime.GOMAXPROCS(0)
	var gs []int
	for g := 1; g < procs; g *= 2 {
		gs = append(gs, g)
	}
	return append(gs, procs)
}

// parallel splits b.N iterations over g goroutines, statically, so that
// no shared counter adds a cache line of its own to what is measured. It
// reports the process's CPU time per op too (cpu-ns/op): on a shared
// machine the wall time of g goroutines depends on the other load, but
// contention shows as CPU time per op that grows with g.
func parallel(b *testing.B, g int, fn func(w, iters int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range g {
		iters := b.N / g
		if w < b.N%g {
			iters++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(w, iters)
		}()
	}
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	close(start)
	wg.Wait()
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano()
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

// BenchmarkMapUnmapLive: map the first 4 KiB of a file shared read-only and
// unmap it, through the package (impl=mmap: the system calls, plus
// recording and removing the mapping) and through syscall.Mmap and
// syscall.Munmap (impl=syscall); and impl=registry, the recording and
// removing alone.
func BenchmarkMapUnmapLive(b *testing.B) {
	f := tempFile(b, pattern(page), os.O_RDONLY)
	withOthers(b, func(b *testing.B) {
		b.Run("impl=mmap", func(b *testing.B) {
			for b.Loop() {
				m, err := MapRegion(f, page, RDONLY, 0, 0)
				if err != nil {
					b.Fatal(err)
				}
				if err := m.Unmap(); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The registry's share alone: a region over Go memory recorded
		// and removed.
		b.Run("impl=registry", func(b *testing.B) {
			buf := make([]byte, page)
			r := &region{base: unsafe.Pointer(&buf[0]), size: uintptr(page), len: page}
			for b.Loop() {
				if _, err := unregister(register(r)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("impl=syscall", func(b *testing.B) {
			fd := int(f.Fd())
			for b.Loop() {
				m, err := syscall.Mmap(fd, 0, page, syscall.PROT_READ, syscall.MAP_SHARED)
				if err != nil {
					b.Fatal(err)
				}
				if err := syscall.Munmap(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
