//go:build linux || freebsd

package shm

import (
	"fmt"
	"syscall"
)

// sealError says why the kernel refused to add seals, wrapping its errno.
func sealError(seals Seal, errno syscall.Errno) error {
	why := ""
	switch errno {
	case syscall.EBUSY:
		why = "a writable shared mapping of the segment exists (unmap it first, or seal with SealFutureWrite)"
	case syscall.EPERM:
		why = "the segment is sealed with SealSeal, or this descriptor is not open for writing"
	case syscall.EINVAL:
		why = "this file cannot be sealed (not a memfd made with MFD_ALLOW_SEALING, or a file system without seals) or the kernel lacks one of the seals"
	}
	if why == "" {
		return fmt.Errorf("adding seals %v: %w", seals, errno)
	}
	return fmt.Errorf("adding seals %v: %s: %w", seals, why, errno)
}
