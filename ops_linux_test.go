package mmap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What the kernel did for the operations of ops.go, read back from /proc and
// from the file system.

// vmFlagsAt returns the smaps entry that holds address p and the two-letter
// VmFlags of that VMA (vmaOf keeps only the "Key: N kB" fields).
func vmFlagsAt(t testing.TB, p uintptr) (vma, map[string]bool) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		v     vma
		found bool
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 5 && strings.Contains(fs[0], "-") && !strings.HasSuffix(fs[0], ":") {
			if found {
				break
			}
			lo, hi, _ := strings.Cut(fs[0], "-")
			start, _ := strconv.ParseUint(lo, 16, 64)
			end, _ := strconv.ParseUint(hi, 16, 64)
			if p >= uintptr(start) && p < uintptr(end) {
				v, found = vma{start: uintptr(start), end: uintptr(end), perms: fs[1]}, true
			}
			continue
		}
		if found && len(fs) >= 1 && fs[0] == "VmFlags:" {
			flags := map[string]bool{}
			for _, fl := range fs[1:] {
				flags[fl] = true
			}
			return v, flags
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("no VMA with VmFlags at %#x in /proc/self/smaps", p)
	return vma{}, nil
}

// ownVMA is vmaOf for a mapping that must be a VMA of its own, so that its
// smaps counts are its pages and nobody else's.
func ownVMA(t testing.TB, m MMap) vma {
	t.Helper()
	v := vmaOf(t, m)
	end := (addr(m) + uintptr(len(m)) + uintptr(page) - 1) &^ uintptr(page-1)
	if v.start != addr(m) || v.end != end {
		t.Fatalf("VMA %#x-%#x is not exactly the mapping %#x-%#x (merged with a neighbour?)", v.start, v.end, addr(m), end)
	}
	return v
}

// soloAnon maps n bytes of private anonymous memory as a VMA of its own,
// so that smaps Rss of the VMA counts this map's pages alone: a VmFlag its
// neighbours lack keeps the kernel from merging it with an anonymous VMA of
// the Go runtime's or of an earlier map. That flag is NORESERVE's "nr",
// except under vm.overcommit_memory=2, where the kernel ignores
// MAP_NORESERVE: then it is AdviceDontDump's "dd", or AdviceDontFork's "dc"
// for a test that looks at "dd" itself (avoid).
func soloAnon(t testing.TB, n int, avoid string) MMap {
	t.Helper()
	m := mustMap(t, nil, n, RDWR, ANON|NORESERVE, 0)
	if !overcommitNever(t) {
		ownVMA(t, m)
		return m
	}
	a := AdviceDontDump
	if avoid == "dd" {
		a = AdviceDontFork
	}
	if err := m.Advise(a); err != nil {
		t.Fatal(err)
	}
	ownVMA(t, m)
	return m
}

// readSink keeps reads through a mapping from being optimised away.
var readSink byte

