//go:build windows

package mmap

import (
	"errors"
	"os"
	"slices"
	"syscall"
	"testing"
)

// The operations of ops.go as the Windows backend does them (Lock and
// Unlock, FlushAsync, Advise, Discard, Protect, Resident), checked against
// what VirtualQuery and QueryWorkingSetEx report.

func TestWindowsLock(t *testing.T) {
	m := mustMap(t, nil, 1<<20, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	// More than the default minimum working set (about 200 KiB): the quota
	// path must raise it.
	big := mustMap(t, nil, 16<<20, RDWR, ANON, 0)
	defer mustUnmap(t, &big)
	// A file view at an unaligned offset locks too.
	f := tempFile(t, pattern(128<<10), os.O_RDWR)
	fm := mustMap(t, f, 2*page, RDWR, 0, int64(page))
	defer mustUnmap(t, &fm)
	for _, tc := range []struct {
		what string
		m    MMap
	}{
		{"1 MiB", m},
		{"a sub-slice", m[5000:9000]},
		{"16 MiB", big},
		{"a file view", fm},
	} {
		if err := tc.m.Lock(); err != nil {
			t.Fatalf("Lock of %s: %v", tc.what, err)
		}
		if err := tc.m.Unlock(); err != nil {
			t.Fatalf("Unlock of %s: %v", tc.what, err)
		}
	}
	// The quota path, called directly: Wine's VirtualLock never hits it.
	if err := growWorkingSet(1 << 20); err != nil {
		t.Errorf("growWorkingSet: %v", err)
	}
}

// FlushAsync (FlushViewOfFile alone) writes a shared view's pages; it does
// nothing for ANON, COPY and read-only views.
func TestWindowsFlushAsync(t *testing.T) {
	const size = 192 << 10
	data := pattern(size)
	f := tempFile(t, data, os.O_RDWR)
	off := int(granularity()) + page
	m := mustMap(t, f, 3*page, RDWR, 0, int64(off))
	copy(m[5000:], "async flush")
	if err := m[4990:5020].FlushAsync(); err != nil {
		t.Fatalf("FlushAsync of a sub-slice: %v", err)
	}
	if err := m.FlushAsync(); err != nil {
		t.Fatalf("FlushAsync: %v", err)
	}
	mustUnmap(t, &m)
	cm := mustMap(t, f, 2*page, COPY, 0, 0)
	copy(cm, "private")
	if err := cm.FlushAsync(); err != nil {
		t.Errorf("FlushAsync of COPY: %v", err)
	}
	mustUnmap(t, &cm)
	now := fileContents(t, f)
	if string(now[off+5000:off+5011]) != "async flush" {
		t.Errorf("file after FlushAsync and Unmap holds %q", now[off+5000:off+5011])
	}
	if now[0] != data[0] {
		t.Error("FlushAsync of a COPY view wrote the file")
	}
	ro := mustMap(t, f, page, RDONLY, 0, 0)
	defer mustUnmap(t, &ro)
	an := mustMap(t, nil, page, RDWR, ANON, 0)
	defer mustUnmap(t, &an)
	for what, x := range map[string]MMap{"RDONLY": ro, "ANON": an} {
		if err := x.FlushAsync(); err != nil {
			t.Errorf("FlushAsync of %s: %v", what, err)
		}
	}
}

// Advice: the read-ahead hints succeed and do nothing, WillNeed prefetches,
// the populate advice touches every page, and the rest are unsupported.
func TestWindowsAdvise(t *testing.T) {
	m := mustMap(t, nil, 64*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	m[3*page+1] = 9
	for _, a := range []Advice{AdviceNormal, AdviceRandom, AdviceSequential} {
		if err := m.Advise(a); err != nil {
			t.Errorf("%v: %v", a, err)
		}
		if !AdviceSupported(a) {
			t.Errorf("AdviceSupported(%v) = false", a)
		}
	}
	okOrUnsupported(t, "AdviceWillNeed (PrefetchVirtualMemory)", m.Advise(AdviceWillNeed))
	part := m[10*page+7 : 20*page]
	if err := part.Advise(AdvicePopulateWrite); err != nil {
		t.Fatalf("AdvicePopulateWrite: %v", err)
	}
	if pages := wantAllResident(t, "after AdvicePopulateWrite", part); pages != 10 {
		t.Errorf("after AdvicePopulateWrite: %d pages cover the slice, want 10", pages)
	}
	if err := m.Advise(AdvicePopulateRead); err != nil {
		t.Fatalf("AdvicePopulateRead: %v", err)
	}
	wantAllResident(t, "after AdvicePopulateRead", m)
	for i, b := range m {
		if b != 0 && i != 3*page+1 || i == 3*page+1 && b != 9 {
			t.Fatalf("populate advice changed byte %d to %d", i, b)
		}
	}
	for _, a := range []Advice{AdviceHugePage, AdviceNoHugePage, AdviceCold, AdvicePageOut, AdviceDontFork, AdviceDoFork, AdviceDontDump, AdviceDoDump, AdviceCollapse} {
		wantUnsupported(t, a.String(), m.Advise(a))
		if AdviceSupported(a) {
			t.Errorf("AdviceSupported(%v) = true", a)
		}
	}

	// File views: PopulateRead prefetches and reads; PopulateWrite on a
	// COPY view copies the pages but leaves the file alone; on a
	// read-only view it is refused.
	data := pattern(256 << 10)
	f := tempFile(t, data, os.O_RDWR)
	for _, prot := range []int{RDONLY, RDWR, COPY} {
		t.Run(protName(prot), func(t *testing.T) {
			fm := mustMap(t, f, 32*page, prot, 0, int64(16*page))
			defer mustUnmap(t, &fm)
			okOrUnsupported(t, "AdviceWillNeed", fm.Advise(AdviceWillNeed))
			if err := fm.Advise(AdvicePopulateRead); err != nil {
				t.Errorf("AdvicePopulateRead: %v", err)
			}
			wantAllResident(t, "after AdvicePopulateRead", fm)
			err := fm.Advise(AdvicePopulateWrite)
			if prot == RDONLY {
				if !errors.Is(err, ErrInvalidProt) {
					t.Errorf("AdvicePopulateWrite on RDONLY: %v, want ErrInvalidProt", err)
				}
			} else if err != nil {
				t.Errorf("AdvicePopulateWrite: %v", err)
			}
			checkView(t, fm, data, 16*page, 32*page)
		})
	}
}

// Discard: DontNeed drops a shared file view's pages from the working set
// (they read back from the file) and is refused for private memory, which
// Windows cannot make read back as zeros; Free resets anonymous pages
// (MEM_RESET); Remove is unsupported.
func TestWindowsDiscard(t *testing.T) {
	m := mustMap(t, nil, 16*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	for i := range m {
		m[i] = byte(i/page + 1)
	}
	wantUnsupported(t, "ANON DiscardDontNeed", m.Discard(DiscardDontNeed))
	wantUnsupported(t, "ANON DiscardRemove", m.Discard(DiscardRemove))
	if m[0] != 1 {
		t.Fatal("a refused Discard changed the memory")
	}
	// Pages 2..9 wholly inside; pages 1 and 10 only in part, so kept.
	if err := m[page+1 : 10*page+5].Discard(DiscardFree); err != nil {
		t.Fatalf("ANON DiscardFree: %v", err)
	}
	for p := range 16 {
		asWas, zero := true, true
		for _, b := range m[p*page : (p+1)*page] {
			asWas = asWas && b == byte(p+1)
			zero = zero && b == 0
		}
		switch {
		case p >= 2 && p < 10 && !asWas && !zero:
			t.Errorf("DiscardFree: page %d is neither as it was nor zeros", p)
		case (p < 2 || p >= 10) && !asWas:
			t.Errorf("DiscardFree: page %d outside the range changed", p)
		case zero:
			t.Logf("DiscardFree: page %d reads back as zeros", p)
		}
	}
	m[5*page] = 42 // usable again
	if m[5*page] != 42 {
		t.Error("write after DiscardFree lost")
	}

	data := pattern(256 << 10)
	f := tempFile(t, data, os.O_RDWR)
	fm := mustMap(t, f, 32*page, RDWR, 0, int64(4*page))
	defer mustUnmap(t, &fm)
	copy(fm[5*page:], "kept in the file")
	if err := fm.Advise(AdvicePopulateRead); err != nil {
		t.Fatal(err)
	}
	if err := fm.Discard(DiscardDontNeed); err != nil {
		t.Fatalf("file DiscardDontNeed: %v", err)
	}
	if res, pages := resident(t, fm); res != 0 {
		wineGap(t, "Wine's VirtualUnlock does not trim the working set", "file DiscardDontNeed: %d of %d pages still resident", res, pages)
	}
	if string(fm[5*page:5*page+16]) != "kept in the file" || fm[0] != data[4*page] {
		t.Error("file DiscardDontNeed: the pages do not read back from the file")
	}
	wantUnsupported(t, "file DiscardFree", fm.Discard(DiscardFree))
	wantUnsupported(t, "file DiscardRemove", fm.Discard(DiscardRemove))
	// Locked pages are not discarded (Linux: EINVAL), and stay locked.
	if err := fm[:4*page].Lock(); err != nil {
		t.Fatal(err)
	}
	if err := fm[:4*page].Discard(DiscardDontNeed); err == nil {
		wineGap(t, "Wine does not report Locked", "file DiscardDontNeed of locked pages succeeded")
	}
	fm[:4*page].Unlock()

	cm := mustMap(t, f, 8*page, COPY, 0, 0)
	defer mustUnmap(t, &cm)
	wantUnsupported(t, "COPY DiscardDontNeed", cm.Discard(DiscardDontNeed))
	wantUnsupported(t, "COPY DiscardFree", cm.Discard(DiscardFree))
}

// Protect sets the pages' protection (VirtualQuery shows it, and writes to
// read-only pages fault); a COPY view stays copy-on-write.
func TestWindowsProtect(t *testing.T) {
	m := mustMap(t, nil, 8*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	if err := m[2*page+5 : 3*page+1].Protect(RDONLY); err != nil {
		t.Fatalf("Protect(RDONLY): %v", err)
	}
	for p, want := range []uint32{syscall.PAGE_READWRITE, syscall.PAGE_READWRITE, syscall.PAGE_READONLY, syscall.PAGE_READONLY, syscall.PAGE_READWRITE} {
		if got := pageProtect(t, &m[p*page]); got != want {
			t.Errorf("after Protect(RDONLY) of pages 2-3: page %d protect %#x, want %#x", p, got, want)
		}
	}
	if writeFaults(m[2*page:]) == nil {
		t.Error("write to a page made RDONLY did not fault")
	}
	if writeFaults(m[page:]) != nil {
		t.Error("write to a page left RDWR faulted")
	}
	if err := m.Protect(RDWR); err != nil {
		t.Fatalf("Protect(RDWR): %v", err)
	}
	if got := pageProtect(t, &m[2*page]); got != syscall.PAGE_READWRITE || writeFaults(m[2*page:]) != nil {
		t.Errorf("after Protect(RDWR): protect %#x", got)
	}
	if err := m.Protect(RDWR | EXEC); !errors.Is(err, ErrInvalidProt) {
		t.Errorf("Protect(EXEC) of a mapping without EXEC: %v, want ErrInvalidProt", err)
	}

	x := mustMap(t, nil, 2*page, RDWR|EXEC, ANON, 0)
	defer mustUnmap(t, &x)
	for _, tc := range []struct {
		prot int
		want uint32
	}{{RDONLY | EXEC, syscall.PAGE_EXECUTE_READ}, {RDWR | EXEC, syscall.PAGE_EXECUTE_READWRITE}, {RDONLY, syscall.PAGE_READONLY}, {RDWR, syscall.PAGE_READWRITE}} {
		if err := x.Protect(tc.prot); err != nil {
			t.Fatalf("EXEC mapping Protect(%s): %v", protName(tc.prot), err)
		}
		if got := pageProtect(t, &x[0]); got != tc.want {
			t.Errorf("EXEC mapping Protect(%s): protect %#x, want %#x", protName(tc.prot), got, tc.want)
		}
	}

	data := pattern(64 << 10)
	f := tempFile(t, data, os.O_RDWR)
	ro := mustMap(t, f, page, RDONLY, 0, 0)
	defer mustUnmap(t, &ro)
	if err := ro.Protect(RDWR); !errors.Is(err, ErrInvalidProt) {
		t.Errorf("Protect(RDWR) of a read-only view: %v, want ErrInvalidProt", err)
	}
	if err := ro.Protect(RDONLY); err != nil {
		t.Errorf("Protect(RDONLY) of a read-only view: %v", err)
	}

	// COPY: page 0 written (private), page 1 not (still the file's).
	cm := mustMap(t, f, 2*page, COPY, 0, 0)
	defer mustUnmap(t, &cm)
	if got := pageProtect(t, &cm[page]); got != syscall.PAGE_WRITECOPY {
		t.Errorf("fresh COPY view: protect %#x, want PAGE_WRITECOPY", got)
	}
	cm[0] = 0xAA
	if err := cm.Protect(RDONLY); err != nil {
		t.Fatalf("COPY Protect(RDONLY): %v", err)
	}
	if got := pageProtect(t, &cm[page]); got != syscall.PAGE_READONLY || writeFaults(cm[page:]) == nil {
		t.Errorf("COPY after Protect(RDONLY): protect %#x", got)
	}
	for _, prot := range []int{COPY, RDWR} {
		if err := cm.Protect(prot); err != nil {
			t.Fatalf("COPY Protect(%s): %v", protName(prot), err)
		}
		if got := pageProtect(t, &cm[page]); got != syscall.PAGE_WRITECOPY {
			t.Errorf("COPY Protect(%s): unwritten page protect %#x, want PAGE_WRITECOPY", protName(prot), got)
		}
		// A copied page is private: Windows reports it READWRITE.
		if got := pageProtect(t, &cm[0]); got != syscall.PAGE_READWRITE && got != syscall.PAGE_WRITECOPY {
			t.Errorf("COPY Protect(%s): written page protect %#x, want PAGE_READWRITE or PAGE_WRITECOPY", protName(prot), got)
		} else {
			t.Logf("COPY Protect(%s): written page protect %#x", protName(prot), got)
		}
	}
	cm[page] = 0xBB
	if cm[0] != 0xAA || cm[page] != 0xBB {
		t.Error("COPY view lost its writes")
	}
	if now := fileContents(t, f); now[0] != data[0] || now[page] != data[page] {
		t.Error("writes to a COPY view after Protect reached the file")
	}
}

// ResidentPages reports QueryWorkingSetEx's Valid bit page by page.
func TestWindowsResident(t *testing.T) {
	m := mustMap(t, nil, 8*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	m[0], m[2*page+9], m[7*page] = 1, 1, 1
	want := []bool{true, false, true, false, false, false, false, true}
	if in, err := m.ResidentPages(); err != nil {
		t.Fatal(err)
	} else if !slices.Equal(in, want) {
		t.Errorf("ResidentPages = %v, want %v", in, want)
	}
	// A sub-slice from the middle of page 1 to the middle of page 3 is
	// covered by pages 1, 2 and 3.
	if in, err := m[page+100 : 3*page+1].ResidentPages(); err != nil || !slices.Equal(in, want[1:4]) {
		t.Errorf("ResidentPages of a sub-slice = %v, %v; want %v", in, err, want[1:4])
	}
	if res, pages := resident(t, m); res != 3 || pages != 8 {
		t.Errorf("Resident = %d, %d; want 3, 8", res, pages)
	}
	// More pages than one QueryWorkingSetEx call takes.
	big := mustMap(t, nil, (workingSetExChunk*2+3)*page, RDWR, ANON, 0)
	defer mustUnmap(t, &big)
	big[len(big)-1] = 1
	big[workingSetExChunk*page] = 1
	in, err := big.ResidentPages()
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range in {
		if b != (i == workingSetExChunk || i == len(in)-1) {
			t.Errorf("big ResidentPages: page %d resident %v", i, b)
		}
	}
}
