//go:build !windows

package pagecache

import "github.com/hugemap/mmap"

// Stat through a short-lived mapping and mincore: Linux without cachestat,
// the other Unix systems. (On Windows the counterpart, QueryWorkingSetEx,
// sees this process's working set, not the file cache.)

// mincoreStat is Stat through mappings and mincore: Pages and Resident,
// the rest unknown.
func mincoreStat(s span) (Residency, error) {
	var resident int64
	err := eachWindow(s, func(m mmap.MMap, _ int64) error {
		n, _, err := m.Resident()
		resident += int64(n)
		return err
	})
	if err != nil {
		return Residency{}, err
	}
	return unknown(s.pages(), resident), nil
}
