// Package shm shares memory between processes, sealed against the peers
// that hold it, and maps a double-mapped ring buffer.
//
// # Segments
//
// [Create] makes an anonymous shared-memory object (Linux: memfd_create);
// [Segment.File] is its descriptor, to hand to another process
// (exec.Cmd.ExtraFiles, SCM_RIGHTS), where [FromFile] takes it back;
// [Segment.Map] maps it as an ordinary [mmap.MMap], so Unmap, Flush,
// ReadAt, Info and Stats of package mmap work on it.
//
// [Segment.Seal] adds seals that bind every holder for as long as the
// segment lives. The one that matters most is [SealShrink]: a peer that
// truncates a shared file under another process's mapping makes that
// process's next access to the lost pages fault (SIGBUS, which kills a Go
// program; package mmap's ReadAt reports it as [mmap.ErrFault]). Once a
// segment is sealed against shrinking, the kernel refuses the truncate
// (EPERM) to everyone, so that class of bug cannot happen: a receiver that
// checks [Segment.Seals] for SealShrink (and SealGrow, for a fixed size)
// can map the segment and touch every byte without guarding its accesses.
// [SealWrite] and [SealFutureWrite] make it read-only to everyone, or to
// everyone but the mappings that already exist.
//
// # The ring
//
// [NewRing] maps one shared-memory object twice, back to back, inside one
// reservation of address space: [Ring.Bytes] has 2*size bytes and byte i
// is byte i+size. A producer writes a record that runs past the end of
// the ring with one copy, and a consumer reads it as one contiguous slice,
// where a plain ring buffer copies in two pieces at the wrap.
//
// # Platforms
//
// Linux runs every test (cgo and CGO_ENABLED=0, amd64 natively, arm64 and
// arm under qemu-user); Windows runs its tests under Wine 8; FreeBSD and
// macOS are compiled and vetted only, so their rows come from their
// documentation, not from a test run.
//
//	                 Linux                       FreeBSD 13+                  macOS                      Windows
//	Create           memfd_create                shm_open2(SHM_ANON)          shm_open, shm_unlink       CreateFileMapping(INVALID_HANDLE_VALUE),
//	                 (CLOEXEC, ALLOW_SEALING,    (SHM_ALLOW_SEALING)          at once                    inheritable handle
//	                 NOEXEC_SEAL from 6.3)
//	HUGETLB          MFD_HUGETLB, size code;     ErrUnsupported               ErrUnsupported             ErrUnsupported
//	                 size rounded to the page
//	Seal, Seals      F_ADD_SEALS, F_GET_SEALS    same; no FutureWrite, Exec   ErrUnsupported             ErrUnsupported
//	Map              mmap.MapRegion of the fd    same                         same                       MapViewOfFile of the section,
//	                                                                                                     registered with package mmap
//	FromFile         any regular file            same                         same                       a section handle only
//	                 (hugetlbfs recognised)                                                              (NtQuerySection for its size)
//	NewRing          memfd, PROT_NONE            shm_open2, MAP_FIXED         shm_open, MAP_FIXED        placeholders (VirtualAlloc2,
//	                 reservation, MAP_FIXED      (64-bit only)                (64-bit)                   MapViewOfFile3); ErrUnsupported
//	                 halves                                                                              without them (Wine 8)
//
// Other systems compile, and every call fails with errors.ErrUnsupported.
package shm
