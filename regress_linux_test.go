package mmap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Regressions of the hardening issue that need Linux: page-cache eviction,
// mappings longer than their file, tmpfs, /dev/null. Each failed before its
// fix.

// A ReaderAt that only its own ReadAt still uses must stay mapped until that
// ReadAt returns. Its cleanup used to unmap it while the kernel was still
// reading the file in (the file is evicted first, so that takes a while, and
// the goroutine sits in a cgo call where the GC can finish a cycle): every
// read failed with a spurious ErrFault, and one could have returned another
// mapping's bytes.
func TestReaderAtStaysMappedWhileItReads(t *testing.T) {
	const size = 16 << 20
	data := pattern(size)
	f := tempFile(t, data, os.O_RDONLY)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // GC cycles back to back, so that cleanups run mid-read
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	p := make([]byte, size)
	for i := range 10 {
		evict(t, f)
		r, err := Open(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		// r is not used after this call: only the call keeps it alive.
		if n, err := r.ReadAt(p, 0); n != size || err != nil {
			t.Fatalf("read %d: ReadAt = %d, %v; want %d bytes", i, n, err, size)
		}
		if !bytes.Equal(p, data) {
			t.Fatalf("read %d: the bytes differ from the file", i)
		}
		clear(p)
	}
}

// ReadAt and WriteAt that fault partway return the bytes they moved, as
// io.ReaderAt and io.WriterAt say; they used to return 0. The error says
// where, in what kind of mapping, and why such a page faults. Under
// qemu-user, whose SIGBUS carries no address, this used to kill the process.
func TestPartialTransferCountsTheBytesMoved(t *testing.T) {
	data := pattern(2 * page)
	f := tempFile(t, data, os.O_RDWR)
	m := mustMap(t, f, 4*page, RDWR, 0, 0) // pages 2 and 3 lie past the end
	defer mustUnmap(t, &m)
	p := make([]byte, 3*page)
	n, err := m.ReadAt(p, int64(page/2))
	if want := 2*page - page/2; n != want || !errors.Is(err, ErrFault) || !bytes.Equal(p[:n], data[page/2:]) {
		t.Fatalf("ReadAt across the end of the file = %d, %v; want %d bytes and ErrFault", n, err, want)
	}
	for _, want := range []string{fmt.Sprintf("reading the page at byte %d ", 2*page), "shared mapping of a file", "past the end of the file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ReadAt's error %q does not say %q", err, want)
		}
	}
	w := bytes.Repeat([]byte{'w'}, 3*page)
	if n, err := m.WriteAt(w, int64(page)); n != page || !errors.Is(err, ErrFault) {
		t.Fatalf("WriteAt across the end of the file = %d, %v; want %d and ErrFault", n, err, page)
	}
	if !bytes.Equal(m[page:2*page], w[:page]) {
		t.Fatal("WriteAt did not write the page inside the file")
	}
}

// A Resize that fails changes nothing, the file included: it used to grow
// the file first and leave it grown when mremap (or the new map) failed.
// tmpfs takes a sparse file of 2^50 bytes; no address space takes a mapping
// of it.
func TestFailedResizeLeavesTheFileAlone(t *testing.T) {
	if strconv.IntSize != 64 {
		t.Skip("a length the kernel cannot map must fit in an int: 64-bit only")
	}
	dir, err := os.MkdirTemp("/dev/shm", "mmap-test-")
	if err != nil {
		t.Skipf("no tmpfs at /dev/shm to hold a sparse 1 PiB file: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "data")
	if err := os.WriteFile(path, pattern(2*page), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &m)
	huge := int64(1) << 50
	if err := m.Resize(f, int(huge), true); err == nil {
		t.Fatal("Resize to 1 PiB succeeded")
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != int64(2*page) {
		t.Fatalf("after a failed Resize the file has %d bytes (%v); want %d", fi.Size(), err, 2*page)
	}
	if len(m) != 2*page || m[page+1] != pattern(2 * page)[page+1] {
		t.Fatal("a failed Resize changed the mapping")
	}
}

// Open behaves like golang.org/x/exp/mmap's wherever that one does not
// crash: a file of size 0 (/dev/null, a procfs file) gives an empty reader.
// Open("/dev/null") used to fail with ErrInvalidLength.
func TestOpenOfSizelessFilesIsEmpty(t *testing.T) {
	for _, name := range []string{"/dev/null", "/proc/self/status"} {
		r, err := Open(name)
		if err != nil {
			t.Fatalf("Open(%s): %v; x/exp/mmap gives an empty reader", name, err)
		}
		if n, err := r.ReadAt(make([]byte, 1), 0); r.Len() != 0 || n != 0 || err != io.EOF {
			t.Fatalf("Open(%s): Len %d, ReadAt = %d, %v; want an empty reader", name, r.Len(), n, err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Nothing read from /proc may panic: an empty or odd line used to index
// fields that were not there.
func TestProcParsingNeverPanics(t *testing.T) {
	odd := []string{"", "\n", "VmLck:", "VmLck:\n", "VmLck: x kB", "CapEff:", "CapEff: zz",
		"Max locked memory", "Max locked memory\n", "Max locked memory   -1", "Hugepagesize:", "\x00\xff:"}
	for _, limits := range odd {
		for _, status := range odd {
			memlockVerdict(limits, status, 1)
		}
		firstField(limits, "VmLck:")
		firstField(limits, "")
	}
	limits := "Max locked memory         65536                65536                bytes\n"
	if hit, desc := memlockVerdict(limits, "VmLck:\t      60 kB\nCapEff:\t0000000000000000\n", 8192); !hit || !strings.Contains(desc, "65536") {
		t.Errorf("60 kB locked + 8 KiB under a 64 KiB limit: hit %v, %q; want hit, naming the limit", hit, desc)
	}
	if hit, _ := memlockVerdict(limits, "VmLck:\t 0 kB\nCapEff:\t0000000000000000\n", 8192); hit {
		t.Error("8 KiB under a 64 KiB limit with nothing locked counts as hitting it")
	}
	if hit, _ := memlockVerdict(limits, "VmLck:\t 60 kB\nCapEff:\t000001ffffffffff\n", 8192); hit {
		t.Error("a process with CAP_IPC_LOCK counts as hitting the limit")
	}
}
