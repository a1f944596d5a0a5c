//go:build linux

package bench

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"github.com/hugemap/mmap"
	"github.com/hugemap/mmap/internal/scan"
	xmmap "golang.org/x/exp/mmap"
	"golang.org/x/sys/unix"
)

// BenchmarkReadFileCached: ReadFile's work with the large file cached in
// small folios (evicted, read back with readahead off) and in large ones
// (evicted, read back through a HUGE mapping populated at map time), so
// that benchstat -col /impl shows what folio size does to each impl:
//
//	go test -run '^$' -bench ReadFileCached -count 6 | tee f.txt && benchstat -col /impl f.txt
func BenchmarkReadFileCached(b *testing.B) {
	var sink uint64
	defer func() { runtime.KeepAlive(sink) }()
	buf := make([]byte, 256<<10)
	for _, c := range []struct {
		name    string
		prepare func(*os.File) error
	}{{"cache=small", readBackRandom}, {"cache=large", refold}} {
		b.Run(c.name, func(b *testing.B) {
			f := open(b, large, os.O_RDONLY)
			check(b, c.prepare(f))
			mapped := func(flags int) func(b *testing.B) {
				return func(b *testing.B) {
					for b.Loop() {
						m, err := mmap.Map(f, mmap.RDONLY, flags)
						check(b, err)
						sink += scan.Sum(m)
						check(b, m.Unmap())
					}
				}
			}
			b.Run("impl=hugemap", mapped(0))
			b.Run("impl=hugemap-populate", mapped(mmap.POPULATE))
			b.Run("impl=osfile", func(b *testing.B) {
				for b.Loop() {
					for off := 0; off < largeSize; off += len(buf) {
						n, err := f.ReadAt(buf, int64(off))
						if err != nil && err != io.EOF {
							b.Fatal(err)
						}
						sink += scan.Sum(buf[:n])
					}
				}
			})
			b.Run("impl=c", func(b *testing.B) { floor(b, "scan", large) })
		})
	}
}

// readBackRandom evicts f and reads it back with readahead off: the page
// cache holds it in base-page folios.
func readBackRandom(f *os.File) error {
	if err := evict(f); err != nil {
		return err
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_RANDOM); err != nil {
		return err
	}
	defer unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_NORMAL)
	buf := make([]byte, 256<<10)
	for off := int64(0); ; off += int64(len(buf)) {
		if _, err := f.ReadAt(buf, off); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// refold evicts f and reads it back through a HUGE mapping populated at
// map time, whose faults read PMD-sized folios.
func refold(f *os.File) error {
	if err := evict(f); err != nil {
		return err
	}
	m, err := mmap.Map(f, mmap.RDONLY, mmap.HUGE|mmap.POPULATE)
	if err != nil {
		return err
	}
	return m.Unmap()
}

func evict(f *os.File) error {
	if err := f.Sync(); err != nil {
		return err
	}
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// BenchmarkReadAt64K: random 64 KiB reads of the page-cached large file:
// hugemap's ReadAt on a populated mapping, and on a LOCK mapping, x/exp's
// ReaderAt (a copy with no fault safety), a plain copy from the slice
// (impl=slice, no safety either), and pread (impl=osfile).
func BenchmarkReadAt64K(b *testing.B) {
	const block = 64 << 10
	f := open(b, large, os.O_RDONLY)
	p := make([]byte, block)
	offs := make([]int64, 1024)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range offs {
		offs[i] = int64(rng.IntN(largeSize/block)) * block
	}
	readAll := func(read func(off int64) error) func(b *testing.B) {
		return func(b *testing.B) {
			b.SetBytes(block)
			for i := 0; b.Loop(); i++ {
				check(b, read(offs[i%len(offs)]))
			}
		}
	}
	m, err := mmap.Map(f, mmap.RDONLY, mmap.POPULATE)
	check(b, err)
	defer m.Unmap()
	b.Run("impl=hugemap", readAll(func(off int64) error { _, err := m.ReadAt(p, off); return err }))
	b.Run("impl=hugemap-locked", func(b *testing.B) {
		locked, err := mmap.Map(f, mmap.RDONLY, mmap.LOCK)
		if err != nil {
			b.Skipf("LOCK of %d bytes: %v", largeSize, err)
		}
		defer locked.Unmap()
		readAll(func(off int64) error { _, err := locked.ReadAt(p, off); return err })(b)
	})
	b.Run("impl=slice", readAll(func(off int64) error { copy(p, m[off:]); return nil }))
	b.Run("impl=xexp", func(b *testing.B) {
		r, err := xmmap.Open(large)
		check(b, err)
		defer r.Close()
		readAll(func(off int64) error { _, err := r.ReadAt(p, off); return err })(b)
	})
	b.Run("impl=osfile", readAll(func(off int64) error { _, err := f.ReadAt(p, off); return err }))
}
