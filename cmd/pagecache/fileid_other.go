//go:build !unix

package main

import "io/fs"

// Without a device and inode in os.FileInfo (Windows, wasm, plan9), every
// path counts as its own file and link cycles are not detected.

type fileID struct{}

func idOf(fs.FileInfo) (fileID, bool) { return fileID{}, false }

func links(fs.FileInfo) uint64 { return 1 }
