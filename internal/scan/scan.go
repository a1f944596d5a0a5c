// Package scan is the read loop every benchmark of this repository runs over
// the bytes it reads, so that cmd/mmapbench and the peer benchmarks of
// bench/ compare the same work. It is not part of the mmap API.
package scan

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// Sum adds b as 64-bit words (the tail as bytes), as Values does. b must
// start 8-byte aligned, as mappings and Go's allocations of 8 bytes or more
// do.
func Sum(b []byte) uint64 {
	words := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
	s := Values(words)
	for _, c := range b[len(words)*8:] {
		s += uint64(c)
	}
	return s
}

// Values adds v with four sums, so that the adds are not one chain of
// latencies and the loop, not the add's latency, is what is measured.
func Values[T uint32 | uint64 | float32](v []T) T {
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(v); i += 4 {
		w := v[i : i+4 : i+4]
		s0 += w[0]
		s1 += w[1]
		s2 += w[2]
		s3 += w[3]
	}
	for ; i < len(v); i++ {
		s0 += v[i]
	}
	return s0 + s1 + s2 + s3
}

// Float32sLE is Values of float32s decoded from b, little-endian.
func Float32sLE(b []byte) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+16 <= len(b); i += 16 {
		w := b[i : i+16 : i+16]
		s0 += math.Float32frombits(binary.LittleEndian.Uint32(w[0:]))
		s1 += math.Float32frombits(binary.LittleEndian.Uint32(w[4:]))
		s2 += math.Float32frombits(binary.LittleEndian.Uint32(w[8:]))
		s3 += math.Float32frombits(binary.LittleEndian.Uint32(w[12:]))
	}
	for ; i+4 <= len(b); i += 4 {
		s0 += math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))
	}
	return s0 + s1 + s2 + s3
}
