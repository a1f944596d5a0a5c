// Package load holds the load test of github.com/hugemap/mmap: many
// goroutines mapping, advising, flushing, locking, resizing and unmapping
// overlapping regions of a few shared files (load_linux_test.go). It is
// Linux-only, since its end-of-run account of mappings, descriptors and
// locked memory reads /proc/self; this file gives the package a body on
// every platform.
package load
