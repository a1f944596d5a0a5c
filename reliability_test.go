package mmap

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"unsafe"
)

// The bad-input table: every exported function and method of the package
// against every class of bad argument. Each call must return the error the
// table names (a sentinel of errors.go, or the errno the system gave, wrapped),
// must not panic, and must leave the registry of live mappings and, on
// Linux, the process's mappings, descriptors and locked memory as they were
// (reliability_linux_test.go supplies that probe and the Linux-only inputs:
// pipes, /proc files, character devices, O_WRONLY, O_APPEND and O_PATH files).

// badCase is one call with a bad argument and the errors it must match (all
// of them; none for a call that must succeed, such as a method of an empty
// MMap, which does nothing).
type badCase struct {
	name string
	call func() error
	want []error
}

// platformBadCases adds the inputs only one platform has; leakProbe returns
// a comparable snapshot of what a leak would grow (nil where the platform
// has no such account). reliability_linux_test.go sets both.
var (
	platformBadCases func(t *testing.T) []badCase
	leakProbe        func(t testing.TB, dir string) any
)

// callNoPanic runs call, and reports a panic apart from its error.
func callNoPanic(call func() error) (panicked any, err error) {
	defer func() {
		if p := recover(); p != nil {
			panicked = p
		}
	}()
	return nil, call()
}

// checkBadCases runs each case with the checks the table promises. dir is
// the directory whose files the leak probe watches.
func checkBadCases(t *testing.T, dir string, cases []badCase) {
	t.Helper()
	var probe0 any
	if leakProbe != nil {
		probe0 = leakProbe(t, dir)
	}
	live0 := liveMappings()
	for _, c := range cases {
		p, err := callNoPanic(c.call)
		if p != nil {
			t.Errorf("%s: panicked: %v", c.name, p)
			continue
		}
		if len(c.want) == 0 && err != nil {
			t.Errorf("%s: %v; want success (nothing to do)", c.name, err)
		}
		if len(c.want) > 0 && err == nil {
			t.Errorf("%s: succeeded; want %v", c.name, c.want)
		}
		for _, w := range c.want {
			if err != nil && !errors.Is(err, w) {
				t.Errorf("%s: got %v; want it to match %v", c.name, err, w)
			}
		}
		// io.EOF is bare by contract: readers compare it with ==.
		if err != nil && len(c.want) > 0 && c.want[0] != io.EOF && err.Error() == c.want[0].Error() {
			t.Errorf("%s: error %q says no more than the sentinel", c.name, err)
		}
		// liveCount first: liveMappings waits for a collection.
		if n := liveCount(); n != live0 && liveMappings() != live0 {
			t.Fatalf("%s: the registry holds %d mappings, %d before", c.name, n, live0)
		}
		if leakProbe != nil {
			if now := leakProbe(t, dir); now != probe0 {
				t.Fatalf("%s: the process's footprint changed: %+v, was %+v", c.name, now, probe0)
			}
		}
	}
	t.Logf("%d bad inputs: no panic, no leak, each with its error", len(cases))
}

// mapCall is a MapRegion call whose mapping, should it succeed against the
// table's wish, is unmapped so that one wrong answer does not cascade.
func mapCall(f *os.File, length, prot, flags int, off int64) func() error {
	return func() error {
		m, err := MapRegion(f, length, prot, flags, off)
		if err == nil {
			m.Unmap()
			return nil
		}
		if m != nil {
			return fmt.Errorf("a %d-byte MMap returned with the error %w", len(m), err)
		}
		return err
	}
}

func wholeCall(f *os.File, prot, flags int) func() error {
	return func() error {
		m, err := Map(f, prot, flags)
		if err == nil {
			m.Unmap()
			return nil
		}
		if m != nil {
			return fmt.Errorf("a %d-byte MMap returned with the error %w", len(m), err)
		}
		return err
	}
}

