/*
 * bcryptprimitives.dll for Wine builds that lack ProcessPrng (Debian 12's
 * Wine 8.0). Go >= 1.24 Windows binaries import ProcessPrng at start-up
 * and abort without it. RtlGenRandom (advapi32's SystemFunction036) gives
 * the same bytes from the system generator.
 *
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll processprng.c
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* ProcessPrng fills buf with n random bytes; it is documented to always
 * return TRUE. RtlGenRandom takes a ULONG, so large requests go in chunks. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE buf, SIZE_T n)
{
	while (n > 0) {
		ULONG chunk = n > 0x40000000 ? 0x40000000 : (ULONG)n;
		if (!SystemFunction036(buf, chunk))
			return FALSE;
		buf += chunk;
		n -= chunk;
	}
	return TRUE;
}
