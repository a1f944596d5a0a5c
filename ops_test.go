package mmap

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"syscall"
	"testing"
)

// Tests of ops.go and info.go that hold on every platform with a backend.
// What the kernel did is checked in ops_linux_test.go.

// documentedUnsupported reports whether err is the errors.ErrUnsupported
// that ops.go documents for op on this platform and build: Windows lacks
// some advice, some Discard modes and LockOnFault; off Linux, LockOnFault,
// advice the platform does not have, and Discard modes other than Free are
// unsupported; the syscall backend has no LockOnFault on Linux either.
// Anything else that says "unsupported" (the cgo backend on Linux, say) is
// a failure.
func documentedUnsupported(t testing.TB, op string, err error) bool {
	t.Helper()
	if !errors.Is(err, errors.ErrUnsupported) {
		return false
	}
	switch {
	case Backend() == "windows":
		return true
	case op == "LockOnFault" && (Backend() == "syscall" || runtime.GOOS != "linux"):
		return true
	case runtime.GOOS != "linux" && (op == "Advise" || op == "Discard"):
		return true
	case underQEMU():
		return true // qemu-user 7.2 lacks mlock2 and some madvise advice
	}
	t.Fatalf("%s on %s with the %s backend: %v; ops.go documents no such gap", op, runtime.GOOS, Backend(), err)
	return false
}

// skipUnsupported skips the rest of a test where op is documented to be
// missing on this platform, and fails it on any other error.
func skipUnsupported(t *testing.T, op string, err error) {
	t.Helper()
	if documentedUnsupported(t, op, err) {
		t.Skipf("%s is documented as unsupported by the %s backend on %s: %v", op, Backend(), runtime.GOOS, err)
	}
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
}

func TestRangeChecksOffsetAndLength(t *testing.T) {
	m := mustMap(t, nil, 3*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	n := len(m)
	good := []struct{ off, n int }{
		{0, 0}, {0, n}, {n, 0}, {1, n - 1}, {page, page}, {n - 1, 1}, {page + 7, 10},
	}
	for _, c := range good {
		r, err := m.Range(c.off, c.n)
		if err != nil {
			t.Errorf("Range(%d, %d): %v", c.off, c.n, err)
			continue
		}
		if len(r) != c.n || cap(r) != c.n {
			t.Errorf("Range(%d, %d): len %d cap %d, want both %d", c.off, c.n, len(r), cap(r), c.n)
		}
		if c.n > 0 && &r[0] != &m[c.off] {
			t.Errorf("Range(%d, %d) does not start at m[%d]", c.off, c.n, c.off)
		}
	}
	bad := []struct {
		name   string
		off, n int
		want   error
	}{
		{"negative offset", -1, 1, ErrInvalidOffset},
		{"most negative offset", math.MinInt, 0, ErrInvalidOffset},
		{"offset past the end", n + 1, 0, ErrInvalidOffset},
		{"huge offset", math.MaxInt, 1, ErrInvalidOffset},
		{"negative length", 0, -1, ErrInvalidLength},
		{"most negative length", page, math.MinInt, ErrInvalidLength},
		{"one byte past the end", 1, n, ErrInvalidLength},
		{"one byte at the end", n, 1, ErrInvalidLength},
		{"length past the end", page, 2*page + 1, ErrInvalidLength},
		{"off+n overflows", 1, math.MaxInt, ErrInvalidLength},
		{"off+n overflows at the end", n, math.MaxInt, ErrInvalidLength},
		{"huge length", 0, math.MaxInt, ErrInvalidLength},
	}
	for _, c := range bad {
		r, err := rangeNoPanic(m, c.off, c.n)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Range(%d, %d) = %d bytes, %v; want %v", c.name, c.off, c.n, len(r), err, c.want)
		}
		if r != nil {
			t.Errorf("%s: Range returned %d bytes with its error", c.name, len(r))
		}
	}
}

