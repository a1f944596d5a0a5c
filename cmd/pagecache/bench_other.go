//go:build !linux

package main

import (
	"fmt"
	"io"
	"runtime"
)

// bench needs vmtouch, fincore and every function of package pagecache:
// Linux only.
func bench(_ []string, _, stderr io.Writer) int {
	fmt.Fprintf(stderr, "pagecache bench: Linux only (vmtouch and fincore are its baselines), not %s\n", runtime.GOOS)
	return 2
}
