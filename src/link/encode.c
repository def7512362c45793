/*
 * encode.c — keyed linkage encodings for privacy-preserving record linkage:
 * keyed hashes of normalised values and of their Soundex codes, and bigram
 * Bloom filters whose bit positions come from a keyed hash (compared by Dice
 * similarity). Ingest calls these with the infrastructure's secret key, so
 * clear identifiers never reach the store; nmdi_link compares the encodings.
 * All hashing is libsodium crypto_generichash (BLAKE2b) keyed with the
 * caller's 32-byte key.
 */
#include "nmdi/link.h"

#include <sodium.h>
#include <string.h>

static const char HEX[] = "0123456789abcdef";

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX[b[i] >> 4];
        out[2 * i + 1] = HEX[b[i] & 15];
    }
    out[2 * n] = 0;
}

/* keyed hash of a domain tag and a value, written as tag + 32 hex digits */
static int keyed(const char *tag, const char *v, size_t n, const unsigned char *key, char *out)
{
    if (sodium_init() < 0)
        return -1;
    unsigned char h[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, NMDI_LINK_KEY_BYTES, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)tag, strlen(tag) + 1);
    crypto_generichash_update(&st, (const unsigned char *)v, n);
    crypto_generichash_final(&st, h, sizeof h);
    memcpy(out, tag, 3);
    hex(h, sizeof h, out + 3);
    return 0;
}

int nmdi_link_encode_hash(const char *clear, const unsigned char key[NMDI_LINK_KEY_BYTES],
                          char out[NMDI_LINK_ENC_MAX])
{
    char norm[NMDI_LINK_MAXLEN + 1];
    size_t n = nmdi_link_normalise(clear, strlen(clear), norm, sizeof norm);
    out[0] = 0;
    if (n == 0)
        return 0;
    return keyed("h1:", norm, n, key, out);
}

int nmdi_link_encode_phonetic(const char *clear, const unsigned char key[NMDI_LINK_KEY_BYTES],
                              char out[NMDI_LINK_ENC_MAX])
{
    char code[5];
    out[0] = 0;
    if (nmdi_link_soundex(clear, strlen(clear), code) == 0)
        return 0;
    return keyed("p1:", code, 4, key, out);
}

#define BLOOM_BYTES (NMDI_LINK_BLOOM_BITS / 8)
#define BLOOM_K 15

int nmdi_link_encode_bloom(const char *clear, const unsigned char key[NMDI_LINK_KEY_BYTES],
                           char out[NMDI_LINK_ENC_MAX])
{
    char norm[NMDI_LINK_MAXLEN + 3];
    out[0] = 0;
    size_t n = nmdi_link_normalise(clear, strlen(clear), norm + 1, NMDI_LINK_MAXLEN + 1);
    if (n == 0)
        return 0;
    if (sodium_init() < 0)
        return -1;
    /* padded bigrams: "_ab_" gives _a, ab, b_ */
    norm[0] = '_';
    norm[n + 1] = '_';
    unsigned char bits[BLOOM_BYTES];
    memset(bits, 0, sizeof bits);
    for (size_t i = 0; i + 1 < n + 2; i++) {
        unsigned char h[8];
        crypto_generichash(h, sizeof h, (const unsigned char *)norm + i, 2, key,
                           NMDI_LINK_KEY_BYTES);
        uint32_t h1 = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
                      (uint32_t)h[3] << 24;
        uint32_t h2 = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 |
                      (uint32_t)h[7] << 24;
        h2 |= 1; /* odd step: distinct positions modulo a power of two */
        for (uint32_t k = 0; k < BLOOM_K; k++) {
            uint32_t pos = (h1 + k * h2) % NMDI_LINK_BLOOM_BITS;
            bits[pos / 8] |= (unsigned char)(1u << (pos % 8));
        }
    }
    memcpy(out, "b1:", 3);
    hex(bits, sizeof bits, out + 3);
    return 0;
}

static int unhex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int nmdi_link_bloom_decode(const char *enc, unsigned char bits[NMDI_LINK_BLOOM_BITS / 8])
{
    if (strncmp(enc, "b1:", 3) != 0 || strlen(enc) != 3 + 2 * BLOOM_BYTES)
        return -1;
    for (size_t i = 0; i < BLOOM_BYTES; i++) {
        int hi = unhex(enc[3 + 2 * i]), lo = unhex(enc[4 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -1;
        bits[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

double nmdi_link_encoding_dice(const char *a, const char *b)
{
    unsigned char x[BLOOM_BYTES], y[BLOOM_BYTES];
    if (nmdi_link_bloom_decode(a, x) < 0 || nmdi_link_bloom_decode(b, y) < 0)
        return -1.0;
    int na = 0, nb = 0, nab = 0;
    for (size_t i = 0; i < BLOOM_BYTES; i++) {
        na += __builtin_popcount(x[i]);
        nb += __builtin_popcount(y[i]);
        nab += __builtin_popcount(x[i] & y[i]);
    }
    if (na + nb == 0)
        return 1.0;
    return 2.0 * nab / (double)(na + nb);
}
