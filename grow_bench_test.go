package mmap

import (
	"errors"
	"flag"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// The pattern bolt uses: a database file grown from 16 MiB in 16 MiB
// steps while readers read it. Three ways, side by side in one run:
//
//   - grow: MapRegionMax once, then Grow. Readers keep the slice they
//     were given and take no lock; each read also checks that the
//     mapping's base, as the writer publishes it after every Grow, is the
//     one their slice starts at.
//   - resize: Map, then Resize, which may move the mapping (mremap), and
//   - remap: Map, then Unmap and Map anew: a moved mapping leaves a
//     reader's slice dangling, so here readers do what bolt's do: hold a
//     read lock (sync.RWMutex, bolt's mmaplock) while they read through
//     the current slice, and the writer takes the write lock to remap,
//     waiting for every reader to finish.
//
// Each op is one whole growth, 16 MiB to -grow.max (1 GiB; 256 MiB with
// -short), under way=grow, way=resize and way=remap (benchstat -col /way); step-ns is the writer's time per 16 MiB step, reads/s the
// readers' throughput meanwhile, in bytes read at random from the first
// 16 MiB, 256 to a transaction (a read lock each for resize and remap),
// with one reader goroutine fewer than GOMAXPROCS. The writer does not touch the new pages:
// what differs between the three is the growth itself and what it costs
// readers (a remap makes them fault the pages in again).

var growMax = flag.Int("grow.max", 1<<30, "BenchmarkGrowFile: the size the file grows to")

func BenchmarkGrowFile(b *testing.B) {
	const step = 16 << 20
	limit := *growMax
	if testing.Short() {
		limit = 256 << 20
	}
	if limit < 2*step {
		b.Fatalf("-grow.max %d: at least two steps of %d bytes", limit, step)
	}
	f := tempFile(b, nil, os.O_RDWR)
	data := pattern(step)
	if _, err := f.WriteAt(data, 0); err != nil {
		b.Fatal(err)
	}
	if m, err := MapRegionMax(f, step, limit, RDONLY, 0, 0); errors.Is(err, errors.ErrUnsupported) {
		b.Skipf("MapRegionMax is unsupported here: %v", err)
	} else if err == nil {
		m.Unmap()
	}
	// One CPU for the writer: readers that spin on every CPU would make
	// each step wait for the scheduler, whatever the step costs.
	readers := max(1, runtime.GOMAXPROCS(0)-1)
	for _, way := range []string{"grow", "resize", "remap"} {
		b.Run("way="+way, func(b *testing.B) {
			var reads atomic.Int64
			var steps int
			var moved atomic.Int64
			start := time.Now()
			for range b.N {
				if err := f.Truncate(step); err != nil {
					b.Fatal(err)
				}
				steps += growOnce(b, f, way, data, limit, readers, &reads, &moved)
			}
			elapsed := time.Since(start)
			if moved.Load() != 0 {
				b.Fatalf("readers saw the base move %d times", moved.Load())
			}
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(steps), "step-ns")
			b.ReportMetric(float64(reads.Load())/elapsed.Seconds(), "reads/s")
		})
	}
}

// growSink takes the readers' sums, so that their loads are not dropped.
var growSink atomic.Uint32

// txnReads is how many bytes a reader reads in one transaction.
const txnReads = 256

// growOnce maps the first len(data) bytes of f, which hold data, and grows
// the mapping to max in steps of as many bytes the given way, while
// readers read its first step; it returns the steps taken.
func growOnce(b *testing.B, f *os.File, way string, data []byte, max, readers int, reads, moved *atomic.Int64) int {
	step := len(data)
	var mu sync.RWMutex // bolt's mmaplock, for resize and remap
	var m MMap
	var err error
	if way == "grow" {
		m, err = MapRegionMax(f, step, max, RDONLY, 0, 0)
	} else {
		m, err = MapRegion(f, step, RDONLY, 0, 0)
	}
	if err != nil {
		b.Fatal(err)
	}
	var base atomic.Pointer[byte] // the writer's m[0], for the readers to compare
	base.Store(&m[0])
	held := m // what a grow reader keeps
	var stop atomic.Bool
	var wg, started sync.WaitGroup
	for g := range readers {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			once := sync.OnceFunc(started.Done)
			n, sum := int64(0), byte(0)
			// A read transaction: txnReads random bytes of the first
			// step, under bolt's read lock where the mapping can move.
			for i := uint(g); !stop.Load(); n += txnReads {
				if way == "grow" {
					for range txnReads {
						i = i*1103515245 + 12345
						sum += held[int(i>>8)%step]
					}
					if base.Load() != unsafe.SliceData(held) {
						moved.Add(1)
					}
				} else {
					mu.RLock()
					for range txnReads {
						i = i*1103515245 + 12345
						sum += m[int(i>>8)%step]
					}
					mu.RUnlock()
				}
				once()
			}
			reads.Add(n)
			growSink.Add(uint32(sum)) // keeps the loads
		}()
	}
	started.Wait() // every reader is reading before the first step
	steps := 0
	for n := 2 * step; n <= max; n += step {
		switch way {
		case "grow":
			err = m.Grow(f, n, true)
			base.Store(&m[0])
		case "resize":
			mu.Lock()
			err = m.Resize(f, n, true)
			mu.Unlock()
		case "remap":
			mu.Lock()
			if err = f.Truncate(int64(n)); err == nil {
				if err = m.Unmap(); err == nil {
					m, err = MapRegion(f, n, RDONLY, 0, 0)
				}
			}
			mu.Unlock()
		}
		if err != nil {
			b.Fatalf("%s to %d bytes: %v", way, n, err)
		}
		steps++
	}
	stop.Store(true)
	wg.Wait()
	if len(m) != max || m[step-1] != data[step-1] {
		b.Fatalf("%s: %d bytes at the end, or the first part changed", way, len(m))
	}
	if err := m.Unmap(); err != nil {
		b.Fatal(err)
	}
	return steps
}
