//go:build windows

// Package section lets package shm map a Windows section (a file mapping
// object it made) as a live mapping of package mmap, so that every method
// of mmap.MMap works on the view. Package mmap fills in the functions when
// it is initialised (section_windows.go), which is before any package that
// imports it runs; nothing else should call them. It is not part of the
// mmap API.
package section

// Map maps the first length bytes of the section whose handle is h with
// mmap's prot and flags, registers the view as a mapping of package mmap
// and returns it.
var Map func(h uintptr, length, prot, flags int) ([]byte, error)

// Granularity is the alignment of views' addresses and offsets (64 KiB).
var Granularity func() int
