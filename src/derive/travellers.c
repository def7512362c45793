/*
 * travellers.c — one traveller behind several travel documents: the border
 * store is keyed by the (pseudonymised) document number, so a passport
 * renewal or a second passport of a dual citizen splits a person's crossings
 * into several "travellers", each with spurious immigrations and
 * emigrations. Before the residence rule runs, document keys that share an
 * exact identity (keyed hashes of surname, given names and date of birth,
 * and the sex) on any crossing are joined (union-find); the person key of a
 * component is its smallest document key, so the result does not depend on
 * the order of the rows. Crossings without a complete identity keep their
 * document's component. Internal to src/derive (pipeline_impl.h).
 */
#include "pipeline_impl.h"

#include <stdlib.h>
#include <string.h>

/* int64 -> uint32 open-addressing map; INT64_MIN marks an empty slot. */
typedef struct i64map {
    int64_t *keys;
    uint32_t *vals;
    size_t cap, n;
} i64map;

static int map_init(i64map *m, size_t expect)
{
    size_t cap = 64;
    while (cap < expect * 2)
        cap <<= 1;
    m->keys = malloc(cap * sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    m->cap = cap;
    m->n = 0;
    if (!m->keys || !m->vals)
        return -1;
    for (size_t i = 0; i < cap; i++)
        m->keys[i] = INT64_MIN;
    return 0;
}

static size_t slot(const i64map *m, int64_t k)
{
    uint64_t h = (uint64_t)k * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 17) & (m->cap - 1);
    while (m->keys[i] != INT64_MIN && m->keys[i] != k)
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* Value of k, inserting v when absent (*found 0). -1 on OOM. */
static int map_put(i64map *m, int64_t k, uint32_t v, uint32_t *out)
{
    size_t i = slot(m, k);
    if (m->keys[i] == k) {
        *out = m->vals[i];
        return 1;
    }
    if ((m->n + 1) * 2 > m->cap) {
        i64map g;
        if (map_init(&g, m->cap))
            return -1;
        for (size_t j = 0; j < m->cap; j++)
            if (m->keys[j] != INT64_MIN) {
                size_t s = slot(&g, m->keys[j]);
                g.keys[s] = m->keys[j];
                g.vals[s] = m->vals[j];
                g.n++;
            }
        free(m->keys), free(m->vals);
        *m = g;
        i = slot(m, k);
    }
    m->keys[i] = k;
    m->vals[i] = v;
    m->n++;
    *out = v;
    return 0;
}

struct nmdi_travellers {
    i64map docs;     /* document key -> index                 */
    int64_t *dockey; /* index -> document key                 */
    uint32_t *parent;
    size_t ndocs, capdocs;
    uint64_t npersons, linked_docs;
};

static uint32_t find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

static int doc_index(nmdi_travellers *t, int64_t key, uint32_t *out)
{
    int r = map_put(&t->docs, key, (uint32_t)t->ndocs, out);
    if (r < 0)
        return -1;
    if (r == 0) {
        if (t->ndocs == t->capdocs) {
            size_t cap = t->capdocs ? t->capdocs * 2 : 1024;
            int64_t *k = realloc(t->dockey, cap * sizeof *k);
            if (!k)
                return -1;
            t->dockey = k;
            uint32_t *p = realloc(t->parent, cap * sizeof *p);
            if (!p)
                return -1;
            t->parent = p;
            t->capdocs = cap;
        }
        t->dockey[t->ndocs] = key;
        t->parent[t->ndocs] = (uint32_t)t->ndocs;
        t->ndocs++;
    }
    return 0;
}

void nmdi_travellers_free(nmdi_travellers *t)
{
    if (!t)
        return;
    free(t->docs.keys), free(t->docs.vals), free(t->dockey), free(t->parent);
    free(t);
}

int nmdi_travellers_link(const nmdi_dataset *ds, nmdi_travellers **out, nmdi_error *err)
{
    *out = NULL;
    static const char *const idf[3] = {"surname_hash", "given_name_hash", "dob_hash"};
    for (int i = 0; i < 3; i++)
        if (nmdi_dataset_find(ds, idf[i]) < 0)
            return 0; /* no identity: documents stay travellers */
    nmdi_travellers *t = calloc(1, sizeof *t);
    i64map ids = {0};
    uint64_t rows = nmdi_dataset_rows(ds);
    if (!t || map_init(&t->docs, (size_t)(rows / 8 + 16)) || map_init(&ids, (size_t)(rows / 8 + 16)))
        goto oom;
    for (size_t p = 0; p < nmdi_dataset_nparts(ds); p++) {
        size_t n = (size_t)nmdi_dataset_part_rows(ds, p);
        if (!n)
            continue;
        const int64_t *key, *h[3];
        const int32_t *sex = NULL;
        if (nmdi_dataset_i64(ds, p, "traveller_key", &key, err))
            goto fail;
        for (int i = 0; i < 3; i++)
            if (nmdi_dataset_i64(ds, p, idf[i], &h[i], err))
                goto fail;
        if (nmdi_dataset_find(ds, "sex") >= 0 && nmdi_dataset_i32(ds, p, "sex", &sex, err))
            goto fail;
        for (size_t r = 0; r < n; r++) {
            if (key[r] == NMDI_I64_NONE)
                continue;
            uint32_t d, first;
            if (doc_index(t, key[r], &d))
                goto oom;
            if (h[0][r] == NMDI_I64_NONE || h[1][r] == NMDI_I64_NONE || h[2][r] == NMDI_I64_NONE)
                continue;
            int64_t v[4] = {h[0][r], h[1][r], h[2][r], sex ? sex[r] : -1};
            int64_t id = (int64_t)nmdi_hash64(v, sizeof v, 0x7472766c);
            if (id == INT64_MIN)
                id++;
            int rr = map_put(&ids, id, d, &first);
            if (rr < 0)
                goto oom;
            if (rr == 1) {
                uint32_t a = find(t->parent, first), b = find(t->parent, d);
                if (a != b) {
                    if (t->dockey[a] < t->dockey[b])
                        t->parent[b] = a;
                    else
                        t->parent[a] = b;
                }
            }
        }
    }
    for (size_t i = 0; i < t->ndocs; i++) {
        uint32_t r = find(t->parent, (uint32_t)i);
        t->npersons += r == i;
        t->linked_docs += r != i;
    }
    free(ids.keys), free(ids.vals);
    *out = t;
    return 0;
oom:
    nmdi_error_set(err, NMDI_EINTERNAL, "out of memory linking travel documents");
fail:
    free(ids.keys), free(ids.vals);
    nmdi_travellers_free(t);
    return err->code ? err->code : NMDI_EINTERNAL;
}

int64_t nmdi_travellers_person(const nmdi_travellers *t, int64_t doc_key)
{
    if (!t || doc_key == NMDI_I64_NONE)
        return doc_key;
    size_t i = slot(&t->docs, doc_key);
    if (t->docs.keys[i] != doc_key)
        return doc_key;
    uint32_t x = t->docs.vals[i];
    while (t->parent[x] != x)
        x = t->parent[x];
    return t->dockey[x];
}

void nmdi_travellers_counts(const nmdi_travellers *t, uint64_t *docs, uint64_t *persons)
{
    *docs = t ? t->ndocs : 0;
    *persons = t ? t->npersons : 0;
}
