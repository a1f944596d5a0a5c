package mmap

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mmap-go's suite, copied unchanged, keeps its files at fixed paths in
// os.TempDir() ("testdata", "nonzero"), which a run by another user leaves
// behind unwritable and a concurrent run rewrites under this one. This run
// gets a temporary directory of its own before those paths are computed:
// package variables are initialised file by file in the order the go
// command passes the files (by name), and env_test.go comes before
// mmap_test.go; TestMain checks that it did.
var ownTempDir = func() string {
	dir, err := os.MkdirTemp("", "edsrzf-")
	if err != nil {
		panic(err)
	}
	for _, v := range []string{"TMPDIR", "TMP", "TEMP"} { // Unix; Windows
		os.Setenv(v, dir)
	}
	return dir
}()

func TestMain(m *testing.M) {
	if !strings.HasPrefix(testPath, ownTempDir+string(filepath.Separator)) {
		fmt.Fprintf(os.Stderr, "testPath %s is not in this run's own directory %s: file order changed?\n", testPath, ownTempDir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(ownTempDir)
	os.Exit(code)
}
