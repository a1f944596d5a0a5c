//go:build (!unix && !windows) || (unix && !cgo && !(linux || darwin || freebsd || openbsd || dragonfly))

package mmap

import (
	"errors"
	"fmt"
	"runtime"
)

// Platforms without a mapping backend: js/wasm, wasip1, plan9, and the Unix
// systems whose package syscall lacks msync or mlock when built without cgo
// (netbsd, solaris, illumos, aix). Every call fails with an error that
// matches errors.ErrUnsupported.

const backend = "unsupported"

type sysRegion struct{}

var errNoBackend = fmt.Errorf("mmap: no mapping backend for %s/%s in this build: %w", runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)

func osMapFile(uintptr, int64, int, int, int) (*region, error) { return nil, errNoBackend }
func osMapAnon(int, int, int) (*region, error)                 { return nil, errNoBackend }
func osUnmap(*region) error                                    { return errNoBackend }
func osFlush(*region, uintptr, uintptr) error                  { return errNoBackend }
func osLock(*region, uintptr, uintptr) error                   { return errNoBackend }
func osUnlock(*region, uintptr, uintptr) error                 { return errNoBackend }
func osFlushAsync(*region, uintptr, uintptr) error             { return errNoBackend }
func osLockOnFault(*region, uintptr, uintptr) error            { return errNoBackend }
func osAdvise(*region, uintptr, uintptr, Advice) error         { return errNoBackend }
func osProtect(*region, uintptr, uintptr, int) error           { return errNoBackend }
func osMincore(*region, uintptr, uintptr, []byte) error        { return errNoBackend }
func osRemap(*region, int) (*region, error)                    { return nil, errNoBackend }
func osPopulate(*region, uintptr, uintptr, bool) error         { return errNoBackend }