// rangeNoPanic is m.Range, with a panic turned into an error.
func rangeNoPanic(m MMap, off, n int) (r MMap, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("Range panicked: %v", p)
		}
	}()
	return m.Range(off, n)
}

// The methods of a Range act on that range and nothing else: writes land at
// its offset, and it covers only its own pages.
func TestRangeMethodsActOnTheRange(t *testing.T) {
	data := pattern(4 * page)
	f := tempFile(t, data, os.O_RDWR)
	m := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &m)
	r, err := m.Range(page+10, 2*page)
	if err != nil {
		t.Fatal(err)
	}
	r[0] = ^data[page+10]
	if m[page+10] != r[0] {
		t.Fatal("a write through the range did not land at its offset in the mapping")
	}
	for name, op := range map[string]func() error{"Flush": r.Flush, "Lock": r.Lock, "Unlock": r.Unlock} {
		if err := op(); err != nil {
			t.Errorf("%s of a range: %v", name, err)
		}
	}
	if _, err := r.Info(); err != nil {
		t.Errorf("Info of a range: %v", err)
	}
	in, err := r.ResidentPages()
	skipUnsupported(t, "Resident", err)
	// From page+10 for 2 pages: pages 1, 2 and 3 cover it.
	if len(in) != 3 {
		t.Fatalf("ResidentPages of a range over 3 pages has %d entries", len(in))
	}
	if err := r.Advise(AdviceRandom); err != nil {
		skipUnsupported(t, "Advise", err)
	}
}

// safeAdvice is every Advice that needs nothing of the range: Collapse needs
// a whole transparent hugepage and is checked alone.
func safeAdvice() []Advice {
	var all []Advice
	for a := AdviceNormal; a < AdviceCollapse; a++ {
		all = append(all, a)
	}
	return all
}

// Every Advice succeeds on whole file and anonymous maps and on a sub-range
// of them, or fails as documented (unsupported here, and then
// AdviceSupported says so); none of them changes a byte.
func TestAdviseTakesEveryAdvice(t *testing.T) {
	data := pattern(4 * page)
	f := tempFile(t, data, os.O_RDWR)
	file := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &file)
	anon := mustMap(t, nil, 4*page, RDWR, ANON, 0)
	defer mustUnmap(t, &anon)
	copy(anon, data)
	cp := mustMap(t, f, -1, COPY, 0, 0)
	defer mustUnmap(t, &cp)
	cp[0] = ^data[0] // one private page, three shared with the file
	want := bytes.Clone(cp)
	maps := map[string]MMap{
		"file": file, "file range": file[page+1 : 3*page-1],
		"anon": anon, "anon range": anon[page+1 : 3*page-1],
		"copy": cp, "copy range": cp[1 : page+1],
	}
	for _, a := range safeAdvice() {
		supported := AdviceSupported(a)
		for name, m := range maps {
			err := m.Advise(a)
			// Advice this kernel does not know is its EINVAL, and
			// AdviceSupported says so.
			if err != nil && (supported || !documentedUnsupported(t, "Advise", err) && !errors.Is(err, syscall.EINVAL)) {
				t.Errorf("%s: Advise(%v): %v (AdviceSupported %v)", name, a, err, supported)
			}
			if err == nil && !supported {
				t.Errorf("%s: Advise(%v) succeeded but AdviceSupported says no", name, a)
			}
		}
	}
	if !bytes.Equal(file, data) || !bytes.Equal(anon, data) || !bytes.Equal(cp, want) {
		t.Fatal("advice changed the contents of a mapping")
	}
}

func TestAdviceSupportedRejectsUnknownAdvice(t *testing.T) {
	for _, a := range []Advice{-1, AdviceCollapse + 1, adviceDontNeed, adviceFree, adviceRemove, 1000} {
		if AdviceSupported(a) {
			t.Errorf("AdviceSupported(%v) = true for advice that Advise refuses", a)
		}
	}
	for _, a := range append(safeAdvice(), AdviceCollapse) {
		t.Logf("AdviceSupported(%v) = %v", a, AdviceSupported(a))
	}
}

