/*
 * memo.c — a bounded memo of keyed pseudonyms for one load: the same
 * document number, name or date of birth recurs on every crossing of a
 * traveller, and its keyed hashes (and phonetic code and bigram filter) are
 * the same every time, so each distinct value is hashed once while it stays
 * in the memo. The memo is direct-mapped: a fixed number of entries chosen
 * at creation, indexed by a fast non-cryptographic hash of the raw value,
 * each holding the whole value (compared byte for byte, so a hit is exact)
 * and its results; a new value evicts the entry in its place. Memory is
 * fixed whatever the file size; values longer than the entry's room are not
 * memoised. The memo holds clear identifiers of the delivery (as the read
 * buffers do): it lives in its own anonymous mapping, excluded from core
 * dumps, and returned to the kernel (which zeroes pages before any reuse)
 * by nmdi_memo_free; pages never touched cost nothing.
 */
#include "ingest_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int nmdi_memo_init(nmdi_memo *m, unsigned log2_entries, size_t payload)
{
    memset(m, 0, sizeof *m);
    size_t n = (size_t)1 << log2_entries;
    m->mask = n - 1;
    m->payload = (payload + 7) & ~(size_t)7;
    /* a small payload: the whole entry in one 64-byte cache line (a probe
     * then costs one memory access), the value getting the rest of it */
    m->vcap = m->payload <= 24 ? 56 - m->payload : NMDI_MEMO_VALUE;
    m->stride = sizeof(uint64_t) + m->vcap + m->payload;
    void *p = mmap(NULL, n * m->stride, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    madvise(p, n * m->stride, MADV_DONTDUMP);
    madvise(p, n * m->stride, MADV_HUGEPAGE); /* fewer page faults on first touch */
    m->mem = p;
    return 0;
}

/* Entry layout: uint64 tag (hash | 1, 0 = empty; the low byte of the value's
 * length lives in the tag's top bits), value bytes, payload. */
static unsigned char *entry(const nmdi_memo *m, size_t i)
{
    return m->mem + i * m->stride;
}

void *nmdi_memo_find(nmdi_memo *m, const char *s, size_t len, void **fill)
{
    *fill = NULL;
    if (!m->mem || len > m->vcap)
        return NULL;
    /* the previous record's value first: consecutive records of one person
     * repeat it, and that entry is still in the cache */
    if (m->last && m->last_len == len && memcmp(m->last + 8, s, len) == 0) {
        m->hits++;
        return m->last + 8 + m->vcap;
    }
    uint64_t h = s == m->pre_s && len == m->pre_len ? m->pre_h : nmdi_hash64(s, len, 0x6e6d6469u);
    m->pre_s = NULL;
    uint64_t tag = ((h | 1) & 0x00FFFFFFFFFFFFFFULL) | ((uint64_t)len << 56);
    unsigned char *e = entry(m, (size_t)(h >> 20) & m->mask);
    uint64_t t;
    memcpy(&t, e, sizeof t);
    m->last = e;
    m->last_len = len;
    if (t == tag && memcmp(e + 8, s, len) == 0) {
        m->hits++;
        return e + 8 + m->vcap;
    }
    m->misses++;
    /* the caller computes the results into the payload, which then stands */
    memcpy(e, &tag, sizeof tag);
    memcpy(e + 8, s, len);
    *fill = e + 8 + m->vcap;
    return NULL;
}

void nmdi_memo_prefetch(nmdi_memo *m, const char *s, size_t len)
{
    if (!m->mem || len > m->vcap ||
        (m->last && m->last_len == len && memcmp(m->last + 8, s, len) == 0))
        return;
    uint64_t h = nmdi_hash64(s, len, 0x6e6d6469u);
    /* kept for the lookup of the same bytes that follows */
    m->pre_s = s;
    m->pre_len = len;
    m->pre_h = h;
    __builtin_prefetch(entry(m, (size_t)(h >> 20) & m->mask), 1);
}

void nmdi_memo_free(nmdi_memo *m)
{
    if (m->mem) {
        if (getenv("NMDI_MEMO_STATS"))
            fprintf(stderr, "memo: %llu hits, %llu misses\n", (unsigned long long)m->hits,
                    (unsigned long long)m->misses);
        munmap(m->mem, (m->mask + 1) * m->stride);
    }
    memset(m, 0, sizeof *m);
}
