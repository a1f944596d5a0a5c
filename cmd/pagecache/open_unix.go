//go:build unix && !linux

package main

import (
	"io/fs"
	"os"
	"syscall"
)

// openFile opens a file to read by its path (package syscall has no openat
// here) with open(2) and os.NewFile, which, unlike os.Open, does not try
// the runtime's poller on it.
func openFile(_ *os.File, _, path string) (*os.File, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
