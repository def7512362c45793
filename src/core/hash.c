/*
 * hash.c — a fast non-cryptographic 64-bit hash (for hash tables and
 * partitioning; never for pseudonymisation, which uses keyed BLAKE2b in
 * ingest) and a string → int64 hash map with open addressing.
 */
#include "nmdi/core.h"

#include <stdlib.h>
#include <string.h>

static inline uint64_t rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint64_t nmdi_hash64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ (len * 0x9E3779B97F4A7C15ULL);
    while (len >= 8) {
        h = (h ^ mix(rd64(p))) * 0x9E3779B97F4A7C15ULL;
        p += 8;
        len -= 8;
    }
    uint64_t t = 0;
    memcpy(&t, p, len);
    h = (h ^ mix(t ^ ((uint64_t)len << 56))) * 0x9E3779B97F4A7C15ULL;
    return mix(h);
}

typedef struct slot {
    const char *key;
    size_t len;
    uint64_t hash;
    int64_t value;
} slot;

struct nmdi_strmap {
    slot *slots;
    size_t cap, count;
    nmdi_arena *arena;
};

nmdi_strmap *nmdi_strmap_new(void)
{
    nmdi_strmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 64;
    m->slots = calloc(m->cap, sizeof(slot));
    m->arena = nmdi_arena_new(0);
    if (!m->slots || !m->arena) {
        nmdi_strmap_free(m);
        return NULL;
    }
    return m;
}

void nmdi_strmap_free(nmdi_strmap *m)
{
    if (!m)
        return;
    free(m->slots);
    nmdi_arena_free(m->arena);
    free(m);
}

static slot *find(slot *slots, size_t cap, const char *key, size_t len, uint64_t h)
{
    size_t i = h & (cap - 1);
    for (;;) {
        slot *s = &slots[i];
        if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
            return s;
        i = (i + 1) & (cap - 1);
    }
}

static int grow(nmdi_strmap *m)
{
    size_t ncap = m->cap * 2;
    slot *ns = calloc(ncap, sizeof(slot));
    if (!ns)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            *find(ns, ncap, m->slots[i].key, m->slots[i].len, m->slots[i].hash) = m->slots[i];
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int64_t *nmdi_strmap_put(nmdi_strmap *m, const char *key, size_t len, int *inserted)
{
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return NULL;
    uint64_t h = nmdi_hash64(key, len, 0);
    slot *s = find(m->slots, m->cap, key, len, h);
    if (inserted)
        *inserted = 0;
    if (!s->key) {
        char *k = nmdi_arena_strndup(m->arena, key, len);
        if (!k)
            return NULL;
        s->key = k;
        s->len = len;
        s->hash = h;
        s->value = 0;
        m->count++;
        if (inserted)
            *inserted = 1;
    }
    return &s->value;
}

int64_t *nmdi_strmap_get(const nmdi_strmap *m, const char *key, size_t len)
{
    uint64_t h = nmdi_hash64(key, len, 0);
    slot *s = find(m->slots, m->cap, key, len, h);
    return s->key ? &s->value : NULL;
}

size_t nmdi_strmap_count(const nmdi_strmap *m)
{
    return m->count;
}

int nmdi_strmap_iter(const nmdi_strmap *m, size_t *i, const char **key, int64_t *value)
{
    while (*i < m->cap) {
        slot *s = &m->slots[(*i)++];
        if (s->key) {
            *key = s->key;
            *value = s->value;
            return 1;
        }
    }
    return 0;
}
