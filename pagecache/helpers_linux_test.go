package pagecache

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// The kernel's witnesses for the tests: fincore, /proc/self/status and
// smaps, and probes of what this kernel does.

var page = os.Getpagesize()

// fincorePages is how many pages of the file at path util-linux's fincore
// says are cached. It fails the test without fincore: needFincore first.
func fincorePages(t testing.TB, path string) int64 {
	t.Helper()
	out, err := exec.Command("fincore", "--bytes", "--noheadings", "--raw", "--output", "RES", path).Output()
	if err != nil {
		t.Fatalf("fincore %s: %v", path, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatalf("fincore output %q: %v", out, err)
	}
	return n / int64(page)
}

// needFincore skips a test that needs fincore as its witness.
func needFincore(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("fincore"); err != nil {
		t.Skip("fincore (Debian: util-linux-extra) is not installed; it is the independent witness of these counts")
	}
}

// dataFile writes a file of n bytes that differ page to page, and syncs it
// so its pages are clean (evictable). It is opened read-only.
func dataFile(t testing.TB, n int) *os.File {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i/page + i)
	}
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// memoryOnlyFS says why f's file system cannot drop pages (tmpfs, ramfs:
// TMPDIR=/dev/shm), or "".
func memoryOnlyFS(f *os.File) string {
	if fs := memoryOnly(f); fs != "" {
		return fmt.Sprintf("%s is on %s, whose pages live in memory only: nothing can be evicted; set TMPDIR to a directory on a disk", filepath.Dir(f.Name()), fs)
	}
	return ""
}

// evictAll drops every page of f, asking again while the kernel keeps some
// (pages on another CPU's LRU batch), and fails the test if they stay.
// It skips on a file system that keeps pages in memory only.
func evictAll(t testing.TB, f *os.File) {
	t.Helper()
	if why := memoryOnlyFS(f); why != "" {
		t.Skip(why)
	}
	var r Residency
	for try := range 50 {
		if try > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		if err := Evict(f, 0, -1); err != nil {
			t.Fatal(err)
		}
		var err error
		if r, err = Stat(f, 0, -1); err != nil {
			t.Fatal(err)
		}
		if r.Resident == 0 {
			return
		}
	}
	t.Fatalf("%d pages of %s stay cached after asking 50 times to drop them", r.Resident, f.Name())
}

// readPages reads one byte of each page index given, with read(2) after
// POSIX_FADV_RANDOM so that the kernel reads no more than the page's
// folio: a way to make pages resident that shares no code with Touch.
func readPages(t testing.TB, f *os.File, pages ...int) {
	t.Helper()
	const fadvRandom = 1
	if e := fadvise(f.Fd(), 0, 0, fadvRandom); e != 0 {
		t.Fatal(e)
	}
	var b [1]byte
	for _, p := range pages {
		if _, err := f.ReadAt(b[:], int64(p*page)); err != nil {
			t.Fatal(err)
		}
	}
}

// statusKB is a "Key: N kB" line of /proc/self/status.
func statusKB(t testing.TB, key string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s in /proc/self/status: %v", key, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", key)
	return 0
}

// mappingsOf counts the lines of /proc/self/maps that map path.
func mappingsOf(t testing.TB, path string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(b)) {
		if strings.HasSuffix(strings.TrimSpace(line), " "+path) {
			n++
		}
	}
	return n
}

