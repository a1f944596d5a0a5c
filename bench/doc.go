// Package bench compares github.com/hugemap/mmap with its peers; see README.md.
package bench
