package mmap

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"unsafe"
)

// The registry of live mappings. It is what lets Unmap refuse a derived
// slice or a second unmap, and what gives methods the real base and length;
// a slice alone carries neither.
//
// Every ReadAt, WriteAt and range method looks its mapping up, from any
// number of goroutines, while Map and Unmap are rare. So lookups that
// find their mapping take no lock and write nothing shared: they read two
// indexes through atomic loads, and writers serialize on a mutex and
// change them with atomic stores. (A lookup that misses may take the mutex
// once, to move mappings into idx: see liveSet.) Each mapping is one node
// in both:
//
//   - ends, a hash table keyed by the address just past the mapping's last
//     byte. Map hands out slices with cap == len and reslicing keeps the
//     end of the capacity, so the mapping itself and any m[i:j] of it are
//     found in O(1), however many mappings are live.
//   - idx, a skip list ordered by the address of the mapping's first byte,
//     for slices whose capacity was cut (m.Range, m[i:j:k]) and empty ones:
//     O(log n) expected steps, whatever the capacity.
//
// Neither copies itself on a change: Map allocates one node (and, for one
// in four, a small tower of links) and searches idx once, Unmap allocates
// nothing and mostly finds the node's neighbours a step or two behind it;
// the table is rebuilt now and then to grow, shrink or shed tombstones,
// amortized O(1) a change. An immutable index swapped whole would cost
// O(n) a change, and a persistent tree O(log n) allocations: garbage that
// matters to a process near vm.max_map_count (its test maps 65,000 with
// the collector off).
//
// A lookup that races with writers still finds every mapping registered
// before it began and not removed during it. A removed node keeps its
// links, so a reader standing on it walks on, into nodes that were linked
// at some moment after the search began, and keys only grow along links;
// table slots go from empty to a node to a tombstone to a node, and a
// replaced table is never written again. A node that has been in idx is
// never reused, and the collector frees it once no reader holds one; a
// node that never joined idx goes back with its region to the next Map
// (recycle), so that a steady stream of Maps and Unmaps allocates nothing.
var registry struct {
	sync.Mutex // writers: register and unregister
	liveSet    // readers: lookup and exact, with no lock
}

// liveSet is the two indexes. Its zero value is empty.
//
// A node joins idx lazily: add puts it in ends and in pending, and it
// moves into idx only when a lookup that ends cannot answer (a cut or
// empty slice) needs it. Most mappings are only ever found through ends,
// so Map and Unmap skip idx's insert and remove: a third of what the
// registry cost a map+unmap pair (callgrind). A lookup that misses while
// nodes may be pending, or while a settle ran, settles them under the
// writers' lock and looks again, so it still finds every mapping
// registered before it began. waiting says "maybe pending" and is cleared
// only by a settle, so that a steady stream of Maps and Unmaps stores
// nothing to it: an atomic store costs as much as a lock here.
type liveSet struct {
	idx     skipList                 // ordered by start: every node but the pending ones
	ends    atomic.Pointer[endTable] // by end, every node; nil until the first
	pending *node                    // the nodes in ends but not yet in idx, a list through pendNext; writers only
	npend   int                      // nodes pending; writers only
	waiting atomic.Bool              // set while a node may be pending
	settles atomic.Uint64            // settles run so far
}

// node is one mapping. Its bounds and r do not change while it is
// registered; its links change under the writers' lock. A node may be
// reused for a later mapping (see recycle), so its bounds are atomic: a
// lookup that read the node out of the table just before it was removed
// may still load them while a Map rewrites them.
type node struct {
	lo, hi atomic.Uintptr // the caller's bytes, [lo, hi): r's, copied so a step reads one cache line
	r      *region
	next   []atomic.Pointer[node]  // next[l]: the following node at level l of idx
	low    [2]atomic.Pointer[node] // next's storage when the node has at most two levels, as fifteen in sixteen do
	prev   *node                   // the node before at level 0, nil for the first; writers only
	// The list of pending nodes runs through them, so that a Map allocates
	// nothing for it: a slice that grew with it would need new heap, which
	// a process at vm.max_map_count cannot map (TestMaxMapCountExhaustion).
	pend bool // in the pending list, not in idx; writers only
	// indexed is set when the node joins idx. A lookup walking idx may
	// stand on a removed node and walk on from it, so a node that has been
	// in idx is never reused. Writers only.
	indexed            bool
	pendPrev, pendNext *node // the pending list's links; writers only
}

