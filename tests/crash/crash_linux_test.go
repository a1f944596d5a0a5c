package crash_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hugemap/mmap"
)

// Crash durability. A child process (this test binary, re-executed with
// MMAP_CRASH_CHILD set; TestMain sends it to child) writes through a
// mapping and is killed with SIGKILL at a moment it does not choose; the
// parent then reads the file.
//
// What survives a SIGKILL on Linux: a shared file mapping's pages are the
// page cache's pages, so every write that reached them is in the file when
// the process dies, flushed or not; the kernel writes the dirty ones back
// later. Flush (msync MS_SYNC) is what makes them survive a machine crash
// (power loss, kernel panic), which a test cannot stage: the flushed
// pages are clean, and after they are evicted from the page cache
// (POSIX_FADV_DONTNEED drops clean pages only) the parent reads them back
// from the disk. A COPY mapping's writes are in private pages that die with
// the process: they never reach the file.

const (
	childEnv = "MMAP_CRASH_CHILD" // mode:path
	unitSize = 4                  // pages per flush unit
	units    = 128                // units in the file
	killAt   = 64                 // units reported flushed before the kill
)

var page = os.Getpagesize()

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		mode, path, _ := strings.Cut(spec, ":")
		if strings.HasPrefix(mode, "sigbus") {
			faultChild(mode, path)
		}
		child(mode, path)
		os.Exit(3) // child returns only on failure
	}
	os.Exit(m.Run())
}

// record is the content of flush unit u, written in generation gen:
// a header with gen and u, then bytes that depend on both.
func record(gen byte, u int) []byte {
	b := make([]byte, unitSize*page)
	binary.LittleEndian.PutUint64(b, uint64(gen)<<32|uint64(u))
	for i := 8; i < len(b); i++ {
		b[i] = byte(i*7) ^ gen ^ byte(u)
	}
	return b
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "child: "+format+"\n", args...)
	os.Exit(3)
}

// child runs in the re-executed process and never returns normally: the
// parent kills it.
func child(mode, path string) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		fail("%v", err)
	}
	prot := mmap.RDWR
	if mode == "copy" {
		prot = mmap.COPY
	}
	m, err := mmap.Map(f, prot, 0)
	if err != nil {
		fail("%v", err)
	}
	f.Close() // the mapping does not need the descriptor
	out := bufio.NewWriter(os.Stdout)
	for u := range units {
		unit := m[u*unitSize*page : (u+1)*unitSize*page]
		copy(unit, record(1, u))
		switch mode {
		case "flush", "copy":
			if err := unit.Flush(); err != nil {
				fail("Flush of unit %d: %v", u, err)
			}
			fmt.Fprintf(out, "flushed %d\n", u)
			out.Flush()
		}
	}
	fmt.Fprintln(out, "done")
	out.Flush()
	// Wait for SIGKILL. Not select {}: with no goroutine left to run, a
	// binary without cgo calls that a deadlock and exits with status 2,
	// which can come before the kill when the parent is slow to send it.
	for {
		time.Sleep(time.Hour)
	}
}

// crashChild starts the child in mode on path, waits until it has reported
// n lines, kills it with SIGKILL and asserts that the kill is what ended
// it. It returns the lines the child reported.
func crashChild(t *testing.T, mode, path string, n int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode+":"+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(stdout)
	for len(lines) < n && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	// The child goes on writing (and flushing) while the signal travels.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child (%s) ended with %v, not by SIGKILL; %d lines reported\nstderr: %s", mode, err, len(lines), stderr.String())
	}
	if len(lines) < n {
		t.Fatalf("child (%s) reported %d lines before dying, want %d\nstderr: %s", mode, len(lines), n, stderr.String())
	}
	return lines
}

