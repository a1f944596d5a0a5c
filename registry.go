package mmap

import (
	"fmt"
	"sync"
	"unsafe"
)

// The registry of live mappings. It is what lets Unmap refuse a derived
// slice or a second unmap, and what gives methods the real base and length;
// a slice alone carries neither.
//
// It is keyed by the address just past the caller's last byte. Every MMap is
// handed out with cap == len, and slicing keeps the end of the capacity, so
// any m[i:j] of a mapping finds it with one map lookup; only a three-index
// slice that cut the capacity needs the walk in lookup.
var registry struct {
	sync.RWMutex // readers: every operation's lookup; writers: map, unmap, resize
	live         map[uintptr]*region
}

func addr(m MMap) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(m))) }

// capEnd is the address just past m's capacity.
func capEnd(m MMap) uintptr { return addr(m) + uintptr(cap(m)) }

// register records r and returns the caller's view of it.
func register(r *region) MMap {
	m := r.data()
	registry.Lock()
	if registry.live == nil {
		registry.live = make(map[uintptr]*region)
	}
	registry.live[capEnd(m)] = r
	registry.Unlock()
	return m
}

// unregister removes the mapping that m is exactly the view of.
func unregister(m MMap) (*region, error) {
	registry.Lock()
	defer registry.Unlock()
	end := capEnd(m)
	r := registry.live[end]
	if r == nil || addr(m) != r.start() || len(m) != r.len {
		return nil, fmt.Errorf("%w: Unmap needs the slice that Map returned; %d bytes at %#x are a derived slice or already unmapped", ErrNotMapped, len(m), addr(m))
	}
	delete(registry.live, end)
	return r, nil
}

// lookup finds the live mapping that holds every byte of m, and where m
// starts relative to the mapping's base.
func lookup(m MMap) (*region, uintptr) {
	p, n := addr(m), uintptr(len(m))
	registry.RLock()
	defer registry.RUnlock()
	if r := registry.live[capEnd(m)]; r != nil && p >= r.start() {
		return r, r.lead + (p - r.start())
	}
	for _, r := range registry.live {
		if s := r.start(); p >= s && p-s <= uintptr(r.len) && n <= uintptr(r.len)-(p-s) {
			return r, r.lead + (p - s)
		}
	}
	return nil, 0
}

// exact returns the mapping that m is exactly the view of, or nil.
func exact(m MMap) *region {
	registry.RLock()
	defer registry.RUnlock()
	r := registry.live[capEnd(m)]
	if r == nil || addr(m) != r.start() || len(m) != r.len {
		return nil
	}
	return r
}

// liveCount is the number of live mappings, for tests.
func liveCount() int {
	registry.RLock()
	defer registry.RUnlock()
	return len(registry.live)
}
