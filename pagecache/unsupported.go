//go:build !linux

package pagecache

import (
	"errors"
	"fmt"
	"runtime"
)

// Evict and Refold outside Linux: no posix_fadvise that drops pages (macOS
// has none; the BSDs' POSIX_FADV_DONTNEED is a hint), no large folios to
// ask for.

func osEvict(s span) error {
	return fmt.Errorf("pagecache: Evict of %s on %s: %w", s.f.Name(), runtime.GOOS, errors.ErrUnsupported)
}

func osRefold(s span) (Residency, error) {
	return Residency{}, fmt.Errorf("pagecache: Refold of %s on %s: %w", s.f.Name(), runtime.GOOS, errors.ErrUnsupported)
}
