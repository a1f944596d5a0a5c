//go:build unix

package main

import (
	"io/fs"
	"syscall"
)

// fileID is a file's identity, for counting hard links once.
type fileID struct{ dev, ino uint64 }

// idOf is a file's device and inode.
func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}

// links is a file's count of hard links.
func links(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
