/*
 * nmdi/rkey.h — record keys for the cell key method: a number in [0,1) fixed
 * per record, derived from the record's pseudonymised key and the
 * infrastructure's secret with keyed BLAKE2b (libsodium crypto_generichash).
 * The same record always gets the same key (so the same cell gets the same
 * noise in every table), and nobody without the secret can compute it.
 * It lives in core so that ingest can store the keys at load time and
 * protect can use them (modules only use those left of them).
 *
 * Keys are multiples of 2^-52, the resolution of the exact cell keys of
 * nmdi/tabulate.h. Reentrant; no state.
 */
#ifndef NMDI_RKEY_H
#define NMDI_RKEY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NMDI_RKEY_SECRET_MIN 16
#define NMDI_RKEY_SECRET_MAX 64

/* Derive the key of the record whose pseudonymised key is pkey (pkey_len
 * bytes) with secret (16..64 bytes). Returns 0, NMDI_EDATA for a bad secret
 * length, NMDI_EINTERNAL when libsodium fails. */
int nmdi_rkey_derive(const unsigned char *secret, size_t secret_len, const char *pkey,
                     size_t pkey_len, double *out);

#ifdef __cplusplus
}
#endif
#endif
