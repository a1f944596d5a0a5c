package shm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hugemap/mmap"
)

// Segments against the Linux kernel: memfd_create's flags as /proc shows
// them, seals as the kernel enforces them on another process, the fault
// that an unsealed peer causes, and the hugetlb pool.

// A child started with the segment in ExtraFiles reads what the parent
// wrote, writes back, and the parent sees it through its own mapping.
func TestChildReadsAndWritesBack(t *testing.T) {
	if inChild(t, map[string]func(*testing.T, *Segment){"read-write": readAndWriteBack}) {
		return
	}
	s := newSegment(t, "exchange", 3*os.Getpagesize()+100, 0)
	m := mapSegment(t, s, mmap.RDWR)
	copy(m, pattern(s.Size(), 1))
	startChild(t, s, "read-write")
	if !bytes.Equal(m, pattern(s.Size(), 2)) {
		t.Fatal("the parent does not see what the child wrote")
	}
}

// The bug class that seals remove: a peer truncates an unsealed segment
// under a live mapping, and the next access faults (SIGBUS, which package
// mmap's ReadAt turns into ErrFault). With SealShrink the peer's truncate
// is refused (EPERM) and the mapping stays readable.
func TestSealShrinkStopsAPeerFromTruncating(t *testing.T) {
	if inChild(t, map[string]func(*testing.T, *Segment){"truncate": truncate}) {
		return
	}
	size := 4 * os.Getpagesize()
	buf := make([]byte, 16)

	t.Run("unsealed", func(t *testing.T) {
		s := newSegment(t, "unsealed", size, 0)
		m := mapSegment(t, s, mmap.RDWR)
		copy(m, pattern(size, 1))
		out := startChild(t, s, "truncate")
		if !strings.Contains(out, "child: truncate: <nil>") {
			t.Fatalf("the child could not truncate an unsealed segment:\n%s", out)
		}
		_, err := m.ReadAt(buf, int64(size-len(buf)))
		if !errors.Is(err, mmap.ErrFault) {
			t.Fatalf("ReadAt past the truncated end: %v, want ErrFault (the SIGBUS that kills programs without seals)", err)
		}
	})

	t.Run("sealed", func(t *testing.T) {
		s := newSegment(t, "sealed", size, 0)
		m := mapSegment(t, s, mmap.RDWR)
		copy(m, pattern(size, 1))
		if err := s.Seal(SealShrink); err != nil {
			t.Fatal(err)
		}
		out := startChild(t, s, "truncate")
		if !strings.Contains(out, "child: truncate refused: EPERM") {
			t.Fatalf("the child's truncate was not refused:\n%s", out)
		}
		if !strings.Contains(out, "child: seals shrink") {
			t.Fatalf("the child does not see the seal:\n%s", out)
		}
		if n, err := m.ReadAt(buf, int64(size-len(buf))); err != nil || !bytes.Equal(buf[:n], pattern(size, 1)[size-len(buf):]) {
			t.Fatalf("ReadAt after the refused truncate: %d, %v", n, err)
		}
		if fi, err := s.File().Stat(); err != nil || fi.Size() != int64(size) {
			t.Fatalf("size after the refused truncate: %v, %v; want %d", fi, err, size)
		}
		// The seal binds this process too.
		if err := s.File().Truncate(int64(size / 2)); !errors.Is(err, syscall.EPERM) {
			t.Fatalf("truncate to less after SealShrink: %v, want EPERM", err)
		}
		if err := s.File().Truncate(int64(2 * size)); err != nil {
			t.Fatalf("growing is not sealed: %v", err)
		}
	})
}

