//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hugemap/mmap"
	"github.com/hugemap/mmap/internal/scan"
	"github.com/hugemap/mmap/pagecache"
)

// bench: this command against vmtouch and fincore on the same two trees in
// one run, each cell the best of its rounds, the tools interleaved.

// benchConfig is bench's flags.
type benchConfig struct {
	dir         string
	small       int
	large       int64
	nlarge      int
	rounds      int
	statRounds  int
	touchRounds int
	json, keep  bool
}

// benchRow is one measurement: the tools' times and this command's.
type benchRow struct {
	What       string   `json:"measurement"`
	Tree       string   `json:"tree"`
	Vmtouch    float64  `json:"vmtouch_seconds,omitempty"`
	Fincore    float64  `json:"fincore_seconds,omitempty"`
	Ours       float64  `json:"pagecache_seconds"`
	Ratio      float64  `json:"ratio"` // ours / vmtouch (or the before of refold)
	Target     float64  `json:"target_ratio,omitempty"`
	Met        *bool    `json:"target_met,omitempty"`
	Counts     string   `json:"counts"` // what each tool counted, and whether they agree
	Agree      bool     `json:"counts_agree"`
	RoundTimes []string `json:"round_times,omitempty"`
}

// benchResult is the whole run, for -json.
type benchResult struct {
	SmallFiles  int         `json:"small_files"`
	SmallBytes  int64       `json:"small_bytes"`
	LargeFiles  int         `json:"large_files"`
	LargeBytes  int64       `json:"large_file_bytes"`
	Rounds      int         `json:"rounds"`
	StatRounds  int         `json:"stat_rounds"`
	TouchRounds int         `json:"touch_rounds"`
	Kernel      string      `json:"kernel"`
	FileSystem  string      `json:"file_system"`
	Rows        []benchRow  `json:"rows"`
	Refold      []refoldRow `json:"refold"`
	Notes       []string    `json:"notes,omitempty"`
}

// refoldRow is map+touch and map+scan of one large file before and after
// Refold, with the PMD-mapped coverage of the mapping each time.
type refoldRow struct {
	File            string  `json:"file"`
	Refold          float64 `json:"refold_seconds"`
	TouchBefore     float64 `json:"map_touch_before_seconds"`
	TouchAfter      float64 `json:"map_touch_after_seconds"`
	ScanBefore      float64 `json:"map_scan_before_seconds"`
	ScanAfter       float64 `json:"map_scan_after_seconds"`
	PMDBefore       int64   `json:"pmd_mapped_before_bytes"`
	PMDAfter        int64   `json:"pmd_mapped_after_bytes"`
	Size            int64   `json:"size_bytes"`
	RefoldPMDMapped int64   `json:"refold_pmd_mapped_bytes"`
}

func bench(args []string, stdout, stderr io.Writer) int {
	cfg := benchConfig{}
	fs := flag.NewFlagSet("pagecache bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&cfg.json, "json", false, "print the results as JSON")
	fs.IntVar(&cfg.small, "small", 10000, "small files in the nested tree")
	large := fs.String("large", "2GiB", "`SIZE` of each large file")
	fs.IntVar(&cfg.nlarge, "nlarge", 3, "large files")
	fs.IntVar(&cfg.rounds, "rounds", 5, "rounds of evict and of map+scan; each cell is the best")
	fs.IntVar(&cfg.statRounds, "stat-rounds", 15, "rounds of stat (a fraction of a second each)")
	fs.IntVar(&cfg.touchRounds, "touch-rounds", 2, "rounds of the cold touch")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the trees afterwards")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pagecache bench [flags] DIR\n\nBuilds two trees under DIR (on a disk file system, not tmpfs) and times this command against vmtouch and fincore on them.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var err error
	if cfg.large, err = parseSize(*large); err == nil && fs.NArg() != 1 {
		err = errors.New("want one directory")
	}
	if err == nil && (cfg.small < 1 || cfg.nlarge < 1 || cfg.large < 4<<20 || cfg.rounds < 1 || cfg.statRounds < 1 || cfg.touchRounds < 1) {
		err = errors.New("-small, -nlarge and the rounds want at least 1, -large at least 4MiB")
	}
	if err != nil {
		fmt.Fprintln(stderr, "pagecache bench:", err)
		fs.Usage()
		return 2
	}
	cfg.dir = fs.Arg(0)
	res, err := runBench(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "pagecache bench:", err)
		return 1
	}
	if cfg.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	} else {
		err = res.table(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "pagecache bench:", err)
		return 1
	}
	return 0
}

