package shm

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hugemap/mmap"
)

// Segments on Windows: a child that inherits the section handle reads what
// the parent wrote and writes back; seals are ErrUnsupported; FromFile
// takes sections only.

const (
	childEnv  = "SHM_TEST_CHILD"
	handleEnv = "SHM_TEST_HANDLE"
)

func TestChildInheritsTheSection(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		h, err := strconv.ParseUint(os.Getenv(handleEnv), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		s, err := FromFile(os.NewFile(uintptr(h), "inherited section"))
		if err != nil {
			t.Fatalf("child: FromFile: %v", err)
		}
		defer s.Close()
		m, err := s.Map(mmap.RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Unmap()
		if len(m) != 3*65536 || !bytes.Equal(m, pattern(len(m), 1)) {
			t.Fatalf("the child read %d bytes that are not what the parent wrote", len(m))
		}
		copy(m, pattern(len(m), 2))
		return
	}
	s := newSegment(t, "exchange", 3*65536, 0)
	m := mapSegment(t, s, mmap.RDWR)
	copy(m, pattern(len(m), 1))
	h := syscall.Handle(s.File().Fd())
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildInheritsTheSection$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1", handleEnv+"="+strconv.FormatUint(uint64(h), 10))
	cmd.SysProcAttr = &syscall.SysProcAttr{AdditionalInheritedHandles: []syscall.Handle{h}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestChildInheritsTheSection") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !bytes.Equal(m, pattern(len(m), 2)) {
		t.Fatal("the parent does not see what the child wrote")
	}
}

func TestWindowsSegmentLimits(t *testing.T) {
	s := newSegment(t, "limits", 1, 0)
	if err := s.Seal(SealShrink); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Seal: %v, want ErrUnsupported", err)
	}
	if _, err := s.Seals(); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Seals: %v, want ErrUnsupported", err)
	}
	if _, err := Create("huge", 1, mmap.HUGETLB); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("HUGETLB: %v, want ErrUnsupported", err)
	}
	// FromFile of the segment's own handle sees the section's size, which
	// the system may report rounded up to the page (Wine does).
	dup, err := FromFile(s.File())
	if err != nil || dup.Size() != 1 && dup.Size() != os.Getpagesize() {
		t.Fatalf("FromFile of a 1-byte section: %+v, %v; want size 1 or the page size", dup, err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "plain"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := FromFile(f); !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "not a section") {
		t.Errorf("FromFile of a regular file: %v, want EINVAL saying it is not a section", err)
	}
}
