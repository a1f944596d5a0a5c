// Package crash holds the crash-durability and fault tests of
// github.com/hugemap/mmap: child processes that write through mappings and
// are killed with SIGKILL, and files truncated under live mappings. The
// tests are Linux-only (crash_linux_test.go, fault_linux_test.go); this file
// gives the package a body on every platform.
package crash
