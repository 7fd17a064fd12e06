/*
 * Stand-in bcryptprimitives.dll for running Go >= 1.24 Windows binaries
 * under Wine 8, which does not ship bcryptprimitives.dll. Go's runtime
 * imports ProcessPrng from it; we forward to BCryptGenRandom.
 *
 * Build (see setup.sh):
 *   x86_64-w64-mingw32-gcc -shared -O2 -s -o bcryptprimitives.dll \
 *     bcryptprimitives.c bcryptprimitives.def -lbcrypt
 */
#include <windows.h>
#include <bcrypt.h>

#ifndef STATUS_SUCCESS
#define STATUS_SUCCESS ((NTSTATUS)0x00000000L)
#endif

BOOL WINAPI ProcessPrng(PBYTE buf, SIZE_T len)
{
    /* BCryptGenRandom takes a ULONG length; loop for huge requests. */
    while (len > 0) {
        ULONG n = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        if (BCryptGenRandom(NULL, buf, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != STATUS_SUCCESS)
            return FALSE;
        buf += n;
        len -= n;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)inst; (void)reason; (void)reserved;
    return TRUE;
}
