//go:build linux

// Command mmapbench (Linux) maps, touches and measures on this machine, and prints
// each measurement next to its baseline with the ratio between them.
//
//	go run ./cmd/mmapbench            # defaults sized to this machine
//	go run ./cmd/mmapbench -size 1GiB
//
// It writes one temporary file and removes it before it exits.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/hugemap/mmap"
)

func main() {
	size := flag.String("size", "", "bytes for the large file and arena, e.g. 512MiB (default: 256MiB, less on small machines)")
	flag.Parse()
	n, err := arenaSize(*size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmapbench:", err)
		os.Exit(2)
	}
	if err := run(n); err != nil {
		fmt.Fprintln(os.Stderr, "mmapbench:", err)
		os.Exit(1)
	}
}

// arenaSize parses -size, or picks 256 MiB capped at an eighth of the
// memory available, so the run fits the machine and its page cache.
func arenaSize(s string) (int, error) {
	if s != "" {
		return parseBytes(s)
	}
	n := 256 << 20
	if avail := memAvailable(); avail > 0 && avail/8 < n {
		n = max(avail/8, 16<<20)
	}
	return n, nil
}

func parseBytes(s string) (int, error) {
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if t, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = t, u.mult
			break
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 || v > int(^uint(0)>>1)/mult {
		return 0, fmt.Errorf("bad -size %q: want a positive number with an optional KiB, MiB or GiB suffix", s)
	}
	return v * mult, nil
}

type row struct {
	what, baseName, oursName string
	base, ours               time.Duration
}