// probePMD says whether this kernel and f's file system cache f in folios
// that map with PMD entries when it is read back after an eviction
// through a 2 MiB-aligned MADV_HUGEPAGE mapping: raw system calls and
// /proc/self/smaps, none of this package's code but fadvise.
func probePMD(t testing.TB, f *os.File) (bool, string) {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	size := int(fi.Size())
	if e := fadvise(f.Fd(), 0, 0, fadvDontNeed); e != 0 {
		t.Fatal(e)
	}
	// Over-allocate, then map the file at a 2 MiB boundary in the hole.
	hole, err := syscall.Mmap(-1, 0, size+hugeBlock, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(hole)
	at := (uintptr(unsafe.Pointer(&hole[0])) + hugeBlock - 1) &^ (hugeBlock - 1)
	const mapFixed, madvHugepage, madvPopulateRead = 0x10, 14, 22
	// SYS_MMAP is the old call that takes a struct on 32-bit x86 and arm;
	// mmap2 (192 on both) takes the arguments, the offset in pages.
	mmapNr := uintptr(syscall.SYS_MMAP)
	if runtime.GOARCH == "386" || runtime.GOARCH == "arm" {
		mmapNr = 192
	}
	addr, _, e := syscall.Syscall6(mmapNr, at, uintptr(size), syscall.PROT_READ, syscall.MAP_SHARED|mapFixed, f.Fd(), 0)
	if e != 0 {
		t.Fatal(e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(size), madvHugepage); e != 0 {
		return false, fmt.Sprintf("MADV_HUGEPAGE: %v (transparent hugepages: %s)", e, thpEnabled())
	}
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(size), madvPopulateRead); e != 0 {
		return false, fmt.Sprintf("MADV_POPULATE_READ: %v", e)
	}
	pmd := smapsField(t, addr, "FilePmdMapped")
	return pmd > 0, fmt.Sprintf("FilePmdMapped %d kB of %d bytes read back (transparent hugepages: %s)", pmd, size, thpEnabled())
}

func thpEnabled() string {
	b, _ := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	return strings.TrimSpace(string(b))
}

// smapsField is the kB value of key in the smaps entry of the VMA that
// starts at addr.
func smapsField(t testing.TB, addr uintptr, key string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	start := fmt.Sprintf("%x-", addr)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if first, _, _ := strings.Cut(line, " "); !strings.HasSuffix(first, ":") {
			in = strings.HasPrefix(line, start) // a VMA's first line
			continue
		}
		if rest, ok := strings.CutPrefix(line, key+":"); in && ok {
			n, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return n
		}
	}
	t.Fatalf("no VMA at %#x with %s in /proc/self/smaps", addr, key)
	return 0
}

// underQEMU reports whether this binary runs under qemu-user: the kernel's
// machine (/proc/sys/kernel/arch, which qemu passes through) cannot run
// GOARCH's code natively.
var underQEMU = sync.OnceValue(func() bool {
	native := map[string][]string{"amd64": {"x86_64"}, "386": {"i686", "x86_64"}, "arm64": {"aarch64"}, "arm": {"armv7l", "armv8l", "aarch64"}}[runtime.GOARCH]
	b, err := os.ReadFile("/proc/sys/kernel/arch")
	return err == nil && native != nil && !slices.Contains(native, strings.TrimSpace(string(b)))
})

// haveCachestat says whether this kernel (or emulator: qemu-user answers
// ENOSYS) has cachestat, asked of f.
func haveCachestat(t testing.TB, f *os.File) bool {
	t.Helper()
	_, err := cachestat(span{f: f, n: 1})
	if err != nil && !cachestatMissing(err) && !cachestatHidden(err) {
		t.Fatalf("cachestat: %v", err)
	}
	return err == nil || cachestatHidden(err)
}

// qemuPrefix is what runs a binary of this GOARCH under qemu-user when
// this test runs under it (the kernel cannot exec it without binfmt_misc):
// the emulator named as the build script names it, from PATH; nil natively.
func qemuPrefix(t testing.TB) []string {
	if !underQEMU() {
		return nil
	}
	name := map[string]string{"arm64": "qemu-aarch64", "arm": "qemu-arm", "386": "qemu-i386"}[runtime.GOARCH]
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("under qemu-user, and %s is not in PATH to run a child process with: %v", name, err)
	}
	return []string{path}
}

// childEnv names the test a child process of runChild runs, and the
// variable that hands it its argument.
const childEnv, childArgEnv = "PAGECACHE_TEST_CHILD", "PAGECACHE_TEST_ARG"

// runChild runs the test named name in a child process of this test
// binary, with arg in its environment: as uid and gid 65534 (nobody,
// without capabilities) when this process is root, else as this user. The
// binary is copied where that user can run it. It returns the child's
// output and fails the test if the child fails.
func runChild(t *testing.T, name, arg string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := shareDir(t)
	copyExe := filepath.Join(dir, "pagecache.test")
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(copyExe, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(dst, src)
	src.Close()
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	argv := append(qemuPrefix(t), copyExe, "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), childEnv+"="+name, childArgEnv+"="+arg)
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("child %s: %v\n%s", name, err, out.String())
	}
	if !strings.Contains(out.String(), "--- PASS: "+name) {
		t.Fatalf("child %s did not pass:\n%s", name, out.String())
	}
	return out.String()
}

// inChild reports whether this process is runChild's child for test name.
func inChild(name string) bool { return os.Getenv(childEnv) == name }

// shareDir is a temporary directory that every user can read and enter,
// with its parents (t.TempDir makes them 0700).
func shareDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil && !errors.Is(err, os.ErrPermission) {
			t.Fatal(err)
		}
	}
	return dir
}