// benchSession is one bench run: its trees and the tools.
type benchSession struct {
	cfg        benchConfig
	self       string
	root       string
	smallDir   string
	largeDir   string
	smallFiles []string
	largeFiles []string
	log        func(format string, args ...any)
	res        *benchResult
}

func runBench(cfg benchConfig, stderr io.Writer) (*benchResult, error) {
	for _, tool := range []string{"vmtouch", "fincore"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is not installed (Debian: apt-get install vmtouch util-linux-extra): %w", tool, err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	b := &benchSession{cfg: cfg, self: self, res: &benchResult{
		SmallFiles: cfg.small, LargeFiles: cfg.nlarge, LargeBytes: cfg.large,
		Rounds: cfg.rounds, StatRounds: cfg.statRounds, TouchRounds: cfg.touchRounds, Kernel: kernelRelease(),
	}, log: func(format string, args ...any) {
		fmt.Fprintf(stderr, "[%5.1fs] "+format+"\n", append([]any{time.Since(start).Seconds()}, args...)...)
	}}
	if b.root, err = os.MkdirTemp(cfg.dir, "pagecache-bench-"); err != nil {
		return nil, err
	}
	if !cfg.keep {
		defer os.RemoveAll(b.root)
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(sigs)
		go func() {
			if _, ok := <-sigs; ok {
				os.RemoveAll(b.root)
				os.Exit(1)
			}
		}()
	}
	if b.res.FileSystem, err = fileSystem(b.root); err != nil {
		return nil, err
	}
	if avail := memAvailable(); avail > 0 && int64(cfg.nlarge)*cfg.large > avail/2 {
		return nil, fmt.Errorf("%d large files of %d bytes need more than half the memory available (%d bytes): pass a smaller -large or -nlarge", cfg.nlarge, cfg.large, avail)
	}
	if err := b.build(); err != nil {
		return nil, err
	}
	for _, step := range []func() error{b.refold, b.stat, b.touch, b.evict} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return b.res, nil
}

// build writes the trees: cfg.small files of 1 byte to 64 KiB in a tree
// ten wide at the top, a hundred files a leaf; cfg.nlarge files of
// cfg.large bytes. Then it syncs, so that every page is clean.
func (b *benchSession) build() error {
	b.smallDir, b.largeDir = filepath.Join(b.root, "small"), filepath.Join(b.root, "large")
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 8<<20)
	for i := 0; i+8 <= len(data); i += 8 {
		v := rng.Uint64()
		for k := range 8 {
			data[i+k] = byte(v >> (8 * k))
		}
	}
	b.log("writing %d small files under %s", b.cfg.small, b.smallDir)
	for i := range b.cfg.small {
		dir := filepath.Join(b.smallDir, fmt.Sprintf("d%d", i/1000), fmt.Sprintf("e%d", i/100%10))
		if i%100 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		size := 1 + rng.IntN(64<<10)
		off := rng.IntN(len(data) - size)
		path := filepath.Join(dir, fmt.Sprintf("f%d", i))
		if err := os.WriteFile(path, data[off:off+size], 0o644); err != nil {
			return err
		}
		b.smallFiles = append(b.smallFiles, path)
		b.res.SmallBytes += int64(size)
	}
	if err := os.MkdirAll(b.largeDir, 0o755); err != nil {
		return err
	}
	for i := range b.cfg.nlarge {
		path := filepath.Join(b.largeDir, fmt.Sprintf("large%d", i))
		b.log("writing %s (%d bytes)", path, b.cfg.large)
		if err := writeLarge(path, b.cfg.large, data); err != nil {
			return err
		}
		b.largeFiles = append(b.largeFiles, path)
	}
	b.log("sync")
	syscall.Sync()
	return nil
}

