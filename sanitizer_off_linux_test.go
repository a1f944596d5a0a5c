//go:build !(race || asan || msan)

package mmap

const sanitizer = false
