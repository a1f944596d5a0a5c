package crash_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"
	"unsafe"

	"github.com/hugemap/mmap"
)

// Faults: a file truncated under a live mapping by another process. A page
// that now lies wholly past the end of the file raises SIGBUS when touched;
// the runtime turns that into a fatal "unexpected fault address" (exit
// status 2) unless debug.SetPanicOnFault makes it a panic that the caller
// can recover; a host whose SIGBUS disposition is the default dies by the
// signal.

// truncate runs coreutils' truncate, a process other than this one.
func truncate(t testing.TB, path string, size int) {
	t.Helper()
	if out, err := exec.Command("truncate", "-s", strconv.Itoa(size), path).CombinedOutput(); err != nil {
		t.Fatalf("truncate -s %d %s: %v\n%s", size, path, err, out)
	}
}

// faultChild runs in the re-executed process: map 4 pages of path, have
// truncate(1) cut the file to one page, read page 0 (still in the file),
// then page 1 (past the end).
func faultChild(mode, path string) {
	if mode == "sigbus-default" {
		// The default disposition, as in a host that does not catch
		// SIGBUS; no core file in the package directory.
		var act [64]byte // sa_handler SIG_DFL, no flags, empty mask
		if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGBUS), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0); e != 0 {
			fail("rt_sigaction: %v", e)
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{}); err != nil {
			fail("setrlimit: %v", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		fail("%v", err)
	}
	m, err := mmap.Map(f, mmap.RDWR, 0)
	if err != nil {
		fail("%v", err)
	}
	if out, err := exec.Command("truncate", "-s", strconv.Itoa(page), path).CombinedOutput(); err != nil {
		fail("truncate: %v %s", err, out)
	}
	fmt.Printf("page 0 reads %d\n", m[0])
	os.Stdout.Sync()
	fmt.Printf("page 1 reads %d\n", m[page]) // SIGBUS
	os.Exit(0)
}

func runFaultChild(t *testing.T, mode string) (*os.ProcessState, string) {
	t.Helper()
	path := newFile(t, bytes.Repeat([]byte{7}, 4*page))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode+":"+path)
	out, _ := cmd.CombinedOutput()
	if fi, err := os.Stat(path); err != nil || fi.Size() != int64(page) {
		t.Fatalf("the child did not truncate the file: %v", err)
	}
	return cmd.ProcessState, string(out)
}

// Under the Go runtime's own handler the fault is fatal: exit status 2,
// with the runtime's report of the SIGBUS and the faulting address.
func TestTruncatedFileFaultIsFatalInGo(t *testing.T) {
	ps, out := runFaultChild(t, "sigbus-go")
	if ps.ExitCode() != 2 || !bytes.Contains([]byte(out), []byte("signal SIGBUS: bus error")) ||
		!bytes.Contains([]byte(out), []byte("unexpected fault address")) {
		t.Fatalf("child exited %v; want exit status 2 reporting SIGBUS\n%s", ps, out)
	}
	if !bytes.Contains([]byte(out), []byte("page 0 reads 7")) || bytes.Contains([]byte(out), []byte("page 1 reads")) {
		t.Fatalf("want page 0 read and page 1 faulting:\n%s", out)
	}
}

// With SIGBUS at its default disposition the process dies by the signal.
func TestTruncatedFileFaultKillsWithSIGBUS(t *testing.T) {
	ps, out := runFaultChild(t, "sigbus-default")
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGBUS {
		t.Fatalf("child ended with %v; want killed by SIGBUS\n%s", ps, out)
	}
	if !bytes.Contains([]byte(out), []byte("page 0 reads 7")) || bytes.Contains([]byte(out), []byte("page 1 reads")) {
		t.Fatalf("want page 0 read and page 1 faulting:\n%s", out)
	}
}

// touch reads (or writes) the byte at p with faults turned into panics,
// and returns the fault's address, or 0 where there was none.
func touch(p *byte, write bool) (addr uintptr, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		_, isRuntime := r.(runtime.Error)
		ae, hasAddr := r.(interface{ Addr() uintptr })
		if !isRuntime || !hasAddr {
			err = fmt.Errorf("panic %v (%T) is not a runtime.Error with an address", r, r)
			return
		}
		addr = ae.Addr()
	}()
	if write {
		*p = 1
	} else {
		sink += *p
	}
	return 0, nil
}

var sink byte

// In the test process itself: with SetPanicOnFault, a touch of a page past
// the new end of the file is a recoverable panic at that address, the
// pages still in the file read and write normally, and the mapping unmaps.
func TestTruncatedFileFaultIsRecoverableWithSetPanicOnFault(t *testing.T) {
	const pages = 8
	path := newFile(t, bytes.Repeat([]byte{9}, pages*page))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mmap.Map(f, mmap.RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	truncate(t, path, 2*page+100) // pages 0-2 keep (part of) the file
	faultsSurvived := 0
	for i := range pages {
		for _, write := range []bool{false, true} {
			p := &m[i*page+page/2]
			at, err := touch(p, write)
			if err != nil {
				t.Fatal(err)
			}
			past := i > 2
			if past && at != uintptr(unsafe.Pointer(p)) {
				t.Fatalf("page %d, past the end of the file: touch (write %v) faulted at %#x, want a fault at %p", i, write, at, p)
			}
			if !past && at != 0 {
				t.Fatalf("page %d, inside the file: touch (write %v) faulted at %#x", i, write, at)
			}
			if past {
				faultsSurvived++
			}
		}
	}
	// The mapping is intact: the file's pages are usable, and flush.
	if m[0] != 9 || m[2*page+99] != 9 || m[2*page+100] != 0 {
		t.Fatalf("bytes in the file's pages: %d %d %d; want 9 9 0 (the rest of the last page is zero)", m[0], m[2*page+99], m[2*page+100])
	}
	copy(m, "after the fault")
	if err := m[:page].Flush(); err != nil {
		t.Fatal(err)
	}
	// Grown again, the pages are back (the new part reads as zeros).
	truncate(t, path, pages*page)
	if at, err := touch(&m[5*page], false); at != 0 || err != nil || m[5*page] != 0 {
		t.Fatalf("page 5 after the file grew back: fault at %#x, %v, byte %d", at, err, m[5*page])
	}
	if err := m.Unmap(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(got, []byte("after the fault")) {
		t.Fatalf("file after the faults: %q..., %v", got[:16], err)
	}
	t.Logf("%d faults (reads and writes past the new end of file) recovered in-process; mapping flushed and unmapped", faultsSurvived)
}