// methodCalls is every method of MMap but Range, Unmap and Resize, with
// valid arguments, on m.
func methodCalls(m MMap) map[string]func() error {
	return map[string]func() error{
		"Lock":          m.Lock,
		"Unlock":        m.Unlock,
		"Flush":         m.Flush,
		"FlushAsync":    m.FlushAsync,
		"LockOnFault":   m.LockOnFault,
		"Advise":        func() error { return m.Advise(AdviceNormal) },
		"Discard":       func() error { return m.Discard(DiscardFree) },
		"Protect":       func() error { return m.Protect(RDONLY) },
		"Resident":      func() error { _, _, err := m.Resident(); return err },
		"ResidentPages": func() error { _, err := m.ResidentPages(); return err },
		"Info":          func() error { _, err := m.Info(); return err },
		"Stats":         func() error { _, err := m.Stats(); return err },
		"As":            func() error { _, err := As[uint32](m); return err },
		"SetNUMA":       func() error { return m.SetNUMA(NUMALocal, nil, false) },
	}
}

func TestBadInputTable(t *testing.T) {
	b := newBadInputs(t)
	for _, build := range []func(){b.mapCases, b.targetCases, b.protectCases, b.rangeCases,
		b.resizeCases, b.growCases, b.queryCases, b.accessCases, b.readerCases} {
		build()
	}
	checkBadCases(t, b.dir, append(b.cases, b.platform...))

	// Every refused call left the targets intact.
	copy(b.anon, "still writable")
	if string(b.anon[:14]) != "still writable" || string(b.file[:page]) != string(pattern(page)) {
		t.Fatal("a refused call changed a live mapping")
	}
	if len(b.file) != 2*page || len(b.anon) != 2*page || len(b.fileAt) != page {
		t.Fatal("a refused Resize changed a slice's length")
	}
	if fi, err := b.rw.Stat(); err != nil || fi.Size() != int64(2*page) {
		t.Fatalf("a refused call changed the file's size: %v, %v", fi.Size(), err)
	}
}

// badInputs is TestBadInputTable's fixtures, made once, and the cases its
// builders add, one builder per API.
type badInputs struct {
	dir                       string
	rw, ro, closed, d         *os.File
	reader, closedReader      *ReaderAt
	file, fileAt, roMap, anon MMap // live targets
	stale, staleSlice         MMap // unmapped
	emptyMap, foreign         MMap
	platform, cases           []badCase
}

func (b *badInputs) add(name string, call func() error, want ...error) {
	b.cases = append(b.cases, badCase{name, call, want})
}

// newBadInputs makes the fixtures, in an order that matters: see within.
func newBadInputs(t *testing.T) *badInputs {
	b := &badInputs{dir: t.TempDir()}
	dir := b.dir
	open := func(name string, data []byte, flag int) *os.File {
		path := dir + string(os.PathSeparator) + name
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, flag, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	b.rw = open("rw", pattern(2*page), os.O_RDWR)
	b.ro = open("ro", pattern(2*page), os.O_RDONLY)
	b.closed = open("closed", pattern(page), os.O_RDWR)
	b.closed.Close()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	b.d = d

	// The platform's cases map what they need first: a mapping made after
	// the stale one below could reuse its address and make it live again.
	if platformBadCases != nil {
		b.platform = platformBadCases(t)
	}
	// Readers, like every live target, are made before the stale mapping
	// below, whose address a later mapping could take.
	if b.reader, err = Open(b.rw.Name()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.reader.Close() })
	if b.closedReader, err = Open(b.rw.Name()); err != nil {
		t.Fatal(err)
	}
	b.closedReader.Close()
	// Live targets for the methods: made before the probe's first look.
	for _, m := range []struct {
		to          *MMap
		f           *os.File
		length      int
		prot, flags int
		off         int64
	}{
		{&b.file, b.rw, -1, RDWR, 0, 0},
		{&b.fileAt, b.rw, page, RDWR, 0, int64(page)}, // offset page, for Resize's overflow
		{&b.roMap, b.ro, -1, RDONLY, 0, 0},
		{&b.anon, nil, 2 * page, RDWR, ANON, 0},
	} {
		*m.to = mustMap(t, m.f, m.length, m.prot, m.flags, m.off)
		t.Cleanup(func() { mustUnmap(t, m.to) })
	}
	gone := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	b.stale, b.staleSlice = gone, gone[page:]
	mustUnmap(t, &gone)
	b.emptyMap = mustMap(t, b.rw, 0, RDWR, 0, 0)
	b.foreign = MMap(make([]byte, 3*page))
	return b
}