// fincorePages is how many pages of the file at path are in the page cache,
// as util-linux's fincore reports it.
func fincorePages(t testing.TB, path string) int {
	t.Helper()
	out, err := exec.Command("fincore", "--bytes", "--noheadings", "--raw", "--output", "RES", path).Output()
	if err != nil {
		t.Fatalf("fincore %s: %v", path, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("fincore output %q: %v", out, err)
	}
	return n / page
}

// Linux takes each advice from the release that brought it, MADV_HUGEPAGE
// and MADV_NOHUGEPAGE where the kernel has transparent hugepages at all;
// Collapse depends on memory too, so it is only logged. (This package also
// runs on kernels older than some of these: POPULATE falls back to
// MAP_POPULATE before 5.14.)
func TestAdviceSupportedOnLinux(t *testing.T) {
	since := map[Advice][2]int{AdvicePopulateRead: {5, 14}, AdvicePopulateWrite: {5, 14}, AdviceCold: {5, 4}, AdvicePageOut: {5, 4}}
	for _, a := range safeAdvice() {
		want := true
		if v, ok := since[a]; ok {
			want = kernelAtLeast(t, v[0], v[1])
		}
		if a == AdviceHugePage || a == AdviceNoHugePage {
			want = THPMode() != ""
		}
		if got := AdviceSupported(a); got != want {
			t.Errorf("AdviceSupported(%v) = %v on Linux %s (THP %q); want %v", a, got, kernelRelease(t), THPMode(), want)
		}
	}
	t.Logf("AdviceSupported(AdviceCollapse) = %v on %s (THP %q, %d bytes)", AdviceSupported(AdviceCollapse), kernelRelease(t), THPMode(), THPSize())
}

// kernelAtLeast reports whether the running kernel is release major.minor or
// later.
func kernelAtLeast(t testing.TB, major, minor int) bool {
	t.Helper()
	rel := kernelRelease(t)
	var ma, mi int
	if _, err := fmt.Sscanf(rel, "%d.%d", &ma, &mi); err != nil {
		t.Fatalf("kernel release %q: %v", rel, err)
	}
	return ma > major || ma == major && mi >= minor
}

func kernelRelease(t testing.TB) string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// Each advice that the kernel records on the VMA shows in its VmFlags, and
// its counterpart takes it off again.
func TestAdviseSetsVmFlags(t *testing.T) {
	skipUnderQEMU(t, "qemu-user ignores most madvise advice and shows its own smaps")
	cases := []struct {
		set, unset Advice
		flag       string
	}{
		{AdviceHugePage, AdviceNoHugePage, "hg"},
		{AdviceNoHugePage, AdviceHugePage, "nh"},
		{AdviceDontFork, AdviceDoFork, "dc"},
		{AdviceDontDump, AdviceDoDump, "dd"},
		{AdviceRandom, AdviceNormal, "rr"},
		{AdviceSequential, AdviceNormal, "sr"},
		{AdviceRandom, AdviceSequential, "rr"},
	}
	f := tempFile(t, pattern(4*page), os.O_RDWR)
	for _, kind := range []string{"file", "anon"} {
		for _, c := range cases {
			if !AdviceSupported(c.set) || !AdviceSupported(c.unset) {
				// MADV_HUGEPAGE and MADV_NOHUGEPAGE are EINVAL on a
				// kernel built without transparent hugepages.
				t.Logf("%s: %v and %v left out: this kernel does not take them (AdviceSupported)", kind, c.set, c.unset)
				continue
			}
			var m MMap
			if kind == "file" {
				m = mustMap(t, f, -1, RDWR, 0, 0)
			} else {
				// Its own VMA: a plain one can merge, once advised, with
				// a runtime mapping that carries the same advice.
				m = soloAnon(t, 4*page, c.flag)
			}
			if _, fl := vmFlagsAt(t, addr(m)); fl[c.flag] {
				t.Fatalf("%s: a fresh map already has VmFlags %q; the check cannot see %v", kind, c.flag, c.set)
			}
			if err := m.Advise(c.set); err != nil {
				t.Fatalf("%s: Advise(%v): %v", kind, c.set, err)
			}
			if v, fl := vmFlagsAt(t, addr(m)); !fl[c.flag] || v.start != addr(m) || v.end != addr(m)+uintptr(len(m)) {
				t.Errorf("%s: after Advise(%v) the VMA %#x-%#x has VmFlags %v; want %q over the map's %d bytes", kind, c.set, v.start, v.end, keys(fl), c.flag, len(m))
			}
			if err := m.Advise(c.unset); err != nil {
				t.Fatalf("%s: Advise(%v): %v", kind, c.unset, err)
			}
			if _, fl := vmFlagsAt(t, addr(m)); fl[c.flag] {
				t.Errorf("%s: after Advise(%v) VmFlags still has %q", kind, c.unset, c.flag)
			}
			mustUnmap(t, &m)
		}
	}
}

func keys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// Advice on a slice applies to exactly the pages that cover it: the kernel
// splits the VMA there.
func TestAdviseSliceSplitsTheVMA(t *testing.T) {
	skipUnderQEMU(t, "qemu-user ignores most madvise advice and shows its own smaps")
	f := tempFile(t, pattern(4*page), os.O_RDWR)
	m := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &m)
	base := addr(m)
	// From byte 1 of page 1 to byte 0 of page 3: pages 1..3 cover it.
	if err := m[page+1 : 3*page+1].Advise(AdviceDontDump); err != nil {
		t.Fatal(err)
	}
	v0, fl0 := vmFlagsAt(t, base)
	v1, fl1 := vmFlagsAt(t, base+uintptr(page))
	if fl0["dd"] || v0.end != base+uintptr(page) {
		t.Errorf("page 0: VMA %#x-%#x, VmFlags %v; want a VMA ending at page 1 without dd", v0.start, v0.end, keys(fl0))
	}
	if !fl1["dd"] || v1.start != base+uintptr(page) || v1.end != base+uintptr(4*page) {
		t.Errorf("pages 1..3: VMA %#x-%#x, VmFlags %v; want dd on exactly %#x-%#x", v1.start, v1.end, keys(fl1), base+uintptr(page), base+uintptr(4*page))
	}
}

