package mmap

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"syscall"
)

// The x/exp/mmap drop-in: Open and ReaderAt over the fault-safe ReadAt.

// ReaderAt reads a memory-mapped file. It is a drop-in for
// golang.org/x/exp/mmap's ReaderAt, with the same methods and semantics,
// built on the fault-safe path: ReadAt makes pages resident in a call that
// releases the scheduler's P, and a file truncated under the reader gives
// an error wrapping ErrFault instead of killing the process.
//
// Like any io.ReaderAt, clients can execute parallel ReadAt calls, but it is
// not safe to call Close and reading methods concurrently.
type ReaderAt struct {
	data    MMap
	cleanup runtime.Cleanup
}

// Open memory-maps the named file for reading. A file whose size is 0 gives
// an empty reader, as in x/exp/mmap: an empty file, and also /dev/null or a
// procfs file, whose size says nothing of what reading it would give. A
// directory is an error wrapping syscall.EISDIR on every system (x/exp/mmap
// gives an empty reader for one on Windows, where its size is 0). A reader
// that is never closed is unmapped once it is unreachable.
func Open(filename string) (*ReaderAt, error) {
	f, err := os.Open(filename)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the mapping outlives the descriptor
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, &fs.PathError{Op: "mmap", Path: filename, Err: syscall.EISDIR}
	}
	if fi.Size() == 0 {
		return &ReaderAt{data: MMap{}}, nil
	}
	if fi.Size() != int64(int(fi.Size())) {
		return nil, fmt.Errorf("%w: %s is too large (%d bytes) to map in an int", ErrInvalidLength, filename, fi.Size())
	}
	m, err := MapRegion(f, int(fi.Size()), RDONLY, 0, 0)
	if err != nil {
		return nil, err
	}
	r := &ReaderAt{data: m}
	if len(m) > 0 {
		r.cleanup = runtime.AddCleanup(r, func(m MMap) { m.Unmap() }, m)
	}
	return r, nil
}

// Close unmaps the file. Closing twice is not an error.
func (r *ReaderAt) Close() error {
	if r.data == nil {
		return nil
	}
	r.cleanup.Stop()
	err := r.data.Unmap()
	r.data = nil
	return err
}

// Len returns the length of the underlying memory-mapped file.
func (r *ReaderAt) Len() int {
	return len(r.data)
}

// At returns the byte at index i. An index out of range panics, as in
// x/exp/mmap; so does a fault (the file was truncated), with an error that
// wraps ErrFault rather than a SIGBUS that cannot be recovered.
func (r *ReaderAt) At(i int) byte {
	data := r.data
	var b byte
	if at, faulted := guard(func() { b = data[i] }, true); faulted {
		panic(faultError(data, at, reading))
	}
	// r's cleanup unmaps data once r is unreachable: r is in use until
	// here.
	runtime.KeepAlive(r)
	return b
}

// ReadAt implements the io.ReaderAt interface.
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if r.data == nil {
		return 0, errors.New("mmap: closed")
	}
	if off < 0 || int64(len(r.data)) < off {
		return 0, fmt.Errorf("mmap: invalid ReadAt offset %d", off)
	}
	end := min(int64(len(r.data)), off+int64(len(p)))
	n, err := r.data[off:end].transfer(p, false)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	runtime.KeepAlive(r) // as in At
	return n, err
}