// start and end bound the caller's bytes, [start, end).
func (x *node) start() uintptr { return x.lo.Load() }
func (x *node) end() uintptr   { return x.hi.Load() }

// bound sets x's bounds, storing only what changed: a node reused for a
// mapping at the same address, as map+unmap loops get, costs no store.
func (x *node) bound(start, end uintptr) {
	if x.lo.Load() != start {
		x.lo.Store(start)
	}
	if x.hi.Load() != end {
		x.hi.Store(end)
	}
}

func addr(m MMap) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(m))) }

// register records r and returns the caller's view of it.
func register(r *region) MMap {
	m := r.data()
	// A region registered again after a failed Unmap or Resize gets a new
	// node: lookups may still stand on its old one.
	x := r.node()
	registry.Lock()
	registry.add(x)
	registry.Unlock()
	return m
}

// node is the registry node that records r: the one allocated with it,
// or a new one.
func (r *region) node() *node {
	x := r.slot
	if x == nil {
		x = new(node)
	}
	r.slot = nil
	if x.r != r { // a reused node already has its region: a store would race with lookups reading it
		x.r = r
	}
	x.bound(r.start(), r.start()+uintptr(r.len))
	return x
}

// unregister removes the mapping that m is exactly the view of.
func unregister(m MMap) (*region, error) {
	x, err := unregisterNode(m)
	if err != nil {
		return nil, err
	}
	return x.r, nil
}

// unregisterNode is unregister, returning the node that recorded the
// mapping, for recycle.
func unregisterNode(m MMap) (*node, error) {
	registry.Lock()
	x := registry.exactly(addr(m), uintptr(len(m)))
	if x != nil {
		registry.remove(x)
	}
	registry.Unlock()
	if x == nil {
		return nil, fmt.Errorf("%w: Unmap needs the slice that Map returned; %d bytes at %#x are a derived slice or already unmapped", ErrNotMapped, len(m), addr(m))
	}
	return x, nil
}

// recycle gives x, removed from the registry and its mapping unmapped,
// back to newRegion with its region, when it is the node allocated with
// that region and never joined idx. Then the only lookups that may still
// hold it read it out of the ends table just before it was removed, and
// they read its bounds (atomic) and nothing else unless the bounds are
// those of the slice they look for. Such a slice is a live mapping's, so
// the bounds a lookup matches are never a reused node's before the
// mapping it now records was made, nor a past mapping's: a past mapping
// at the same address was removed before the slice's was registered, and
// before the lookup took the table it searches. What a lookup does with
// the node is unchanged by reuse, then, except for a slice of a mapping
// that is being unmapped during the lookup, which the package forbids.
func recycle(x *node) {
	if p := x.r.pair; p != nil && &p.x == x && !x.indexed {
		pairs.Put(p)
	}
}

// reregister swaps the registration of the mapping that old is exactly
// the view of for nr, which starts at the same address with another
// length (Grow, a Resize in place), and returns nr's view. A lookup racing
// with it finds one or the other, never neither: nr joins both indexes
// before the old node leaves them. A slice of the old length keeps
// finding nr afterwards, through idx (its end is no longer a key of ends).
func reregister(old MMap, nr *region) MMap {
	m := nr.data()
	y := nr.node()
	registry.Lock()
	x := registry.exactly(addr(old), uintptr(len(old)))
	registry.add(y)
	if x != nil {
		registry.remove(x)
	}
	registry.Unlock()
	return m
}

