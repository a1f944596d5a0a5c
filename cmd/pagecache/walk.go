package main

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// The walk: paths and directory trees to a stream of regular files, as
// vmtouch crawls them.

// walker turns the command line's paths into calls of do, one per regular
// file, from -workers goroutines at once. Each takes a task from the queue:
// a directory, which it lists, queueing its subdirectories and its other
// entries in up to -workers batches; or a batch, whose files it works on
// itself. A small file costs no hand-off between goroutines, and the files
// of one directory (a few large ones, or a thousand small) are shared out.
type walker struct {
	cfg *config
	do  func(dir *os.File, name, path string)
	// quick, where set, does a listed regular file's work without its path
	// and says whether it did; do gets the files it declines.
	quick func(dir *os.File, name string) bool
	warn  func(format string, args ...any)
	fail  func(path string, err error)
	dirs  atomic.Int64

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []task
	pending int // tasks queued or being done
	// seen holds the directories entered when following links, to cut
	// cycles.
	seen map[fileID]bool
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

// walk works on every path and returns when all are done.
func (w *walker) walk(paths []string) {
	w.cond = sync.NewCond(&w.mu)
	w.seen = map[fileID]bool{}
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
		w.visit(nil, p, fi.Mode().Type(), fi, true)
	}
	var wg sync.WaitGroup
	for range w.cfg.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t, ok := w.next()
				if !ok {
					return
				}
				if t.b != nil {
					t.b.run(w)
				} else {
					w.list(t.dir)
				}
				w.finished()
			}
		}()
	}
	wg.Wait()
}

// task is a directory to list, or a batch of its entries.
type task struct {
	dir string
	b   *batch
}

// batch is some entries of an open directory; the last batch of the
// directory to finish closes it.
type batch struct {
	dir     *os.File
	path    string
	entries []fs.DirEntry
	left    *atomic.Int32 // batches of dir not yet done
}

func (b *batch) run(w *walker) {
	for _, e := range b.entries {
		// A regular file the quick path takes needs no path: Join's
		// allocation would be a tenth of its cost.
		if name := e.Name(); e.Type().IsRegular() && w.quick != nil && w.wants(name) && w.quick(b.dir, name) {
			continue
		}
		w.visit(b.dir, filepath.Join(b.path, e.Name()), e.Type(), nil, false)
	}
	if b.left.Add(-1) == 0 {
		b.dir.Close()
	}
}

// push queues a task.
func (w *walker) push(t task) {
	w.mu.Lock()
	w.queue = append(w.queue, t)
	w.pending++
	w.mu.Unlock()
	w.cond.Signal()
}

// next takes a queued task, waiting while others are being done; false
// when there is no more work.
func (w *walker) next() (task, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.queue) == 0 && w.pending > 0 {
		w.cond.Wait()
	}
	if len(w.queue) == 0 {
		return task{}, false
	}
	d := w.queue[len(w.queue)-1]
	w.queue = w.queue[:len(w.queue)-1]
	return d, true
}

func (w *walker) finished() {
	w.mu.Lock()
	w.pending--
	if w.pending == 0 {
		w.cond.Broadcast()
	}
	w.mu.Unlock()
}

// wants says whether the patterns let a listed file of this name through.
func (w *walker) wants(name string) bool {
	return !matches(w.cfg.ignore, name) && (len(w.cfg.include) == 0 || matches(w.cfg.include, name))
}

// visit handles one path of the given type; fi is nil where only the
// directory entry's type is known, dir the open directory that holds it
// when it came from a listing.
func (w *walker) visit(dir *os.File, p string, typ fs.FileMode, fi fs.FileInfo, named bool) {
	if !named && matches(w.cfg.ignore, filepath.Base(p)) {
		return
	}
	switch {
	case typ.IsDir():
		w.enqueue(p, fi)
	case typ.IsRegular():
		if len(w.cfg.include) > 0 && !matches(w.cfg.include, filepath.Base(p)) {
			return
		}
		w.do(dir, filepath.Base(p), p)
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
		w.visit(nil, p, fi.Mode().Type(), fi, true)
	default:
		w.warn("skipping non-regular file: %s", p)
	}
}

// enqueue queues a directory, unless following links has led back to one
// already walked.
func (w *walker) enqueue(p string, fi fs.FileInfo) {
	if w.cfg.follow {
		if fi == nil {
			var err error
			if fi, err = os.Stat(p); err != nil {
				w.fail(p, err)
				return
			}
		}
		if id, ok := idOf(fi); ok {
			w.mu.Lock()
			again := w.seen[id]
			w.seen[id] = true
			w.mu.Unlock()
			if again {
				w.warn("skipping %s: a directory already walked (a cycle of links)", p)
				return
			}
		}
	}
	w.push(task{dir: p})
}

// list reads one directory, in the order the file system gives: it queues
// the subdirectories, and the other entries in batches. Files are opened
// relative to the directory (openat), so the kernel does not walk the
// whole path again for each.
func (w *walker) list(p string) {
	d, err := os.Open(p)
	if err != nil {
		w.fail(p, err)
		return
	}
	entries, err := d.ReadDir(-1)
	w.dirs.Add(1)
	if err != nil {
		w.fail(p, err)
	}
	rest := entries[:0]
	for _, e := range entries {
		if e.IsDir() && !matches(w.cfg.ignore, e.Name()) {
			w.enqueue(filepath.Join(p, e.Name()), nil)
		} else if !e.IsDir() {
			rest = append(rest, e)
		}
	}
	if len(rest) == 0 {
		d.Close()
		return
	}
	per := max(1, (len(rest)+w.cfg.workers-1)/w.cfg.workers)
	left := new(atomic.Int32)
	left.Store(int32((len(rest) + per - 1) / per))
	for lo := 0; lo < len(rest); lo += per {
		w.push(task{b: &batch{dir: d, path: p, entries: rest[lo:min(lo+per, len(rest))], left: left}})
	}
}

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
	return s.firstID(id)
}

// firstID says whether this is the first time the walk meets the file
// with several links whose identity is id.
func (s *linkSet) firstID(id fileID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[id] {
		return false
	}
	s.seen[id] = true
	return true
}
