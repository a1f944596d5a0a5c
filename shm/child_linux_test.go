package shm

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// The cross-process tests run again in a child process of this test binary
// that receives the segment through exec.Cmd.ExtraFiles, as a peer would.

const helperEnv = "SHM_TEST_CHILD"

// startChild runs the test that t belongs to again in a child process, with
// seg as the child's descriptor 3 and mode in its environment, and returns
// the child's output. It skips where this system cannot run the binary
// again (under qemu-user without binfmt_misc the kernel cannot run it).
func startChild(t *testing.T, seg *Segment, mode string) string {
	t.Helper()
	test := strings.Split(t.Name(), "/")[0]
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.ExtraFiles = []*os.File{seg.File()}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.ENOEXEC) {
		t.Skipf("this kernel cannot run the test binary itself (%v): the test runs under an emulator", err)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("child (%s): %v\n%s", mode, err, out)
	}
	return string(out)
}

// inChild reports whether this process is the child of a cross-process
// test, and if so runs the part of the test that mode names on the segment
// the parent passed as descriptor 3.
func inChild(t *testing.T, modes map[string]func(*testing.T, *Segment)) bool {
	t.Helper()
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return false
	}
	run, ok := modes[mode]
	if !ok {
		t.Fatalf("child: no mode %q in this test", mode)
	}
	s, err := FromFile(os.NewFile(3, "inherited segment"))
	if err != nil {
		t.Fatalf("child: FromFile(fd 3): %v", err)
	}
	defer s.Close()
	run(t, s)
	return true
}
