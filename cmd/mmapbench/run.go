//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

type config struct {
	size   int    // bytes of the large file and of each arena
	rounds int    // rounds per measurement
	cc     string // C compiler for the floor
}

// bench is one run: its settings, scratch files, C floor and results.
type bench struct {
	config
	page    int
	dir     string
	floor   floor
	fincore string // path of fincore(1), or ""
	small   *os.File
	large   *os.File
	res     *results
}

func run(cl *cleanup, cfg config) (*results, error) {
	dir, err := os.MkdirTemp("", "mmapbench-")
	if err != nil {
		return nil, err
	}
	cl.add(func() { os.RemoveAll(dir) })

	b := &bench{config: cfg, page: os.Getpagesize(), dir: dir,
		res: &results{Size: cfg.size, Rounds: cfg.rounds}}
	b.res.Machine = describeMachine(dir)
	progress("building the C floor with %s", cfg.cc)
	b.floor = buildFloor(dir, cfg.cc)
	b.res.Machine.CCompiler = b.floor.cc
	b.res.Machine.FincoreTool = "none"
	if p, err := exec.LookPath("fincore"); err == nil {
		b.fincore, b.res.Machine.FincoreTool = p, p
	}
	for _, l := range b.res.Machine.lines() {
		progress("%s", l)
	}

	if b.small, err = createFile(filepath.Join(dir, "small"), b.page); err != nil {
		return nil, err
	}
	cl.add(func() { b.small.Close() })
	progress("writing a %s file in %s", bytesString(b.size), dir)
	if b.large, err = createFile(filepath.Join(dir, "large"), b.size); err != nil {
		return nil, err
	}
	cl.add(func() { b.large.Close() })

	steps := []struct {
		what string
		f    func() error
	}{
		{"map+unmap of a 4 KiB file", func() error { return b.mapUnmap("4 KiB file", b.small) }},
		{"map+unmap of 4 KiB anonymous", func() error { return b.mapUnmap("4 KiB anonymous", nil) }},
		{"first full read of the page-cached file, in each page-cache state", b.firstRead},
		{"summing the page-cached file through a typed view", b.typedView},
		{"first touch and random loads of anonymous arenas", func() error { return b.arenas(cl) }},
		{"flush of one dirty page", b.flushOnePage},
		{"residency query", b.residency},
	}
	for i, s := range steps {
		progress("[%d/%d] %s", i+1, len(steps), s.what)
		if err := s.f(); err != nil {
			return nil, fmt.Errorf("%s: %w", s.what, err)
		}
	}
	progress("done; removing %s", dir)
	return b.res, nil
}

func (b *bench) add(rows ...row) { b.res.Rows = append(b.res.Rows, rows...) }

func (b *bench) note(format string, args ...any) {
	b.res.Notes = append(b.res.Notes, fmt.Sprintf(format, args...))
}

// variant does the work one way: it runs one round and returns the
// nanoseconds per operation. A nil variant is not measured.
type variant func() (float64, error)

// interleave runs the variants in turn, round after round, and returns each
// one's best round: the least disturbed one on a shared machine, with slow
// drift (other tenants, THP state, the CPU clock) spread over all of them.
func interleave(rounds int, vs ...variant) ([]float64, error) {
	t, err := interleaveRounds(rounds, vs...)
	if err != nil {
		return nil, err
	}
	best := make([]float64, len(vs))
	for i := range vs {
		best[i] = t.best(i)
	}
	return best, nil
}

// timings is every round of each variant: timings[i][k] is variant i's
// nanoseconds per operation in round k (none for a nil variant).
type timings [][]float64

// interleaveRounds is interleave keeping every round. Each round starts
// one variant further on, so that none always runs right after the same
// other (a C variant starts a process, and whatever follows it finds
// caches and the kernel's state disturbed).
func interleaveRounds(rounds int, vs ...variant) (timings, error) {
	t := make(timings, len(vs))
	for k := range rounds {
		for j := range vs {
			i := (k + j) % len(vs)
			v := vs[i]
			if v == nil {
				continue
			}
			ns, err := v()
			if err != nil {
				return nil, err
			}
			t[i] = append(t[i], ns)
		}
	}
	return t, nil
}

func (t timings) best(i int) float64 {
	if len(t[i]) == 0 {
		return 0
	}
	return slices.Min(t[i])
}

// median is variant i's median round, 0 for none.
func (t timings) median(i int) float64 {
	return quantile(slices.Sorted(slices.Values(t[i])), 0.5)
}

// ratios is variant num's time over variant den's, round by round, sorted:
// the two ran back to back, so each ratio saw the same state of the
// machine, and their spread is how far this machine moves a ratio.
func (t timings) ratios(num, den int) []float64 {
	r := make([]float64, min(len(t[num]), len(t[den])))
	for k := range r {
		r[k] = t[num][k] / t[den][k]
	}
	slices.Sort(r)
	return r
}

// quantile is the q-quantile (0 to 1) of sorted values, nearest rank.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(q*float64(len(sorted)-1)+0.5)]
}

// perOp times ops calls of f and returns the nanoseconds per call.
func perOp(ops int, f func() error) (float64, error) {
	t0 := time.Now()
	for range ops {
		if err := f(); err != nil {
			return 0, err
		}
	}
	return float64(time.Since(t0).Nanoseconds()) / float64(ops), nil
}

// cVariant runs a test of the C floor for one round of ops operations, or
// is nil without a floor.
func (b *bench) cVariant(test string, ops int, args ...string) variant {
	if b.floor.bin == "" {
		return nil
	}
	return func() (float64, error) { return b.floor.run(test, ops, 1, args...) }
}

// cCell is the C floor's cell: its time or why there is none.
func (b *bench) cCell(name string, ns float64) cell {
	if b.floor.bin == "" {
		return cell{Name: name, NA: b.floor.na}
	}
	return cell{Name: name, NS: ns}
}

func createFile(path string, size int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	for left := size; left > 0; left -= len(chunk) {
		if _, err := f.Write(chunk[:min(left, len(chunk))]); err != nil {
			f.Close()
			return nil, err
		}
	}
	// Clean pages, so the flush rows write only the page they dirty; they
	// stay in the page cache for the read rows.
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