// mapCases: Map and MapRegion, with bad files, offsets, lengths, prot
// and flags.
func (b *badInputs) mapCases() {
	for _, l := range []int{-1, 0, page} {
		b.add(fmt.Sprintf("MapRegion(nil file, len %d)", l), mapCall(nil, l, RDONLY, 0, 0), ErrNoFile)
		b.add(fmt.Sprintf("MapRegion(closed file, len %d)", l), mapCall(b.closed, l, RDONLY, 0, 0), os.ErrClosed)
		b.add(fmt.Sprintf("MapRegion(directory, len %d)", l), mapCall(b.d, l, RDONLY, 0, 0), syscall.EISDIR)
	}
	b.add("Map(nil file)", wholeCall(nil, RDWR, 0), ErrNoFile)
	b.add("Map(closed file)", wholeCall(b.closed, RDONLY, 0), os.ErrClosed)
	b.add("Map(directory)", wholeCall(b.d, RDONLY, 0), syscall.EISDIR)
	b.add("Map(read-only file, RDWR)", wholeCall(b.ro, RDWR, 0), fs.ErrPermission)
	b.add("MapRegion(read-only file, RDWR, len page)", mapCall(b.ro, page, RDWR, 0, 0), fs.ErrPermission)
	b.add("MapRegion(read-only file, RDWR|EXEC)", mapCall(b.ro, page, RDWR|EXEC, 0, 0), fs.ErrPermission)

	// Offsets.
	for _, off := range []int64{-1, -int64(page), math.MinInt64, 1, int64(page) - 1, int64(page) + 1, math.MaxInt64} {
		b.add(fmt.Sprintf("MapRegion(offset %d)", off), mapCall(b.rw, page, RDONLY, 0, off), ErrInvalidOffset)
		b.add(fmt.Sprintf("MapRegion(ANON, offset %d)", off), mapCall(nil, page, RDWR, ANON, off), ErrInvalidOffset)
	}
	b.add("MapRegion(UNALIGNED, offset -1)", mapCall(b.rw, page, RDONLY, UNALIGNED, -1), ErrInvalidOffset)
	b.add("MapRegion(UNALIGNED, offset MinInt64)", mapCall(b.rw, page, RDONLY, UNALIGNED, math.MinInt64), ErrInvalidOffset)
	for _, off := range []int64{3 * int64(page), math.MaxInt64 &^ int64(page-1)} {
		b.add(fmt.Sprintf("Map whole file from offset %d past the end", off), mapCall(b.rw, -1, RDONLY, 0, off), ErrInvalidOffset)
	}
	b.add("Map whole file, UNALIGNED from one byte past the end", mapCall(b.rw, -1, RDONLY, UNALIGNED, 2*int64(page)+1), ErrInvalidOffset)

	// Lengths.
	for _, l := range []int{0, -1, -page, math.MinInt} {
		b.add(fmt.Sprintf("MapRegion(ANON, len %d)", l), mapCall(nil, l, RDWR, ANON, 0), ErrInvalidLength)
		b.add(fmt.Sprintf("MapRegion(ANON|POPULATE|LOCK, len %d)", l), mapCall(nil, l, RDWR, ANON|POPULATE|LOCK, 0), ErrInvalidLength)
	}
	b.add("MapRegion(offset+length overflows int64)", mapCall(b.rw, 2*page, RDONLY, 0, math.MaxInt64&^int64(page-1)), ErrInvalidLength)
	b.add("MapRegion(UNALIGNED: length MaxInt from the page below)", mapCall(b.rw, math.MaxInt, RDONLY, UNALIGNED, 1), ErrInvalidLength)
	if strconv.IntSize == 64 {
		b.add("MapRegion(offset page + length MaxInt overflows int64)", mapCall(b.rw, math.MaxInt, RDONLY, 0, int64(page)), ErrInvalidLength)
	}

	// prot and flags: undefined bits and contradictions, for files and ANON.
	for _, prot := range []int{-1, 1, 16, 1 << 30, math.MinInt, math.MaxInt, RDWR | COPY, RDWR | COPY | EXEC} {
		b.add(fmt.Sprintf("MapRegion(prot %#x)", prot), mapCall(b.rw, page, prot, 0, 0), ErrInvalidProt)
		b.add(fmt.Sprintf("MapRegion(ANON, prot %#x)", prot), mapCall(nil, page, prot, ANON, 0), ErrInvalidProt)
		b.add(fmt.Sprintf("Map(prot %#x)", prot), wholeCall(b.rw, prot, 0), ErrInvalidProt)
	}
	for _, flags := range []int{-1, 1 << 20, 1 << 30, math.MinInt, math.MaxInt, LOCK | LOCK_ONFAULT, ANON | LOCK | LOCK_ONFAULT, HUGE_1GB, ANON | HUGE_1GB, HUGE_1GB | LOCK} {
		b.add(fmt.Sprintf("MapRegion(flags %#x)", flags), mapCall(b.rw, page, RDONLY, flags, 0), ErrInvalidFlags)
		b.add(fmt.Sprintf("MapRegion(ANON, flags %#x)", flags), mapCall(nil, page, RDWR, flags|ANON, 0), ErrInvalidFlags)
		b.add(fmt.Sprintf("Map(flags %#x)", flags), wholeCall(b.rw, RDONLY, flags), ErrInvalidFlags)
	}
	// Argument errors come before the b.file is looked at.
	b.add("MapRegion(closed file, bad prot)", mapCall(b.closed, page, 1, 0, 0), ErrInvalidProt)
	b.add("MapRegion(nil file, bad flags)", mapCall(nil, page, RDONLY, 1<<20, 0), ErrInvalidFlags)
}

