// Package mmap runs the test suite of github.com/edsrzf/mmap-go v1.2.0,
// copied unchanged (mmap_test.go) or with only its import path rewritten
// (example_test.go), against github.com/hugemap/mmap. Its test file is an
// internal test of a package named mmap, so this file gives it one: every
// name it uses is an alias of ours.
package mmap

import hm "github.com/hugemap/mmap"

type MMap = hm.MMap

const (
	RDONLY = hm.RDONLY
	RDWR   = hm.RDWR
	COPY   = hm.COPY
	EXEC   = hm.EXEC
	ANON   = hm.ANON
)

var (
	Map       = hm.Map
	MapRegion = hm.MapRegion
)
