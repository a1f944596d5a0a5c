package mmap

import "errors"

// osRemap: Windows cannot resize a view; Resize maps anew and copies.
func osRemap(*region, int) (*region, error) { return nil, errors.ErrUnsupported }
