/*
 * rkey.c — record keys of the cell key method (nmdi/rkey.h): keyed BLAKE2b of
 * a domain label and the pseudonymised key, the first 52 bits as a fraction.
 */
#include "nmdi/rkey.h"
#include "nmdi/core.h"

#include <math.h>
#include <sodium.h>
#include <stdint.h>

int nmdi_rkey_derive(const unsigned char *secret, size_t secret_len, const char *pkey,
                     size_t pkey_len, double *out)
{
    if (!secret || secret_len < NMDI_RKEY_SECRET_MIN || secret_len > NMDI_RKEY_SECRET_MAX)
        return NMDI_EDATA;
    /* domain separation: the same secret also serves pseudonymisation */
    static const char label[] = "nmdi record key v1";
    unsigned char h[8];
    crypto_generichash_state st;
    if (crypto_generichash_init(&st, secret, secret_len, sizeof h) != 0 ||
        crypto_generichash_update(&st, (const unsigned char *)label, sizeof label) != 0 ||
        crypto_generichash_update(&st, (const unsigned char *)pkey, pkey_len) != 0 ||
        crypto_generichash_final(&st, h, sizeof h) != 0)
        return NMDI_EINTERNAL;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = (x << 8) | h[i];
    *out = ldexp((double)(x >> 12), -52);
    return 0;
}