func TestAdviseRejectsUnknownAdvice(t *testing.T) {
	m := mustMap(t, nil, page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	targets := map[string]MMap{"mapping": m, "Go memory": make(MMap, page), "empty": {}}
	for _, a := range []Advice{-1, math.MinInt, AdviceCollapse + 1, adviceDontNeed, adviceFree, adviceRemove, 1000} {
		for name, target := range targets {
			err := target.Advise(a)
			if !errors.Is(err, ErrInvalidAdvice) {
				t.Errorf("%s: Advise(%v): got %v, want ErrInvalidAdvice", name, a, err)
			}
			if err != nil && err.Error() == ErrInvalidAdvice.Error() {
				t.Errorf("%s: Advise(%v): error %q does not say which advice", name, a, err)
			}
		}
	}
}

func TestDiscardRejectsUnknownMode(t *testing.T) {
	m := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	m[0] = 1
	for _, mode := range []DiscardMode{-1, DiscardRemove + 1, 99, math.MaxInt} {
		for name, target := range map[string]MMap{"mapping": m, "empty": {}} {
			if err := target.Discard(mode); !errors.Is(err, ErrInvalidAdvice) {
				t.Errorf("%s: Discard(%d): got %v, want ErrInvalidAdvice", name, mode, err)
			}
		}
	}
	if m[0] != 1 {
		t.Fatal("a refused Discard changed the mapping")
	}
}

// Discard touches only the whole pages inside the slice: the partial pages at
// its edges keep their bytes.
func TestDiscardKeepsBytesOutsideWholePages(t *testing.T) {
	data := pattern(4 * page)
	m := mustMap(t, nil, 4*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	copy(m, data)
	err := m[100 : 3*page+100].Discard(DiscardDontNeed)
	skipUnsupported(t, "Discard", err)
	if !bytes.Equal(m[:page], data[:page]) {
		t.Error("Discard changed the partial page before the slice")
	}
	if !bytes.Equal(m[3*page:], data[3*page:]) {
		t.Error("Discard changed the partial page after the slice")
	}
}

// A slice that holds no whole page discards nothing, and says so without a
// call to the system, on every platform.
func TestDiscardWithoutWholePageIsNoop(t *testing.T) {
	data := pattern(2 * page)
	m := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	copy(m, data)
	for _, mode := range []DiscardMode{DiscardDontNeed, DiscardFree} {
		for _, s := range []MMap{m[10 : page-10], m[page-10 : page+10], m[1:page], m[page : 2*page-1], m[1 : 2*page-1]} {
			if err := s.Discard(mode); err != nil {
				t.Errorf("Discard(%v) of %d bytes without a whole page: %v", mode, len(s), err)
			}
		}
	}
	if !bytes.Equal(m, data) {
		t.Fatal("Discard of slices without a whole page changed bytes")
	}
}

// FlushAsync succeeds on every kind of mapping and any slice of one; the
// file shows the bytes (through the page cache, not by waiting for disk).
func TestFlushAsync(t *testing.T) {
	data := pattern(3 * page)
	f := tempFile(t, data, os.O_RDWR)
	m := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &m)
	anon := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	defer mustUnmap(t, &anon)
	cp := mustMap(t, f, -1, COPY, 0, 0)
	defer mustUnmap(t, &cp)
	m[5], m[2*page+5] = ^data[5], ^data[2*page+5]
	anon[0], cp[0] = 1, ^data[0]
	for name, s := range map[string]MMap{
		"file": m, "file slice": m[2*page+5 : 2*page+6], "anon": anon, "anon slice": anon[page-1 : page+1],
		"copy": cp, "copy slice": cp[page:],
	} {
		err := s.FlushAsync()
		if documentedUnsupported(t, "FlushAsync", err) {
			t.Skipf("FlushAsync is documented as unsupported by the %s backend: %v", Backend(), err)
		}
		if err != nil {
			t.Errorf("FlushAsync of %s: %v", name, err)
		}
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(data)
	want[5], want[2*page+5] = ^data[5], ^data[2*page+5]
	if !bytes.Equal(got, want) {
		t.Fatal("after FlushAsync the file does not hold the bytes written through the shared map (or holds the COPY map's)")
	}
}

// Protect refuses, before any system call, what a mapping was not made with.
func TestProtectCannotGrantMore(t *testing.T) {
	f := tempFile(t, pattern(page), os.O_RDWR)
	ro := mustMap(t, f, -1, RDONLY, 0, 0)
	defer mustUnmap(t, &ro)
	rw := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &rw)
	anon := mustMap(t, nil, page, RDONLY, ANON, 0)
	defer mustUnmap(t, &anon)
	cases := []struct {
		name string
		m    MMap
		prot int
	}{
		{"RDWR on RDONLY", ro, RDWR},
		{"COPY on RDONLY", ro, COPY},
		{"RDWR on a slice of RDONLY", ro[1:2], RDWR},
		{"RDWR on RDONLY anon", anon, RDWR},
		{"EXEC on RDONLY", ro, RDONLY | EXEC},
		{"EXEC on RDWR", rw, EXEC},
		{"RDWR|EXEC on RDWR", rw, RDWR | EXEC},
		{"unknown bit 1", rw, 1},
		{"unknown bit 16", rw, RDWR | 16},
		{"negative", rw, -1},
		{"unknown bit on RDONLY", ro, 1 << 20},
	}
	for _, c := range cases {
		err := c.m.Protect(c.prot)
		if !errors.Is(err, ErrInvalidProt) {
			t.Errorf("%s: Protect(%#x): got %v, want ErrInvalidProt", c.name, c.prot, err)
		}
	}
	// Refused changes changed nothing: the RDWR map is still writable.
	if err := writeFaults(rw); err != nil {
		t.Fatalf("RDWR map no longer writable after refused Protect calls: %v", err)
	}
}

// RDWR and COPY together is ErrInvalidProt (errors.go says so for every
// prot argument), for Protect as for MapRegion.
func TestProtectRejectsRDWRWithCOPY(t *testing.T) {
	f := tempFile(t, pattern(page), os.O_RDWR)
	for name, m := range map[string]MMap{
		"RDWR map": mustMap(t, f, -1, RDWR, 0, 0),
		"COPY map": mustMap(t, f, -1, COPY, 0, 0),
	} {
		if err := m.Protect(RDWR | COPY); !errors.Is(err, ErrInvalidProt) {
			t.Errorf("%s: Protect(RDWR|COPY): got %v, want ErrInvalidProt", name, err)
		}
		mustUnmap(t, &m)
	}
}

func TestProtectReadOnlyThenWritableAgain(t *testing.T) {
	f := tempFile(t, pattern(2*page), os.O_RDWR)
	file := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &file)
	anon := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	defer mustUnmap(t, &anon)
	for name, m := range map[string]MMap{"file": file, "anon": anon} {
		err := m.Protect(RDONLY)
		if documentedUnsupported(t, "Protect", err) {
			t.Skipf("Protect is documented as unsupported by the %s backend: %v", Backend(), err)
		}
		if err != nil {
			t.Fatalf("%s: Protect(RDONLY): %v", name, err)
		}
		if writeFaults(m) == nil {
			t.Errorf("%s: a write after Protect(RDONLY) did not fault", name)
		}
		if writeFaults(m[page:]) == nil {
			t.Errorf("%s: a write to page 1 after Protect(RDONLY) did not fault", name)
		}
		if err := m.Protect(RDWR); err != nil {
			t.Fatalf("%s: Protect(RDWR): %v", name, err)
		}
		if err := writeFaults(m[page:]); err != nil {
			t.Errorf("%s: a write after Protect(RDWR) faulted: %v", name, err)
		}
	}
}