// writeLarge writes a large file a page a write, as a log or a database
// appends: ext4 then caches it in 4 KiB folios (a write of megabytes at
// once gets large folios straight away), the state refold is for.
func writeLarge(path string, size int64, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	for off := int64(0); off < size; off += pageSize {
		at := off % int64(len(data)-int(pageSize))
		if _, err := f.Write(data[at : at+min(pageSize, size-off)]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// refold maps and scans each large file as written (small folios), refolds
// it with this command, and maps and scans it again.
func (b *benchSession) refold() error {
	for _, path := range b.largeFiles {
		r := refoldRow{File: filepath.Base(path), Size: b.cfg.large}
		var err error
		b.log("map+touch and map+scan of %s before refold", path)
		if r.TouchBefore, r.ScanBefore, r.PMDBefore, err = b.mapScan(path); err != nil {
			return err
		}
		b.log("refold %s", path)
		t := time.Now()
		out, err := b.ours("refold", "-json", path)
		r.Refold = time.Since(t).Seconds()
		if err != nil {
			return err
		}
		r.RefoldPMDMapped = out.PMDMapped
		if r.TouchAfter, r.ScanAfter, r.PMDAfter, err = b.mapScan(path); err != nil {
			return err
		}
		b.res.Refold = append(b.res.Refold, r)
	}
	return nil
}

// mapScan maps the file (the kernel aligns it to 2 MiB), reads a byte of
// each page, and sums every byte; best of rounds, each a fresh mapping.
func (b *benchSession) mapScan(path string) (touch, sum float64, pmd int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	touch, sum = 1e9, 1e9
	var total uint64 // what the loops read, kept so the compiler keeps them
	defer runtime.KeepAlive(&total)
	for range b.cfg.rounds {
		for _, whole := range []bool{false, true} {
			t := time.Now()
			m, err := mmap.Map(f, mmap.RDONLY, 0)
			if err != nil {
				return 0, 0, 0, err
			}
			if whole {
				total += scan.Sum(m)
			} else {
				for i := 0; i < len(m); i += int(pageSize) {
					total += uint64(m[i])
				}
			}
			d := time.Since(t).Seconds()
			st, err := m.Stats()
			if uerr := m.Unmap(); err == nil {
				err = uerr
			}
			if err != nil {
				return 0, 0, 0, err
			}
			pmd = st.FilePmdMapped
			if whole {
				sum = min(sum, d)
			} else {
				touch = min(touch, d)
			}
		}
	}
	return touch, sum, pmd, nil
}

// trees are the two trees each step measures on.
func (b *benchSession) trees() [][2]string {
	return [][2]string{{"small", b.smallDir}, {"large", b.largeDir}}
}

func (b *benchSession) files(tree string) []string {
	if tree == "small" {
		return b.smallFiles
	}
	return b.largeFiles
}

// stat: with part of each tree cached, the three tools count it.
func (b *benchSession) stat() error {
	for _, tr := range b.trees() {
		if err := b.evictAll(tr[1]); err != nil {
			return err
		}
		// Half cached: every other small file, the first half of each
		// large one.
		for i, path := range b.files(tr[0]) {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			n := int64(-1)
			if tr[0] == "large" {
				n = b.cfg.large / 2
			} else if i%2 == 1 {
				n = 0
			}
			_, err = pagecache.Touch(f, 0, n, 0)
			f.Close()
			if err != nil {
				return err
			}
		}
		b.log("stat of the %s tree, %d rounds", tr[0], b.cfg.statRounds)
		row, err := b.race("stat", tr, 0.5, nil, nil, []string{"stat"})
		if err != nil {
			return err
		}
		b.res.Rows = append(b.res.Rows, row)
	}
	return nil
}

// touch: a cold tree, brought in by vmtouch -t and by this command.
func (b *benchSession) touch() error {
	for _, tr := range b.trees() {
		b.log("touch of the cold %s tree, %d rounds", tr[0], b.cfg.touchRounds)
		cold := func() error { return b.evictAll(tr[1]) }
		row, err := b.race("touch (cold)", tr, 0.8, cold, []string{"-t"}, []string{"touch"})
		if err != nil {
			return err
		}
		b.res.Rows = append(b.res.Rows, row)
	}
	return nil
}

// evict: a cached tree, dropped by vmtouch -e and by this command; the
// counts afterwards are compared.
func (b *benchSession) evict() error {
	for _, tr := range b.trees() {
		b.log("evict of the cached %s tree, %d rounds", tr[0], b.cfg.rounds)
		warm := func() error {
			_, err := b.ours("touch", "-q", tr[1])
			return err
		}
		row, err := b.race("evict", tr, 1.0, warm, []string{"-e"}, []string{"evict"})
		if err != nil {
			return err
		}
		b.res.Rows = append(b.res.Rows, row)
	}
	return nil
}

// race times vmtouch with vmArgs and this command with ourArgs on a tree,
// setup before each run, the order alternating between rounds; then all
// three tools count the tree and the row says whether they agree.
func (b *benchSession) race(what string, tr [2]string, target float64, setup func() error, vmArgs, ourArgs []string) (benchRow, error) {
	row := benchRow{What: what, Tree: tr[0], Target: target}
	rounds := map[string]int{"stat": b.cfg.statRounds, "touch (cold)": b.cfg.touchRounds}[what]
	if rounds == 0 {
		rounds = b.cfg.rounds
	}
	vm, ours, fc := 1e9, 1e9, 1e9
	for round := range rounds {
		runs := []func() (float64, error){
			func() (float64, error) {
				return timed(append(append([]string{"vmtouch", "-q"}, vmArgs...), tr[1])...)
			},
			func() (float64, error) {
				return timed(append(append([]string{b.self}, ourArgs...), "-q", tr[1])...)
			},
		}
		if round%2 == 1 {
			slices.Reverse(runs)
		}
		times := make([]float64, 2)
		for i, run := range runs {
			if setup != nil {
				if err := setup(); err != nil {
					return row, err
				}
			}
			t, err := run()
			if err != nil {
				return row, err
			}
			times[(i+round%2)%2] = t
		}
		vm, ours = min(vm, times[0]), min(ours, times[1])
		row.RoundTimes = append(row.RoundTimes, fmt.Sprintf("vmtouch %.4fs, pagecache %.4fs", times[0], times[1]))
		if what == "stat" {
			t, _, err := fincore(b.files(tr[0]))
			if err != nil {
				return row, err
			}
			fc = min(fc, t)
		}
	}
	row.Vmtouch, row.Ours, row.Ratio = vm, ours, ours/vm
	if what == "stat" {
		row.Fincore = fc
	}
	met := row.Ratio <= target
	row.Met = &met
	var err error
	row.Counts, row.Agree, err = b.counts(tr)
	return row, err
}

// counts has the three tools count a tree: vmtouch's resident and total
// pages, fincore's resident pages, this command's both.
func (b *benchSession) counts(tr [2]string) (string, bool, error) {
	out, err := exec.Command("vmtouch", tr[1]).Output()
	if err != nil {
		return "", false, fmt.Errorf("vmtouch %s: %w", tr[1], err)
	}
	m := regexp.MustCompile(`Resident Pages: (\d+)/(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		return "", false, fmt.Errorf("vmtouch printed no resident pages: %s", out)
	}
	vmRes, _ := strconv.ParseInt(m[1], 10, 64)
	vmAll, _ := strconv.ParseInt(m[2], 10, 64)
	_, fcRes, err := fincore(b.files(tr[0]))
	if err != nil {
		return "", false, err
	}
	ours, err := b.ours("stat", "-json", tr[1])
	if err != nil {
		return "", false, err
	}
	agree := ours.ResidentPages == vmRes && ours.ResidentPages == fcRes && ours.Pages == vmAll
	return fmt.Sprintf("resident/total pages: vmtouch %d/%d, fincore %d, pagecache %d/%d", vmRes, vmAll, fcRes, ours.ResidentPages, ours.Pages), agree, nil
}

// evictAll empties a tree's cache, asking again while pages stay.
func (b *benchSession) evictAll(dir string) error {
	for range 20 {
		if _, err := b.ours("evict", "-q", dir); err != nil {
			return err
		}
		out, err := b.ours("stat", "-json", dir)
		if err != nil {
			return err
		}
		if out.ResidentPages == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("pages of %s stay cached after 20 evictions", dir)
}

// ours runs this command with -json's output parsed.
func (b *benchSession) ours(args ...string) (summary, error) {
	var s summary
	if slices.Contains(args, "-q") {
		_, err := timed(append([]string{b.self}, args...)...)
		return s, err
	}
	out, err := exec.Command(b.self, args...).Output()
	if err != nil {
		return s, fmt.Errorf("pagecache %s: %w", strings.Join(args, " "), err)
	}
	return s, json.Unmarshal(out, &s)
}

// timed runs a command and returns its wall time, fork to exit.
func timed(argv ...string) (float64, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	t := time.Now()
	err := cmd.Run()
	d := time.Since(t).Seconds()
	if err != nil {
		return 0, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, stderr.String())
	}
	return d, nil
}

// fincore counts the resident pages of files, some at a time (one
// command line each); its time is the sum of its runs.
func fincore(files []string) (float64, int64, error) {
	var total float64
	var resident int64
	for lo := 0; lo < len(files); lo += 2000 {
		args := append([]string{"--bytes", "--noheadings", "--raw", "--output", "RES"}, files[lo:min(lo+2000, len(files))]...)
		cmd := exec.Command("fincore", args...)
		t := time.Now()
		out, err := cmd.Output()
		total += time.Since(t).Seconds()
		if err != nil {
			return 0, 0, fmt.Errorf("fincore: %w", err)
		}
		for _, line := range strings.Fields(string(out)) {
			n, err := strconv.ParseInt(line, 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("fincore printed %q", line)
			}
			resident += n / pageSize
		}
	}
	return total, resident, nil
}

func kernelRelease() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

func memAvailable() int64 {
	b, _ := os.ReadFile("/proc/meminfo")
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// fileSystem names dir's file system, and refuses those that keep files in
// memory only, where nothing can be evicted or touched cold.
func fileSystem(dir string) (string, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "", err
	}
	names := map[uint32]string{0xef53: "ext4", 0x58465342: "xfs", 0x9123683e: "btrfs", 0x01021994: "tmpfs", 0x858458f6: "ramfs"}
	name, ok := names[uint32(st.Type)]
	if !ok {
		name = fmt.Sprintf("%#x", uint32(st.Type))
	}
	if name == "tmpfs" || name == "ramfs" {
		return "", fmt.Errorf("%s is on %s, which keeps files in memory only: nothing to evict or touch cold; give a directory on a disk", dir, name)
	}
	return name, nil
}

// table prints the results for people.
func (r *benchResult) table(w io.Writer) error {
	fmt.Fprintf(w, "pagecache bench: %d small files (%s), %d large files of %s; kernel %s, %s; best of %d rounds (stat: %d, cold touch: %d)\n\n",
		r.SmallFiles, sizeString(r.SmallBytes), r.LargeFiles, sizeString(r.LargeBytes), r.Kernel, r.FileSystem, r.Rounds, r.StatRounds, r.TouchRounds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\ttree\tvmtouch\tfincore\tpagecache\tratio\ttarget\tcounts")
	for _, row := range r.Rows {
		fc := "-"
		if row.Fincore > 0 {
			fc = fmt.Sprintf("%.3fs", row.Fincore)
		}
		verdict := "met"
		if row.Met != nil && !*row.Met {
			verdict = "MISSED"
		}
		agree := "agree"
		if !row.Agree {
			agree = "DISAGREE"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3fs\t%s\t%.3fs\t%.2fx\t<= %.1fx %s\t%s: %s\n", row.What, row.Tree, row.Vmtouch, fc, row.Ours, row.Ratio, row.Target, verdict, agree, row.Counts)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "refold\tmap+touch before\tafter\tratio\tmap+scan before\tafter\tratio\tPMD-mapped before\tafter\trefold took")
	for _, x := range r.Refold {
		fmt.Fprintf(tw, "%s (%s)\t%.1fms\t%.1fms\t%.2fx\t%.1fms\t%.1fms\t%.2fx\t%s\t%s\t%.2fs\n", x.File, sizeString(x.Size),
			1e3*x.TouchBefore, 1e3*x.TouchAfter, x.TouchAfter/x.TouchBefore, 1e3*x.ScanBefore, 1e3*x.ScanAfter, x.ScanAfter/x.ScanBefore,
			percent(x.PMDBefore, x.Size), percent(x.PMDAfter, x.Size), x.Refold)
	}
	return tw.Flush()
}
