//go:build linux && !(amd64 || arm64 || loong64 || ppc64 || ppc64le || riscv64 || s390x || mips64 || mips64le)

package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// fadvise: 32-bit Linux splits fadvise64_64's offsets over register pairs
// that differ by architecture; this program does not make that call there.
func fadvise(*os.File, int) error {
	return fmt.Errorf("posix_fadvise on %s: %w", runtime.GOARCH, errors.ErrUnsupported)
}