// On a COPY map both COPY and RDWR mean writable, and writes stay private.
func TestProtectCopyMapStaysPrivate(t *testing.T) {
	data := pattern(2 * page)
	f := tempFile(t, data, os.O_RDWR)
	m := mustMap(t, f, -1, COPY, 0, 0)
	defer mustUnmap(t, &m)
	err := m.Protect(RDONLY)
	skipUnsupported(t, "Protect", err)
	if writeFaults(m) == nil {
		t.Fatal("a write to a COPY map after Protect(RDONLY) did not fault")
	}
	for _, prot := range []int{COPY, RDWR} {
		if err := m.Protect(prot); err != nil {
			t.Fatalf("Protect(%d) on a COPY map: %v", prot, err)
		}
		if err := writeFaults(m); err != nil {
			t.Fatalf("a write after Protect(%d) on a COPY map faulted: %v", prot, err)
		}
		m[page] = byte(prot)
		if err := m.Protect(RDONLY); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("a write to a COPY map made writable by Protect reached the file")
	}
}

// onePagePerFault keeps transparent hugepages of every size out of m, so
// that a touch faults in exactly the page touched: with THP "always", or
// with multi-size THP (Linux 6.8+: anonymous folios of 16 KiB to 1 MiB)
// enabled, one write may map a whole folio of neighbours too.
func onePagePerFault(t testing.TB, m MMap) {
	t.Helper()
	if !AdviceSupported(AdviceNoHugePage) {
		return // no transparent hugepages here
	}
	if err := m.Advise(AdviceNoHugePage); err != nil {
		t.Fatal(err)
	}
}

