package load_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hugemap/mmap"
)

// The load test. Run it long under the race detector with
//
//	go test -race -count=1 ./tests/load -load.duration=30s
//
// CI runs it for the default 3 s (go test ./... and the -race step of build).
//
// Design: files files of filePages pages each are shared by workers
// goroutines. Worker w owns ownPages pages of file w%files and is the only
// one that writes them; it maps regions that overlap its neighbours' pages
// (plain, POPULATE, HUGE, LOCK, LOCK_ONFAULT, UNALIGNED), writes a new
// generation of its pages, flushes a sub-slice (sometimes asynchronously
// first), advises, locks and unlocks slices, resizes the mapping, and
// unmaps; it also churns anonymous and COPY maps. Invariant: whenever a
// worker maps its pages they hold exactly the last generation it wrote
// and flushed; at the end every worker's pages in the files (re-read from
// the disk where the clean pages can be evicted) hold its last generation,
// and no mapping, descriptor or locked page is left.

var duration = flag.Duration("load.duration", 3*time.Second, "how long the load test runs (30s for the long run)")

const (
	files     = 3
	workers   = 12
	ownPages  = 8
	filePages = workers / files * ownPages
)

var page = os.Getpagesize()

// content is what worker w's page i (of its own) holds at generation gen.
func content(w, i int, gen uint64) []byte {
	b := make([]byte, page)
	binary.LittleEndian.PutUint64(b, gen)
	binary.LittleEndian.PutUint64(b[8:], uint64(w))
	for j := 16; j < page; j++ {
		b[j] = byte(gen) ^ byte(w*31) ^ byte(i) ^ byte(j)
	}
	return b
}

type footprint struct{ fileBytes, fds, lockedKB int64 }

func account(t *testing.T, dir string) footprint {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	fp := footprint{fds: int64(len(ents))}
	for _, line := range strings.Split(strings.TrimSpace(string(maps)), "\n") {
		fs := strings.Fields(line)
		if len(fs) >= 6 && strings.HasPrefix(fs[5], dir+"/") {
			lo, hi, _ := strings.Cut(fs[0], "-")
			a, _ := strconv.ParseUint(lo, 16, 64)
			b, _ := strconv.ParseUint(hi, 16, 64)
			fp.fileBytes += int64(b - a)
		}
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmLck:"); ok {
			fp.lockedKB, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return fp
}

// locking is whether the workers lock memory. Every worker holds one
// mapping at a time, of at most filePages+1 pages, and may lock all of it:
// where RLIMIT_MEMLOCK binds (no CAP_IPC_LOCK) and is smaller than that
// for all of them (64 KiB in many containers), they do not.
var locking = true

// memlockRoom says whether this process may lock n bytes, and if not, why.
func memlockRoom(n uint64) (bool, string) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(8 /* RLIMIT_MEMLOCK */, &r); err != nil {
		return false, err.Error()
	}
	if r.Cur >= n {
		return true, ""
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false, err.Error()
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			if caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err == nil && caps&(1<<14) != 0 {
				return true, "" // CAP_IPC_LOCK: no limit
			}
		}
	}
	return false, fmt.Sprintf("RLIMIT_MEMLOCK is %d bytes, and the workers may lock %d at once", r.Cur, n)
}

type stats struct {
	maps, flushes, advises, locks, resizes, anon, copies, checks int64
}

