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
    i64map docs;     /* document key -> index                          */
    int64_t *dockey; /* index -> document key                          */
    uint32_t *parent; /* union-find; after linking: the root of each doc */
    uint16_t *home;  /* index -> first partition the document was seen */
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

static int doc_index(nmdi_travellers *t, int64_t key, uint16_t part, uint32_t *out)
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
            uint16_t *h = realloc(t->home, cap * sizeof *h);
            if (!h)
                return -1;
            t->home = h;
            t->capdocs = cap;
        }
        t->dockey[t->ndocs] = key;
        t->parent[t->ndocs] = (uint32_t)t->ndocs;
        t->home[t->ndocs] = part;
        t->ndocs++;
    }
    return 0;
}

void nmdi_travellers_free(nmdi_travellers *t)
{
    if (!t)
        return;
    free(t->docs.keys), free(t->docs.vals), free(t->dockey), free(t->parent), free(t->home);
    free(t);
}

/* What one partition contributes: its distinct document keys (in order of
 * first row) and the (identity, document) pairs of its rows, repeated pairs
 * of consecutive rows dropped. */
typedef struct plink {
    const nmdi_dataset *ds;
    int64_t *docs;
    size_t ndocs, capdocs;
    int64_t *pid;
    uint32_t *pdoc;
    size_t npairs, cappairs;
    nmdi_error err;
} plink;

typedef struct linkrun {
    const nmdi_dataset *ds;
    plink *pl;
} linkrun;

static int push_doc(plink *l, int64_t k)
{
    if (l->ndocs == l->capdocs) {
        size_t c = l->capdocs ? 2 * l->capdocs : 1024;
        int64_t *d = realloc(l->docs, c * sizeof *d);
        if (!d)
            return -1;
        l->docs = d;
        l->capdocs = c;
    }
    l->docs[l->ndocs++] = k;
    return 0;
}

static int push_pair(plink *l, int64_t id, uint32_t doc)
{
    if (l->npairs == l->cappairs) {
        size_t c = l->cappairs ? 2 * l->cappairs : 1024;
        int64_t *a = realloc(l->pid, c * sizeof *a);
        if (a)
            l->pid = a;
        uint32_t *b = a ? realloc(l->pdoc, c * sizeof *b) : NULL;
        if (!b)
            return -1;
        l->pdoc = b;
        l->cappairs = c;
    }
    l->pid[l->npairs] = id;
    l->pdoc[l->npairs++] = doc;
    return 0;
}

static const char *const idf[3] = {"surname_hash", "given_name_hash", "dob_hash"};

/* One partition's scan (runs in parallel with the others). */
static int link_part(void *arg, size_t p)
{
    linkrun *L = arg;
    plink *l = &L->pl[p];
    const nmdi_dataset *ds = L->ds;
    size_t n = (size_t)nmdi_dataset_part_rows(ds, p);
    if (!n)
        return 0;
    const int64_t *key, *h[3];
    const int32_t *sex = NULL;
    if (nmdi_dataset_i64(ds, p, "traveller_key", &key, &l->err))
        return l->err.code;
    for (int i = 0; i < 3; i++)
        if (nmdi_dataset_i64(ds, p, idf[i], &h[i], &l->err))
            return l->err.code;
    if (nmdi_dataset_find(ds, "sex") >= 0 && nmdi_dataset_i32(ds, p, "sex", &sex, &l->err))
        return l->err.code;
    i64map local;
    if (map_init(&local, n / 8 + 16))
        goto oom;
    /* rows of one document usually follow each other with the same identity:
     * look the map up only when the key changes, hash only a new identity */
    int64_t last_key = NMDI_I64_NONE, last_v[4] = {0, 0, 0, 0};
    int have_v = 0;
    uint32_t d = 0;
    for (size_t r = 0; r < n; r++) {
        if (key[r] == NMDI_I64_NONE)
            continue;
        if (key[r] != last_key) {
            int x = map_put(&local, key[r], (uint32_t)l->ndocs, &d);
            if (x < 0 || (x == 0 && push_doc(l, key[r])))
                goto oom;
            last_key = key[r];
            have_v = 0;
        }
        if (h[0][r] == NMDI_I64_NONE || h[1][r] == NMDI_I64_NONE || h[2][r] == NMDI_I64_NONE)
            continue;
        int64_t v[4] = {h[0][r], h[1][r], h[2][r], sex ? sex[r] : -1};
        if (have_v && !memcmp(v, last_v, sizeof v))
            continue; /* this document already joined this identity */
        memcpy(last_v, v, sizeof v);
        have_v = 1;
        int64_t id = (int64_t)nmdi_hash64(v, sizeof v, 0x7472766c);
        if (id == INT64_MIN)
            id++;
        if (push_pair(l, id, d))
            goto oom;
    }
    free(local.keys), free(local.vals);
    return 0;
oom:
    free(local.keys), free(local.vals);
    return nmdi_error_set(&l->err, NMDI_EINTERNAL, "out of memory linking travel documents");
}