// POPULATE advice makes every page resident: the kernel's Rss of the VMA is
// its size. Anonymous PopulateRead maps what this kernel gives a read
// fault: the shared zero page, which mincore sees but Rss does not count, or
// private zeroed pages where the zero page is forbidden.
func TestAdvisePopulateMakesPagesResident(t *testing.T) {
	skipUnderQEMU(t, "qemu-user ignores madvise advice and shows its own smaps")
	needPopulateAdvice(t)
	const pages = 16
	kb := int64(pages * page / 1024)
	anonReadRss := kb
	if readFaultTakesZeroPage(t) {
		anonReadRss = 0
	}
	f := tempFile(t, pattern(pages*page), os.O_RDWR)
	evictAll(t, f)
	for _, c := range []struct {
		name    string
		file    bool
		prot    int
		a       Advice
		wantRss int64
	}{
		{"file RDONLY, PopulateRead", true, RDONLY, AdvicePopulateRead, kb},
		{"file RDWR, PopulateWrite", true, RDWR, AdvicePopulateWrite, kb},
		{"file COPY, PopulateRead", true, COPY, AdvicePopulateRead, kb},
		{"anon, PopulateWrite", false, RDWR, AdvicePopulateWrite, kb},
		{"anon, PopulateRead", false, RDWR, AdvicePopulateRead, anonReadRss},
	} {
		var m MMap
		if c.file {
			m = mustMap(t, f, -1, c.prot, 0, 0)
		} else {
			m = soloAnon(t, pages*page, "")
		}
		if rss := ownVMA(t, m).fields["Rss"]; rss != 0 {
			t.Fatalf("%s: Rss %d kB before the advice; want 0", c.name, rss)
		}
		if err := m.Advise(c.a); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if rss := ownVMA(t, m).fields["Rss"]; rss != c.wantRss {
			t.Errorf("%s: Rss %d kB after the advice, want %d", c.name, rss, c.wantRss)
		}
		if res, n, err := m.Resident(); err != nil || res != pages || n != pages {
			t.Errorf("%s: Resident() = %d, %d, %v; want all %d", c.name, res, n, err, pages)
		}
		mustUnmap(t, &m)
		if c.file {
			evictAll(t, f)
		}
	}
}

// WillNeed starts reading an evicted file in; the pages arrive in the page
// cache (asynchronously: polled a bounded number of times).
func TestAdviseWillNeedReadsTheFileIn(t *testing.T) {
	skipUnderQEMU(t, "qemu-user ignores madvise advice")
	const pages = 32
	f := tempFile(t, pattern(pages*page), os.O_RDONLY)
	evictAll(t, f)
	m := mustMap(t, f, -1, RDONLY, 0, 0)
	defer mustUnmap(t, &m)
	if res, _, err := m.Resident(); err != nil || res != 0 {
		t.Fatalf("evicted file: %d pages resident, %v; want 0 before the advice", res, err)
	}
	if err := m.Advise(AdviceWillNeed); err != nil {
		t.Fatal(err)
	}
	// A slow or busy disk may take its time; 10 s is far beyond any.
	res := 0
	for deadline, i := time.Now().Add(10*time.Second), 0; res < pages && time.Now().Before(deadline); i++ {
		if i > 0 {
			time.Sleep(2 * time.Millisecond)
		}
		var err error
		if res, _, err = m.Resident(); err != nil {
			t.Fatal(err)
		}
	}
	if res != pages {
		t.Fatalf("%d of %d pages resident after AdviceWillNeed", res, pages)
	}
	if rss := ownVMA(t, m).fields["Rss"]; rss != 0 {
		t.Errorf("WillNeed mapped pages into the VMA (Rss %d kB); it should only read them into the page cache", rss)
	}
}

