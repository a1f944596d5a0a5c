//go:build !linux

package mmap

import "unsafe"

// Elsewhere ReadAt and WriteAt know no cheap residency check (see
// resident_linux.go) and always ask the system to bring pages in first.

func allResident(unsafe.Pointer, uintptr) bool { return false }

func swapless() bool { return false }
