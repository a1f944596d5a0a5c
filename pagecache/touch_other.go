//go:build !linux

package pagecache

// Touch elsewhere always maps: there is no cachestat to ask first.

const readLimit = 0

func touchByRead(span) (Residency, bool, error) { return Residency{}, false, nil }

// residencyHidden: mincore tells the truth here.
func residencyHidden(span) bool { return false }
