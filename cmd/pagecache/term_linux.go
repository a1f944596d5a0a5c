package main

import (
	"os"
	"syscall"
	"unsafe"
)

// isTerminal says whether f is a terminal (the TCGETS ioctl answers).
func isTerminal(f *os.File) bool {
	var t syscall.Termios
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return e == 0
}