// Cold and PageOut succeed; PageOut reclaims the clean page-cache pages of a
// file this process owns and alone maps.
func TestAdviseColdAndPageOut(t *testing.T) {
	skipUnderQEMU(t, "qemu-user ignores madvise advice")
	const pages = 8
	f := tempFile(t, pattern(pages*page), os.O_RDONLY)
	needEvictableFiles(t, f)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if !AdviceSupported(AdviceCold) || !AdviceSupported(AdvicePageOut) {
		t.Skipf("Linux %s has no MADV_COLD and MADV_PAGEOUT (5.4+)", kernelRelease(t))
	}
	m := mustMap(t, f, -1, RDONLY, 0, 0)
	defer mustUnmap(t, &m)
	for i := 0; i < len(m); i += page {
		readSink += m[i]
	}
	if rss := ownVMA(t, m).fields["Rss"]; rss != kb(pages*page) {
		t.Fatalf("Rss %d kB after reading every page, want %d; the check cannot see a page-out", rss, kb(pages*page))
	}
	if err := m.Advise(AdviceCold); err != nil {
		t.Fatalf("Advise(AdviceCold): %v", err)
	}
	// The kernel skips pages it cannot take off the LRU lists at that
	// moment (one still in another CPU's batch of new pages): ask again
	// a few times before calling it a failure.
	rss := int64(-1)
	for try := 0; try < 20 && rss != 0; try++ {
		if try > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		if err := m.Advise(AdvicePageOut); err != nil {
			t.Fatalf("Advise(AdvicePageOut): %v", err)
		}
		rss = ownVMA(t, m).fields["Rss"]
	}
	if rss != 0 {
		t.Errorf("Rss %d kB after AdvicePageOut, want 0", rss)
	}
	if !bytes.Equal(m, pattern(pages*page)) {
		t.Fatal("the file reads back wrong after AdvicePageOut")
	}
	a := mustMap(t, nil, pages*page, RDWR, ANON, 0)
	defer mustUnmap(t, &a)
	copy(a, pattern(pages*page))
	for _, adv := range []Advice{AdviceCold, AdvicePageOut} {
		if err := a.Advise(adv); err != nil {
			t.Errorf("anon: Advise(%v): %v", adv, err)
		}
	}
	if !bytes.Equal(a, pattern(pages*page)) {
		t.Fatal("anonymous memory changed after Cold and PageOut")
	}
}

// DontNeed on private anonymous memory: the whole pages inside the slice read
// back as zeros and leave Rss; the partial pages at its edges keep their
// bytes.
func TestDiscardDontNeedZeroesWholePages(t *testing.T) {
	skipUnderQEMU(t, "qemu-user does not pass MADV_DONTNEED through for every mapping")
	data := pattern(4 * page)
	m := soloAnon(t, 4*page, "")
	defer mustUnmap(t, &m)
	copy(m, data)
	kb := int64(page / 1024)
	if rss := ownVMA(t, m).fields["Rss"]; rss != 4*kb {
		t.Fatalf("Rss %d kB after writing 4 pages, want %d", rss, 4*kb)
	}
	if err := m[100 : 3*page+100].Discard(DiscardDontNeed); err != nil {
		t.Fatal(err)
	}
	if rss := ownVMA(t, m).fields["Rss"]; rss != 2*kb {
		t.Errorf("Rss %d kB after discarding pages 1 and 2, want %d", rss, 2*kb)
	}
	// Before the reads below fault the zero page in.
	if in, err := m.ResidentPages(); err != nil || !in[0] || in[1] || in[2] || !in[3] {
		t.Errorf("ResidentPages after the discard = %v, %v; want [true false false true]", in, err)
	}
	if !bytes.Equal(m[page:3*page], make([]byte, 2*page)) {
		t.Error("pages 1 and 2 do not read back as zeros after DiscardDontNeed")
	}
	if !bytes.Equal(m[:page], data[:page]) || !bytes.Equal(m[3*page:], data[3*page:]) {
		t.Error("DiscardDontNeed changed a partial page at the edge of the slice")
	}
}

