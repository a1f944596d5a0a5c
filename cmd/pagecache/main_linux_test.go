package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The command as a process on real trees, against vmtouch and fincore.

// tree is a test tree: files of every kind vmtouch and fincore treat
// differently, in nested directories every user may enter.
type tree struct {
	root    string
	regular []string // the paths counted, one per file (b is a's hard link)
	pages   int64    // their pages
	onTmpfs bool
	cmd     string // the command: a copy of this test binary
}

func makeTree(t *testing.T) *tree {
	t.Helper()
	root := sharedDir(t)
	tr := &tree{root: root}
	write := func(rel string, n int) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a", 100000)
	tr.regular = append(tr.regular, a, write("sub/c", 5000), write("sub/deeper/d", 3*int(pageSize)), write("empty", 0))
	if err := os.Link(a, filepath.Join(root, "b")); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(root, "sparse")
	if err := os.WriteFile(sparse, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 1<<20); err != nil {
		t.Fatal(err)
	}
	tr.regular = append(tr.regular, sparse)
	tr.pages = pagesOf(100000) + pagesOf(5000) + 3 + 0 + 256
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	unread := write("sub/unreadable", 10000)
	if err := os.Chmod(unread, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/c", filepath.Join(root, "clink")); err != nil {
		t.Fatal(err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(root, &st); err != nil {
		t.Fatal(err)
	}
	tr.onTmpfs = uint32(st.Type) == 0x01021994
	syscall.Sync() // clean pages, so that evict can drop them
	// The kernel shows a file's cache only to its owner or a process that
	// may write it: the user the command runs as owns the tree.
	if os.Getuid() == 0 {
		err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, 65534, 65534)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	tr.cmd = command(t)
	return tr
}

// sharedDir is a temporary directory that every user can enter.
func sharedDir(t *testing.T) string {
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil && !errors.Is(err, os.ErrPermission) {
			t.Fatal(err)
		}
	}
	return dir
}

// command is this test binary as the command, copied where any user can
// run it.
func command(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(sharedDir(t), "pagecache")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// underQEMU says whether this test binary runs under qemu-user: the
// kernel's machine (/proc/sys/kernel/arch, which qemu passes through)
// cannot run GOARCH's code natively.
func underQEMU() bool {
	native := map[string][]string{"amd64": {"x86_64"}, "386": {"i686", "x86_64"}, "arm64": {"aarch64"}, "arm": {"armv7l", "armv8l", "aarch64"}}[runtime.GOARCH]
	b, err := os.ReadFile("/proc/sys/kernel/arch")
	return err == nil && native != nil && !slices.Contains(native, strings.TrimSpace(string(b)))
}

// commandLine is argv for the command at path: under qemu-user the
// emulator runs it (the kernel cannot exec it without binfmt_misc).
func commandLine(t *testing.T, path string, args ...string) []string {
	t.Helper()
	if !underQEMU() {
		return append([]string{path}, args...)
	}
	name := map[string]string{"arm64": "qemu-aarch64", "arm": "qemu-arm", "386": "qemu-i386"}[runtime.GOARCH]
	emu, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("under qemu-user, and %s is not in PATH to run the command with: %v", name, err)
	}
	return append([]string{emu, path}, args...)
}

// result is a run of a command: its exit status and output.
type result struct {
	code           int
	stdout, stderr string
}

// runAs runs argv as a user who cannot read a file with mode 0: nobody
// when the test runs as root, else this user. Nothing may take longer than
// a minute: a FIFO that blocked the walk would.
func runAs(t *testing.T, stdin string, argv ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PAGECACHE_AS_COMMAND=1")
	cmd.Stdin = strings.NewReader(stdin)
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%q did not finish in a minute (a FIFO opened?)", argv)
	}
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%q: %v", argv, err)
	}
	return result{code, out.String(), errOut.String()}
}

// ours runs the command on the tree's behalf with args.
func (tr *tree) ours(t *testing.T, args ...string) result {
	t.Helper()
	return runAs(t, "", commandLine(t, tr.cmd, args...)...)
}

