// Package mmap runs the test of golang.org/x/exp/mmap, copied unchanged
// (mmap_test.go), against github.com/hugemap/mmap's drop-in ReaderAt. The
// test is an internal test of a package named mmap, so this file gives it
// one whose names are aliases of ours.
package mmap

import hm "github.com/hugemap/mmap"

type ReaderAt = hm.ReaderAt

var Open = hm.Open
