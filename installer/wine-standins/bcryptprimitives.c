/* Wine stand-in for Windows 10's bcryptprimitives.dll: cryptography >= 43 (its Rust standard library)
   imports ProcessPrng, which Wine 8 lacks. Only ever copied into a Wine prefix, never into the MSI. */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!RtlGenRandom(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
