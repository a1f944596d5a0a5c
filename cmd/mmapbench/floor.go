//go:build linux

package main

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// floorSource is the C floor: the raw libc calls in a plain loop. See the
// comment at its top for its command line.
//
//go:embed floor.c
var floorSource []byte

// floor is the built C program, or why there is none.
type floor struct {
	bin string // path of the binary; "" when na is set
	na  string // "n/a (no cc)" and the like
	cc  string // what built it, for the machine report
}

// buildFloor compiles floor.c into dir with cc.
func buildFloor(dir, cc string) floor {
	path, err := exec.LookPath(cc)
	if err != nil {
		return floor{na: "n/a (no cc)", cc: "none (" + cc + " not found)"}
	}
	src := filepath.Join(dir, "floor.c")
	bin := filepath.Join(dir, "floor")
	if err := os.WriteFile(src, floorSource, 0o600); err != nil {
		return floor{na: "n/a (cc failed)", cc: err.Error()}
	}
	out, err := exec.Command(path, "-std=c11", "-O2", "-o", bin, src).CombinedOutput()
	if err != nil {
		progress("building the C floor failed: %v\n%s", err, out)
		return floor{na: "n/a (cc failed)", cc: path + " (failed)"}
	}
	return floor{bin: bin, cc: path + " -O2"}
}

// run runs one test of the C floor for ops operations per round and
// returns its best round's nanoseconds per operation.
func (f floor) run(test string, ops, rounds int, args ...string) (float64, error) {
	if f.bin == "" {
		return 0, fmt.Errorf("%s", f.na)
	}
	argv := append([]string{test, strconv.Itoa(ops), strconv.Itoa(rounds)}, args...)
	cmd := exec.Command(f.bin, argv...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("the C floor, %s: %w", strings.Join(argv, " "), err)
	}
	fields := strings.Fields(string(out))
	if len(fields) < 1 {
		return 0, fmt.Errorf("the C floor, %s: no output", strings.Join(argv, " "))
	}
	return strconv.ParseFloat(fields[0], 64)
}
