package mmap

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"unsafe"

	"github.com/hugemap/mmap/internal/scan"
)

// BenchmarkSumFloat32 sums a page-cached file of float32 four ways, one
// sub-benchmark each (impl=...), so that benchstat -col /impl sets them
// side by side:
//
//	go test -run '^$' -bench SumFloat32 -count 6 . | tee view.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /impl view.txt
//
// impl=as       As[float32] over a mapping made once, then the sum
// impl=unsafe   the same, with the view built by hand with unsafe.Slice
// impl=le       binary.LittleEndian.Uint32 over the mapping's bytes
// impl=read     os.File + bufio + binary.Read of 64 KiB of floats at a time
//
// The file is MMAP_VIEW_MIB MiB (default 256) in TMPDIR. The mapping is
// made and faulted in before the timer starts, so as, unsafe and le time
// the view and the loop alone; read times reading the file as well, which
// is what it would cost a program without a mapping.
func BenchmarkSumFloat32(b *testing.B) {
	mib := 256
	if v, err := strconv.Atoi(os.Getenv("MMAP_VIEW_MIB")); err == nil && v > 0 {
		mib = v
	}
	n := mib << 20
	path := filepath.Join(b.TempDir(), "floats")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var word [4]byte
	for i := range n / 4 {
		binary.LittleEndian.PutUint32(word[:], math.Float32bits(float32(i%1024)))
		w.Write(word[:])
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	m, err := Map(f, RDONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Unmap()
	if err := m.Prefault(0); err != nil {
		b.Fatal(err)
	}
	want := scan.Values(unsafe.Slice((*float32)(unsafe.Pointer(&m[0])), n/4))
	wantLE := scan.Float32sLE(m) // the same as want on little-endian machines
	check := func(b *testing.B, got, want float32) {
		if got != want {
			b.Fatalf("sum %v; want %v", got, want)
		}
	}

	b.Run("impl=as", func(b *testing.B) {
		b.SetBytes(int64(n))
		for b.Loop() {
			v, err := As[float32](m)
			if err != nil {
				b.Fatal(err)
			}
			check(b, scan.Values(v), want)
		}
	})
	b.Run("impl=unsafe", func(b *testing.B) {
		b.SetBytes(int64(n))
		for b.Loop() {
			check(b, scan.Values(unsafe.Slice((*float32)(unsafe.Pointer(&m[0])), len(m)/4)), want)
		}
	})
	b.Run("impl=le", func(b *testing.B) {
		b.SetBytes(int64(n))
		for b.Loop() {
			check(b, scan.Float32sLE(m), wantLE)
		}
	})
	b.Run("impl=read", func(b *testing.B) {
		b.SetBytes(int64(n))
		buf := make([]float32, 16<<10)
		for b.Loop() {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				b.Fatal(err)
			}
			r := bufio.NewReaderSize(f, 256<<10)
			var s float32
			for left := n / 4; left > 0; left -= len(buf) {
				chunk := buf[:min(len(buf), left)]
				if err := binary.Read(r, binary.LittleEndian, chunk); err != nil {
					b.Fatal(err)
				}
				s += scan.Values(chunk)
			}
			_ = s // chunked sums round differently; the loop is what is timed
		}
	})
}