// DontNeed on a COPY map drops the private copies: the pages read back as
// the file. On a shared map the bytes are the file's and stay.
func TestDiscardDontNeedOnFileMaps(t *testing.T) {
	skipUnderQEMU(t, "qemu-user does not pass MADV_DONTNEED through for every mapping")
	data := pattern(3 * page)
	f := tempFile(t, data, os.O_RDWR)
	cp := mustMap(t, f, -1, COPY, 0, 0)
	defer mustUnmap(t, &cp)
	for i := range cp {
		cp[i] = 0xEE
	}
	if err := cp.Discard(DiscardDontNeed); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cp, data) {
		t.Error("COPY map after DiscardDontNeed does not read back as the file")
	}

	sh := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &sh)
	want := bytes.Repeat([]byte{0xAB}, len(sh))
	copy(sh, want)
	if err := sh.Discard(DiscardDontNeed); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sh, want) {
		t.Error("shared map lost its bytes after DiscardDontNeed")
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("file does not hold the bytes written through the shared map after DiscardDontNeed")
	}
}

// Remove punches a hole: the file reads back zeros there and gives its
// blocks back; the pages outside keep theirs.
func TestDiscardRemovePunchesHole(t *testing.T) {
	skipUnderQEMU(t, "qemu-user ignores MADV_REMOVE")
	const pages = 8
	data := pattern(pages * page)
	f := tempFile(t, data, os.O_RDWR)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	blocks := func() int64 {
		var st syscall.Stat_t
		if err := syscall.Stat(f.Name(), &st); err != nil {
			t.Fatal(err)
		}
		return st.Blocks
	}
	before := blocks()
	if before*512 < pages*int64(page) {
		t.Fatalf("the file holds %d blocks of 512 bytes, fewer than its %d bytes; the check cannot see a hole", before, pages*page)
	}
	m := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &m)
	// From byte page-1 to byte 5*page: whole pages 1..4.
	if err := m[page-1 : 5*page+1].Discard(DiscardRemove); err != nil {
		t.Fatal(err)
	}
	// The hole, looked at before anything reads it (a read fault through
	// a shared map of tmpfs fills a hole with a new page): ext4 gives the
	// blocks back at once, and lseek(SEEK_DATA) from page 1 skips it.
	freed := (before - blocks()) * 512
	next, err := syscall.Seek(int(f.Fd()), int64(page), 3 /* SEEK_DATA */)
	if err != nil || next != int64(5*page) || freed < 4*int64(page) {
		t.Errorf("after DiscardRemove of pages 1..4 the file's data from page 1 starts at %d (%v), want %d, and it has freed %d bytes of its blocks (from %d blocks), want at least %d", next, err, 5*page, freed, before, 4*page)
	}
	want := bytes.Clone(data)
	clear(want[page : 5*page])
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("the file does not read back zeros in pages 1..4 only, after DiscardRemove")
	}
	if !bytes.Equal(m, want) {
		t.Error("the mapping does not read back zeros in pages 1..4 only, after DiscardRemove")
	}
}

// Free on private anonymous memory: each page reads back either as it was or
// as zeros, never anything else.
func TestDiscardFreeOnAnon(t *testing.T) {
	data := pattern(4 * page)
	m := mustMap(t, nil, 4*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	copy(m, data)
	if err := m.Discard(DiscardFree); err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, page)
	for i := range 4 {
		p := m[i*page : (i+1)*page]
		if !bytes.Equal(p, data[i*page:(i+1)*page]) && !bytes.Equal(p, zero) {
			t.Errorf("page %d after DiscardFree is neither its old bytes nor zeros", i)
		}
	}
}