// lookup finds the live mapping that holds every byte of m, and where m
// starts relative to the mapping's base. Mappings never overlap, but two
// can be adjacent: an empty slice where one ends and the next begins
// belongs to the one that begins there.
func lookup(m MMap) (*region, uintptr) {
	p := addr(m)
	x := holding(p, uintptr(len(m)), uintptr(cap(m)))
	if x == nil {
		return nil, 0
	}
	return x.r, x.r.lead + (p - x.start())
}

// holding is registry.holding, settling the pending nodes into idx first
// when the answer may lie among them: some may be pending, or a settle ran
// during the search (and may have put the node into idx behind it).
func holding(p, n, c uintptr) *node {
	settles := registry.settles.Load()
	if x := registry.holding(p, n, c); x != nil {
		return x
	}
	if !registry.waiting.Load() && registry.settles.Load() == settles {
		return nil
	}
	registry.Lock()
	registry.settle()
	x := registry.holding(p, n, c)
	registry.Unlock()
	return x
}

// exact returns the mapping that m is exactly the view of, or nil.
func exact(m MMap) *region {
	if x := registry.exactly(addr(m), uintptr(len(m))); x != nil {
		return x.r
	}
	return nil
}

// liveCount is the number of live mappings, for tests.
func liveCount() int {
	registry.Lock()
	defer registry.Unlock()
	return registry.count()
}

// count is the number of nodes. Writers only.
func (s *liveSet) count() int { return s.idx.n + s.npend }

// holding returns the node that holds the n bytes at p, of a slice with
// capacity c, or nil.
func (s *liveSet) holding(p, n, c uintptr) *node {
	if t := s.ends.Load(); t != nil && n > 0 {
		// A slice that keeps its mapping's capacity. The start check
		// keeps out memory that merely ends where a mapping does. Empty
		// slices go to idx, which knows which of two adjacent mappings
		// they belong to.
		if x := t.find(p + c); x != nil && p >= x.start() {
			return x
		}
	}
	if x := s.idx.find(p); x != nil && p <= x.end() && n <= x.end()-p {
		return x
	}
	return nil
}

// exactly returns the node that starts at p and holds n bytes, or nil.
func (s *liveSet) exactly(p, n uintptr) *node {
	if t := s.ends.Load(); t != nil && n > 0 {
		if x := t.find(p + n); x != nil && x.start() == p {
			return x
		}
	}
	return nil
}

// add inserts x: into ends now, into idx when a lookup needs it. Writers
// only.
func (s *liveSet) add(x *node) {
	x.pend, x.pendPrev, x.pendNext = true, nil, s.pending
	if s.pending != nil {
		s.pending.pendPrev = x
	}
	s.pending = x
	s.npend++
	if !s.waiting.Load() {
		s.waiting.Store(true)
	}
	if t := s.ends.Load(); t != nil && 2*(t.used+1) <= len(t.slots) {
		t.put(x)
		return
	}
	s.rebuild() // x among the nodes
}

// remove deletes x, which is in s. Writers only.
func (s *liveSet) remove(x *node) {
	if x.pend {
		if x.pendPrev != nil {
			x.pendPrev.pendNext = x.pendNext
		} else {
			s.pending = x.pendNext
		}
		if x.pendNext != nil {
			x.pendNext.pendPrev = x.pendPrev
		}
		x.pend, x.pendPrev, x.pendNext = false, nil, nil
		s.npend--
	} else {
		s.idx.remove(x)
	}
	t := s.ends.Load()
	t.remove(x)
	if len(t.slots) > minSlots && 8*s.count() < len(t.slots) {
		s.rebuild() // give back what a burst of mappings took
	}
}

