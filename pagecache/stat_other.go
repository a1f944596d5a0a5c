//go:build !linux && !windows

package pagecache

// Stat on other systems: mincore over a short-lived mapping (where package
// mmap has no backend, the mapping fails with errors.ErrUnsupported).

func osStat(s span) (Residency, error) { return mincoreStat(s) }
