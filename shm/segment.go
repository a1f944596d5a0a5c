package shm

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strings"

	"github.com/hugemap/mmap"
)

// The segment: one shared-memory object, its size, and the argument checks
// every platform shares. What each system does is in segment_<os>.go.

// Segment is a shared-memory object: anonymous (it has no path another
// process could open), alive while a descriptor or a mapping of it lives,
// and shared by passing its descriptor ([Segment.File]) to another process.
//
// The methods of one Segment may be called from any number of goroutines;
// Close must not race with the others, as with an *os.File.
type Segment struct {
	f *os.File
	// size is the length Map maps: the size at Create (rounded up to the
	// hugepage size) or FromFile.
	size int
	// hugePage is the hugetlb page size of a hugetlb segment, else 0.
	hugePage int
}

// Seal is a set of seals (fcntl F_ADD_SEALS on Linux and FreeBSD): each
// forbids one change of the segment to everyone who holds it, for as long
// as it lives. Seals can be added, never removed.
type Seal uint

// The seals, with Linux's F_SEAL_* values.
const (
	// SealSeal forbids adding seals.
	SealSeal Seal = 1 << iota
	// SealShrink forbids making the segment smaller (ftruncate to less),
	// so a mapping of it can never reach past its end: no peer can make
	// another process's accesses fault (SIGBUS).
	SealShrink
	// SealGrow forbids making the segment larger.
	SealGrow
	// SealWrite forbids every write, through write(2) and through
	// mappings. The kernel refuses it (EBUSY) while a writable shared
	// mapping of the segment exists anywhere.
	SealWrite
	// SealFutureWrite forbids new writable mappings and write(2), but
	// lets writable mappings that exist keep writing (Linux 5.1+): the
	// producer keeps its mapping, consumers can only read.
	SealFutureWrite
	// SealExec forbids making the segment executable (Linux 6.3+); the
	// kernel sets it on segments this package creates there
	// (MFD_NOEXEC_SEAL).
	SealExec

	allSeals = SealSeal | SealShrink | SealGrow | SealWrite | SealFutureWrite | SealExec
)

var sealNames = []string{"seal", "shrink", "grow", "write", "future-write", "exec"}

