package pagecache

import (
	"io"
	"sync"
)

// Touch of a small range on Linux: read(2), no mapping.

// readLimit is the largest range Touch reads rather than maps.
const readLimit = hugeBlock

// readBuffers are Touch's scratch buffers, so that touching many small
// files allocates nothing per file.
var readBuffers = sync.Pool{New: func() any { return new([256 << 10]byte) }}

// touchByRead asks cachestat whether anything of s is missing and, if so,
// reads s with pread(2), which brings in the pages it reads (and the
// kernel's read-ahead) and dirties nothing. Where the kernel hides the
// file's cache from this caller it reads everything and reports every
// page resident, which it was when read. ok is false where there is no
// cachestat: the caller maps instead.
func touchByRead(s span) (r Residency, ok bool, err error) {
	before, err := cachestat(s)
	hidden := err != nil && cachestatHidden(err)
	switch {
	case err != nil && cachestatMissing(err):
		return Residency{}, false, nil
	case err != nil && !hidden:
		return Residency{}, true, err
	case !hidden && before.Resident == before.Pages:
		return before, true, nil
	}
	buf := readBuffers.Get().(*[256 << 10]byte)
	defer readBuffers.Put(buf)
	for off := s.off; off < s.off+s.n; {
		n, err := s.f.ReadAt(buf[:min(int64(len(buf)), s.off+s.n-off)], off)
		off += int64(n)
		if err == io.EOF {
			break // truncated meanwhile: what is left is counted as it is
		}
		if err != nil {
			return Residency{}, true, err
		}
	}
	if hidden {
		return unknown(s.pages(), s.pages()), true, nil
	}
	r, err = cachestat(s)
	return r, true, err
}
