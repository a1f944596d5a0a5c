package mmap

import (
	"errors"
	"math/bits"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// Tests of the registry of live mappings: which mapping a slice finds,
// what Unmap refuses, lookups racing with Map and Unmap, and the shape of
// the index. Besides real mappings they register fake ones over Go memory
// (fakeMapping), which the registry cannot tell apart and which can be
// placed side by side on every platform; those are only ever unregistered,
// never unmapped.

// fakeMapping registers n bytes of buf from off as a mapping whose caller
// view starts lead bytes past its base, removed when the test ends.
func fakeMapping(t *testing.T, buf []byte, off, lead, n int) (MMap, *region) {
	t.Helper()
	r := &region{base: unsafe.Pointer(&buf[off]), size: uintptr(lead + n), lead: uintptr(lead), len: n}
	m := register(r)
	t.Cleanup(func() {
		if exact(m) != nil {
			if _, err := unregister(m); err != nil {
				t.Error(err)
			}
		}
	})
	return m, r
}

// wantLookup checks that s is found in r, starting at byte i of r's view.
func wantLookup(t *testing.T, what string, s MMap, r *region, i int) {
	t.Helper()
	got, start := lookup(s)
	switch {
	case r == nil && got != nil:
		t.Errorf("%s: lookup found a mapping (%d bytes at %#x); want none", what, got.len, got.start())
	case r != nil && got != r:
		t.Errorf("%s: lookup found %p; want %p", what, got, r)
	case r != nil && start != r.lead+uintptr(i):
		t.Errorf("%s: lookup says it starts %d bytes past the base; want %d", what, start, r.lead+uintptr(i))
	}
}

func TestRegistryLookupSubSlices(t *testing.T) {
	const off = 100 // unaligned, so that lead is not zero
	data := pattern(4 * page)
	f := tempFile(t, data, os.O_RDONLY)
	m := mustMap(t, f, 3*page, RDONLY, UNALIGNED, off)
	defer mustUnmap(t, &m)
	r := exact(m)
	if r == nil || r.lead == 0 {
		t.Fatalf("exact(m) = %v; want the mapping, with a lead", r)
	}
	n := len(m)
	// Go keeps the old pointer of a slice with no capacity left, so an
	// empty slice at the end of m (or a capacity-cut empty one) points at
	// m's first byte: it is found, at offset 0.
	for _, c := range []struct {
		what string
		i, j int
		cut  bool // a three-index slice that ends the capacity at j
		at   int  // where the slice's pointer is
	}{
		{"whole", 0, n, false, 0},
		{"tail", page + 1, n, false, page + 1},
		{"head", 0, 1, false, 0},
		{"middle", 7, 2*page - 3, false, 7},
		{"middle, capacity cut", 7, 2*page - 3, true, 7},
		{"one byte, capacity cut", page, page + 1, true, page},
		{"last byte, capacity cut", n - 1, n, true, n - 1},
		{"empty at the start", 0, 0, false, 0},
		{"empty at the start, capacity cut", 0, 0, true, 0},
		{"empty in the middle", page, page, false, page},
		{"empty in the middle, capacity cut", page, page, true, 0},
		{"empty at the end", n, n, false, 0},
		{"empty at the end, capacity cut", n, n, true, 0},
	} {
		s := m[c.i:c.j]
		if c.cut {
			s = m[c.i:c.j:c.j]
		}
		if addr(s) != addr(m)+uintptr(c.at) {
			t.Fatalf("%s: the slice points %d bytes into m; the test expects %d", c.what, addr(s)-addr(m), c.at)
		}
		wantLookup(t, c.what, s, r, c.at)
	}
	// Range cuts the capacity; its result works like any sub-slice.
	s, err := m.Range(page+5, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantLookup(t, "Range(page+5, 10)", s, r, page+5)
	got := make([]byte, 10)
	if _, err := s.ReadAt(got, 0); err != nil || string(got) != string(data[off+page+5:off+page+15]) {
		t.Errorf("ReadAt of a Range result: %q, %v; want %q", got, err, data[off+page+5:off+page+15])
	}
	if exact(s) != nil || exact(m[1:]) != nil || exact(m[:n-1]) != nil || exact(m[:0]) != nil {
		t.Error("exact found a sub-slice shorter than the mapping")
	}
	if exact(m[:n:n]) != r || exact(m[0:n]) != r {
		t.Error("exact did not find the mapping through a reslice of all of it")
	}
}

func TestRegistryAdjacentAndStraddling(t *testing.T) {
	// Layout, in pages of buf: a gap, A (2 pages) with B (1 page, lead 8)
	// right after it, a gap, C (1 page), a gap. Empty slices of buf keep
	// capacity, so they point where they say (a[len(a):] would point at a).
	buf := make([]byte, 8*page)
	a, ra := fakeMapping(t, buf, page, 0, 2*page)
	b, rb := fakeMapping(t, buf, 3*page-8, 8, page)
	c, rc := fakeMapping(t, buf, 5*page, 0, page)
	if addr(a)+uintptr(len(a)) != addr(b) {
		t.Fatal("A and B are not adjacent")
	}
	for _, x := range []struct {
		what string
		s    MMap
		r    *region
		i    int
	}{
		{"all of A", a, ra, 0},
		{"all of B", b, rb, 0},
		{"A's last byte", a[len(a)-1:], ra, len(a) - 1},
		{"B's first byte", b[:1:1], rb, 0},
		// The deterministic rule: the mapping that begins there.
		{"empty, where A ends and B begins", buf[3*page : 3*page], rb, 0},
		{"empty, where B begins", b[:0], rb, 0},
		{"empty, where B ends (a gap follows)", buf[4*page : 4*page], rb, len(b)},
		{"empty, where C ends", buf[6*page : 6*page], rc, len(c)},
		{"empty, where C begins", c[:0:0], rc, 0},
		{"empty, A's end without capacity (points at A)", a[len(a):], ra, 0},
		{"A's last byte and B's first", buf[3*page-1 : 3*page+1], nil, 0},
		{"all of A and B", buf[page : 4*page], nil, 0},
		{"one byte past B", buf[3*page : 4*page+1], nil, 0},
		{"one byte past C", buf[5*page : 6*page+1], nil, 0},
		{"one byte before C", buf[5*page-1 : 6*page], nil, 0},
		{"the gap before A", buf[:page], nil, 0},
		{"empty, in the gap before A", buf[5:5], nil, 0},
		{"the gap between B and C", buf[4*page+1 : 4*page+2], nil, 0},
		{"empty, in the gap after C", buf[7*page : 7*page], nil, 0},
	} {
		wantLookup(t, x.what, x.s, x.r, x.i)
	}
}

func TestRegistryUnmapRefusesDerivedSlices(t *testing.T) {
	before := liveMappings()
	m := mustMap(t, nil, 4*page, RDWR, ANON, 0)
	r := exact(m)
	cut, err := m.Range(page, 2*page)
	if err != nil {
		t.Fatal(err)
	}
	for what, s := range map[string]MMap{
		"tail":                 m[1:],
		"head":                 m[:len(m)-1],
		"Range(page, 2*page)":  cut,
		"empty, at the start":  m[:0],
		"empty, at the end":    m[len(m):],
		"capacity cut by one":  m[: len(m)-1 : len(m)-1],
		"from the second page": m[page:],
	} {
		if _, err := unregister(s); !errors.Is(err, ErrNotMapped) {
			t.Errorf("unregister of %s: %v; want ErrNotMapped", what, err)
		}
		// (Unmap of an empty slice is Unmap's own business.)
		if err := s.Unmap(); len(s) > 0 && !errors.Is(err, ErrNotMapped) {
			t.Errorf("Unmap of %s: %v; want ErrNotMapped", what, err)
		}
		if exact(m) != r || liveMappings() != before+1 {
			t.Fatalf("refusing %s changed the registry", what)
		}
	}
	m[len(m)-1] = 1 // still mapped
	same := m[0:len(m):len(m)]
	mustUnmap(t, &m)
	if liveMappings() != before {
		t.Fatalf("%d live mappings after Unmap; want %d", liveMappings(), before)
	}
	if err := same.Unmap(); !errors.Is(err, ErrNotMapped) {
		t.Errorf("second Unmap: %v; want ErrNotMapped", err)
	}
	if got, _ := lookup(same); got != nil {
		t.Error("lookup found an unmapped mapping")
	}
}

// TestRegistryConcurrentLookups races lookups of mappings that stay with
// the registering and unregistering of others right next to them, and with
// real Map and Unmap, for at most 200 ms. Run it with -race too.
func TestRegistryConcurrentLookups(t *testing.T) {
	const slots, readers = 64, 2
	// Page 2i of buf is a mapping that stays, page 2i+1 one that comes and
	// goes: every search passes nodes that are being unlinked.
	buf := make([]byte, 2*slots*page)
	stay := make([]MMap, slots)
	stayR := make([]*region, slots)
	for i := range stay {
		stay[i], stayR[i] = fakeMapping(t, buf, 2*i*page, 0, page)
	}
	anon := mustMap(t, nil, 2*page, RDWR, ANON, 0)
	defer mustUnmap(t, &anon)
	anon[page+3] = 42

	// step checks every kind of lookup once; false when one failed.
	step := func(k, w int, p []byte) bool {
		i := (k*7 + w) % slots
		s, err := stay[i].Range(k%page, 1)
		if err != nil {
			t.Error(err)
			return false
		}
		if r, start := lookup(s); r != stayR[i] || start != uintptr(k%page) {
			t.Errorf("mapping %d lost while its neighbours came and went: %p, %d", i, r, start)
			return false
		}
		if r, start := lookup(stay[i][k%page:]); r != stayR[i] || start != uintptr(k%page) {
			t.Errorf("mapping %d lost by its end while its neighbours came and went: %p, %d", i, r, start)
			return false
		}
		churn := buf[(2*i+1)*page:][:page:page]
		if r, _ := lookup(churn); r != nil && r.start() != addr(churn) {
			t.Errorf("a slice of a churned mapping found a mapping at %#x", r.start())
			return false
		}
		if n, err := anon[page+3:].ReadAt(p, 0); n != 1 || err != nil || p[0] != 42 {
			t.Errorf("ReadAt of a live mapping: %d, %v, %d", n, err, p[0])
			return false
		}
		return true
	}
	var done atomic.Bool
	var wg, started sync.WaitGroup
	for w := range readers {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			p := make([]byte, 1)
			ok := step(0, w, p)
			started.Done()
			for k := 1; ok && !done.Load(); k++ {
				ok = step(k, w, p)
			}
		}()
	}
	started.Wait()
	churned := make([]MMap, slots)
	deadline := time.Now().Add(200 * time.Millisecond)
	for round := 0; round < 2000 && time.Now().Before(deadline); round++ {
		for i := range churned {
			churned[i] = register(&region{base: unsafe.Pointer(&buf[(2*i+1)*page]), size: uintptr(page), len: page})
		}
		m, err := MapRegion(nil, page, RDWR, ANON, 0)
		if err != nil {
			t.Error(err)
			break
		}
		for i := range churned {
			if _, err := unregister(churned[(i*5+round)%slots]); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Unmap(); err != nil {
			t.Error(err)
		}
	}
	done.Store(true)
	wg.Wait()
}

// TestRegistryIndexIsLogarithmic builds the indexes of 10,000 mappings,
// packed side by side and scattered, added in the order the kernel tends to
// hand addresses out (downwards) and in random order, and checks what every
// lookup costs: O(1) slots of the ends table for a slice that keeps its
// capacity, O(log n) skip list nodes for any other (a list would visit up
// to n); and that the indexes hold exactly the live nodes after removals.
// The nodes are synthetic: the indexes only compare addresses.
func TestRegistryIndexIsLogarithmic(t *testing.T) {
	const n = 10_000
	log2n := bits.Len(n)
	r := new(region)
	for _, layout := range []struct {
		name string
		gap  func(i int) uintptr
	}{
		{"adjacent pages", func(int) uintptr { return 0 }},
		{"scattered", func(i int) uintptr { return uintptr(i%7) * uintptr(page) * 3 }},
	} {
		for _, order := range []string{"descending", "random"} {
			t.Run(layout.name+"/"+order, func(t *testing.T) {
				nodes := make([]*node, n)
				at := uintptr(1) << 30
				for i := range nodes {
					at += layout.gap(i)
					nodes[i] = newNode(at, at+uintptr(page), r)
					at += uintptr(page)
				}
				var s liveSet
				perm := rand.Perm(n)
				for k := range n {
					i := n - 1 - k
					if order == "random" {
						i = perm[k]
					}
					s.add(nodes[i])
				}
				checkSet(t, &s, nodes, log2n)
				// Remove two in three, then all.
				var kept []*node
				for i, x := range nodes {
					if i%3 != 0 {
						s.remove(x)
					} else {
						kept = append(kept, x)
					}
				}
				checkSet(t, &s, kept, log2n)
				for _, x := range kept {
					if s.exactly(x.start(), uintptr(page)) != x {
						t.Fatal("exactly lost a node")
					}
					s.remove(x)
				}
				if s.idx.n != 0 || s.idx.height.Load() != 0 || s.idx.find(^uintptr(0)) != nil {
					t.Fatalf("emptied skip list: %d nodes, height %d", s.idx.n, s.idx.height.Load())
				}
				for _, x := range nodes {
					if s.holding(x.start(), 1, 1) != nil || s.exactly(x.start(), uintptr(page)) != nil {
						t.Fatal("an emptied set still holds a node")
					}
				}
			})
		}
	}
}

// TestRegistryTableSheds: a steady number of mappings coming and going
// leaves the ends table the same size, its tombstones swept by rebuilds,
// and it shrinks when they go.
func TestRegistryTableSheds(t *testing.T) {
	const live, rounds = 100, 20_000
	var s liveSet
	r := new(region)
	nodes := make([]*node, live)
	maxSlots := 0
	for k := range rounds {
		i := k % live
		if nodes[i] != nil {
			s.remove(nodes[i])
		}
		at := uintptr(k+1) * uintptr(page)
		nodes[i] = newNode(at, at+1, r)
		s.add(nodes[i])
		tab := s.ends.Load()
		if 2*tab.used > len(tab.slots) {
			t.Fatalf("round %d: %d of %d slots used", k, tab.used, len(tab.slots))
		}
		maxSlots = max(maxSlots, len(tab.slots))
	}
	if maxSlots > 8*live {
		t.Errorf("%d live mappings grew the ends table to %d slots", live, maxSlots)
	}
	for _, x := range nodes {
		if s.holding(x.start(), 1, 1) != x {
			t.Fatal("a live node was lost")
		}
	}
	// Once the burst is over the table gives its slots back.
	for _, x := range nodes[1:] {
		s.remove(x)
	}
	if n := len(s.ends.Load().slots); n > minSlots {
		t.Errorf("one live mapping left a table of %d slots", n)
	}
	if s.holding(nodes[0].start(), 1, 1) != nodes[0] || s.exactly(nodes[0].start(), 1) != nodes[0] {
		t.Fatal("the last live node was lost")
	}
}

// checkSet checks that s holds exactly want (sorted by start): the skip
// list in order at every level, each level a subset of the one below, prev
// links the reverse of level 0; that a node (one in 16) is found for its
// own slices, whole, cut, empty and one byte, and none for a byte past it;
// and what finding each node costs: at most 3 log2(n) skip list nodes on
// average and 16 log2(n) at worst, log2n given, and at most 2 slots of the
// ends table on average and 32 at worst.
func checkSet(t *testing.T, s *liveSet, want []*node, log2n int) {
	t.Helper()
	if s.count() != len(want) {
		t.Fatalf("the set counts %d nodes; want %d", s.count(), len(want))
	}
	s.settle() // the skip list's own checks need every node in it
	ix := &s.idx
	if ix.n != len(want) {
		t.Fatalf("skip list counts %d nodes; want %d", ix.n, len(want))
	}
	h := int(ix.height.Load())
	if h < 1 || h > maxHeight {
		t.Fatalf("height %d", h)
	}
	var below map[*node]bool
	for l := range h {
		at := map[*node]bool{}
		var last *node
		for x := ix.head[l].Load(); x != nil; x = x.next[l].Load() {
			if last != nil && x.start() <= last.start() {
				t.Fatalf("level %d out of order", l)
			}
			if len(x.next) <= l || below != nil && !below[x] {
				t.Fatalf("level %d holds a node not on the level below, or too short", l)
			}
			at[x], last = true, x
		}
		if l == 0 {
			i := 0
			var last *node
			for x := ix.head[0].Load(); x != nil; x = x.next[0].Load() {
				if i >= len(want) || x != want[i] {
					t.Fatalf("level 0, node %d is not the %d-th", i, i)
				}
				if x.prev != last {
					t.Fatalf("level 0, node %d: prev is not the node before it", i)
				}
				i, last = i+1, x
			}
			if i != len(want) {
				t.Fatalf("level 0 holds %d nodes; want %d", i, len(want))
			}
		}
		if len(at) == 0 {
			t.Fatalf("level %d is in use and empty", l)
		}
		below = at
	}
	worst, total, worstProbe, totalProbe := 0, 0, 0, 0
	tab := s.ends.Load()
	for i, x := range want {
		l := searchLength(ix, x.start())
		worst, total = max(worst, l), total+l
		l = probeLength(tab, x.end())
		worstProbe, totalProbe = max(worstProbe, l), totalProbe+l
		if i%16 != 0 && i != len(want)-1 {
			continue // every kind of slice of one node in 16, to keep -race quick
		}
		n := x.end() - x.start()
		for _, c := range []struct {
			what    string
			p, n, c uintptr
		}{
			{"whole", x.start(), n, n},
			{"whole, capacity cut", x.start(), n, n - 1},
			{"last byte", x.end() - 1, 1, 1},
			{"first byte, capacity cut", x.start(), 1, 1},
			{"empty at the start", x.start(), 0, 0},
		} {
			if got := s.holding(c.p, c.n, c.c); got != x {
				t.Fatalf("node %d, %s: holding found %p; want %p", i, c.what, got, x)
			}
		}
		next := i+1 < len(want) && want[i+1].start() == x.end()
		if got := s.holding(x.end(), 0, 0); next && got != want[i+1] || !next && got != x {
			t.Fatalf("node %d: an empty slice at its end found %p", i, got)
		}
		if got := s.holding(x.start(), n+1, n+1); got != nil {
			t.Fatalf("node %d: a slice one byte longer found %p", i, got)
		}
		if got := s.exactly(x.start(), n); got != x {
			t.Fatalf("node %d: exactly found %p", i, got)
		}
		if got := s.exactly(x.start(), n-1); got != nil {
			t.Fatalf("node %d: exactly found %p for a shorter slice", i, got)
		}
	}
	if x := ix.find(want[0].start() - 1); x != nil {
		t.Fatal("find of the byte before the first node found one")
	}
	mean, meanProbe := float64(total)/float64(len(want)), float64(totalProbe)/float64(len(want))
	t.Logf("%d nodes: skip list height %d, %.1f nodes a search on average, %d at most; ends table %d slots, %.2f a search, %d at most",
		len(want), h, mean, worst, len(tab.slots), meanProbe, worstProbe)
	if mean > float64(3*log2n) || worst > 16*log2n {
		t.Errorf("skip list searches of %d nodes read %.1f nodes on average and %d at most; want O(log n): at most %d and %d",
			len(want), mean, worst, 3*log2n, 16*log2n)
	}
	if meanProbe > 2 || worstProbe > 32 {
		t.Errorf("ends table searches read %.2f slots on average and %d at most; want O(1): at most 2 and 32", meanProbe, worstProbe)
	}
}

// searchLength is how many nodes ix.find(p) reads: it walks ix as find
// does.
func searchLength(ix *skipList, p uintptr) int {
	visited := 0
	links := ix.head[:]
	for l := int(ix.height.Load()) - 1; l >= 0; l-- {
		for {
			y := links[l].Load()
			if y == nil {
				break
			}
			visited++
			if y.start() > p {
				break
			}
			links = y.next
		}
	}
	return visited
}

// probeLength is how many slots t.find(end) reads.
func probeLength(t *endTable, end uintptr) int {
	mask := uintptr(len(t.slots) - 1)
	for i, k := t.home(end), 1; ; i, k = (i+1)&mask, k+1 {
		if x := t.slots[i].Load(); x == nil || x.end() == end {
			return k
		}
	}
}

// TestRegistryFindsPendingNodes: a mapping not yet in the skip list is
// found through a cut slice right after it is registered, while another
// goroutine's lookups settle pending nodes into the skip list at the same
// moment; and once unregistered it is found no more. Run it with -race
// too.
func TestRegistryFindsPendingNodes(t *testing.T) {
	const slots = 32
	buf := make([]byte, slots*page)
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // cut-slice lookups anywhere in buf: each may settle
		defer wg.Done()
		for k := 0; !done.Load(); k++ {
			lookup(buf[(k%slots)*page+1:][:1:1])
		}
	}()
	defer func() { done.Store(true); wg.Wait() }()
	deadline := time.Now().Add(200 * time.Millisecond)
	for round := 0; round < 5000 && time.Now().Before(deadline); round++ {
		i := round % slots
		r := &region{base: unsafe.Pointer(&buf[i*page]), size: uintptr(page), len: page}
		m := register(r)
		if got, start := lookup(m[5:6:6]); got != r || start != 5 {
			t.Fatalf("round %d: a cut slice of a mapping registered just before found %p at %d", round, got, start)
		}
		if _, err := unregister(m); err != nil {
			t.Fatal(err)
		}
		if got, _ := lookup(m[5:6:6]); got != nil {
			t.Fatalf("round %d: a cut slice of an unregistered mapping found one", round)
		}
	}
}

// TestReusedNodesNeverMisleadLookups: goroutines that Map and Unmap reuse
// region and node pairs (recycle) while others look mappings up, whole, by
// a tail and cut (a cut slice goes to idx and settles the pending nodes,
// so some pairs have been in idx and must not be reused), and read them
// with ReadAt. Every lookup must find its own mapping at its own offset,
// and, under -race, no read of a reused node may race with its rewrite.
func TestReusedNodesNeverMisleadLookups(t *testing.T) {
	const stays, churners, readers = 24, 2, 2
	stay := make([]MMap, stays)
	want := make([]*region, stays)
	for i := range stay {
		stay[i] = mustMap(t, nil, (i%3+1)*page, RDWR, ANON, 0)
		t.Cleanup(func() { mustUnmap(t, &stay[i]) })
		stay[i][0] = byte(i)
		want[i], _ = lookup(stay[i])
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		done.Store(true)
	}
	for w := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := make([]byte, 1)
			for k := 0; !done.Load(); k++ {
				i := (k*7 + w) % stays
				m := stay[i]
				if r, off := lookup(m); r != want[i] || off != 0 {
					fail("mapping %d, whole: found %p at %d; want %p at 0", i, r, off, want[i])
					return
				}
				if r, off := lookup(m[1:]); r != want[i] || off != 1 {
					fail("mapping %d, by its tail: found %p at %d; want %p at 1", i, r, off, want[i])
					return
				}
				if r, off := lookup(m[2:3:3]); r != want[i] || off != 2 {
					fail("mapping %d, cut: found %p at %d; want %p at 2", i, r, off, want[i])
					return
				}
				if n, err := m.ReadAt(p, 0); n != 1 || err != nil || p[0] != byte(i) {
					fail("mapping %d: ReadAt gave %d, %v, %d", i, n, err, p[0])
					return
				}
			}
		}()
	}
	for c := range churners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; !done.Load(); k++ {
				// Lengths vary, so that a reused node takes new bounds.
				n := (k%4 + 1) * page
				m, err := MapRegion(nil, n, RDWR, ANON, 0)
				if err != nil {
					fail("churner %d: %v", c, err)
					return
				}
				m[n-1] = byte(c)
				r, off := lookup(m)
				if r == nil || off != 0 || r.start() != addr(m) || r.len != n {
					fail("churner %d: a fresh %d-byte mapping at %#x found %+v at %d", c, n, addr(m), r, off)
					return
				}
				if k%2 == 0 {
					if r2, off := lookup(m[1:2:2]); r2 != r || off != 1 {
						fail("churner %d: a cut slice of a fresh mapping found %p at %d; want %p at 1", c, r2, off, r)
						return
					}
				}
				if err := m.Unmap(); err != nil {
					fail("churner %d: %v", c, err)
					return
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	done.Store(true)
	wg.Wait()
}
