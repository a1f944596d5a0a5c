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
// kernel's read-ahead) and dirties nothing. ok is false where that cannot
// do: no cachestat, a cache the kernel hides from this caller (nothing
// would say whether the read brought everything in), or pages still
// missing after the read (holes of a tmpfs file, which read(2) answers
// with zeros without caching them): the caller maps instead.
func touchByRead(s span) (r Residency, ok bool, err error) {
	before, err := cachestat(s)
	switch {
	case err != nil && (cachestatMissing(err) || cachestatHidden(err)):
		return Residency{}, false, nil
	case err != nil:
		return Residency{}, true, err
	case before.Resident == before.Pages:
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
	r, err = cachestat(s)
	return r, err != nil || r.Resident == r.Pages, err
}