// settle moves the pending nodes into idx. The count of settles goes up
// before waiting is cleared, so a reader that sees waiting clear sees the
// settle too. Writers only.
func (s *liveSet) settle() {
	if !s.waiting.Load() {
		return
	}
	for x := s.pending; x != nil; {
		next := x.pendNext
		x.pend, x.pendPrev, x.pendNext = false, nil, nil
		s.idx.insert(x)
		x = next
	}
	s.pending, s.npend = nil, 0
	s.settles.Add(1)
	s.waiting.Store(false)
}

const minSlots = 16

// rebuild publishes a new ends table of every node, with three to six
// slots a node: room to grow or shrink by half before the next rebuild,
// which is O(n), so amortized O(1) a change. Writers only.
func (s *liveSet) rebuild() {
	size := max(minSlots, 1<<bits.Len(uint(3*s.count())))
	t := &endTable{slots: make([]atomic.Pointer[node], size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
	for y := s.idx.head[0].Load(); y != nil; y = y.next[0].Load() {
		t.put(y)
	}
	for y := s.pending; y != nil; y = y.pendNext {
		t.put(y)
	}
	s.ends.Store(t)
}

// endTable is an open-addressing hash table (linear probing) of nodes by
// end. Readers probe it with no lock; the writer fills empty slots and
// turns removed nodes into tombstones, and builds a new table from idx
// instead when fewer than half the slots would stay empty, or when the
// nodes fill less than an eighth of them.
type endTable struct {
	slots []atomic.Pointer[node] // a power of two of them; at least half empty
	shift uint                   // 64 - log2(len(slots))
	used  int                    // slots not empty: nodes and tombstones; writers only
}

// tombstone marks a removed node's slot, so that probes go past it. No
// slice ends at the last address, so no search matches it.
var tombstone = newNode(0, ^uintptr(0), nil)

// newNode is a node for [start, end) of r.
func newNode(start, end uintptr, r *region) *node {
	x := &node{r: r}
	x.bound(start, end)
	return x
}

func (t *endTable) home(end uintptr) uintptr {
	return uintptr(uint64(end) * 0x9e3779b97f4a7c15 >> t.shift) // Fibonacci hashing: the high bits mix every bit of end
}

// find returns the node that ends at end, or nil.
func (t *endTable) find(end uintptr) *node {
	mask := uintptr(len(t.slots) - 1)
	for i := t.home(end); ; i = (i + 1) & mask {
		if x := t.slots[i].Load(); x == nil || x.end() == end {
			return x
		}
	}
}

// put stores x in the first empty or tombstone slot of its probe sequence.
func (t *endTable) put(x *node) {
	mask := uintptr(len(t.slots) - 1)
	for i := t.home(x.end()); ; i = (i + 1) & mask {
		switch t.slots[i].Load() {
		case nil:
			t.used++
			fallthrough
		case tombstone:
			t.slots[i].Store(x)
			return
		}
	}
}

// remove turns x's slot into a tombstone. Writers only.
func (t *endTable) remove(x *node) {
	mask := uintptr(len(t.slots) - 1)
	for i := t.home(x.end()); ; i = (i + 1) & mask {
		switch t.slots[i].Load() {
		case x:
			t.slots[i].Store(tombstone)
			return
		case nil:
			return
		}
	}
}

// maxHeight bounds a node's levels in idx. Each level holds a quarter of
// the nodes of the one below, so 16 levels stay logarithmic up to 4^16
// mappings, far past any vm.max_map_count.
const maxHeight = 16

// skipList is a skip list of nodes ordered by start. Its zero value is
// empty.
type skipList struct {
	head   [maxHeight]atomic.Pointer[node] // the first node at each level
	height atomic.Int32                    // levels in use; searches start at the top one
	n      int                             // nodes; writers only
	seed   uint64                          // random's state; writers only
}

// random returns 64 random bits for a tower's height: xorshift64*, a
// tenth of the instructions of math/rand/v2's generator, ample for
// balancing a skip list (an adversary cannot see which nodes got towers).
// Writers only.
func (ix *skipList) random() uint64 {
	if ix.seed == 0 {
		ix.seed = rand.Uint64() | 1
	}
	ix.seed ^= ix.seed >> 12
	ix.seed ^= ix.seed << 25
	ix.seed ^= ix.seed >> 27
	return ix.seed * 0x2545f4914f6cdd1d
}

// find returns the node with the greatest start <= p, or nil.
func (ix *skipList) find(p uintptr) *node {
	var x *node
	links := ix.head[:]
	for l := int(ix.height.Load()) - 1; l >= 0; l-- {
		for {
			y := links[l].Load()
			if y == nil || y.start() > p {
				break
			}
			x, links = y, y.next
		}
	}
	return x
}

// link is the link at level l that leads out of x, or out of the head for
// nil.
func (ix *skipList) link(x *node, l int) *atomic.Pointer[node] {
	if x == nil {
		return &ix.head[l]
	}
	return &x.next[l]
}

// before fills preds with the last node, at each level in use, whose start
// is < p; nil for the head. Writers only.
func (ix *skipList) before(p uintptr, preds *[maxHeight]*node) {
	var x *node
	for l := int(ix.height.Load()) - 1; l >= 0; l-- {
		for {
			y := ix.link(x, l).Load()
			if y == nil || y.start() >= p {
				break
			}
			x = y
		}
		preds[l] = x
	}
}

// behind fills preds with x's predecessors by walking back from x at level
// 0: the one before it at level l is the nearest node behind it with more
// than l levels. For three nodes in four that is x.prev alone, and most
// others are a few steps away, which saves a search whose every step can
// miss the cache. false when the walk would take more than a few steps.
// Writers only.
func (ix *skipList) behind(x *node, preds *[maxHeight]*node) bool {
	y, steps := x.prev, 0
	for l := range len(x.next) {
		for y != nil && len(y.next) <= l {
			if steps++; steps > 8 {
				return false
			}
			y = y.prev
		}
		preds[l] = y
	}
	return true
}

// insert links x, whose next is not yet set. Writers only.
func (ix *skipList) insert(x *node) {
	// Level l with probability 4^-l: as short searches as halving gives,
	// with shorter towers.
	h := 1 + bits.TrailingZeros64(ix.random()|1<<(2*maxHeight-2))/2
	var preds [maxHeight]*node
	ix.before(x.start(), &preds)
	if h <= len(x.low) {
		x.next = x.low[:h]
	} else {
		x.next = make([]atomic.Pointer[node], h)
	}
	// Bottom up, each of x's links set before x is published at that
	// level, so a reader that reaches it at any level can go on from it.
	// Levels above the height in use start at the head: preds is nil there.
	for l := range h {
		link := ix.link(preds[l], l)
		x.next[l].Store(link.Load())
		link.Store(x)
	}
	x.prev = preds[0]
	x.indexed = true
	if y := x.next[0].Load(); y != nil {
		y.prev = x
	}
	if int32(h) > ix.height.Load() {
		ix.height.Store(int32(h))
	}
	ix.n++
}

// remove unlinks x. Writers only.
func (ix *skipList) remove(x *node) {
	var preds [maxHeight]*node
	if !ix.behind(x, &preds) {
		ix.before(x.start(), &preds)
	}
	// x keeps its own links: a reader standing on it walks on.
	for l := len(x.next) - 1; l >= 0; l-- {
		if link := ix.link(preds[l], l); link.Load() == x {
			link.Store(x.next[l].Load())
		}
	}
	if y := x.next[0].Load(); y != nil {
		y.prev = x.prev
	}
	if h := ix.height.Load(); ix.head[h-1].Load() == nil {
		for h > 0 && ix.head[h-1].Load() == nil {
			h--
		}
		ix.height.Store(h)
	}
	ix.n--
}
