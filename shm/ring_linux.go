package shm

import "syscall"

// reserveFlags keep the ring's PROT_NONE reservation from counting against
// the commit limit.
const reserveFlags = syscall.MAP_NORESERVE
