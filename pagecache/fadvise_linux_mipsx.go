//go:build linux && (mips || mipsle)

package pagecache

import "syscall"

// fadvise on 32-bit MIPS would need the o32 convention's padded argument
// pairs on the stack; this package does not make that call there.
func fadvise(uintptr, int64, int64, int) syscall.Errno { return syscall.ENOSYS }