// readAndWriteBack is the child's side: it checks what the parent wrote
// and writes its answer.
func readAndWriteBack(t *testing.T, s *Segment) {
	m, err := s.Map(mmap.RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	if !bytes.Equal(m, pattern(s.Size(), 1)) {
		t.Fatalf("the child read %d bytes that are not what the parent wrote", s.Size())
	}
	copy(m, pattern(s.Size(), 2))
}

// truncate is the careless peer: it cuts the segment to nothing, and says
// what the seals it saw let it do.
func truncate(t *testing.T, s *Segment) {
	seals, err := s.Seals()
	fmt.Printf("child: seals %v (%v)\n", seals&^SealExec, err)
	err = s.File().Truncate(0)
	if errors.Is(err, syscall.EPERM) {
		fmt.Println("child: truncate refused: EPERM")
	} else {
		fmt.Printf("child: truncate: %v\n", err)
	}
}

// SealWrite with a writable shared mapping alive is refused (EBUSY) as the
// kernel refuses it; once the mapping is gone it holds, and a new writable
// map is refused too. SealFutureWrite keeps the live mapping writable.
func TestSealWrite(t *testing.T) {
	size := os.Getpagesize()
	s := newSegment(t, "write-sealed", size, 0)
	m, err := s.Map(mmap.RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	m[0] = 42
	err = s.Seal(SealWrite)
	if !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("SealWrite with a writable mapping alive: %v, want EBUSY", err)
	}
	if !strings.Contains(err.Error(), "writable shared mapping") {
		t.Errorf("the error does not say why: %v", err)
	}
	if seals, err := s.Seals(); err != nil || seals&SealWrite != 0 {
		t.Fatalf("after the refusal: seals %v, %v", seals, err)
	}
	if err := m.Unmap(); err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(SealWrite); err != nil {
		t.Fatalf("SealWrite with no writable mapping: %v", err)
	}
	if _, err := s.Map(mmap.RDWR, 0); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("a writable map of a write-sealed segment: %v, want EPERM", err)
	}
	r := mapSegment(t, s, mmap.RDONLY)
	if r[0] != 42 {
		t.Fatalf("read %d, want 42", r[0])
	}
	if _, err := s.File().WriteAt([]byte{1}, 0); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("write(2) to a write-sealed segment: %v, want EPERM", err)
	}

	t.Run("future", func(t *testing.T) {
		s := newSegment(t, "future-write-sealed", size, 0)
		m := mapSegment(t, s, mmap.RDWR)
		err := s.Seal(SealFutureWrite)
		if errors.Is(err, syscall.EINVAL) {
			t.Skipf("this kernel has no F_SEAL_FUTURE_WRITE (Linux 5.1+): %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		m[1] = 7 // the mapping made before the seal still writes
		if _, err := s.Map(mmap.RDWR, 0); !errors.Is(err, syscall.EPERM) {
			t.Fatalf("a new writable map after SealFutureWrite: %v, want EPERM", err)
		}
		if r := mapSegment(t, s, mmap.RDONLY); r[1] != 7 {
			t.Fatalf("read %d, want 7", r[1])
		}
	})
}

// SealSeal stops further seals (EPERM), and Seals reports each seal added.
func TestSealSealAndSeals(t *testing.T) {
	s := newSegment(t, "sealed-shut", os.Getpagesize(), 0)
	before, err := s.Seals()
	if err != nil {
		t.Fatal(err)
	}
	// Linux 6.3+ seals exec at creation (MFD_NOEXEC_SEAL); earlier none.
	if before&^SealExec != 0 {
		t.Fatalf("a new segment has seals %v", before)
	}
	if err := s.Seal(SealGrow | SealShrink); err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(SealSeal); err != nil {
		t.Fatal(err)
	}
	got, err := s.Seals()
	if want := before | SealGrow | SealShrink | SealSeal; err != nil || got != want {
		t.Fatalf("Seals: %v, %v; want %v", got, err, want)
	}
	if err := s.Seal(SealWrite); !errors.Is(err, syscall.EPERM) || !strings.Contains(err.Error(), "SealSeal") {
		t.Fatalf("a seal after SealSeal: %v, want EPERM naming SealSeal", err)
	}
	if err := s.File().Truncate(int64(2 * os.Getpagesize())); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("growing after SealGrow: %v, want EPERM", err)
	}
}

// Create asks memfd_create for what the package documents: close-on-exec,
// sealing allowed, the name in /proc, the size set.
func TestCreateAsTheKernelSeesIt(t *testing.T) {
	s := newSegment(t, "seen-by-proc", 5000, 0)
	fd := s.File().Fd()
	link, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, "/memfd:seen-by-proc") {
		t.Errorf("/proc/self/fd/%d -> %q, want /memfd:seen-by-proc", fd, link)
	}
	fdinfo, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	if err != nil {
		t.Fatal(err)
	}
	// flags: octal open flags; O_CLOEXEC is 02000000 on x86 and arm.
	var flags int
	for _, line := range strings.Split(string(fdinfo), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			fmt.Sscanf(strings.TrimSpace(v), "%o", &flags)
		}
	}
	if flags&syscall.O_CLOEXEC == 0 {
		t.Errorf("fdinfo flags %#o: no O_CLOEXEC", flags)
	}
	if flags&syscall.O_ACCMODE != syscall.O_RDWR {
		t.Errorf("fdinfo flags %#o: not O_RDWR", flags)
	}
	if fi, err := s.File().Stat(); err != nil || fi.Size() != 5000 || s.Size() != 5000 {
		t.Errorf("size: %v, %v, Size() %d; want 5000", fi, err, s.Size())
	}
	// The kernel takes at most 249 bytes of name; longer is a clear error.
	if _, err := Create(strings.Repeat("n", 250), 1, 0); err == nil || !strings.Contains(err.Error(), "249") {
		t.Errorf("a 250-byte name: %v", err)
	}
}

// A regular file that cannot be sealed is still a segment; sealing it
// fails with the kernel's EINVAL.
func TestFromFileOfARegularFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "plain"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(pattern(100, 3)); err != nil {
		t.Fatal(err)
	}
	s, err := FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Size() != 100 {
		t.Fatalf("Size %d, want 100", s.Size())
	}
	if m := mapSegment(t, s, mmap.RDONLY); !bytes.Equal(m, pattern(100, 3)) {
		t.Fatal("the map does not hold the file")
	}
	// tmpfs files that memfd_create did not make are born sealed shut
	// (EPERM); other file systems have no seals (EINVAL).
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	want := syscall.EINVAL
	if st.Type == 0x01021994 { // TMPFS_MAGIC
		want = syscall.EPERM
		if seals, err := s.Seals(); err != nil || seals != SealSeal {
			t.Errorf("Seals of a tmpfs file: %v, %v; want seal", seals, err)
		}
	}
	if err := s.Seal(SealShrink); !errors.Is(err, want) {
		t.Fatalf("sealing a file of %s: %v, want %v", os.TempDir(), err, want)
	}
	d, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := FromFile(d); !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "regular file") {
		t.Fatalf("FromFile of a directory: %v", err)
	}
}