// Resident counts exactly the pages that were touched, in the mapping and in
// any slice of it.
func TestResidentCountsTouchedPages(t *testing.T) {
	const pages = 10
	m := mustMap(t, nil, pages*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	onePagePerFault(t, m)
	res, total, err := m.Resident()
	skipUnsupported(t, "Resident", err)
	if res != 0 || total != pages {
		t.Fatalf("fresh anonymous map: %d of %d pages resident, want 0 of %d", res, total, pages)
	}
	touched := map[int]bool{0: true, 5: true, 9: true}
	for i := range touched {
		m[i*page+1] = 1
	}
	in, err := m.ResidentPages()
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != pages {
		t.Fatalf("ResidentPages has %d entries, want %d", len(in), pages)
	}
	for i, r := range in {
		if r != touched[i] {
			t.Errorf("page %d: resident %v, want %v", i, r, touched[i])
		}
	}
	if res, total, err := m.Resident(); err != nil || res != 3 || total != pages {
		t.Errorf("Resident() = %d, %d, %v; want 3, %d", res, total, err, pages)
	}
	// From the last byte of page 4 to the first byte of page 9: pages 4..9.
	s := m[5*page-1 : 9*page+1]
	in, err = s.ResidentPages()
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{false, true, false, false, false, true}
	if fmt.Sprint(in) != fmt.Sprint(want) {
		t.Errorf("ResidentPages of pages 4..9: %v, want %v", in, want)
	}
	if res, total, err := s.Resident(); err != nil || res != 2 || total != 6 {
		t.Errorf("Resident() of pages 4..9 = %d, %d, %v; want 2, 6", res, total, err)
	}
	if res, total, err := m[page : 5*page].Resident(); err != nil || res != 0 || total != 4 {
		t.Errorf("Resident() of untouched pages 1..4 = %d, %d, %v; want 0, 4", res, total, err)
	}
}

func TestInfoOfPlainMaps(t *testing.T) {
	f := tempFile(t, pattern(3*page), os.O_RDWR)
	file := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &file)
	anon := mustMap(t, nil, 3*page, RDWR, ANON, 0)
	defer mustUnmap(t, &anon)
	want := Info{Kind: BasePages, PageSize: PageSize()}
	for name, m := range map[string]MMap{
		"file": file, "file slice": file[page+1 : page+2], "file suffix": file[2*page:],
		"anon": anon, "anon range": anon[1 : 3*page-1],
	} {
		got, err := m.Info()
		if err != nil || got != want {
			t.Errorf("%s: Info() = %+v, %v; want %+v", name, got, err, want)
		}
	}
	if PageSize() != os.Getpagesize() {
		t.Errorf("PageSize() = %d, want %d", PageSize(), os.Getpagesize())
	}
	if _, err := MMap(make([]byte, page)).Info(); !errors.Is(err, ErrNotMapped) {
		t.Errorf("Info of Go memory: got %v, want ErrNotMapped", err)
	}
	// Every method of the empty MMap succeeds; an empty slice of a mapping
	// still lies in it.
	for name, c := range map[string]struct {
		m    MMap
		want Info
	}{"empty": {MMap{}, Info{}}, "nil": {nil, Info{}}, "empty slice of a mapping": {anon[page:page], want}} {
		if got, err := c.m.Info(); err != nil || got != c.want {
			t.Errorf("Info of %s: got %+v, %v; want %+v", name, got, err, c.want)
		}
	}
}