// Lock-on-fault: the kernel charges the whole range to VmLck at once (it
// counts locked VMAs), marks the VMA locked-on-fault, and locks pages only as
// they are touched (smaps Locked counts the resident ones). Unlock undoes it.
func TestLockOnFaultLocksPagesAsTouched(t *testing.T) {
	skipUnderQEMU(t, "/proc/self/smaps and status are the emulator's, not the guest's")
	const pages = 64
	kb := int64(page / 1024)
	m := mustMap(t, nil, pages*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	onePagePerFault(t, m)
	if Backend() == "cgo" {
		needMemlock(t, pages*page)
	}
	before := statusKB(t, "VmLck")
	err := m.LockOnFault()
	if Backend() == "syscall" {
		// Documented: mlock2 needs the cgo backend.
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("LockOnFault with the syscall backend: got %v, want errors.ErrUnsupported", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := statusKB(t, "VmLck") - before; got != pages*kb {
		t.Errorf("VmLck grew by %d kB after LockOnFault, want %d (the kernel counts the locked range)", got, pages*kb)
	}
	v := ownVMA(t, m)
	if _, fl := vmFlagsAt(t, addr(m)); !fl["lo"] || !fl["lf"] {
		t.Errorf("VmFlags %v after LockOnFault; want lo and lf", keys(fl))
	}
	if v.fields["Locked"] != 0 || v.fields["Rss"] != 0 {
		t.Fatalf("smaps Locked %d kB, Rss %d kB right after LockOnFault; want 0 (nothing touched)", v.fields["Locked"], v.fields["Rss"])
	}
	for _, i := range []int{0, 17, 63} {
		m[i*page] = 1
	}
	if v := ownVMA(t, m); v.fields["Locked"] != 3*kb || v.fields["Rss"] != 3*kb {
		t.Errorf("smaps Locked %d kB, Rss %d kB after touching 3 pages; want %d each", v.fields["Locked"], v.fields["Rss"], 3*kb)
	}
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
	if got := statusKB(t, "VmLck") - before; got != 0 {
		t.Errorf("VmLck still %d kB above the start after Unlock", got)
	}
	if v, fl := vmFlagsAt(t, addr(m)); fl["lo"] || fl["lf"] {
		t.Errorf("VmFlags %v after Unlock; want neither lo nor lf", keys(fl))
	} else if l := vmaOf(t, m).fields["Locked"]; l != 0 {
		t.Errorf("smaps Locked %d kB after Unlock (VMA %#x-%#x)", l, v.start, v.end)
	}
}

// A slice locks on fault only the pages that cover it.
func TestLockOnFaultSlice(t *testing.T) {
	skipUnderQEMU(t, "/proc/self/status is the emulator's")
	kb := int64(page / 1024)
	m := mustMap(t, nil, 8*page, RDWR, ANON, 0)
	defer mustUnmap(t, &m)
	before := statusKB(t, "VmLck")
	err := m[2*page+1 : 4*page+1].LockOnFault()
	if Backend() == "syscall" {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("LockOnFault with the syscall backend: got %v, want errors.ErrUnsupported", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unlock()
	if got := statusKB(t, "VmLck") - before; got != 3*kb {
		t.Errorf("VmLck grew by %d kB after LockOnFault of a slice over pages 2..4, want %d", got, 3*kb)
	}
	v, fl := vmFlagsAt(t, addr(m)+uintptr(2*page))
	if !fl["lf"] || v.start != addr(m)+uintptr(2*page) || v.end != addr(m)+uintptr(5*page) {
		t.Errorf("locked-on-fault VMA %#x-%#x (VmFlags %v); want exactly pages 2..4 at %#x", v.start, v.end, keys(fl), addr(m)+uintptr(2*page))
	}
}

// Protect changes what the kernel shows for the pages that cover the slice,
// splitting the VMA.
func TestProtectIsSeenByTheKernel(t *testing.T) {
	skipUnderQEMU(t, "qemu answers /proc/self/maps from its own table")
	data := pattern(4 * page)
	f := tempFile(t, data, os.O_RDWR)
	m := mustMap(t, f, -1, RDWR, 0, 0)
	defer mustUnmap(t, &m)
	base := addr(m)
	perms := func() []string {
		var ps []string
		for i := range 4 {
			ps = append(ps, vmaOf(t, m[i*page:]).perms)
		}
		return ps
	}
	check := func(what string, want ...string) {
		t.Helper()
		if got := perms(); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: pages show %v, want %v", what, got, want)
		}
	}
	if err := m.Protect(RDONLY); err != nil {
		t.Fatal(err)
	}
	check("Protect(RDONLY)", "r--s", "r--s", "r--s", "r--s")
	if err := writeFaults(m[2*page:]); err == nil {
		t.Error("a write after Protect(RDONLY) did not fault")
	}
	if err := m.Protect(RDWR); err != nil {
		t.Fatal(err)
	}
	check("Protect(RDWR)", "rw-s", "rw-s", "rw-s", "rw-s")
	// From byte 1 of page 1 to byte 0 of page 2: pages 1 and 2.
	if err := m[page+1 : 2*page+1].Protect(RDONLY); err != nil {
		t.Fatal(err)
	}
	check("Protect(RDONLY) of a slice over pages 1..2", "rw-s", "r--s", "r--s", "rw-s")
	if v := vmaOf(t, m[page:]); v.start != base+uintptr(page) || v.end != base+uintptr(3*page) {
		t.Errorf("read-only part is the VMA %#x-%#x, want %#x-%#x", v.start, v.end, base+uintptr(page), base+uintptr(3*page))
	}
	if writeFaults(m[2*page:]) == nil || writeFaults(m[3*page:]) != nil || writeFaults(m) != nil {
		t.Error("writes do not fault exactly in the read-only pages 1..2")
	}

	cp := mustMap(t, f, -1, COPY, 0, 0)
	defer mustUnmap(t, &cp)
	for _, c := range []struct {
		prot  int
		perms string
	}{{RDONLY, "r--p"}, {COPY, "rw-p"}, {RDONLY, "r--p"}, {RDWR, "rw-p"}} {
		if err := cp.Protect(c.prot); err != nil {
			t.Fatal(err)
		}
		if v := vmaOf(t, cp); v.perms != c.perms {
			t.Errorf("COPY map after Protect(%d) shows %s, want %s", c.prot, v.perms, c.perms)
		}
	}

	x := mustMap(t, f, page, RDWR|EXEC, 0, 0)
	defer mustUnmap(t, &x)
	for _, c := range []struct {
		prot  int
		perms string
	}{{RDONLY | EXEC, "r-xs"}, {RDONLY, "r--s"}, {RDWR | EXEC, "rwxs"}} {
		if err := x.Protect(c.prot); err != nil {
			t.Fatal(err)
		}
		if v := vmaOf(t, x); v.perms != c.perms {
			t.Errorf("EXEC map after Protect(%d) shows %s, want %s", c.prot, v.perms, c.perms)
		}
	}
}

// A file map whose pages are all in the page cache is all resident.
func TestResidentOfCachedFile(t *testing.T) {
	const pages = 16
	f := tempFile(t, pattern(pages*page), os.O_RDONLY)
	m := mustMap(t, f, -1, RDONLY, 0, 0)
	defer mustUnmap(t, &m)
	// The file was just written: its pages are in the page cache, though
	// not yet mapped by this process.
	if res, n, err := m.Resident(); err != nil || res != pages || n != pages {
		t.Fatalf("Resident() of a freshly written file = %d, %d, %v; want %d of %d", res, n, err, pages, pages)
	}
}

// Resident of a file map agrees with fincore (util-linux) about the page
// cache after an eviction and reading some pages back through the map.
func TestResidentMatchesFincore(t *testing.T) {
	if _, err := exec.LookPath("fincore"); err != nil {
		t.Skip("fincore (util-linux) is not installed")
	}
	skipUnderQEMU(t, "qemu-user ignores MADV_RANDOM, so read-ahead caches every page and the counts cannot differ")
	// Pages far apart: a file system whose smallest folio holds several
	// pages (block size above page size) reads a whole folio per fault.
	const pages, stride = 256, 32
	f := tempFile(t, pattern(pages*page), os.O_RDONLY)
	evictAll(t, f)
	m := mustMap(t, f, -1, RDONLY, 0, 0)
	defer mustUnmap(t, &m)
	if n := fincorePages(t, f.Name()); n != 0 {
		t.Fatalf("fincore: %d pages cached after the eviction, want 0", n)
	}
	// Random access: the kernel reads no more than the faulting pages'
	// folios, so fewer than all pages are cached and the comparison can
	// tell.
	if err := m.Advise(AdviceRandom); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < pages; i += stride {
		readSink += m[i*page]
	}
	res, n, err := m.Resident()
	if err != nil {
		t.Fatal(err)
	}
	want := fincorePages(t, f.Name())
	if res != want || n != pages {
		t.Errorf("Resident() = %d of %d pages; fincore says %d of %d", res, n, want, pages)
	}
	if want < pages/stride || want == pages {
		t.Errorf("fincore: %d of %d pages cached after reading %d of them at random; the check cannot tell", want, pages, pages/stride)
	}
	// Page by page, every page read is resident.
	in, err := m.ResidentPages()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < pages; i += stride {
		if !in[i] {
			t.Errorf("page %d was read through the map but is not resident", i)
		}
	}
	t.Logf("%d of %d pages resident after reading %d", res, pages, pages/stride)
}

// hugetlbMap maps one default-size hugetlb page, setting the pool to one
// more page for the test (and back afterwards). With the syscall backend,
// which documents HUGETLB as unsupported, it checks that error and returns
// nil.
func hugetlbMap(t *testing.T) MMap {
	t.Helper()
	huge := DefaultHugetlbPageSize()
	if huge == 0 {
		t.Skip("this kernel has no hugetlb pages")
	}
	if setPool(t, huge, 1).Available() < 1 {
		t.Skip("the kernel could not find a hugetlb page to put in the pool (memory too fragmented)")
	}
	if Backend() == "syscall" {
		if _, err := MapRegion(nil, huge, RDWR, ANON|HUGETLB, 0); !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("HUGETLB with the syscall backend: got %v, want errors.ErrUnsupported", err)
		}
		return nil
	}
	m := mustMap(t, nil, huge, RDWR, ANON|HUGETLB, 0)
	t.Cleanup(func() { mustUnmap(t, &m) })
	return m
}

// The operations take any sub-slice of a hugetlb mapping too: the pages that
// cover it are hugepages, which the kernel insists on for madvise and
// mprotect of a hugetlb VMA.
func TestOpsOnSliceOfHugetlbMap(t *testing.T) {
	m := hugetlbMap(t)
	if m == nil {
		return
	}
	copy(m, pattern(len(m)))
	s := m[page : 2*page]
	if err := s.Advise(AdviceDontFork); err != nil {
		t.Errorf("Advise of a slice of a hugetlb map: %v", err)
	} else if _, fl := vmFlagsAt(t, addr(m)); !fl["dc"] {
		t.Errorf("VmFlags %v after AdviceDontFork on a slice; want dc on the hugepage that covers it", keys(fl))
	}
	// The slice holds no whole hugepage: nothing to discard, no error.
	if err := s.Discard(DiscardDontNeed); err != nil {
		t.Errorf("Discard of a slice of a hugetlb map that holds no whole hugepage: %v", err)
	}
	if !bytes.Equal(m, pattern(len(m))) {
		t.Error("Discard of a slice that holds no whole hugepage changed bytes")
	}
	if err := s.Protect(RDONLY); err != nil {
		t.Errorf("Protect of a slice of a hugetlb map: %v", err)
	} else if v := vmaOf(t, m); v.perms != "r--p" {
		t.Errorf("the hugepage shows %s after Protect(RDONLY) of a slice of it, want r--p", v.perms)
	}
}

// Linux resizes with mremap on both backends: a shrink stays where it is
// (the pure-Go backend used to map anew and copy), and a grow keeps the
// contents wherever the kernel puts it.
func TestResizeUsesMremap(t *testing.T) {
	data := pattern(8 * page)
	m := mustMap(t, nil, 8*page, RDWR, ANON, 0)
	defer func() { mustUnmap(t, &m) }()
	copy(m, data)
	base := addr(m)
	if err := m.Resize(nil, 3*page, false); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m, data[:3*page]) {
		t.Fatal("a shrink lost bytes")
	}
	// qemu-user answers mremap from its own map of the guest, which may move.
	if addr(m) != base && !underQEMU() {
		t.Fatalf("a shrink moved the mapping from %#x to %#x; mremap shrinks in place", base, addr(m))
	}
	if err := m.Resize(nil, 64*page, false); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m[:3*page], data[:3*page]) || m[64*page-1] != 0 {
		t.Fatal("a grow lost the contents, or its new part is not zero")
	}
}