// vmtouchCounts runs vmtouch with args as the same user and parses its
// summary.
func vmtouchCounts(t *testing.T, args ...string) (files, dirs, resident, pages int64) {
	t.Helper()
	if _, err := exec.LookPath("vmtouch"); err != nil {
		t.Skip("vmtouch is not installed (Debian: vmtouch); it is the witness of the walk's counts")
	}
	r := runAs(t, "", append([]string{"vmtouch"}, args...)...)
	get := func(re string) []int64 {
		m := regexp.MustCompile(re).FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("vmtouch %q printed no %s:\n%s%s", args, re, r.stdout, r.stderr)
		}
		var v []int64
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			v = append(v, n)
		}
		return v
	}
	rp := get(`Resident Pages: (\d+)/(\d+)`)
	return get(`Files: (\d+)`)[0], get(`Directories: (\d+)`)[0], rp[0], rp[1]
}

// fincoreResident is fincore's count of the cached pages of paths.
func fincoreResident(t *testing.T, paths ...string) int64 {
	t.Helper()
	if _, err := exec.LookPath("fincore"); err != nil {
		t.Skip("fincore (Debian: util-linux-extra) is not installed; it is the witness of the counts")
	}
	out, err := exec.Command("fincore", append([]string{"--bytes", "--noheadings", "--raw", "--output", "RES"}, paths...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, f := range strings.Fields(string(out)) {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("fincore printed %q", out)
		}
		n += v / pageSize
	}
	return n
}

func decode(t *testing.T, r result) summary {
	t.Helper()
	var s summary
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("-json output %q: %v", r.stdout, err)
	}
	var raw map[string]any
	json.Unmarshal([]byte(r.stdout), &raw)
	for _, key := range []string{"files", "directories", "pages", "resident_pages", "bytes", "resident_bytes", "elapsed_seconds"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("-json output lacks %q: %s", key, r.stdout)
		}
	}
	return s
}

