//go:build linux

package bench

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	mmapgo "github.com/edsrzf/mmap-go"
	"github.com/hugemap/mmap"
	"github.com/hugemap/mmap/internal/scan"
	xmmap "golang.org/x/exp/mmap"
	"golang.org/x/sys/unix"
)

// The same workloads through each implementation, one sub-benchmark per
// implementation (impl=...), so that benchstat -col /impl sets them side
// by side. See README.md for the commands.
//
// impl=hugemap   this module's parent, github.com/hugemap/mmap
// impl=edsrzf    github.com/edsrzf/mmap-go v1.2.0
// impl=xexp      golang.org/x/exp/mmap (a read-only ReaderAt)
// impl=xsys      golang.org/x/sys/unix: Mmap, Munmap, Msync, and mincore
//                through unix.Syscall (x/sys has no Mincore wrapper)
// impl=osfile    os.File: ReadAt (pread) and WriteAt+Sync, no mapping
// impl=c         ../cmd/mmapbench/floor.c built with cc -O2: the raw libc
//                calls in a C loop, the physical floor; it times itself
//                and reports that as ns/op, so process start is left out

var (
	page      = os.Getpagesize()
	small     string // a one-page file
	large     string // a page-cached file of MMAP_BENCH_MIB MiB (default 256)
	largeSize int
	floorBin  string // the built C floor, or ""
	floorWhy  string // why there is none
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hugemap-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	largeSize = 256 << 20
	if v, err := strconv.Atoi(os.Getenv("MMAP_BENCH_MIB")); err == nil && v > 0 {
		largeSize = v << 20
	}
	small, large = filepath.Join(dir, "small"), filepath.Join(dir, "large")
	// Only benchmarks need the files and the floor; a plain go test (or
	// -bench '^$', which compiles them) skips the work.
	if benchmarking() {
		for _, f := range []struct {
			path string
			size int
		}{{small, page}, {large, largeSize}} {
			if err := writeFile(f.path, f.size); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		floorBin, floorWhy = buildFloor(dir)
	}
	return m.Run()
}

func benchmarking() bool {
	for _, a := range os.Args[1:] {
		if v, ok := strings.CutPrefix(a, "-test.bench="); ok && v != "" && v != "^$" {
			return true
		}
	}
	return false
}

// writeFile writes size bytes and syncs them: the pages are clean and in
// the page cache.
func writeFile(path string, size int) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	for left := size; left > 0; left -= len(chunk) {
		if _, err := f.Write(chunk[:min(left, len(chunk))]); err != nil {
			return err
		}
	}
	return f.Sync()
}

// buildFloor compiles the C floor that cmd/mmapbench embeds.
func buildFloor(dir string) (bin, why string) {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	if _, err := exec.LookPath(cc); err != nil {
		return "", "no C compiler (" + cc + ")"
	}
	bin = filepath.Join(dir, "floor")
	out, err := exec.Command(cc, "-std=c11", "-O2", "-o", bin, filepath.Join("..", "cmd", "mmapbench", "floor.c")).CombinedOutput()
	if err != nil {
		return "", fmt.Sprintf("cc failed: %v: %s", err, out)
	}
	return bin, ""
}