// targetCases: every method on nil, empty, stale (unmapped), foreign and
// derived slices.
func (b *badInputs) targetCases() {
	targets := []struct {
		name string
		m    MMap
		want error // nil: an empty slice, whose methods succeed doing nothing
	}{
		{"nil MMap", nil, nil},
		{"empty MMap", b.emptyMap, nil},
		{"empty slice of a mapping", b.anon[page:page], nil},
		{"unmapped MMap", b.stale, ErrNotMapped},
		{"slice of an unmapped MMap", b.staleSlice, ErrNotMapped},
		{"Go memory", b.foreign, ErrNotMapped},
		{"one byte of Go memory", b.foreign[1:2], ErrNotMapped},
	}
	for _, tg := range targets {
		for name, call := range methodCalls(tg.m) {
			want := tg.want
			if want == nil {
				b.add(name+" of a "+tg.name, call)
			} else {
				b.add(name+" of a "+tg.name, call, want)
			}
		}
		m := tg.m
		b.add("Resize of a "+tg.name, func() error { return m.Resize(nil, page, false) }, ErrNotMapped)
		if len(tg.m) > 0 || tg.name == "empty slice of a mapping" {
			b.add("Unmap of a "+tg.name, func() error { return m.Unmap() }, ErrNotMapped)
		}
		// Bad advice and modes are refused whatever the target.
		for _, a := range []Advice{-1, math.MinInt, AdviceCollapse + 1, adviceDontNeed, adviceFree, adviceRemove, math.MaxInt} {
			b.add(fmt.Sprintf("Advise(%d) of a %s", int(a), tg.name), func() error { return m.Advise(a) }, ErrInvalidAdvice)
		}
		for _, mode := range []DiscardMode{-1, math.MinInt, DiscardRemove + 1, math.MaxInt} {
			b.add(fmt.Sprintf("Discard(%d) of a %s", int(mode), tg.name), func() error { return m.Discard(mode) }, ErrInvalidAdvice)
		}
		for _, prot := range []int{-1, 1, 16, math.MinInt, RDWR | COPY} {
			b.add(fmt.Sprintf("Protect(%#x) of a %s", prot, tg.name), func() error { return m.Protect(prot) }, ErrInvalidProt)
		}
	}
	var nilMap MMap
	b.add("Unmap of a nil MMap", func() error { return nilMap.Unmap() }, ErrNotMapped)

	// Derived slices of live mappings: Unmap and Resize refuse them.
	for name, s := range map[string]MMap{
		"prefix": b.anon[:page], "suffix": b.anon[1:], "middle": b.anon[1 : 2*page-1],
		"three-index slice": b.anon[0:len(b.anon):len(b.anon)][:page], "last byte": b.anon[len(b.anon)-1:],
		"file prefix": b.file[:1],
	} {
		b.add("Unmap of the "+name, func() error { return s.Unmap() }, ErrNotMapped)
		b.add("Resize of the "+name, func() error { return s.Resize(b.rw, page, false) }, ErrNotMapped)
	}
}