int nmdi_travellers_link(const nmdi_ctx *ctx, const nmdi_dataset *ds, nmdi_travellers **out,
                         nmdi_error *err)
{
    *out = NULL;
    for (int i = 0; i < 3; i++)
        if (nmdi_dataset_find(ds, idf[i]) < 0)
            return 0; /* no identity: documents stay travellers */
    size_t np = nmdi_dataset_nparts(ds);
    nmdi_travellers *t = calloc(1, sizeof *t);
    linkrun L = {ds, calloc(np ? np : 1, sizeof(plink))};
    i64map ids = {0};
    uint32_t *glob = NULL;
    if (!t || !L.pl)
        goto oom;
    for (size_t p = 0; p < np; p++)
        nmdi_error_clear(&L.pl[p].err);
    if (nmdi_pool_run(ctx, np, link_part, &L)) {
        for (size_t p = 0; p < np; p++)
            if (L.pl[p].err.code) {
                *err = L.pl[p].err;
                break;
            }
        goto fail;
    }
    /* serial merge over documents and pairs (not rows), in partition order */
    size_t ndocs = 0, npairs = 0, maxd = 0;
    for (size_t p = 0; p < np; p++) {
        ndocs += L.pl[p].ndocs;
        npairs += L.pl[p].npairs;
        maxd = L.pl[p].ndocs > maxd ? L.pl[p].ndocs : maxd;
    }
    if (map_init(&t->docs, ndocs + 16) || map_init(&ids, npairs + 16) ||
        !(glob = malloc((maxd ? maxd : 1) * sizeof *glob)))
        goto oom;
    for (size_t p = 0; p < np; p++) {
        plink *l = &L.pl[p];
        for (size_t i = 0; i < l->ndocs; i++)
            if (doc_index(t, l->docs[i], (uint16_t)p, &glob[i]))
                goto oom;
        for (size_t j = 0; j < l->npairs; j++) {
            uint32_t d = glob[l->pdoc[j]], first;
            int rr = map_put(&ids, l->pid[j], d, &first);
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
    /* flatten: parent[i] becomes the root of i (roots first resolve to themselves) */
    for (size_t i = 0; i < t->ndocs; i++) {
        uint32_t r = find(t->parent, (uint32_t)i);
        t->npersons += r == i;
        t->linked_docs += r != i;
    }
    for (size_t i = 0; i < t->ndocs; i++)
        t->parent[i] = find(t->parent, (uint32_t)i);
    free(ids.keys), free(ids.vals), free(glob);
    for (size_t p = 0; p < np; p++)
        free(L.pl[p].docs), free(L.pl[p].pid), free(L.pl[p].pdoc);
    free(L.pl);
    *out = t;
    return 0;
oom:
    nmdi_error_set(err, NMDI_EINTERNAL, "out of memory linking travel documents");
fail:
    free(ids.keys), free(ids.vals), free(glob);
    if (L.pl)
        for (size_t p = 0; p < np; p++)
            free(L.pl[p].docs), free(L.pl[p].pid), free(L.pl[p].pdoc);
    free(L.pl);
    nmdi_travellers_free(t);
    return err->code ? err->code : NMDI_EINTERNAL;
}

int64_t nmdi_travellers_person(const nmdi_travellers *t, int64_t doc_key)
{
    int64_t k;
    nmdi_travellers_lookup(t, doc_key, &k, NULL);
    return k;
}

int nmdi_travellers_lookup(const nmdi_travellers *t, int64_t doc_key, int64_t *person,
                           uint32_t *home)
{
    if (!t || doc_key == NMDI_I64_NONE) {
        *person = doc_key;
        return -1;
    }
    size_t i = slot(&t->docs, doc_key);
    if (t->docs.keys[i] != doc_key) {
        *person = doc_key;
        return -1;
    }
    uint32_t x = t->parent[t->docs.vals[i]]; /* flattened: the root */
    *person = t->dockey[x];
    if (home)
        *home = t->home[x];
    return 0;
}

void nmdi_travellers_counts(const nmdi_travellers *t, uint64_t *docs, uint64_t *persons)
{
    *docs = t ? t->ndocs : 0;
    *persons = t ? t->npersons : 0;
}
