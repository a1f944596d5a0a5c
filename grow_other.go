//go:build (!unix && !windows) || (unix && !cgo && !(linux || darwin || freebsd || openbsd || dragonfly))

package mmap

// Growth in place where there is no mapping backend: every call fails as
// the rest of the package does, with an error matching
// errors.ErrUnsupported.

func osMapMax(bool, uintptr, int64, int, int, int, int) (*region, error) { return nil, errNoBackend }
func osGrow(*region, int, uintptr) (*region, error)                      { return nil, errNoBackend }
func osShrink(*region, int) (*region, error)                             { return nil, errNoBackend }