// protectCases: Protect cannot grant what the mapping was not made with.
func (b *badInputs) protectCases() {
	b.add("Protect(RDWR) of a read-only map", func() error { return b.roMap.Protect(RDWR) }, ErrInvalidProt)
	b.add("Protect(COPY) of a read-only map", func() error { return b.roMap.Protect(COPY) }, ErrInvalidProt)
	b.add("Protect(EXEC) of a read-only map", func() error { return b.roMap.Protect(EXEC) }, ErrInvalidProt)
	b.add("Protect(RDWR|EXEC) of a slice of a shared map", func() error { return b.file[1:2].Protect(RDWR | EXEC) }, ErrInvalidProt)
	b.add("Protect(COPY) of a shared map", func() error { return b.file.Protect(COPY) }, ErrInvalidProt)
	b.add("Protect(COPY) of an anonymous map", func() error { return b.anon.Protect(COPY) }, ErrInvalidProt)
}

// rangeCases: Range with out-of-bounds offsets and lengths, on live, nil
// and foreign slices.
func (b *badInputs) rangeCases() {
	for _, tg := range []struct {
		name string
		m    MMap
	}{{"mapping", b.anon}, {"nil MMap", nil}, {"Go memory", b.foreign}} {
		n := len(tg.m)
		for _, r := range []struct {
			off, n int
			want   error
		}{
			{-1, 0, ErrInvalidOffset}, {math.MinInt, 1, ErrInvalidOffset}, {n + 1, 0, ErrInvalidOffset},
			{math.MaxInt, 0, ErrInvalidOffset}, {0, -1, ErrInvalidLength}, {0, math.MinInt, ErrInvalidLength},
			{0, n + 1, ErrInvalidLength}, {n, 1, ErrInvalidLength}, {min(1, n), math.MaxInt, ErrInvalidLength},
			{n, math.MaxInt, ErrInvalidLength},
		} {
			m, r := tg.m, r
			b.add(fmt.Sprintf("Range(%d, %d) of a %s", r.off, r.n, tg.name), func() error {
				got, err := m.Range(r.off, r.n)
				if got != nil {
					return fmt.Errorf("Range returned %d bytes with %w", len(got), err)
				}
				return err
			}, r.want)
		}
	}
}

// resizeCases: Resize with bad lengths and files.
func (b *badInputs) resizeCases() {
	for _, n := range []int{0, -1, math.MinInt} {
		b.add(fmt.Sprintf("Resize(%d) of an anonymous map", n), func() error { return b.anon.Resize(nil, n, false) }, ErrInvalidLength)
		b.add(fmt.Sprintf("Resize(%d) of a file map", n), func() error { return b.file.Resize(b.rw, n, true) }, ErrInvalidLength)
	}
	b.add("Resize of a file map without its file", func() error { return b.file.Resize(nil, page, false) }, ErrNoFile)
	b.add("Resize of a file map past the end without extend", func() error { return b.file.Resize(b.rw, 2*page+1, false) }, ErrInvalidLength)
	b.add("Resize of a file map to MaxInt without extend", func() error { return b.file.Resize(b.rw, math.MaxInt, false) }, ErrInvalidLength)
	b.add("Resize of a file map with a closed file", func() error { return b.file.Resize(b.closed, page, false) }, os.ErrClosed)
	if strconv.IntSize == 64 {
		b.add("Resize of a file map at offset page to MaxInt (offset+length overflows)", func() error { return b.fileAt.Resize(b.rw, math.MaxInt, true) }, ErrInvalidLength)
	}
}