func newFile(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fadvise64 is the fadvise64 system call where it takes (fd, offset, len,
// advice) in four registers.
var fadvise64 = map[string]uintptr{"amd64": 221, "arm64": 223}[runtime.GOARCH]

// evictClean drops the file's clean pages from the page cache, so that what
// is read next of them comes from the disk; it reports whether it could.
func evictClean(t *testing.T, path string) bool {
	t.Helper()
	if fadvise64 == 0 {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const dontNeed = 4
	if _, _, errno := syscall.Syscall6(fadvise64, f.Fd(), 0, 0, dontNeed, 0, 0); errno != 0 {
		t.Fatalf("fadvise(POSIX_FADV_DONTNEED): %v", errno)
	}
	return true
}

// residentUnits counts the flush units of path that have a page in the
// page cache, through a fresh read-only mapping and mincore.
func residentUnits(t *testing.T, path string, upTo int) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mmap.Map(f, mmap.RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	in, err := m.ResidentPages()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for u := range upTo {
		for _, r := range in[u*unitSize : (u+1)*unitSize] {
			if r {
				n++
				break
			}
		}
	}
	return n
}

// Every byte a child flushed before it was killed is in the file, read back
// from the disk where the page cache could be bypassed.
func TestFlushedBytesSurviveSIGKILL(t *testing.T) {
	path := newFile(t, make([]byte, units*unitSize*page))
	lines := crashChild(t, "flush", path, killAt)
	flushed := map[int]bool{}
	for _, l := range lines {
		u, err := strconv.Atoi(strings.TrimPrefix(l, "flushed "))
		if err != nil || !strings.HasPrefix(l, "flushed ") {
			t.Fatalf("child said %q", l)
		}
		flushed[u] = true
	}
	fromDisk := ""
	if evictClean(t, path) {
		// Flushed pages are clean and the eviction drops them, unless a
		// large folio also holds a page written after the last report
		// (dirty): so this is reported, not asserted. That Flush writes
		// pages back is TestFlushWritesPagesBack's (kpageflags).
		fromDisk = fmt.Sprintf("; after eviction %d of the %d flushed units were still in the page cache, the rest were read back from the disk",
			residentUnits(t, path, killAt), killAt)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	verified, later := 0, 0
	for u := range units {
		unit := got[u*unitSize*page : (u+1)*unitSize*page]
		if flushed[u] {
			if !bytes.Equal(unit, record(1, u)) {
				t.Fatalf("unit %d was flushed before the kill but the file does not hold it", u)
			}
			verified += len(unit)
		} else if bytes.Equal(unit, record(1, u)) {
			later++ // written (and maybe flushed) after the last line the parent read
		}
	}
	if len(flushed) != killAt {
		t.Fatalf("%d distinct units reported flushed, want %d", len(flushed), killAt)
	}
	t.Logf("%d flushed bytes (%d units) verified after SIGKILL; %d more units complete in the file, written between the last report and the kill%s",
		verified, len(flushed), later, fromDisk)
}

// Without Flush, a SIGKILL loses nothing either: the writes are in the page
// cache, which outlives the process. (A machine crash would lose what was
// not yet written back; that is what Flush is for.)
func TestUnflushedWritesSurviveSIGKILLInThePageCache(t *testing.T) {
	path := newFile(t, make([]byte, units*unitSize*page))
	if l := crashChild(t, "noflush", path, 1); l[0] != "done" {
		t.Fatalf("child said %q", l[0])
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for u := range units {
		if !bytes.Equal(got[u*unitSize*page:(u+1)*unitSize*page], record(1, u)) {
			t.Fatalf("unit %d, written without Flush by a process then killed, is not in the file", u)
		}
	}
	t.Logf("%d unflushed bytes verified after SIGKILL (from the page cache)", len(got))
}

// A COPY mapping's writes, flushed or not, never reach the file, even when
// the process is killed while it holds them.
func TestCopyWritesNeverReachTheFileAfterSIGKILL(t *testing.T) {
	data := make([]byte, units*unitSize*page)
	for i := range data {
		data[i] = byte(i*13 + 5)
	}
	path := newFile(t, data)
	crashChild(t, "copy", path, killAt)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		for i := range got {
			if got[i] != data[i] {
				t.Fatalf("byte %d of the file changed after a COPY child was killed: %#x, was %#x", i, got[i], data[i])
			}
		}
	}
	t.Logf("%d bytes unchanged after a COPY writer was killed", len(got))
}
