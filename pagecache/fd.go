//go:build linux

package pagecache

import (
	"io/fs"
	"os"
)

// withFd runs fn with f's descriptor, held open for the call so that a
// concurrent Close cannot hand its number to another file midway. A closed
// f is fs.ErrClosed.
func withFd(f *os.File, fn func(fd uintptr) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return &fs.PathError{Op: "pagecache", Path: f.Name(), Err: err}
	}
	var fnErr error
	if rc.Control(func(fd uintptr) { fnErr = fn(fd) }) != nil {
		return &fs.PathError{Op: "pagecache", Path: f.Name(), Err: fs.ErrClosed}
	}
	return fnErr
}
