package pagecache

// Touch of a small range on Linux: read(2), no mapping.

// readLimit is the largest range Touch reads rather than maps.
const readLimit = hugeBlock

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
	if err := readRuns(s.f, s.off, []span32{{0, int(s.n)}}); err != nil {
		return Residency{}, true, err
	}
	r, err = cachestat(s)
	return r, err != nil || r.Resident == r.Pages, err
}