// queryCases: the functions without an argument that could be bad must
// not fail where the platform has them, and String takes any value.
func (b *badInputs) queryCases() {
	b.add("AdviceSupported of bad advice", func() error {
		for _, a := range []Advice{-1, math.MinInt, AdviceCollapse + 1, adviceDontNeed, adviceFree, adviceRemove, math.MaxInt} {
			if AdviceSupported(a) {
				return fmt.Errorf("AdviceSupported(%d) = true", int(a))
			}
		}
		return nil
	})
	b.add("String of undefined Advice and PageKind", func() error {
		if s := Advice(-5).String(); s != "Advice(-5)" {
			return fmt.Errorf("Advice(-5).String() = %q", s)
		}
		if s := PageKind(99).String(); s != "PageKind(99)" {
			return fmt.Errorf("PageKind(99).String() = %q", s)
		}
		if (HugetlbPool{}).Available() != 0 {
			return errors.New("zero HugetlbPool has pages available")
		}
		return nil
	})
	for name, m := range map[string]MMap{"stale": b.stale, "stale slice": b.staleSlice, "foreign": b.foreign} {
		b.add("As[uint32] of "+name, func() error { _, err := As[uint32](m); return err }, ErrNotMapped)
	}
	b.add("As[*byte]", func() error { _, err := As[*byte](b.anon); return err }, ErrInvalidType)
	b.add("As[struct{}]", func() error { _, err := As[struct{}](b.anon); return err }, ErrInvalidType)
	b.add("As[uint64] misaligned", func() error { _, err := As[uint64](b.anon[1:9]); return err }, ErrMisaligned)
	b.add("As[uint64] of 12 bytes", func() error { _, err := As[uint64](b.anon[:12]); return err }, ErrInvalidLength)
	b.add("system queries", func() error {
		_, err := HugetlbPools()
		if errors.Is(err, errors.ErrUnsupported) {
			err = nil
		}
		_, _, _, _, _ = PageSize(), DefaultHugetlbPageSize(), THPMode(), THPSize(), Backend()
		return err
	})
}

// accessCases: ReadAt, WriteAt, Prefault and Guard with offsets negative,
// past the end and overflowing, on read-only, stale and foreign receivers.
func (b *badInputs) accessCases() {
	buf := make([]byte, 16)
	for _, off := range []int64{-1, -int64(page), math.MinInt64} {
		b.add(fmt.Sprintf("ReadAt(off %d)", off), func() error { _, err := b.anon.ReadAt(buf, off); return err }, ErrInvalidOffset)
		b.add(fmt.Sprintf("WriteAt(off %d)", off), func() error { _, err := b.anon.WriteAt(buf, off); return err }, ErrInvalidOffset)
	}
	for _, off := range []int64{int64(2*page - 5), int64(2 * page), math.MaxInt64} {
		b.add(fmt.Sprintf("ReadAt(16 bytes at %d of %d)", off, 2*page), func() error { _, err := b.anon.ReadAt(buf, off); return err }, io.EOF)
		b.add(fmt.Sprintf("WriteAt(16 bytes at %d of %d)", off, 2*page), func() error { _, err := b.anon.WriteAt(buf, off); return err }, io.ErrShortWrite)
	}
	b.add("WriteAt to a read-only map", func() error { _, err := b.roMap.WriteAt(buf, 0); return err }, ErrInvalidProt)
	for _, tg := range []struct {
		name string
		m    MMap
	}{{"unmapped MMap", b.stale}, {"slice of an unmapped MMap", b.staleSlice}, {"Go memory", b.foreign}} {
		m := tg.m
		b.add("ReadAt of a "+tg.name, func() error { _, err := m.ReadAt(buf, 0); return err }, ErrNotMapped)
		b.add("WriteAt of a "+tg.name, func() error { _, err := m.WriteAt(buf, 0); return err }, ErrNotMapped)
		b.add("Prefault of a "+tg.name, func() error { return m.Prefault(0) }, ErrNotMapped)
		b.add("Guard of a "+tg.name, func() error { return m.Guard(func([]byte) error { return nil }) }, ErrNotMapped)
	}
	for _, w := range []int{-1, math.MinInt, math.MaxInt} {
		b.add(fmt.Sprintf("Prefault(%d workers)", w), func() error { return b.anon.Prefault(w) }) // any count is clamped
	}
	b.add("ReadAt of a nil MMap", func() error { _, err := MMap(nil).ReadAt(buf, 0); return err }, io.EOF)
	b.add("Prefault of a nil MMap", func() error { return MMap(nil).Prefault(0) })
}

