package mmap

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// Benchmarks of the fault-safe path, each against its baselines in the
// same run:
//
//	go test -run '^$' -bench 'WarmRead|Prefault|ColdReads' -benchtime 5x .

const block = 64 << 10

// BenchmarkWarmRead: 64 KiB reads of resident data: a plain copy from the
// slice, ReadAt (one mincore + guarded copy), ReadAt of a LOCK mapping
// (guarded copy alone), and pread.
func BenchmarkWarmRead(b *testing.B) {
	const size = 64 << 20
	f, err := os.CreateTemp(b.TempDir(), "warm")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(pattern(size)); err != nil {
		b.Fatal(err)
	}
	m, err := MapRegion(f, size, RDONLY, POPULATE, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Unmap()
	// The same file locked whole: ReadAt knows its pages cannot wait for a
	// disk and skips the residency check too.
	locked, lockErr := MapRegion(f, size, RDONLY, LOCK, 0)
	if lockErr == nil {
		defer locked.Unmap()
	}
	p := make([]byte, block)
	offs := make([]int64, 1024)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range offs {
		offs[i] = int64(rng.IntN(size/block)) * block
	}
	for _, c := range []struct {
		name string
		read func(off int64) error
	}{
		{"copy", func(off int64) error { copy(p, m[off:]); return nil }},
		{"readat", func(off int64) error { _, err := m.ReadAt(p, off); return err }},
		{"readat-locked", func(off int64) error { _, err := locked.ReadAt(p, off); return err }},
		{"pread", func(off int64) error { _, err := f.ReadAt(p, off); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			if c.name == "readat-locked" && lockErr != nil {
				b.Skipf("LOCK of %d bytes: %v", size, lockErr)
			}
			b.SetBytes(block)
			for i := 0; b.Loop(); i++ {
				if err := c.read(offs[i%len(offs)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPrefault: make 1 GiB resident, anonymous and page-cached file:
// one worker, the default, and POPULATE at map time.
func BenchmarkPrefault(b *testing.B) {
	n := benchBytes()
	f, err := os.CreateTemp(b.TempDir(), "prefault")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(int64(n)); err != nil {
		b.Fatal(err)
	}
	// Page the file in once, so every row measures mapping, not the disk.
	if warm, err := MapRegion(f, n, RDONLY, POPULATE, 0); err == nil {
		warm.Unmap()
	}
	for _, src := range []struct {
		name  string
		f     *os.File
		flags int
	}{{"anon", nil, ANON}, {"file", f, 0}} {
		for _, c := range []struct {
			name    string
			workers int
			flags   int
		}{{"workers=1", 1, 0}, {"workers=default", 0, 0}, {"map-populate", -1, POPULATE}} {
			b.Run(src.name+"/"+c.name, func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					m, err := MapRegion(src.f, n, RDWR, src.flags|c.flags, 0)
					if err != nil {
						b.Fatal(err)
					}
					if c.workers >= 0 {
						if err := m.Prefault(c.workers); err != nil {
							b.Fatal(err)
						}
					}
					if err := m.Unmap(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkColdReads: with GOMAXPROCS=2, four goroutines read random 64 KiB
// blocks of a file evicted from the page cache, while a heartbeat goroutine
// asks to wake every millisecond. It reports reads/s and how late the
// heartbeat woke (p50, p99): a fault taken by Go code holds its P while the
// disk works, a fault taken inside a system call does not.
func BenchmarkColdReads(b *testing.B) {
	const size, readers, readsEach = 256 << 20, 4, 64
	f, err := os.CreateTemp(b.TempDir(), "cold")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	chunk := pattern(4 << 20)
	for off := 0; off < size; off += len(chunk) {
		if _, err := f.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	// Each round maps the file afresh: the page cache keeps pages that a
	// live mapping still maps, so eviction needs them unmapped.
	var m MMap
	for _, c := range []struct {
		name string
		read func(p []byte, off int64) error
	}{
		{"slice", func(p []byte, off int64) error { copy(p, m[off:]); return nil }},
		{"readat", func(p []byte, off int64) error { _, err := m.ReadAt(p, off); return err }},
		{"pread", func(p []byte, off int64) error { _, err := f.ReadAt(p, off); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var late []time.Duration
			var reading time.Duration
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				if out, err := exec.Command("dd", "if="+f.Name(), "iflag=nocache", "count=0", "status=none").CombinedOutput(); err != nil {
					b.Fatalf("evict: %v %s", err, out)
				}
				if m, err = MapRegion(f, size, RDONLY, 0, 0); err != nil {
					b.Fatal(err)
				}
				if resident, _, _ := m.Resident(); resident > size/page/100 {
					b.Fatalf("%d pages still resident after eviction", resident)
				}
				b.StartTimer()
				stop := make(chan struct{})
				beats := make(chan []time.Duration)
				go heartbeat(stop, beats)
				t0 := time.Now()
				var wg sync.WaitGroup
				for r := range readers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(uint64(i), uint64(r)))
						p := make([]byte, block)
						for range readsEach {
							if err := c.read(p, int64(rng.IntN(size/block))*block); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				reading += time.Since(t0)
				close(stop)
				late = append(late, <-beats...)
				b.StopTimer()
				if err := m.Unmap(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			slices.Sort(late)
			b.ReportMetric(float64(b.N*readers*readsEach)/reading.Seconds(), "reads/s")
			if len(late) > 0 {
				b.ReportMetric(float64(late[len(late)/2].Microseconds()), "hb-p50-µs")
				b.ReportMetric(float64(late[len(late)*99/100].Microseconds()), "hb-p99-µs")
			}
		})
	}
}

// heartbeat sleeps a millisecond at a time until stop, and sends how late
// each wake-up came.
func heartbeat(stop <-chan struct{}, out chan<- []time.Duration) {
	var late []time.Duration
	for {
		select {
		case <-stop:
			out <- late
			return
		default:
		}
		t0 := time.Now()
		time.Sleep(time.Millisecond)
		late = append(late, time.Since(t0)-time.Millisecond)
	}
}
