//go:build (!cgo && (linux || darwin || freebsd || openbsd || dragonfly)) || (cgo && linux && !asan && !msan)

package mmap

import "syscall"

// The maps made from Go (the pure-Go backend, and plain maps on Linux with
// cgo) take this platform's PROT_* and MAP_* values.

// mapArgs is the MAP_* flags, descriptor and offset of mmap(2) for req:
// shared, or private for COPY and ANON; MAP_NORESERVE for NORESERVE.
func (req *mapReq) mapArgs() (flags, fd int, offset int64) {
	flags, fd, offset = syscall.MAP_SHARED, req.fd, req.offset
	if req.prot&COPY != 0 {
		flags = syscall.MAP_PRIVATE
	}
	if req.flags&ANON != 0 {
		flags, fd, offset = syscall.MAP_PRIVATE|syscall.MAP_ANON, -1, 0
	}
	if req.flags&NORESERVE != 0 {
		flags |= syscall.MAP_NORESERVE
	}
	return flags, fd, offset
}

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
