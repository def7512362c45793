/*
 * sum64.h — the checksum of store files (internal to src/store): a streaming
 * 64-bit hash over 32-byte stripes in four multiply-rotate lanes, then a
 * final avalanche; the result does not depend on how the bytes were split
 * between updates. It guards against damage (a torn write, a flipped bit, a
 * truncated or swapped file: a wrong file passes with probability 2^-64),
 * not against someone who rewrites both a file and the manifest — nor would
 * an unkeyed cryptographic hash next to the file. It runs at memory speed,
 * where BLAKE2b over every column file took a fifth of a load's CPU time
 * (docs/performance.md). Manifests written before it carry "blake2b" sums,
 * which nmdi_dataset_verify still checks.
 */
#ifndef NMDI_STORE_SUM64_H
#define NMDI_STORE_SUM64_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SUM64_P1 0x9E3779B185EBCA87ULL
#define SUM64_P2 0xC2B2AE3D27D4EB4FULL
#define SUM64_P3 0x165667B19E3779F9ULL

typedef struct sum64 {
    uint64_t v[4];
    uint64_t total;
    unsigned char tail[32];
    size_t ntail;
} sum64;

static inline uint64_t sum64_rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t sum64_lane(uint64_t acc, uint64_t x)
{
    return sum64_rotl(acc + x * SUM64_P2, 31) * SUM64_P1;
}

static inline void sum64_init(sum64 *s)
{
    s->v[0] = SUM64_P1 + SUM64_P2;
    s->v[1] = SUM64_P2;
    s->v[2] = 0;
    s->v[3] = 0 - SUM64_P1;
    s->total = 0;
    s->ntail = 0;
}

static inline void sum64_stripe(sum64 *s, const unsigned char *p)
{
    for (int i = 0; i < 4; i++) {
        uint64_t x;
        memcpy(&x, p + 8 * i, 8);
        s->v[i] = sum64_lane(s->v[i], x);
    }
}

static inline void sum64_update(sum64 *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (!len)
        return; /* data may be NULL then */
    s->total += len;
    if (s->ntail) {
        size_t take = 32 - s->ntail < len ? 32 - s->ntail : len;
        memcpy(s->tail + s->ntail, p, take);
        s->ntail += take;
        p += take;
        len -= take;
        if (s->ntail < 32)
            return;
        sum64_stripe(s, s->tail);
        s->ntail = 0;
    }
    for (; len >= 32; p += 32, len -= 32)
        sum64_stripe(s, p);
    memcpy(s->tail, p, len);
    s->ntail = len;
}

static inline uint64_t sum64_final(const sum64 *s)
{
    uint64_t h = sum64_rotl(s->v[0], 1) + sum64_rotl(s->v[1], 7) + sum64_rotl(s->v[2], 12) +
                 sum64_rotl(s->v[3], 18);
    for (int i = 0; i < 4; i++)
        h = (h ^ sum64_lane(0, s->v[i])) * SUM64_P1 + SUM64_P3;
    h += s->total;
    size_t i = 0;
    for (; i + 8 <= s->ntail; i += 8) {
        uint64_t x;
        memcpy(&x, s->tail + i, 8);
        h = sum64_rotl(h ^ sum64_lane(0, x), 27) * SUM64_P1 + SUM64_P3;
    }
    for (; i < s->ntail; i++)
        h = sum64_rotl(h ^ (s->tail[i] * SUM64_P3), 11) * SUM64_P1;
    h ^= h >> 33;
    h *= SUM64_P2;
    h ^= h >> 29;
    h *= SUM64_P3;
    h ^= h >> 32;
    return h;
}

/* The checksum of a whole buffer as 16 hex digits. */
static inline void sum64_hex(uint64_t h, char out[17])
{
    static const char hexd[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, h >>= 4)
        out[i] = hexd[h & 15];
    out[16] = 0;
}

#endif
