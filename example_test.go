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
