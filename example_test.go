package mmap_test

import (
	"errors"
	"fmt"
	"log"
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
