package main

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
)

// The walk: paths and directory trees to a stream of regular files, as
// vmtouch crawls them.

// job is one regular file to work on; seq orders the -v output as the walk
// found the files.
type job struct {
	path string
	seq  int
}

// walker turns the command line's paths into jobs.
type walker struct {
	cfg  *config
	out  chan<- job
	seq  int
	dirs int64
	// seen holds the directories entered when following links, to cut
	// cycles.
	seen map[fileID]bool
	warn func(format string, args ...any)
	fail func(path string, err error)
}

func checkPattern(p string) error {
	_, err := path.Match(p, "")
	if err != nil {
		return usageError{fmt.Errorf("bad pattern %q: %w", p, err)}
	}
	return nil
}

// matches says whether name matches one of patterns.
func matches(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// walk sends the jobs of every path, then closes out.
func (w *walker) walk(paths []string) {
	defer close(w.out)
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			w.fail(p, err)
			continue
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if !w.cfg.follow {
				w.warn("not following symbolic link %s (use -f)", p)
				continue
			}
			if fi, err = os.Stat(p); err != nil {
				w.fail(p, err)
				continue
			}
		}
		w.visit(p, fi.Mode().Type(), fi, true)
	}
}

// visit handles one path of the given type; fi is nil where only the
// directory entry's type is known.
func (w *walker) visit(p string, typ fs.FileMode, fi fs.FileInfo, named bool) {
	if !named && matches(w.cfg.ignore, filepath.Base(p)) {
		return
	}
	switch {
	case typ.IsDir():
		w.dir(p, fi)
	case typ.IsRegular():
		if len(w.cfg.include) > 0 && !matches(w.cfg.include, filepath.Base(p)) {
			return
		}
		w.out <- job{path: p, seq: w.seq}
		w.seq++
	case typ&fs.ModeSymlink != 0:
		if !w.cfg.follow {
			if w.cfg.verbose {
				w.warn("not following symbolic link %s (use -f)", p)
			}
			return
		}
		fi, err := os.Stat(p)
		if err != nil {
			w.fail(p, err)
			return
		}
		w.visit(p, fi.Mode().Type(), fi, true)
	default:
		w.warn("skipping non-regular file: %s", p)
	}
}

// dir walks a directory, in the order the file system lists it.
func (w *walker) dir(p string, fi fs.FileInfo) {
	if w.cfg.follow {
		if fi == nil {
			var err error
			if fi, err = os.Stat(p); err != nil {
				w.fail(p, err)
				return
			}
		}
		if id, ok := idOf(fi); ok {
			if w.seen[id] {
				w.warn("skipping %s: a directory already walked (a cycle of links)", p)
				return
			}
			w.seen[id] = true
		}
	}
	d, err := os.Open(p)
	if err != nil {
		w.fail(p, err)
		return
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	w.dirs++
	if err != nil {
		w.fail(p, err)
	}
	for _, e := range entries {
		w.visit(filepath.Join(p, e.Name()), e.Type(), nil, false)
	}
}

// fileID is a file's identity, for counting hard links once.
type fileID struct{ dev, ino uint64 }

// linkSet remembers the files with several links seen so far.
type linkSet struct {
	mu   sync.Mutex
	seen map[fileID]bool
}

// first says whether this is the first time the walk meets fi's file.
func (s *linkSet) first(fi fs.FileInfo) bool {
	id, ok := idOf(fi)
	if !ok || links(fi) < 2 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[id] {
		return false
	}
	s.seen[id] = true
	return true
}
