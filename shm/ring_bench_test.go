package shm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"runtime"
	"sync/atomic"
	"testing"
)

// A producer and a consumer goroutine pass variable-size records through a
// ring: a 4-byte length, then the payload. The producer copies each record
// in; the consumer checksums it where it lies, as a parser would. Two ways
// over the same memory:
//
//   - mirrored: the ring's window of 2*size bytes, so every record is one
//     contiguous slice: one copy in, the checksum in place;
//   - copy-at-wrap: only the first size bytes, as a ring without the
//     second mapping must: a record that straddles the end goes in as two
//     copies, and comes out as two copies into a scratch buffer before the
//     checksum.
//
// Each way runs with the producer and the consumer in two goroutines, as a
// ring is used, and in one goroutine that fills the ring and then drains
// it, which leaves out the scheduling (noisy on a shared machine) and
// keeps the copies. Run them in one go test run and compare:
//
//	go test -run '^$' -bench BenchmarkRingRecords -count 5 ./shm

const benchRingSize = 64 << 10

// spscRing is one producer and one consumer over r: head and tail count
// bytes ever written and read.
type spscRing struct {
	b        []byte
	size     uint64
	mirrored bool
	_        [64]byte
	head     atomic.Uint64
	_        [56]byte // head and tail on cache lines of their own
	tail     atomic.Uint64
	_        [56]byte
}

// put writes p at ring offset off.
func (q *spscRing) put(off uint64, p []byte) {
	if q.mirrored {
		copy(q.b[off:], p)
		return
	}
	n := copy(q.b[off:q.size], p)
	copy(q.b, p[n:])
}

// view is n bytes at ring offset off, contiguous: in place where it can
// be, else assembled in scratch.
func (q *spscRing) view(off, n uint64, scratch []byte) []byte {
	if q.mirrored || off+n <= q.size {
		return q.b[off : off+n]
	}
	k := copy(scratch, q.b[off:q.size])
	copy(scratch[k:n], q.b)
	return scratch[:n]
}

// recordSizes are payload sizes from lo to hi bytes, a fixed pseudo-random
// sequence so that both ways move the same records.
func recordSizes(n, lo, hi int) []int {
	sizes := make([]int, n)
	x := uint32(2463534242)
	for i := range sizes {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		sizes[i] = lo + int(x%uint32(hi-lo+1))
	}
	return sizes
}

func BenchmarkRingRecords(b *testing.B) {
	for _, mix := range []struct {
		name   string
		lo, hi int
	}{{"16B-256B", 16, 256}, {"1KiB-16KiB", 1 << 10, 16 << 10}} {
		sizes := recordSizes(4096, mix.lo, mix.hi)
		src := pattern(mix.hi, 9)
		var want uint32
		for _, n := range sizes {
			want ^= crc32.ChecksumIEEE(src[:n])
		}
		for _, c := range []struct{ threads, way string }{
			{"2goroutines", "mirrored"}, {"2goroutines", "copy-at-wrap"},
			{"1goroutine", "mirrored"}, {"1goroutine", "copy-at-wrap"},
		} {
			way := c.way
			b.Run(mix.name+"/"+c.threads+"/"+way, func(b *testing.B) {
				r, err := NewRing(benchRingSize)
				if errors.Is(err, errors.ErrUnsupported) {
					b.Skipf("no ring here: %v", err)
				}
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close()
				q := &spscRing{b: r.Bytes(), size: uint64(r.Size()), mirrored: way == "mirrored"}
				var bytes int64
				for _, n := range sizes {
					bytes += int64(n)
				}
				b.SetBytes(bytes)
				b.ResetTimer()
				if c.threads == "1goroutine" {
					if err := alternate(q, b.N, sizes, src, want); err != nil {
						b.Fatal(err)
					}
					return
				}
				done := make(chan error)
				go func() { done <- consume(q, b.N*len(sizes), want, b.N) }()
				produce(q, b.N, sizes, src)
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// produce writes rounds times every record of sizes.
func produce(q *spscRing, rounds int, sizes []int, src []byte) {
	var hdr [4]byte
	head := q.head.Load()
	for range rounds {
		for _, n := range sizes {
			need := uint64(4 + n)
			for q.size-(head-q.tail.Load()) < need {
				runtime.Gosched()
			}
			binary.LittleEndian.PutUint32(hdr[:], uint32(n))
			q.put(head%q.size, hdr[:])
			q.put((head+4)%q.size, src[:n])
			head += need
			q.head.Store(head)
		}
	}
}

// consume reads n records and checks that each round's checksums add up.
func consume(q *spscRing, n int, want uint32, rounds int) error {
	scratch := make([]byte, benchRingSize)
	var got uint32
	tail := q.tail.Load()
	for range n {
		for q.head.Load()-tail < 4 {
			runtime.Gosched()
		}
		for q.head.Load()-tail < 4+q.recordSize(tail, scratch) {
			runtime.Gosched()
		}
		got ^= q.take(&tail, scratch)
		q.tail.Store(tail)
	}
	return checkSum(got, want, rounds)
}

// alternate is produce and consume in one goroutine, free of scheduling:
// it writes records until the next does not fit, then reads them all.
func alternate(q *spscRing, rounds int, sizes []int, src []byte, want uint32) error {
	scratch := make([]byte, benchRingSize)
	var hdr [4]byte
	var head, tail uint64
	var got uint32
	for range rounds {
		for _, n := range sizes {
			need := uint64(4 + n)
			if q.size-(head-tail) < need {
				for tail != head {
					got ^= q.take(&tail, scratch)
				}
			}
			binary.LittleEndian.PutUint32(hdr[:], uint32(n))
			q.put(head%q.size, hdr[:])
			q.put((head+4)%q.size, src[:n])
			head += need
		}
	}
	for tail != head {
		got ^= q.take(&tail, scratch)
	}
	return checkSum(got, want, rounds)
}

// recordSize is the payload size of the record at tail.
func (q *spscRing) recordSize(tail uint64, scratch []byte) uint64 {
	return uint64(binary.LittleEndian.Uint32(q.view(tail%q.size, 4, scratch)))
}

// take checksums the record at *tail and moves *tail past it.
func (q *spscRing) take(tail *uint64, scratch []byte) uint32 {
	size := q.recordSize(*tail, scratch)
	sum := crc32.ChecksumIEEE(q.view((*tail+4)%q.size, size, scratch))
	*tail += 4 + size
	return sum
}

func checkSum(got, want uint32, rounds int) error {
	if rounds%2 == 0 {
		want = 0 // an even number of rounds cancels out
	}
	if got != want {
		return fmt.Errorf("records read back with checksum %#x, want %#x", got, want)
	}
	return nil
}