// stat counts what vmtouch counts, on the same tree as the same user:
// hard links once, symlinks not followed, empty and sparse files, the FIFO
// skipped with a warning, the unreadable file an error (exit 1) that does
// not stop the walk; fincore agrees on what is cached.
func TestStatCountsAsVmtouch(t *testing.T) {
	tr := makeTree(t)
	r := tr.ours(t, "stat", "-json", tr.root)
	s := decode(t, r)
	files, dirs, resident, pages := vmtouchCounts(t, tr.root)
	if s.Files != files || s.Directories != dirs || s.ResidentPages != resident || s.Pages != pages {
		t.Errorf("pagecache: %d files, %d directories, %d/%d pages; vmtouch: %d, %d, %d/%d\n%s", s.Files, s.Directories, s.ResidentPages, s.Pages, files, dirs, resident, pages, r.stdout)
	}
	if s.Files != int64(len(tr.regular))+1 || s.Directories != 3 || s.Pages != tr.pages {
		t.Errorf("pagecache counted %d files, %d directories, %d pages; the tree has %d readable files (one a hard link pair) and an unreadable one, 3 directories, %d pages", s.Files, s.Directories, s.Pages, len(tr.regular), tr.pages)
	}
	if want := fincoreResident(t, tr.regular...); s.ResidentPages != want {
		t.Errorf("pagecache: %d pages resident; fincore says %d", s.ResidentPages, want)
	}
	if s.Bytes != s.Pages*pageSize || s.ResidentBytes != s.ResidentPages*pageSize {
		t.Errorf("bytes %d and resident_bytes %d are not pages times %d", s.Bytes, s.ResidentBytes, pageSize)
	}
	if r.code != 1 || s.Errors != 1 || !strings.Contains(r.stderr, "unreadable") || !strings.Contains(r.stderr, "permission denied") {
		t.Errorf("the unreadable file: exit %d, %d errors, stderr %q; want exit 1 naming it", r.code, s.Errors, r.stderr)
	}
	if !strings.Contains(r.stderr, "skipping non-regular file: "+filepath.Join(tr.root, "fifo")) {
		t.Errorf("no warning for the FIFO: %q", r.stderr)
	}

	// Ignoring the unreadable file: exit 0. vmtouch agrees with -i too.
	r = tr.ours(t, "-i", "unreadable", tr.root)
	if r.code != 0 {
		t.Errorf("with -i unreadable: exit %d, stderr %q", r.code, r.stderr)
	}
	m := regexp.MustCompile(`(?m)^ +Files: (\d+)\n +Directories: (\d+)\n +Resident Pages: (\d+)/(\d+)  \S+/\S+  [\d.]+%\n +Elapsed: \S+ seconds\n$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("the summary is not in vmtouch's shape:\n%s", r.stdout)
	}
	if files, _, _, _ := vmtouchCounts(t, "-i", "unreadable", tr.root); m[1] != strconv.FormatInt(files, 10) {
		t.Errorf("with -i: %s files; vmtouch -i says %d", m[1], files)
	}

	// Symlinks named on the command line are not followed without -f; with
	// it, a link to a file of one link counts again, as vmtouch -f does.
	r = tr.ours(t, "-json", filepath.Join(tr.root, "link"))
	if s := decode(t, r); s.Files != 0 || r.code != 0 || !strings.Contains(r.stderr, "not following symbolic link") {
		t.Errorf("a symlink named without -f: %d files, exit %d, %q", s.Files, r.code, r.stderr)
	}
	r = tr.ours(t, "-f", "-json", "-i", "unreadable", tr.root)
	files, _, _, _ = vmtouchCounts(t, "-f", "-i", "unreadable", tr.root)
	if s := decode(t, r); s.Files != files || s.Files != int64(len(tr.regular))+1 {
		t.Errorf("-f: %d files; vmtouch -f counts %d; the tree has %d and a link to a file of one link", s.Files, files, len(tr.regular))
	}
	// -h counts every hard link.
	if s := decode(t, tr.ours(t, "-h", "-json", "-i", "unreadable", tr.root)); s.Files != int64(len(tr.regular))+1 {
		t.Errorf("-h: %d files, want %d", s.Files, len(tr.regular)+1)
	}
}

// -v gives a bar per file and, with -json, entries; -m, -I and -b choose
// the files.
func TestVerboseAndSelection(t *testing.T) {
	tr := makeTree(t)
	r := tr.ours(t, "-v", "-i", "unreadable", tr.root)
	for _, p := range tr.regular[1:] {
		if !strings.Contains(r.stdout, p+"\n[") {
			t.Errorf("-v: no bar for %s:\n%s", p, r.stdout)
		}
	}
	// a and b are one file: a bar for one of its paths.
	a, b := tr.regular[0], filepath.Join(tr.root, "b")
	if strings.Contains(r.stdout, a+"\n[") == strings.Contains(r.stdout, b+"\n[") {
		t.Errorf("-v: want a bar for one of the hard links %s and %s:\n%s", a, b, r.stdout)
	}
	s := decode(t, tr.ours(t, "-v", "-json", "-i", "unreadable", tr.root))
	if len(s.Entries) != len(tr.regular) {
		t.Fatalf("-v -json: %d entries, want %d", len(s.Entries), len(tr.regular))
	}
	for _, e := range s.Entries {
		if e.Pages != pagesOf(e.Size) || e.Resident > e.Pages || e.Resident != fincoreResident(t, e.Path) {
			t.Errorf("entry %+v: fincore says %d resident", e, fincoreResident(t, e.Path))
		}
	}
	if s := decode(t, tr.ours(t, "-m", "12K", "-json", "-i", "unreadable", tr.root)); s.Files != 3 {
		t.Errorf("-m 12K: %d files, want 3 (c, d, empty)", s.Files)
	}
	if s := decode(t, tr.ours(t, "-I", "[cd]", "-json", tr.root)); s.Files != 2 || s.Directories != 3 {
		t.Errorf("-I [cd]: %d files in %d directories, want 2 in 3", s.Files, s.Directories)
	}
	list := filepath.Join(tr.root, "a") + "\n" + filepath.Join(tr.root, "sub", "c") + "\n"
	r = runAs(t, list, commandLine(t, tr.cmd, "-b", "-", "-json")...)
	if s := decode(t, r); s.Files != 2 || s.Pages != pagesOf(100000)+2 {
		t.Errorf("-b -: %d files, %d pages", s.Files, s.Pages)
	}
}

// touch brings every file in (fincore), evict drops them, and stat after
// each agrees with fincore; on tmpfs nothing can be dropped.
func TestTouchAndEvict(t *testing.T) {
	tr := makeTree(t)
	r := tr.ours(t, "touch", "-json", "-i", "unreadable", tr.root)
	s := decode(t, r)
	if r.code != 0 || s.ResidentPages != tr.pages || fincoreResident(t, tr.regular...) != tr.pages {
		t.Errorf("touch: exit %d, %d of %d pages resident; fincore says %d", r.code, s.ResidentPages, tr.pages, fincoreResident(t, tr.regular...))
	}
	if !strings.Contains(tr.ours(t, "touch", "-i", "unreadable", tr.root).stdout, "Touched Pages: "+strconv.FormatInt(tr.pages, 10)) {
		t.Errorf("touch's summary has no Touched Pages line")
	}
	r = tr.ours(t, "evict", "-json", "-i", "unreadable", tr.root)
	if s := decode(t, r); r.code != 0 || s.ResidentPages != -1 || s.Pages != tr.pages {
		t.Errorf("evict: exit %d, %+v; want every page and resident_pages -1 (not counted)", r.code, s)
	}
	after := decode(t, tr.ours(t, "-json", "-i", "unreadable", tr.root))
	cached := fincoreResident(t, tr.regular...)
	if after.ResidentPages != cached {
		t.Errorf("stat after evict: %d resident; fincore says %d", after.ResidentPages, cached)
	}
	switch {
	case tr.onTmpfs && cached != tr.pages:
		t.Errorf("evict on tmpfs: fincore says %d of %d pages stay; tmpfs cannot drop any", cached, tr.pages)
	case !tr.onTmpfs && cached != 0:
		// Pages on another CPU's LRU batch can stay for a moment.
		if again := decode(t, tr.ours(t, "evict", "-json", tr.root)); fincoreResident(t, tr.regular...) != 0 {
			t.Errorf("evict: fincore says %d pages stay cached, after a second evict %d (%+v)", cached, fincoreResident(t, tr.regular...), again)
		}
	}
	// refold: on tmpfs an error naming it; on a disk, done.
	r = tr.ours(t, "refold", "-json", filepath.Join(tr.root, "a"))
	if tr.onTmpfs != (r.code == 1 && strings.Contains(r.stderr, "tmpfs")) {
		t.Errorf("refold on tmpfs %v: exit %d, stderr %q", tr.onTmpfs, r.code, r.stderr)
	}
}

// lock stays in the foreground with the pages locked until SIGTERM, then
// unlocks and exits 0.
func TestLockUntilSignal(t *testing.T) {
	tr := makeTree(t)
	argv := commandLine(t, tr.cmd, "lock", "-i", "unreadable", tr.root)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PAGECACHE_AS_COMMAND=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "files locked") {
				done <- nil
				io.Copy(io.Discard, stderr)
				return
			}
		}
		done <- errors.New("lock exited without locking")
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("lock did not lock in a minute")
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmLck:\s+(\d+) kB`).FindSubmatch(status)
	if locked, _ := strconv.ParseInt(string(m[1]), 10, 64); locked*1024 != tr.pages*pageSize {
		t.Errorf("the lock process has %d kB locked; the tree has %d pages", locked, tr.pages)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("lock after SIGTERM: %v", err)
	}
	if !strings.Contains(out.String(), "Locked Pages: "+strconv.FormatInt(tr.pages, 10)) {
		t.Errorf("lock's summary: %q", out.String())
	}
}