// rangeOps calls each method of ops.go on m with arguments that are valid
// for a writable mapping.
func rangeOps(m MMap) map[string]func() error {
	return map[string]func() error{
		"Advise":      func() error { return m.Advise(AdviceNormal) },
		"Discard":     func() error { return m.Discard(DiscardDontNeed) },
		"FlushAsync":  m.FlushAsync,
		"LockOnFault": m.LockOnFault,
		"Protect":     func() error { return m.Protect(RDWR) },
		"Resident":    func() error { _, _, err := m.Resident(); return err },
		"ResidentPages": func() error {
			_, err := m.ResidentPages()
			return err
		},
	}
}

func TestOpsOnForeignMemory(t *testing.T) {
	m := mustMap(t, nil, page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	// A page-sized piece of Go memory, and one bigger than the mapping.
	for _, foreign := range []MMap{make(MMap, page), make(MMap, 8*page), make(MMap, 1)} {
		for name, op := range rangeOps(foreign) {
			if err := op(); !errors.Is(err, ErrNotMapped) {
				t.Errorf("%s of %d bytes of Go memory: got %v, want ErrNotMapped", name, len(foreign), err)
			}
		}
	}
}

func TestOpsOnEmptyMMapDoNothing(t *testing.T) {
	f := tempFile(t, nil, os.O_RDWR)
	empty := mustMap(t, f, -1, RDWR, 0, 0)
	m := mustMap(t, nil, page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	m[0] = 1
	for what, e := range map[string]MMap{"empty MMap": empty, "empty slice of a mapping": m[1:1], "empty Go slice": {}} {
		for name, op := range rangeOps(e) {
			if err := op(); err != nil {
				t.Errorf("%s of an %s: %v", name, what, err)
			}
		}
		if res, pages, err := e.Resident(); res != 0 || pages != 0 || err != nil {
			t.Errorf("Resident of an %s = %d, %d, %v; want 0, 0, nil", what, res, pages, err)
		}
		if in, err := e.ResidentPages(); len(in) != 0 || err != nil {
			t.Errorf("ResidentPages of an %s = %v, %v; want none", what, in, err)
		}
	}
	if m[0] != 1 {
		t.Fatal("an operation on an empty slice changed the mapping")
	}
	mustUnmap(t, &empty)
}

func TestOpsAfterUnmap(t *testing.T) {
	f := tempFile(t, pattern(2*page), os.O_RDWR)
	for name, m := range map[string]MMap{
		"file": mustMap(t, f, -1, RDWR, 0, 0),
		"anon": mustMap(t, nil, 2*page, RDWR, ANON, 0),
	} {
		saved, slice := m, m[page:]
		mustUnmap(t, &m)
		for _, s := range []MMap{saved, slice} {
			for op, call := range rangeOps(s) {
				if err := call(); !errors.Is(err, ErrNotMapped) {
					t.Errorf("%s: %s after Unmap: got %v, want ErrNotMapped", name, op, err)
				}
			}
			if _, err := s.Info(); !errors.Is(err, ErrNotMapped) {
				t.Errorf("%s: Info after Unmap: got %v, want ErrNotMapped", name, err)
			}
		}
	}
}
