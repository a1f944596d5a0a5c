//go:build !linux

package main

import "os"

// isTerminal guesses from the file's type: a character device. /dev/null
// is one too, so elsewhere the progress line may go there unseen.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