func run(size int) error {
	page := os.Getpagesize()
	fmt.Printf("machine: %s, %d CPUs, kernel %s, page %d B, THP %s, backend %s\n",
		cpuModel(), runtime.NumCPU(), readTrim("/proc/sys/kernel/osrelease"), page, thpMode(), mmap.Backend())
	fmt.Printf("sizes: large file and arena %d MiB\n", size>>20)

	dir, err := os.MkdirTemp("", "mmapbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	small, err := createFile(dir+"/small", page)
	if err != nil {
		return err
	}
	defer small.Close()
	progress("writing a %d MiB file", size>>20)
	large, err := createFile(dir+"/large", size)
	if err != nil {
		return err
	}
	defer large.Close()

	var rows []row
	add := func(r row, err error) error {
		if err == nil {
			rows = append(rows, r)
		}
		return err
	}
	steps := []func() (row, error){
		func() (row, error) { return mapUnmap("4 KiB file", small) },
		func() (row, error) { return mapUnmap("4 KiB anonymous", nil) },
		func() (row, error) { return firstRead(large, size) },
		func() (row, error) { return firstTouch(size, "plain", 0) },
		func() (row, error) { return firstTouch(size, "POPULATE", mmap.POPULATE) },
		func() (row, error) { return firstTouch(size, "HUGE", mmap.HUGE) },
		func() (row, error) { return flushOnePage(large) },
	}
	for _, s := range steps {
		if err := add(s()); err != nil {
			return err
		}
	}
	progress("done")
	fmt.Printf("\n%-40s %-28s %-28s %s\n", "measurement", "baseline", "this package", "ours/base")
	for _, r := range rows {
		fmt.Printf("%-40s %-28s %-28s %.2fx\n", r.what,
			r.baseName+" "+short(r.base).String(), r.oursName+" "+short(r.ours).String(),
			float64(r.ours)/float64(r.base))
	}
	fmt.Println("\nratios below 1 mean this package took less time than the baseline.")
	return nil
}

// short rounds d to three significant digits.
func short(d time.Duration) time.Duration {
	unit := time.Duration(1)
	for d/unit >= 1000 {
		unit *= 10
	}
	return d.Round(unit)
}

// best runs f rounds times and returns the fastest per-op time over ops
// operations each: the least disturbed run on a shared machine.
func best(rounds, ops int, f func() error) (time.Duration, error) {
	var min time.Duration
	for i := range rounds {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		d := time.Since(t0) / time.Duration(ops)
		if i == 0 || d < min {
			min = d
		}
	}
	return min, nil
}

// mapUnmap times map+unmap of one page through syscall.Mmap and through
// this package, with the same fd (-1 for anonymous memory).
func mapUnmap(what string, f *os.File) (row, error) {
	progress("map+unmap of %s", what)
	const ops = 20000
	page := os.Getpagesize()
	// Anonymous: private read-write. File: shared read-only.
	fd, sysProt, sysFlags, prot, flags := -1, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON, mmap.RDWR, mmap.ANON
	if f != nil {
		fd, sysProt, sysFlags, prot, flags = int(f.Fd()), syscall.PROT_READ, syscall.MAP_SHARED, mmap.RDONLY, 0
	}
	base, err := best(5, ops, func() error {
		for range ops {
			b, err := syscall.Mmap(fd, 0, page, sysProt, sysFlags)
			if err != nil {
				return err
			}
			if err := syscall.Munmap(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return row{}, err
	}
	ours, err := best(5, ops, func() error {
		for range ops {
			m, err := mmap.MapRegion(f, page, prot, flags, 0)
			if err != nil {
				return err
			}
			if err := m.Unmap(); err != nil {
				return err
			}
		}
		return nil
	})
	return row{"map+unmap, " + what, "syscall.Mmap", "MapRegion", base, ours}, err
}

// firstRead sums a page-cached file once through read(2) and once through a
// fresh mapping (page faults included).
func firstRead(f *os.File, size int) (row, error) {
	progress("first full read of a page-cached %d MiB file", size>>20)
	buf := make([]byte, 1<<20)
	var sink uint64
	base, err := best(3, 1, func() error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		for {
			n, err := f.Read(buf)
			sink += sum(buf[:n])
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
	if err != nil {
		return row{}, err
	}
	ours, err := best(3, 1, func() error {
		m, err := mmap.Map(f, mmap.RDONLY, 0)
		if err != nil {
			return err
		}
		sink += sum(m)
		return m.Unmap()
	})
	_ = sink
	return row{fmt.Sprintf("first read, %d MiB page-cached file", size>>20), "read(2) 1 MiB", "Map+scan", base, ours}, err
}

// firstTouch writes one byte per page of a fresh anonymous arena: raw
// syscall.Mmap against this package with the given flags. kind names what
// the mapping got.
func firstTouch(size int, name string, flags int) (row, error) {
	progress("first touch of a %d MiB anonymous arena, %s", size>>20, name)
	page := os.Getpagesize()
	touch := func(b []byte) {
		for i := 0; i < len(b); i += page {
			b[i] = 1
		}
	}
	base, err := best(3, 1, func() error {
		b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			return err
		}
		touch(b)
		return syscall.Munmap(b)
	})
	if err != nil {
		return row{}, err
	}
	var got mmap.Info
	ours, err := best(3, 1, func() error {
		m, err := mmap.MapRegion(nil, size, mmap.RDWR, mmap.ANON|flags, 0)
		if err != nil {
			return err
		}
		got, _ = m.Info()
		touch(m)
		return m.Unmap()
	})
	return row{fmt.Sprintf("first touch, %d MiB anon, %s", size>>20, name), "syscall.Mmap", fmt.Sprintf("%s pages", got.Kind), base, ours}, err
}

// flushOnePage dirties one page of a large shared mapping and flushes it:
// the whole mapping versus only the slice that changed.
func flushOnePage(f *os.File) (row, error) {
	progress("flush of one dirty page in a large mapping")
	m, err := mmap.Map(f, mmap.RDWR, 0)
	if err != nil {
		return row{}, err
	}
	defer m.Unmap()
	const ops = 200
	mid := len(m) / 2
	base, err := best(3, ops, func() error {
		for range ops {
			m[mid]++
			if err := m.Flush(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return row{}, err
	}
	ours, err := best(3, ops, func() error {
		for range ops {
			m[mid]++
			if err := m[mid : mid+1].Flush(); err != nil {
				return err
			}
		}
		return nil
	})
	return row{"flush one dirty page", "whole Flush", "sub-slice Flush", base, ours}, err
}

// sum adds b as 64-bit words (the tail as bytes), the same work for every
// way of reading.
func sum(b []byte) uint64 {
	var s uint64
	words := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
	for _, w := range words {
		s += w
	}
	for _, c := range b[len(words)*8:] {
		s += uint64(c)
	}
	return s
}

func createFile(path string, size int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	for left := size; left > 0; left -= len(chunk) {
		if _, err := f.Write(chunk[:min(left, len(chunk))]); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "... "+format+"\n", args...)
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func cpuModel() string {
	for _, line := range strings.Split(readTrim("/proc/cpuinfo"), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}

// thpMode is the bracketed choice in the kernel's THP setting.
func thpMode() string {
	s := readTrim("/sys/kernel/mm/transparent_hugepage/enabled")
	if i := strings.Index(s, "["); i >= 0 {
		if j := strings.Index(s[i:], "]"); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return s
}

// memAvailable is MemAvailable from /proc/meminfo in bytes, or 0.
func memAvailable() int {
	for _, line := range strings.Split(readTrim("/proc/meminfo"), "\n") {
		if v, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, err := strconv.Atoi(strings.Fields(v)[0])
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