func TestLoad(t *testing.T) {
	if *duration <= 0 {
		t.Skip("-load.duration is 0")
	}
	dir := t.TempDir()
	var fs [files]*os.File
	for i := range fs {
		path := filepath.Join(dir, fmt.Sprintf("shared%d", i))
		// Generation 0 of every owner's pages.
		var data []byte
		for w := i; w < workers; w += files {
			for j := range ownPages {
				data = append(data, content(w, j, 0)...)
			}
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		fs[i] = f
	}
	before := account(t, dir)
	if ok, why := memlockRoom(uint64(workers * (filePages + 1) * page)); !ok {
		locking = false
		t.Logf("no locking in this run: %s", why)
	}
	deadline := time.Now().Add(*duration)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total stats
		last  [workers]uint64 // last generation each worker wrote and flushed
		erred [workers]bool   // a worker that failed may have written one more
	)
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var st stats
			gen, err := worker(w, fs[w%files], deadline, &st)
			mu.Lock()
			last[w] = gen
			total.maps += st.maps
			total.flushes += st.flushes
			total.advises += st.advises
			total.locks += st.locks
			total.resizes += st.resizes
			total.anon += st.anon
			total.copies += st.copies
			total.checks += st.checks
			mu.Unlock()
			if err != nil {
				erred[w] = true
				errs <- fmt.Errorf("worker %d: %w", w, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Nothing left behind: mappings of the files, descriptors, locked memory.
	if after := account(t, dir); after != before {
		t.Errorf("after the load: %+v; before: %+v", after, before)
	}
	// The files hold every worker's last flushed generation, read from the
	// disk where the clean pages can be dropped from the page cache first.
	evicted := 0
	for _, f := range fs {
		if evict(f) {
			evicted++
		}
		f.Close()
	}
	verified := 0
	for w := range workers {
		got, err := os.ReadFile(fs[w%files].Name())
		if err != nil {
			t.Fatal(err)
		}
		for i := range ownPages {
			p := (w/files*ownPages + i) * page
			if !bytes.Equal(got[p:p+page], content(w, i, last[w])) && !(erred[w] && bytes.Equal(got[p:p+page], content(w, i, last[w]+1))) {
				t.Fatalf("worker %d page %d: the file does not hold generation %d, the last one flushed (header %d)",
					w, i, last[w], binary.LittleEndian.Uint64(got[p:]))
			}
			verified += page
		}
	}
	t.Logf("%v with %d workers on %d files: %d file maps, %d flushes, %d advices, %d lock/unlock pairs, %d resizes, %d anonymous and %d COPY maps; "+
		"%d in-flight checks of own pages; %d bytes verified at the end (%d files evicted first); footprint at the start %+v",
		*duration, workers, files, total.maps, total.flushes, total.advises, total.locks, total.resizes, total.anon, total.copies,
		total.checks, verified, evicted, before)
}

var fadvise64 = map[string]uintptr{"amd64": 221, "arm64": 223}[runtime.GOARCH]

func evict(f *os.File) bool {
	if fadvise64 == 0 {
		return false
	}
	_, _, errno := syscall.Syscall6(fadvise64, f.Fd(), 0, 0, 4 /* POSIX_FADV_DONTNEED */, 0, 0)
	return errno == 0
}

var safeAdvice = []mmap.Advice{mmap.AdviceNormal, mmap.AdviceRandom, mmap.AdviceSequential, mmap.AdviceWillNeed,
	mmap.AdviceHugePage, mmap.AdviceNoHugePage, mmap.AdvicePopulateRead, mmap.AdviceCold, mmap.AdviceDontFork,
	mmap.AdviceDoFork, mmap.AdviceDontDump, mmap.AdviceDoDump}

// worker runs until deadline and returns the last generation it wrote and
// flushed.
func worker(w int, f *os.File, deadline time.Time, st *stats) (uint64, error) {
	rng := rand.New(rand.NewPCG(uint64(w), 42))
	own := w / files * ownPages // first own page in the file
	var gen uint64
	check := func(m mmap.MMap, first int) error {
		// m maps the file from page first; own pages must hold gen.
		for i := range ownPages {
			p := (own + i - first) * page
			if p < 0 || p+page > len(m) {
				continue
			}
			st.checks++
			if !bytes.Equal(m[p:p+page], content(w, i, gen)) {
				return fmt.Errorf("own page %d holds header %d, not generation %d, the last flushed", i, binary.LittleEndian.Uint64(m[p:]), gen)
			}
		}
		return nil
	}
	for time.Now().Before(deadline) {
		switch rng.IntN(8) {
		case 0: // anonymous churn
			// No HUGE here: an anonymous HUGE map takes hugetlb pages, and
			// the root package's tests, which go test runs alongside this
			// one, reserve the pool for themselves and count its pages.
			m, err := mmap.MapRegion(nil, (1+rng.IntN(16))*page, mmap.RDWR, mmap.ANON|[]int{0, mmap.POPULATE, mmap.NORESERVE}[rng.IntN(3)], 0)
			if err != nil {
				return gen, err
			}
			m[len(m)-1] = byte(w)
			if err := m.Resize(nil, (1+rng.IntN(32))*page, false); err != nil {
				return gen, err
			}
			if locking {
				if err := errors.Join(m.Lock(), m.Unlock()); err != nil {
					m.Unmap()
					return gen, err
				}
			}
			if err := m.Unmap(); err != nil {
				return gen, err
			}
			st.anon++
			continue
		case 1: // a private view of the whole file
			m, err := mmap.Map(f, mmap.COPY, 0)
			if err != nil {
				return gen, err
			}
			if err := check(m, 0); err != nil {
				m.Unmap()
				return gen, fmt.Errorf("COPY view: %w", err)
			}
			m[own*page] = ^m[own*page] // private: never reaches the file
			if err := m.Unmap(); err != nil {
				return gen, err
			}
			st.copies++
			continue
		}
		// A region that holds all own pages and some neighbours'.
		first := rng.IntN(own + 1)
		end := own + ownPages + rng.IntN(filePages-own-ownPages+1)
		flags := []int{0, mmap.POPULATE, mmap.HUGE, mmap.LOCK, mmap.LOCK_ONFAULT, mmap.UNALIGNED}[rng.IntN(6)]
		if !locking && flags&(mmap.LOCK|mmap.LOCK_ONFAULT) != 0 {
			flags = 0
		}
		off, lead := int64(first*page), 0
		if flags == mmap.UNALIGNED && first > 0 {
			lead = 1 + rng.IntN(page-1)
			off -= int64(lead)
		}
		m, err := mmap.MapRegion(f, (end-first)*page+lead, mmap.RDWR, flags, off)
		if flags == mmap.LOCK_ONFAULT && errors.Is(err, errors.ErrUnsupported) {
			continue // the pure-Go backend has no mlock2
		}
		if err != nil {
			return gen, fmt.Errorf("MapRegion(%d pages at %d, flags %#x): %w", end-first, off, flags, err)
		}
		st.maps++
		if err := fileRound(w, f, &m, lead, first, own, flags, &gen, rng, st, check); err != nil {
			m.Unmap()
			return gen, err
		}
		if err := m.Unmap(); err != nil {
			return gen, err
		}
	}
	return gen, nil
}

// fileRound is one round on the file mapping *m (which maps the file from
// page first, lead bytes before it): check, write a generation, flush,
// advise, lock, maybe resize. It leaves *m mapped.
func fileRound(w int, f *os.File, m *mmap.MMap, lead, first, own, flags int, gen *uint64, rng *rand.Rand, st *stats, check func(mmap.MMap, int) error) error {
	view := (*m)[lead:] // from page first
	if err := check(view, first); err != nil {
		return err
	}
	mine := view[(own-first)*page : (own-first+ownPages)*page]
	for i := range ownPages {
		copy(mine[i*page:], content(w, i, *gen+1))
	}
	if rng.IntN(2) == 0 {
		if err := mine.FlushAsync(); err != nil {
			return err
		}
	}
	if err := mine.Flush(); err != nil {
		return err
	}
	*gen++
	st.flushes++
	a := safeAdvice[rng.IntN(len(safeAdvice))]
	if a == mmap.AdviceCold && flags&(mmap.LOCK|mmap.LOCK_ONFAULT) != 0 {
		a = mmap.AdviceNormal // the kernel refuses MADV_COLD on locked pages (EINVAL)
	}
	if err := m.Advise(a); err != nil {
		return err
	}
	st.advises++
	if locking {
		if err := errors.Join(mine[rng.IntN(page):].Lock(), m.Unlock()); err != nil {
			return err
		}
		st.locks++
	}
	if rng.IntN(3) == 0 {
		// Grow or shrink within the file, then check again.
		n := lead + (1+rng.IntN(filePages-first))*page
		if err := m.Resize(f, n, false); err != nil {
			return fmt.Errorf("Resize to %d: %w", n, err)
		}
		st.resizes++
		if err := check((*m)[lead:], first); err != nil {
			return fmt.Errorf("after Resize: %w", err)
		}
	}
	return nil
}
