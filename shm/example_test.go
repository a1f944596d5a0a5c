//go:build linux

package shm_test

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"syscall"

	"github.com/hugemap/mmap"
	"github.com/hugemap/mmap/shm"
)

// A producer fills a segment, seals it so that no peer can change its
// size or its bytes, and hands it on.
func ExampleCreate() {
	s, err := shm.Create("table", 4096, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	m, err := s.Map(mmap.RDWR, 0)
	if err != nil {
		log.Fatal(err)
	}
	copy(m, "hello, peer")
	// SealWrite needs every writable mapping gone.
	if err := m.Unmap(); err != nil {
		log.Fatal(err)
	}
	if err := s.Seal(shm.SealShrink | shm.SealGrow | shm.SealWrite | shm.SealSeal); err != nil {
		log.Fatal(err)
	}
	seals, _ := s.Seals()
	fmt.Println(seals &^ shm.SealExec) // Linux 6.3+ adds exec itself
	// Output: seal|shrink|grow|write
}

// The receiving side checks the seals before it trusts the segment: with
// SealShrink no peer can truncate it under the mapping, so reading it can
// never fault.
func ExampleFromFile() {
	producer, err := shm.Create("table", 4096, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close()
	if err := producer.Seal(shm.SealShrink | shm.SealGrow); err != nil {
		log.Fatal(err)
	}
	// A child started with cmd.ExtraFiles = []*os.File{producer.File()}
	// finds the segment at descriptor 3: os.NewFile(3, "segment"). Here a
	// duplicate descriptor stands in for the inherited one.
	fd, err := syscall.Dup(int(producer.File().Fd()))
	if err != nil {
		log.Fatal(err)
	}
	s, err := shm.FromFile(os.NewFile(uintptr(fd), "segment"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	seals, err := s.Seals()
	if err != nil || seals&shm.SealShrink == 0 {
		log.Fatalf("not sealed against shrinking (%v, %v): a peer could truncate it under us", seals, err)
	}
	m, err := s.Map(mmap.RDONLY, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Unmap()
	fmt.Println(len(m), m[4095])
	// Output: 4096 0
}

// Passing a segment to a child process.
func ExampleSegment_File() {
	s, err := shm.Create("work", 1<<20, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	cmd := exec.Command("worker")
	cmd.ExtraFiles = []*os.File{s.File()} // the child's descriptor 3
	if err := cmd.Run(); err != nil {
		log.Fatal(err)
	}
}

// A record written across the end of the ring is one copy in and one
// contiguous slice out.
func ExampleNewRing() {
	r, err := shm.NewRing(4096)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	b, size := r.Bytes(), r.Size()
	off := size - 3 // the record runs 3 bytes before the end and 4 after
	copy(b[off:], "wrapped")
	fmt.Printf("%s %s %s\n", b[off:off+7], b[size-3:size], b[:4])
	// Output: wrapped wra pped
}
