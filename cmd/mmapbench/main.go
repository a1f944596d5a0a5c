//go:build linux

// Command mmapbench (Linux) maps, touches and measures on this machine, and
// prints each measurement next to its baseline with the ratio between them:
//
//	go run ./cmd/mmapbench                  # defaults sized to this machine, about a minute
//	go run ./cmd/mmapbench -size 4GiB       # larger file and arenas
//	go run ./cmd/mmapbench -json > out.json # the same results as JSON
//
// Rows: map+unmap of 4 KiB (file and anonymous) against syscall.Mmap (for
// a file also with its descriptor held as MapRegion holds it) and a C
// loop; the first full read of a page-cached file through read(2), a map and
// a populated map, with the file cached in small folios and in large ones
// (how much of each map the kernel mapped with PMD entries in brackets);
// the header gives the cost of one 4 KiB page fault, which decides how much
// folio size matters on this machine; the first touch of an anonymous arena with base pages,
// POPULATE, transparent hugepages and hugetlb pages; random loads over an
// arena with base pages and hugepages; flushing one dirty page of a large
// mapping; and the residency query of a large mapping against C mincore and
// fincore(1). Each cell is the best of several rounds, the baseline and
// this package interleaved in the same run; the map+unmap rows (marked *)
// give median rounds and the median of per-round ratios instead, since the
// kernel's cost of the pair moves between states that outlast a round.
// Under the table, each missed target gets a line saying why, from what
// this run measured: for map+unmap, what the descriptor hold and the rest
// cost and the system call cost at which they would meet the target; for
// a full scan, the C floor's own ratio to read(2).
//
// The C baselines come from floor.c, embedded in this program and built
// with cc at run time; without a C compiler those cells say "n/a (no cc)".
// As root, the hugetlb rows reserve 2 MiB pages in
// /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages for as long as
// they run and put the old value back, also on error, SIGINT and SIGTERM;
// as another user those rows are skipped, saying why. The temporary
// directory (a file of -size bytes and the C binary) is removed likewise.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	size := flag.String("size", "", "bytes for the large file and arenas, e.g. 512MiB or 4GiB (default: 1GiB, less when memory is short)")
	asJSON := flag.Bool("json", false, "write the results to stdout as JSON instead of a table (progress still goes to stderr)")
	rounds := flag.Int("rounds", 5, "rounds per measurement; each cell is the best round")
	cc := flag.String("cc", "", "C compiler for the C baselines (default: $CC, else cc)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "mmapbench: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}
	n, err := arenaSize(*size)
	if err == nil && *rounds < 1 {
		err = fmt.Errorf("-rounds %d: want at least 1", *rounds)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmapbench:", err)
		os.Exit(2)
	}
	if *cc == "" {
		*cc = os.Getenv("CC")
	}
	if *cc == "" {
		*cc = "cc"
	}

	// Every change this program makes to the machine registers its undo
	// here; the undo runs once, whether run returns or a signal arrives.
	cl := &cleanup{}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-sigs
		progress("%v: cleaning up and exiting", sig)
		cl.run()
		code := 1
		if s, ok := sig.(syscall.Signal); ok {
			code = 128 + int(s)
		}
		os.Exit(code)
	}()

	res, err := run(cl, config{size: n, rounds: *rounds, cc: *cc})
	cl.run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmapbench:", err)
		os.Exit(1)
	}
	if *asJSON {
		err = res.writeJSON(os.Stdout)
	} else {
		err = res.writeTable(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmapbench:", err)
		os.Exit(1)
	}
}

// cleanup is the list of undo steps, run in reverse order, at most once.
// Steps added after it ran run at once, so nothing is left behind when a
// signal arrives while a step is being set up.
type cleanup struct {
	mu    sync.Mutex
	done  bool
	steps []func()
}

func (c *cleanup) add(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		f()
		return
	}
	c.steps = append(c.steps, f)
}

func (c *cleanup) run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	c.done = true
	for i := len(c.steps) - 1; i >= 0; i-- {
		c.steps[i]()
	}
}

// arenaSize parses -size, or picks 1 GiB capped at an eighth of the memory
// available (the file, its page cache, two arenas and a hugetlb pool must
// fit together), rounded down to 2 MiB.
func arenaSize(s string) (int, error) {
	if s != "" {
		n, err := parseBytes(s)
		if err != nil {
			return 0, err
		}
		if n < 4<<20 {
			return 0, fmt.Errorf("-size %s: want at least 4MiB", s)
		}
		return n &^ (2<<20 - 1), nil
	}
	n := 1 << 30
	if avail := memAvailable(); avail > 0 && avail/8 < n {
		n = max(avail/8, 16<<20)
	}
	return n &^ (2<<20 - 1), nil
}

func parseBytes(s string) (int, error) {
	num, mult := s, 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if t, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = t, u.mult
			break
		}
	}
	v, err := strconv.Atoi(num)
	if err != nil || v <= 0 || v > int(^uint(0)>>1)/mult {
		return 0, fmt.Errorf("bad -size %q: want a positive number with an optional KiB, MiB or GiB suffix", s)
	}
	return v * mult, nil
}

var start = time.Now()

// progress tells the user, on stderr, what runs now.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%5.1fs] "+format+"\n", append([]any{time.Since(start).Seconds()}, args...)...)
}
