//go:build (darwin || freebsd) && (amd64 || arm64 || riscv64)

package shm

// reserveFlags: FreeBSD refuses MAP_NORESERVE (EINVAL) and macOS ignores
// it; a PROT_NONE reservation costs no memory on either.
const reserveFlags = 0
