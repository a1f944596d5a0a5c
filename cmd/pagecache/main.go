// Command pagecache inspects and steers the page cache over files and
// directory trees, as vmtouch and fincore do, on package
// github.com/hugemap/mmap/pagecache:
//
//	pagecache [stat] [flags] PATH...   what the page cache holds (the default mode)
//	pagecache touch [flags] PATH...    bring in what is missing, read-only
//	pagecache evict [flags] PATH...    drop clean pages (POSIX_FADV_DONTNEED)
//	pagecache lock [flags] PATH...     touch and lock, until SIGINT or SIGTERM
//	pagecache refold [flags] PATH...   re-read so the cache holds 2 MiB folios
//	pagecache bench [flags] DIR        measure against vmtouch and fincore
//
// Directories are walked recursively, several at once. As vmtouch does, a
// file with several hard links is counted once, by device and inode, at
// whichever of its paths the walk reaches first (-h counts every path); symbolic links are not followed, even when
// named on the command line, unless -f is given (then directory cycles are
// cut); files that are not regular (FIFOs, sockets, devices) are skipped
// with a warning and never opened, so a FIFO cannot hang the walk; an empty
// file counts as a file of 0 pages and a sparse file counts every page,
// holes included. -m skips files larger than a size, -i skips names that
// match a pattern (files and directories), -I keeps only files whose
// names match, -b reads the paths from a file ("-" for stdin, one a line,
// or NUL-separated with -0).
//
// The summary has vmtouch's shape (Files, Directories, Resident Pages
// x/y with sizes and percent, Elapsed); -v adds a line and a residency bar
// per file, sorted by path, -q prints nothing but errors, -json prints the summary (and
// with -v the files) as JSON: files, directories, pages, resident_pages,
// bytes and resident_bytes (pages times the page size, as vmtouch counts
// sizes), elapsed_seconds, errors, warnings, and per mode touched, evicted,
// locked or refolded pages and pmd_mapped_bytes. Sizes are in base pages.
// On a terminal, a run longer than a second shows its progress on stderr.
//
// bench builds two trees under DIR (on a disk, not tmpfs): 10,000 files of
// 1 byte to 64 KiB in 111 nested directories, and three files of 2 GiB
// written a page a write (so ext4 caches them in 4 KiB folios); the
// defaults fit a 24 GiB, 2-CPU machine and take about three minutes
// (-small, -large, -nlarge to change them). It times stat, a cold touch
// and evict of each tree against vmtouch (and stat against fincore too),
// each tool as a process, the best of -rounds with the tools alternating,
// compares the three tools' counts after each step, and maps and scans
// each large file before and after refold with its PMD-mapped share. It
// prints the ratios (-json for all of it) and removes the trees.
//
// A file that cannot be opened or worked on is reported on stderr and the
// walk goes on. Exit status: 0 when every file was done (warnings, such as
// a skipped FIFO or an unfollowed link, do not count); 1 when some path
// failed; 2 for a usage error. lock stays in the foreground once every
// file is locked and unlocks on SIGINT or SIGTERM, exiting 0 (1 if some
// file failed to lock).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// modes are the commands that walk paths; bench is apart.
var modes = []string{"stat", "touch", "evict", "lock", "refold"}

// config is what the flags asked for.
type config struct {
	mode        string
	verbose     bool
	quiet       bool
	json        bool
	follow      bool
	allLinks    bool
	maxSize     int64
	ignore      []string
	include     []string
	batch       string
	nulSep      bool
	workers     int
	fileWorkers int
	paths       []string
}

// usageError is a bad command line: exit status 2.
type usageError struct{ error }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the command, with its streams, returning the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "bench" {
		return bench(args[1:], stdout, stderr)
	}
	cfg, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "pagecache:", err)
		return 2
	}
	if cfg.batch != "" {
		list, err := readList(cfg.batch, cfg.nulSep, stdin)
		if err != nil {
			fmt.Fprintln(stderr, "pagecache:", err)
			return 2
		}
		cfg.paths = append(cfg.paths, list...)
	}
	return walkAndReport(cfg, stdout, stderr)
}