// String names the seals in s, joined by "|": "shrink|grow".
func (s Seal) String() string {
	if s == 0 {
		return "none"
	}
	var names []string
	for i, name := range sealNames {
		if s&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	if rest := s &^ allSeals; rest != 0 {
		names = append(names, fmt.Sprintf("%#x", uint(rest)))
	}
	return strings.Join(names, "|")
}

// ErrInvalidSeal: Seal was given bits this package does not define.
var ErrInvalidSeal = errors.New("shm: invalid seal")

// Create makes a new anonymous shared-memory segment of size bytes, zeroed,
// and opens it read-write. name is for people (Linux shows it in
// /proc/<pid>/fd as memfd:name); it need not be unique, and nobody can open
// the segment by it. flags may be 0 or [mmap.HUGETLB], with [mmap.HUGE_1GB]
// for 1 GiB pages instead of the default hugepage size; a hugetlb
// segment's size is rounded up to a whole number of its pages, and
// [Segment.Size] says what it became. Other flags wrap
// [mmap.ErrInvalidFlags]; a size ≤ 0 wraps [mmap.ErrInvalidLength].
//
// Linux: memfd_create(MFD_CLOEXEC|MFD_ALLOW_SEALING, and MFD_NOEXEC_SEAL
// from 6.3 on), MFD_HUGETLB with the page size's code for HUGETLB, then
// ftruncate. The pages come from the hugetlb pool when mapped (the map
// fails if the pool is short). FreeBSD 13+: shm_open2(SHM_ANON,
// SHM_ALLOW_SEALING), which is what its memfd_create does; HUGETLB is
// ErrUnsupported. macOS: shm_open of a random name, unlinked at once, so it
// is as anonymous as the others; no seals; HUGETLB ErrUnsupported. Windows:
// a pagefile-backed section (CreateFileMapping(INVALID_HANDLE_VALUE)) with
// an inheritable handle; HUGETLB ErrUnsupported. Elsewhere every call
// fails with errors.ErrUnsupported.
func Create(name string, size int, flags int) (*Segment, error) {
	if size <= 0 {
		return nil, fmt.Errorf("%w: a segment needs a size > 0, got %d", mmap.ErrInvalidLength, size)
	}
	if rest := flags &^ (mmap.HUGETLB | mmap.HUGE_1GB); rest != 0 {
		return nil, fmt.Errorf("%w: Create takes mmap.HUGETLB and mmap.HUGE_1GB, not the bits %#x of flags %#x (the other flags are for Map)", mmap.ErrInvalidFlags, rest, flags)
	}
	if flags&mmap.HUGE_1GB != 0 && flags&mmap.HUGETLB == 0 {
		return nil, fmt.Errorf("%w: HUGE_1GB without HUGETLB", mmap.ErrInvalidFlags)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return nil, fmt.Errorf("shm: segment name %q holds a NUL byte: %w", name, fs.ErrInvalid)
	}
	return create(name, size, flags)
}

// FromFile makes a Segment of f, a shared-memory object that another
// process (or Create) made and passed on: through exec.Cmd.ExtraFiles
// (os.NewFile(3, name) in the child), SCM_RIGHTS, or on Windows an
// inherited handle (os.NewFile(handle, name)). The Segment takes f over:
// its Close closes f (on error f is left open, the caller's). Its size is f's size now; a peer can still change
// that unless the segment is sealed against it (SealShrink, SealGrow).
//
// Unix: any regular file can be a segment (a memfd, a POSIX shm object, a
// file on tmpfs); seals are what its file system allows. A hugetlbfs file
// (a MFD_HUGETLB memfd) is recognised, and Map asks for its page size.
// Windows: f's handle must be a section (a file mapping object), as
// [Segment.File] gives; its size is the section's.
func FromFile(f *os.File) (*Segment, error) {
	if f == nil {
		return nil, fmt.Errorf("%w: FromFile of a nil *os.File", mmap.ErrNoFile)
	}
	s := &Segment{f: f}
	var size int64
	err := control(f, "fstat", func(fd uintptr) (err error) {
		size, s.hugePage, err = fileInfo(fd)
		return err
	})
	if err != nil {
		return nil, err
	}
	if size > math.MaxInt {
		return nil, fmt.Errorf("%w: %s holds %d bytes, more than an int here", mmap.ErrInvalidLength, f.Name(), size)
	}
	s.size = int(size)
	return s, nil
}

// Map maps the whole segment, [Segment.Size] bytes, as mmap.MapRegion maps
// a file: prot [mmap.RDWR] for a shared writable mapping that every
// process holding the segment sees, [mmap.RDONLY], or [mmap.COPY] for a
// private copy-on-write one; flags are MapRegion's hints (POPULATE, LOCK,
// ...), and ANON is ErrInvalidFlags. The result is an ordinary [mmap.MMap]:
// Unmap, Flush, ReadAt, Info and Stats work on it, and it outlives the
// Segment (Close does not unmap it).
//
// A hugetlb segment is mapped with mmap.HUGE added, so that package mmap
// looks up its page size: Info reports HugetlbPages, and Unmap passes
// munmap the length rounded up to whole hugepages.
func (s *Segment) Map(prot, flags int) (mmap.MMap, error) {
	if flags&mmap.ANON != 0 {
		return nil, fmt.Errorf("%w: ANON maps no segment", mmap.ErrInvalidFlags)
	}
	if s.hugePage != 0 && flags&(mmap.HUGE|mmap.HUGETLB) == 0 {
		flags |= mmap.HUGE
	}
	return osMap(s, prot, flags)
}

// Seal adds seals to the segment (fcntl F_ADD_SEALS): from then on nobody
// holding it can make the changes they forbid. Unknown bits wrap
// [ErrInvalidSeal]. The system's refusals wrap its errno: EBUSY for
// SealWrite while a writable shared mapping exists, EPERM once SealSeal is
// set or where the descriptor is not writable, EINVAL where the file
// cannot be sealed. macOS and Windows have no seals: errors.ErrUnsupported.
func (s *Segment) Seal(seals Seal) error {
	if rest := seals &^ allSeals; rest != 0 {
		return fmt.Errorf("%w: unknown bits %#x in %#x", ErrInvalidSeal, uint(rest), uint(seals))
	}
	return control(s.f, "seal", func(fd uintptr) error { return addSeals(fd, seals) })
}

// Seals reports the seals the segment has (fcntl F_GET_SEALS).
// macOS and Windows: errors.ErrUnsupported.
func (s *Segment) Seals() (Seal, error) {
	var seals Seal
	err := control(s.f, "seals", func(fd uintptr) (err error) {
		seals, err = getSeals(fd)
		return err
	})
	return seals, err
}

// File is the segment's descriptor, to pass to another process: in
// exec.Cmd.ExtraFiles (Unix), over a Unix socket with SCM_RIGHTS, or on
// Windows as an inherited handle (its handle is inheritable;
// exec.Cmd.ExtraFiles is not supported there, so put it in
// SysProcAttr.AdditionalInheritedHandles and tell the child its value).
// The Segment owns it: do not close it, call Close. On Windows the
// *os.File holds the section handle: Fd, Close and passing it on work,
// Read, Write and Stat do not.
func (s *Segment) File() *os.File { return s.f }

// Size is the number of bytes Map maps.
func (s *Segment) Size() int { return s.size }

// Close closes the segment's descriptor. Mappings made by Map stay valid,
// and the memory lives until the last descriptor and mapping of it, in any
// process, are gone. A second Close is an error wrapping os.ErrClosed.
func (s *Segment) Close() error { return s.f.Close() }

// control runs fn with f's descriptor held open, naming op and f in the
// error, as package mmap does with the files it maps.
func control(f *os.File, op string, fn func(fd uintptr) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return &fs.PathError{Op: op, Path: f.Name(), Err: err}
	}
	var fnErr error
	if err := rc.Control(func(fd uintptr) { fnErr = fn(fd) }); err != nil {
		return &fs.PathError{Op: op, Path: f.Name(), Err: fs.ErrClosed}
	}
	if fnErr != nil {
		if _, ok := fnErr.(*fs.PathError); !ok {
			fnErr = &fs.PathError{Op: op, Path: f.Name(), Err: fnErr}
		}
	}
	return fnErr
}
