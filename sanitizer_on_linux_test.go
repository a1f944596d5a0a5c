//go:build race || asan || msan

package mmap

// sanitizer: this test binary carries a sanitizer whose runtime needs
// mappings of its own, so a test that uses up vm.max_map_count kills it.
const sanitizer = true