// parse reads the mode, then flags and paths in any order (vmtouch users
// put flags after paths too).
func parse(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{mode: "stat"}
	if len(args) > 0 {
		for _, m := range modes {
			if args[0] == m {
				cfg.mode, args = m, args[1:]
				break
			}
		}
	}
	fs := flag.NewFlagSet("pagecache "+cfg.mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&cfg.verbose, "v", false, "a line and a residency bar per file")
	fs.BoolVar(&cfg.quiet, "q", false, "print nothing but errors")
	fs.BoolVar(&cfg.json, "json", false, "print the summary (and with -v every file) as JSON")
	fs.BoolVar(&cfg.follow, "f", false, "follow symbolic links")
	fs.BoolVar(&cfg.allLinks, "h", false, "count every hard link of a file, not the first path only")
	maxSize := fs.String("m", "", "skip files larger than `SIZE` (bytes, or with K, M, G, T)")
	fs.Func("i", "skip files and directories whose name matches `PATTERN` (path.Match; repeatable)", func(p string) error {
		cfg.ignore = append(cfg.ignore, p)
		return checkPattern(p)
	})
	fs.Func("I", "keep only files whose name matches `PATTERN` (repeatable)", func(p string) error {
		cfg.include = append(cfg.include, p)
		return checkPattern(p)
	})
	fs.StringVar(&cfg.batch, "b", "", "read paths from `FILE` (- for stdin), one a line")
	fs.BoolVar(&cfg.nulSep, "0", false, "with -b, paths are separated by NUL bytes")
	fs.IntVar(&cfg.workers, "workers", 0, "files worked on at once (0: the CPU count; for touch, which waits on the disk, four times that and at least 8)")
	fs.IntVar(&cfg.fileWorkers, "file-workers", 0, "goroutines per large file for touch (0: the CPU count, at most 8)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pagecache [%s] [flags] PATH...\n       pagecache bench [flags] DIR\n", strings.Join(modes, "|"))
		fs.PrintDefaults()
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		cfg.paths = append(cfg.paths, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *maxSize != "" {
		n, err := parseSize(*maxSize)
		if err != nil {
			return nil, usageError{fmt.Errorf("-m: %w", err)}
		}
		cfg.maxSize = n
	}
	switch {
	case cfg.workers < 0:
		return nil, usageError{fmt.Errorf("-workers %d: want at least 1 (or 0 for the default)", cfg.workers)}
	case cfg.workers == 0 && cfg.mode == "touch":
		cfg.workers = max(8, 4*runtime.NumCPU())
	case cfg.workers == 0:
		// Stat, evict and the rest are the kernel's work on the CPU: more
		// goroutines than CPUs only contend for its locks.
		cfg.workers = runtime.NumCPU()
	}
	if cfg.nulSep && cfg.batch == "" {
		return nil, usageError{errors.New("-0 without -b")}
	}
	if len(cfg.paths) == 0 && cfg.batch == "" {
		fs.Usage()
		return nil, usageError{errors.New("no paths given")}
	}
	return cfg, nil
}

// parseSize reads a byte count with an optional K, M, G or T suffix
// (powers of 1024, as vmtouch's -m; KiB, KB and friends too).
func parseSize(s string) (int64, error) {
	num := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(s), "B"), "I")
	shift := 0
	if i := strings.IndexAny(num, "KMGT"); i >= 0 && i == len(num)-1 {
		shift = 10 * (1 + strings.IndexByte("KMGT", num[i]))
		num = num[:i]
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 || v > (1<<63-1)>>shift {
		return 0, fmt.Errorf("bad size %q: want a number of bytes with an optional K, M, G or T", s)
	}
	return v << shift, nil
}

// readList reads the paths of -b: lines, or NUL-separated names.
func readList(name string, nul bool, stdin io.Reader) ([]string, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("-b: %w", err)
	}
	sep := "\n"
	if nul {
		sep = "\x00"
	}
	var paths []string
	for p := range strings.SplitSeq(string(b), sep) {
		if p = strings.TrimSuffix(p, "\r"); p != "" {
			paths = append(paths, p)
		}
	}
	return paths, nil
}