// readerCases: Open and the x/exp-style Reader.
func (b *badInputs) readerCases() {
	buf := make([]byte, 16)
	// Open and the x/exp-style Reader.
	b.add("Open of a missing file", func() error { _, err := Open(filepath.Join(b.dir, "missing")); return err }, fs.ErrNotExist)
	b.add("Open of a directory", func() error { _, err := Open(b.dir); return err }, syscall.EISDIR)
	b.add("Open of an empty name", func() error { _, err := Open(""); return err }, fs.ErrNotExist)
	for _, off := range []int64{-1, math.MinInt64, int64(2*page) + 1, math.MaxInt64} {
		b.add(fmt.Sprintf("ReaderAt.ReadAt(off %d)", off), func() error {
			_, err := b.reader.ReadAt(buf, off)
			if err == nil || errors.Is(err, io.EOF) {
				return fmt.Errorf("got %v; want x/exp's invalid-offset error", err)
			}
			return nil
		})
	}
	b.add("ReaderAt.ReadAt after Close", func() error {
		if _, err := b.closedReader.ReadAt(buf, 0); err == nil {
			return errors.New("ReadAt after Close succeeded")
		}
		return b.closedReader.Close() // and Close again is fine
	})
}

// Resize and MapRegion in different goroutines, on different mappings,
// which the package documents as safe. Resize moves a mapping (mremap
// frees the old range) and only then swaps the registry entry, deleting the
// entry keyed by the old mapping's end address: a mapping of the same
// length that another goroutine made in the freed range in between loses
// its entry, and with it every operation and its Unmap (a leak). Found by
// the load test (tests/load).
func TestResizeDoesNotDropConcurrentMappings(t *testing.T) {
	const rounds = 3000
	done := make(chan error, 1)
	go func() {
		for range rounds {
			m, err := MapRegion(nil, page, RDWR, ANON, 0)
			if err != nil {
				done <- err
				return
			}
			// Growing a fresh mapping collides with the one above it, so
			// mremap moves it and frees its page.
			if err := errors.Join(m.Resize(nil, 64*page, false), m.Unmap()); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	lost := 0
	var first error
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("resizing goroutine: %v", err)
			}
			running = false
		default:
		}
		m, err := MapRegion(nil, page, RDWR, ANON, 0)
		if err != nil {
			t.Fatal(err)
		}
		m[0] = 1
		if err := errors.Join(m.Lock(), m.Unlock(), m.Unmap()); err != nil {
			lost++
			if first == nil {
				first = err
			}
			if m != nil && errors.Is(err, ErrNotMapped) {
				// Unmappable through the package now; out of the table, out
				// of reach: unmapped here so the test leaks nothing.
				forceUnmap(m)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d mappings lost their registry entry while another goroutine resized its own mapping; first: %v", lost, first)
	}
}

// forceUnmap unmaps m, a live mapping the registry lost, by registering it
// again.
func forceUnmap(m MMap) {
	r := &region{base: unsafe.Pointer(unsafe.SliceData(m)), size: uintptr(len(m)+page-1) &^ uintptr(page-1), len: len(m)}
	m = register(r)
	m.Unmap()
}
