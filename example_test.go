package mmap_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/hugemap/mmap"
)

// Map a file, change it through the mapping, and make the change durable.
func Example() {
	path := filepath.Join(os.TempDir(), "hugemap-example.txt")
	if err := os.WriteFile(path, []byte("hello, world"), 0o644); err != nil {
		log.Fatal(err)
	}
	defer os.Remove(path)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	m, err := mmap.Map(f, mmap.RDWR, 0)
	if err != nil {
		log.Fatal(err)
	}
	copy(m, "HELLO")
	if err := m.Flush(); err != nil { // msync: on disk when it returns
		log.Fatal(err)
	}
	if err := m.Unmap(); err != nil {
		log.Fatal(err)
	}

	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(b))
	// Output: HELLO, world
}

// Anonymous memory: private, zeroed, outside the Go heap.
func ExampleMapRegion_anonymous() {
	m, err := mmap.MapRegion(nil, 1<<20, mmap.RDWR, mmap.ANON, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Unmap()
	m[len(m)-1] = 42
	fmt.Println(len(m), m[0], m[len(m)-1])
	// Output: 1048576 0 42
}

// Unmap refuses anything but the slice Map returned, so a stray sub-slice
// cannot tear down a mapping that others still use.
func ExampleMMap_Unmap() {
	m, err := mmap.MapRegion(nil, 8192, mmap.RDWR, mmap.ANON, 0)
	if err != nil {
		log.Fatal(err)
	}
	tail := m[4096:]
	err = tail.Unmap()
	fmt.Println(errors.Is(err, mmap.ErrNotMapped))
	fmt.Println(m.Unmap(), m == nil)
	// Output:
	// true
	// <nil> true
}

// A file of float32 values read in place: As checks the type, alignment and
// length once, and the view is the mapping's memory, with no copy.
func ExampleAs() {
	path := filepath.Join(os.TempDir(), "hugemap-example-floats")
	data := make([]byte, 4*1000)
	for i := range 1000 {
		// As sees the machine's native byte order.
		binary.NativeEndian.PutUint32(data[4*i:], math.Float32bits(float32(i)))
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		log.Fatal(err)
	}
	defer os.Remove(path)
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	m, err := mmap.Map(f, mmap.RDONLY, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Unmap()

	v, err := mmap.As[float32](m)
	if err != nil {
		log.Fatal(err)
	}
	var sum float32
	for _, x := range v {
		sum += x
	}
	fmt.Println(len(v), sum)

	_, err = mmap.As[float32](m[2:]) // 2 bytes in: not on a float32 boundary
	fmt.Println(errors.Is(err, mmap.ErrMisaligned))
	_, err = mmap.As[*int](m) // pointers must not live in a mapping
	fmt.Println(errors.Is(err, mmap.ErrInvalidType))
	// Output:
	// 1000 499500
	// true
	// true
}

// What the kernel did with a hint: here, whether HUGE|POPULATE got
// transparent hugepages. (Not run as a test: the answer is the machine's.)
func ExampleMMap_Stats() {
	m, err := mmap.MapRegion(nil, 64<<20, mmap.RDWR, mmap.ANON|mmap.HUGE|mmap.POPULATE, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Unmap()
	info, _ := m.Info() // what was asked for and granted
	s, err := m.Stats() // what the kernel did
	if errors.Is(err, errors.ErrUnsupported) {
		fmt.Println("this platform keeps no account of a mapping")
		return
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%v pages; resident %d MiB, in transparent hugepages %d MiB, hugetlb %d MiB, per node %v\n",
		info.Kind, s.Rss>>20, s.AnonHugePages>>20, (s.PrivateHugetlb+s.SharedHugetlb)>>20, s.NodeBytes)
}

// Spread a big arena over every NUMA node page by page, so that threads on
// every node share its bandwidth (where the system has NUMA; elsewhere
// SetNUMA says it is unsupported). Not run as a test: the answer is the
// machine's.
func ExampleMMap_SetNUMA() {
	m, err := mmap.MapRegion(nil, 1<<30, mmap.RDWR, mmap.ANON, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Unmap()
	nodes, err := mmap.NUMANodes()
	if errors.Is(err, errors.ErrUnsupported) {
		fmt.Println("no NUMA here")
		return
	} else if err != nil {
		log.Fatal(err)
	}
	// Before the first touch: pages are placed as they fault in.
	if err := m.SetNUMA(mmap.NUMAInterleave, nodes, false); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < len(m); i += 4096 {
		m[i] = 1
	}
	s, err := m.Stats()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("bytes per node:", s.NodeBytes)
}

// A file that grows while readers hold slices of it, as a database's does:
// reserve room for 256 MiB of it, map what is there, and Grow the mapping
// with the file. It never moves, so a slice a reader holds stays valid.
// Where the system cannot reserve (Windows without placeholders, macOS and
// the BSDs without cgo) Grow says ErrWouldMove and Resize does the job,
// moving the mapping: readers must then let go of their slices first.
func ExampleMapRegionMax() {
	path := filepath.Join(os.TempDir(), "hugemap-example-db")
	if err := os.WriteFile(path, []byte("header"), 0o644); err != nil {
		log.Fatal(err)
	}
	defer os.Remove(path)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	m, err := mmap.MapRegionMax(f, -1, 256<<20, mmap.RDWR, 0, 0)
	if errors.Is(err, errors.ErrUnsupported) {
		m, err = mmap.MapRegion(f, -1, mmap.RDWR, 0, 0)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer m.Unmap()
	header := m[:6] // what a reader holds

	// The file grows to 1 MiB (extend), and the mapping with it.
	if err := m.Grow(f, 1<<20, true); errors.Is(err, mmap.ErrWouldMove) {
		header = nil // the mapping is about to move
		if err := m.Resize(f, 1<<20, true); err != nil {
			log.Fatal(err)
		}
		header = m[:6]
	} else if err != nil {
		log.Fatal(err)
	}
	copy(m[len(m)-4:], "tail")
	fmt.Println(len(m), string(header), string(m[len(m)-4:]))

	// Past the maximum Grow refuses; Resize would move the mapping.
	fmt.Println(errors.Is(m.Grow(f, 512<<20, true), mmap.ErrWouldMove))
	// Output:
	// 1048576 header tail
	// true
}
