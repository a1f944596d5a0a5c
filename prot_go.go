//go:build (!cgo && (linux || darwin || freebsd || openbsd || dragonfly)) || (cgo && linux && !asan && !msan)

package mmap

import "syscall"

// The maps made from Go (the pure-Go backend, and plain maps on Linux with
// cgo) take this platform's PROT_* values.

// nativeProt is this platform's PROT_* for prot (RDONLY, RDWR, COPY, EXEC),
// as the shim's native_prot gives them.
func nativeProt(prot int) int {
	p := syscall.PROT_READ
	if prot&(RDWR|COPY) != 0 {
		p |= syscall.PROT_WRITE
	}
	if prot&EXEC != 0 {
		p |= syscall.PROT_EXEC
	}
	return p
}
