package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hugemap/mmap/pagecache"
)

// The work: each regular file the walk finds, opened, checked and handed
// to the package, by -workers goroutines at once.

// entry is what one file got.
type entry struct {
	Path      string `json:"path"`
	Size      int64  `json:"size"`
	Pages     int64  `json:"pages"`
	Resident  int64  `json:"resident_pages"`
	PMDMapped int64  `json:"pmd_mapped_bytes,omitempty"`
	Error     string `json:"error,omitempty"`
	bar       string
}

// totals is what the whole run got.
type totals struct {
	files, pages, resident, pmd atomic.Int64
	errors, warnings            atomic.Int64
	unknown                     atomic.Bool  // some file's residency was not asked
	done                        atomic.Int64 // files finished, for the progress line
	bytesDone                   atomic.Int64
}

// session is one run of a mode over paths.
type session struct {
	cfg    *config
	stderr io.Writer
	errMu  sync.Mutex
	tot    totals
	links  linkSet
	pins   []*pagecache.Pin
	pinsMu sync.Mutex
	ents   []entry
	entsMu sync.Mutex
}

// warn prints a warning that does not change the exit status.
func (s *session) warn(format string, args ...any) {
	s.tot.warnings.Add(1)
	if s.cfg.quiet {
		return
	}
	s.errMu.Lock()
	defer s.errMu.Unlock()
	fmt.Fprintf(s.stderr, "pagecache: warning: "+format+"\n", args...)
}

// fail reports a path that failed; the run exits 1.
func (s *session) fail(path string, err error) {
	s.tot.errors.Add(1)
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) && pe.Path == path {
		fmt.Fprintf(s.stderr, "pagecache: %v\n", err) // it names the path
		return
	}
	fmt.Fprintf(s.stderr, "pagecache: %s: %v\n", path, err)
}

// walkAndReport runs the mode over cfg.paths and prints the summary; it
// returns the exit status.
func walkAndReport(cfg *config, stdout, stderr io.Writer) int {
	start := time.Now()
	s := &session{cfg: cfg, stderr: stderr, links: linkSet{seen: map[fileID]bool{}}}
	w := &walker{cfg: cfg, do: s.do, quick: s.quickly(), warn: s.warn, fail: s.fail}
	stop := s.progress(stderr, start)
	w.walk(cfg.paths)
	stop()
	elapsed := time.Since(start)
	sort.Slice(s.ents, func(i, j int) bool { return s.ents[i].Path < s.ents[j].Path })
	if !cfg.quiet {
		if err := s.report(stdout, w.dirs.Load(), elapsed); err != nil {
			fmt.Fprintln(stderr, "pagecache:", err)
			return 1
		}
	}
	status := 0
	if s.tot.errors.Load() > 0 {
		status = 1
	}
	if cfg.mode == "lock" {
		s.holdUntilSignal(stderr)
	}
	return status
}

// do works on one file. Errors are the file's; the walk goes on.
func (s *session) do(dir *os.File, name, path string) {
	f, err := openFile(dir, name, path)
	if err != nil {
		s.tot.files.Add(1) // as vmtouch counts it
		s.fail(path, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.fail(path, err)
		return
	}
	if !fi.Mode().IsRegular() { // replaced since the walk listed it
		s.warn("skipping non-regular file: %s", path)
		return
	}
	if s.cfg.maxSize > 0 && fi.Size() > s.cfg.maxSize {
		if s.cfg.verbose {
			s.warn("skipping %s: %d bytes, larger than -m", path, fi.Size())
		}
		return
	}
	if !s.cfg.allLinks && !s.links.first(fi) {
		return
	}
	e := entry{Path: path, Size: fi.Size()}
	r, err := s.apply(f)
	e.Pages, e.Resident = r.Pages, r.Resident
	if r.PMDMapped > 0 {
		e.PMDMapped = r.PMDMapped
		s.tot.pmd.Add(r.PMDMapped)
	}
	if err != nil {
		e.Error = err.Error()
		s.fail(path, err)
	}
	if e.Pages == 0 {
		e.Pages = pagesOf(fi.Size())
	}
	s.count(e.Pages, e.Resident, fi.Size())
	if s.cfg.verbose {
		e.bar = bar(f, e)
		s.entsMu.Lock()
		s.ents = append(s.ents, e)
		s.entsMu.Unlock()
	}
}

// count adds one file to the totals; resident < 0 where it was not asked.
func (s *session) count(pages, resident, size int64) {
	s.tot.files.Add(1)
	s.tot.pages.Add(pages)
	if resident < 0 {
		s.tot.unknown.Store(true)
	} else {
		s.tot.resident.Add(resident)
	}
	s.tot.done.Add(1)
	s.tot.bytesDone.Add(size)
}

// apply is the mode's call for one open file.
func (s *session) apply(f *os.File) (pagecache.Residency, error) {
	switch s.cfg.mode {
	case "touch":
		return pagecache.Touch(f, 0, -1, s.cfg.fileWorkers)
	case "evict":
		// As vmtouch -e, no count afterwards unless -v asks (its bar
		// needs one): a Stat a file would cost a fifth more.
		if err := pagecache.Evict(f, 0, -1); err != nil || !s.cfg.verbose {
			return pagecache.Residency{Resident: -1}, err
		}
		return pagecache.Stat(f, 0, -1)
	case "lock":
		p, err := pagecache.Lock(f, 0, -1)
		if err != nil {
			return pagecache.Residency{}, err
		}
		s.pinsMu.Lock()
		s.pins = append(s.pins, p)
		s.pinsMu.Unlock()
		_, n := p.Range()
		return pagecache.Residency{Pages: pagesOf(n), Resident: pagesOf(n)}, nil
	case "refold":
		return pagecache.Refold(f, 0, -1)
	}
	return pagecache.Stat(f, 0, -1)
}

var pageSize = int64(os.Getpagesize())

func pagesOf(n int64) int64 { return (n + pageSize - 1) / pageSize }

// holdUntilSignal keeps lock's pins until SIGINT or SIGTERM, then unlocks.
func (s *session) holdUntilSignal(stderr io.Writer) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if !s.cfg.quiet {
		fmt.Fprintf(stderr, "pagecache: %d files locked; SIGINT or SIGTERM unlocks them and exits\n", len(s.pins))
	}
	<-sigs
	for _, p := range s.pins {
		if err := p.Close(); err != nil {
			fmt.Fprintln(stderr, "pagecache:", err)
		}
	}
}

// progress shows, on a terminal, how far a run longer than a second has
// got; the function it returns stops it and clears the line.
func (s *session) progress(stderr io.Writer, start time.Time) func() {
	f, ok := stderr.(*os.File)
	if !ok || !isTerminal(f) || s.cfg.quiet {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		shown := false
		for {
			select {
			case <-done:
				if shown {
					fmt.Fprint(f, "\r\033[K")
				}
				return
			case now := <-tick.C:
				if now.Sub(start) < time.Second {
					continue
				}
				shown = true
				s.errMu.Lock()
				fmt.Fprintf(f, "\r\033[K%s: %d files, %s, %.1fs", s.cfg.mode, s.tot.done.Load(), sizeString(s.tot.bytesDone.Load()), now.Sub(start).Seconds())
				s.errMu.Unlock()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
