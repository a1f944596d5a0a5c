package mmap

import (
	"fmt"
	"sync"
	"unsafe"
)

// The registry of live mappings, keyed by the address of the first byte
// handed to the caller. It is what lets Unmap refuse a derived slice or a
// second unmap, and what gives methods the real base and length; a slice
// alone carries neither.
var registry struct {
	sync.Mutex
	live map[uintptr]*region
}

func addr(m MMap) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(m))) }

// register records r and returns the caller's view of it.
func register(r *region) MMap {
	m := r.data()
	registry.Lock()
	if registry.live == nil {
		registry.live = make(map[uintptr]*region)
	}
	registry.live[addr(m)] = r
	registry.Unlock()
	return m
}

// unregister removes the mapping that m is exactly the view of.
func unregister(m MMap) (*region, error) {
	registry.Lock()
	defer registry.Unlock()
	p := addr(m)
	r := registry.live[p]
	if r == nil || r.len != len(m) {
		return nil, fmt.Errorf("%w: Unmap needs the slice that Map returned; %d bytes at %#x are a derived slice or already unmapped", ErrNotMapped, len(m), p)
	}
	delete(registry.live, p)
	return r, nil
}

// lookup finds the live mapping that holds every byte of m, and where m
// starts relative to the mapping's base. The exact view is found by key;
// a derived slice costs a walk over the live mappings.
func lookup(m MMap) (*region, uintptr) {
	p := addr(m)
	registry.Lock()
	defer registry.Unlock()
	if r := registry.live[p]; r != nil && len(m) <= r.len {
		return r, r.lead
	}
	for start, r := range registry.live {
		if p > start && p-start <= uintptr(r.len) && uintptr(len(m)) <= uintptr(r.len)-(p-start) {
			return r, r.lead + (p - start)
		}
	}
	return nil, 0
}