// floor runs one test of the C floor for b.N operations and reports the
// time it measured itself as ns/op.
func floor(b *testing.B, test string, args ...string) {
	if floorBin == "" {
		b.Skip(floorWhy)
	}
	argv := append([]string{test, strconv.Itoa(b.N), "1"}, args...)
	out, err := exec.Command(floorBin, argv...).Output()
	if err != nil {
		b.Fatalf("floor %s: %v", strings.Join(argv, " "), err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		b.Fatalf("floor %s: output %q", strings.Join(argv, " "), out)
	}
	ns, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(ns, "ns/op")
}

func open(b *testing.B, path string, flag int) *os.File {
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

func check(b *testing.B, err error) {
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMapUnmapFile: map the first page of a file shared read-only and
// unmap it. x/exp/mmap has no way to map an open file (Open also opens,
// stats and closes it), and os.File does not map, so they have no row.
func BenchmarkMapUnmapFile(b *testing.B) {
	b.Run("impl=hugemap", func(b *testing.B) {
		f := open(b, small, os.O_RDONLY)
		for b.Loop() {
			m, err := mmap.MapRegion(f, page, mmap.RDONLY, 0, 0)
			check(b, err)
			check(b, m.Unmap())
		}
	})
	b.Run("impl=edsrzf", func(b *testing.B) {
		f := open(b, small, os.O_RDONLY)
		for b.Loop() {
			m, err := mmapgo.MapRegion(f, page, mmapgo.RDONLY, 0, 0)
			check(b, err)
			check(b, m.Unmap())
		}
	})
	b.Run("impl=xsys", func(b *testing.B) {
		fd := int(open(b, small, os.O_RDONLY).Fd())
		for b.Loop() {
			m, err := unix.Mmap(fd, 0, page, unix.PROT_READ, unix.MAP_SHARED)
			check(b, err)
			check(b, unix.Munmap(m))
		}
	})
	// x/sys/unix.Mmap with the descriptor held as hugemap holds it, against
	// a concurrent Close: what that safety costs, apart from the rest.
	b.Run("impl=xsys-held", func(b *testing.B) {
		rc, err := open(b, small, os.O_RDONLY).SyscallConn()
		check(b, err)
		var pairErr error
		pair := func(fd uintptr) {
			m, err := unix.Mmap(int(fd), 0, page, unix.PROT_READ, unix.MAP_SHARED)
			if err == nil {
				err = unix.Munmap(m)
			}
			pairErr = err
		}
		for b.Loop() {
			check(b, rc.Control(pair))
			check(b, pairErr)
		}
	})
	b.Run("impl=c", func(b *testing.B) { floor(b, "mapunmap-file", small) })
}

// BenchmarkMapUnmapAnon: map one page of anonymous read-write memory and
// unmap it. mmap-go maps it MAP_SHARED (a shmem object per map); the rest
// MAP_PRIVATE.
func BenchmarkMapUnmapAnon(b *testing.B) {
	b.Run("impl=hugemap", func(b *testing.B) {
		for b.Loop() {
			m, err := mmap.MapRegion(nil, page, mmap.RDWR, mmap.ANON, 0)
			check(b, err)
			check(b, m.Unmap())
		}
	})
	b.Run("impl=edsrzf", func(b *testing.B) {
		for b.Loop() {
			m, err := mmapgo.MapRegion(nil, page, mmapgo.RDWR, mmapgo.ANON, 0)
			check(b, err)
			check(b, m.Unmap())
		}
	})
	b.Run("impl=xsys", func(b *testing.B) {
		for b.Loop() {
			m, err := unix.Mmap(-1, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
			check(b, err)
			check(b, unix.Munmap(m))
		}
	})
	b.Run("impl=c", func(b *testing.B) { floor(b, "mapunmap-anon") })
}

// BenchmarkReadFile: read all of a page-cached file and sum it as 64-bit
// words. The mapping impls map, scan and unmap (their page faults
// included); the copying ones read 256 KiB at a time into a buffer.
func BenchmarkReadFile(b *testing.B) {
	var sink uint64
	defer func() { runtime.KeepAlive(sink) }()
	buf := make([]byte, 256<<10)
	b.Run("impl=hugemap", func(b *testing.B) {
		f := open(b, large, os.O_RDONLY)
		for b.Loop() {
			m, err := mmap.Map(f, mmap.RDONLY, 0)
			check(b, err)
			sink += scan.Sum(m)
			check(b, m.Unmap())
		}
	})
	b.Run("impl=hugemap-populate", func(b *testing.B) {
		f := open(b, large, os.O_RDONLY)
		for b.Loop() {
			m, err := mmap.Map(f, mmap.RDONLY, mmap.POPULATE)
			check(b, err)
			sink += scan.Sum(m)
			check(b, m.Unmap())
		}
	})
	b.Run("impl=edsrzf", func(b *testing.B) {
		f := open(b, large, os.O_RDONLY)
		for b.Loop() {
			m, err := mmapgo.Map(f, mmapgo.RDONLY, 0)
			check(b, err)
			sink += scan.Sum(m)
			check(b, m.Unmap())
		}
	})
	b.Run("impl=xexp", func(b *testing.B) {
		for b.Loop() {
			r, err := xmmap.Open(large)
			check(b, err)
			for off := 0; off < r.Len(); {
				n, err := r.ReadAt(buf, int64(off))
				if err != nil && err != io.EOF {
					b.Fatal(err)
				}
				sink += scan.Sum(buf[:n])
				off += n
			}
			check(b, r.Close())
		}
	})
	b.Run("impl=xsys", func(b *testing.B) {
		fd := int(open(b, large, os.O_RDONLY).Fd())
		for b.Loop() {
			m, err := unix.Mmap(fd, 0, largeSize, unix.PROT_READ, unix.MAP_SHARED)
			check(b, err)
			sink += scan.Sum(m)
			check(b, unix.Munmap(m))
		}
	})
	b.Run("impl=osfile", func(b *testing.B) {
		f := open(b, large, os.O_RDONLY)
		for b.Loop() {
			for off := 0; off < largeSize; {
				n, err := f.ReadAt(buf, int64(off))
				if err != nil && err != io.EOF {
					b.Fatal(err)
				}
				sink += scan.Sum(buf[:n])
				off += n
			}
		}
	})
	b.Run("impl=c", func(b *testing.B) { floor(b, "scan", large) })
}

// BenchmarkSumUint32: map the large file and sum it as 32-bit words through
// a typed view: hugemap's As[uint32], x/sys's mapping with the view built
// by hand (unsafe.Slice), and os.File with binary.Read of 64 KiB of words
// at a time. (Words, not floats: the file's bytes read as float32 are
// mostly denormals, which time the FPU instead of the view.)
func BenchmarkSumUint32(b *testing.B) {
	var sink uint32
	defer func() { runtime.KeepAlive(sink) }()
	b.Run("impl=hugemap", func(b *testing.B) {
		f := open(b, large, os.O_RDONLY)
		for b.Loop() {
			m, err := mmap.Map(f, mmap.RDONLY, 0)
			check(b, err)
			v, err := mmap.As[uint32](m)
			check(b, err)
			sink += scan.Values(v)
			check(b, m.Unmap())
		}
	})
	b.Run("impl=xsys", func(b *testing.B) {
		fd := int(open(b, large, os.O_RDONLY).Fd())
		for b.Loop() {
			m, err := unix.Mmap(fd, 0, largeSize, unix.PROT_READ, unix.MAP_SHARED)
			check(b, err)
			sink += scan.Values(unsafe.Slice((*uint32)(unsafe.Pointer(&m[0])), len(m)/4))
			check(b, unix.Munmap(m))
		}
	})
	b.Run("impl=osfile", func(b *testing.B) {
		f := open(b, large, os.O_RDONLY)
		words := make([]uint32, 16<<10)
		for b.Loop() {
			r := io.NewSectionReader(f, 0, int64(largeSize))
			for left := largeSize / 4; left > 0; left -= len(words) {
				w := words[:min(len(words), left)]
				check(b, binary.Read(r, binary.NativeEndian, w))
				sink += scan.Values(w)
			}
		}
	})
}

// BenchmarkFlushOnePage: dirty one byte in the middle of a large shared
// mapping and make its page durable. hugemap flushes the one-byte
// sub-slice (hugemap-whole the whole mapping); mmap-go can only flush the
// whole mapping (a sub-slice gives EINVAL); xsys msyncs the page; osfile
// writes the byte with pwrite and fsyncs.
func BenchmarkFlushOnePage(b *testing.B) {
	mid := largeSize/2 + 123
	pageOff := mid &^ (page - 1)
	b.Run("impl=hugemap", func(b *testing.B) {
		m, err := mmap.Map(open(b, large, os.O_RDWR), mmap.RDWR, 0)
		check(b, err)
		defer m.Unmap()
		for b.Loop() {
			m[mid]++
			check(b, m[mid:mid+1].Flush())
		}
	})
	b.Run("impl=hugemap-whole", func(b *testing.B) {
		m, err := mmap.Map(open(b, large, os.O_RDWR), mmap.RDWR, 0)
		check(b, err)
		defer m.Unmap()
		for b.Loop() {
			m[mid]++
			check(b, m.Flush())
		}
	})
	b.Run("impl=edsrzf", func(b *testing.B) {
		m, err := mmapgo.Map(open(b, large, os.O_RDWR), mmapgo.RDWR, 0)
		check(b, err)
		defer m.Unmap()
		for b.Loop() {
			m[mid]++
			check(b, m.Flush())
		}
	})
	b.Run("impl=xsys", func(b *testing.B) {
		m, err := unix.Mmap(int(open(b, large, os.O_RDWR).Fd()), 0, largeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		check(b, err)
		defer unix.Munmap(m)
		for b.Loop() {
			m[mid]++
			check(b, unix.Msync(m[pageOff:pageOff+page], unix.MS_SYNC))
		}
	})
	b.Run("impl=osfile", func(b *testing.B) {
		f := open(b, large, os.O_RDWR)
		one := []byte{0}
		for b.Loop() {
			one[0]++
			_, err := f.WriteAt(one, int64(mid))
			check(b, err)
			check(b, f.Sync())
		}
	})
	b.Run("impl=c", func(b *testing.B) { floor(b, "msync", large, strconv.Itoa(mid)) })
}

// BenchmarkResident: count the resident pages of a large file mapping
// (the file is page-cached, the mapping not populated).
func BenchmarkResident(b *testing.B) {
	b.Run("impl=hugemap", func(b *testing.B) {
		m, err := mmap.Map(open(b, large, os.O_RDONLY), mmap.RDONLY, 0)
		check(b, err)
		defer m.Unmap()
		for b.Loop() {
			_, _, err := m.Resident()
			check(b, err)
		}
	})
	b.Run("impl=xsys", func(b *testing.B) {
		m, err := unix.Mmap(int(open(b, large, os.O_RDONLY).Fd()), 0, largeSize, unix.PROT_READ, unix.MAP_SHARED)
		check(b, err)
		defer unix.Munmap(m)
		vec := make([]byte, (largeSize+page-1)/page)
		for b.Loop() {
			if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
				b.Fatal(e)
			}
			n := 0
			for _, v := range vec {
				n += int(v & 1)
			}
			runtime.KeepAlive(n)
		}
	})
	b.Run("impl=c", func(b *testing.B) { floor(b, "mincore", large) })
}
