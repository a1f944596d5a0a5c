package pagecache

import (
	"errors"
	"fmt"
)

// Stat on Windows: the file cache cannot be asked without bringing the
// file in (a view's working set says what this process touched, not what
// the cache holds).

func osStat(s span) (Residency, error) {
	return Residency{}, fmt.Errorf("pagecache: Stat of %s: Windows does not say which pages of a file its cache holds: %w", s.f.Name(), errors.ErrUnsupported)
}
