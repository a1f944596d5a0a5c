//go:build linux && (amd64 || arm64 || loong64 || ppc64 || ppc64le || riscv64 || s390x || mips64 || mips64le)

package main

import (
	"os"
	"syscall"
)

// fadvise is posix_fadvise(2) over the whole of f: one system call on
// 64-bit Linux, whose offsets fit one register each.
func fadvise(f *os.File, advice int) error {
	if _, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, uintptr(advice), 0, 0); errno != 0 {
		return os.NewSyscallError("fadvise64", errno)
	}
	return nil
}
