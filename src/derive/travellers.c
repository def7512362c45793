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

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef DERIVE_TRACE
#include <time.h>
/* The CPU milliseconds of the process so far (all threads), for the trace. */
static long cpu_ms(void)
{
    struct timespec c;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    return (long)(c.tv_sec * 1000 + c.tv_nsec / 1000000);
}
#endif

/* int64 -> uint32 open-addressing map; INT64_MIN marks an empty slot. A
 * key and its value share a slot (one cache line per lookup). */
typedef struct i64slot {
    int64_t key;
    uint32_t val;
} i64slot;

typedef struct i64map {
    i64slot *s;
    size_t cap, n, room; /* room: slots allocated (cap of them in use) */
} i64map;

void *nmdi_derive_big_alloc(size_t bytes)
{
    const size_t huge = (size_t)2 << 20;
    if (bytes < huge / 2)
        return malloc(bytes ? bytes : 1);
    size_t sz = (bytes + huge - 1) & ~(huge - 1);
    void *p = aligned_alloc(huge, sz);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, sz, MADV_HUGEPAGE);
#endif
    return p;
}

int nmdi_derive_big_grow(void **p, size_t *cap, size_t need, size_t elem, size_t least)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : least;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem)
            return -1;
        c *= 2;
    }
    void *q = nmdi_derive_big_alloc(c * elem);
    if (!q)
        return -1;
    if (*p && *cap)
        memcpy(q, *p, *cap * elem);
    free(*p);
    *p = q;
    *cap = c;
    return 0;
}

static int map_init(i64map *m, size_t expect)
{
    size_t cap = 64;
    while (cap < expect * 2)
        cap <<= 1;
    m->s = nmdi_derive_big_alloc(cap * sizeof *m->s);
    m->cap = m->room = cap;
    m->n = 0;
    if (!m->s)
        return -1;
    for (size_t i = 0; i < cap; i++)
        m->s[i].key = INT64_MIN;
    return 0;
}

/* Make m an empty map for about expect keys (as map_init), in the slots it
 * already has when they are enough: memory touched before costs a write to
 * clear, fresh memory a host fault per page on the reference VM. */
static int map_reset(i64map *m, size_t expect)
{
    size_t cap = 64;
    while (cap < expect * 2)
        cap <<= 1;
    if (!m->s || m->room < cap) {
        free(m->s);
        m->s = NULL;
        return map_init(m, expect);
    }
    m->cap = cap;
    m->n = 0;
    for (size_t i = 0; i < cap; i++)
        m->s[i].key = INT64_MIN;
    return 0;
}

static size_t slot(const i64map *m, int64_t k)
{
    uint64_t h = (uint64_t)k * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 17) & (m->cap - 1);
    while (m->s[i].key != INT64_MIN && m->s[i].key != k)
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* Fetch the first slot of k into the cache (a prefetch instruction). */
static void map_prefetch(const i64map *m, int64_t k)
{
    uint64_t h = (uint64_t)k * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 17) & (m->cap - 1);
    __builtin_prefetch(&m->s[i]);
}

/* Value of k, inserting v when absent (*found 0). -1 on OOM. */
static int map_put(i64map *m, int64_t k, uint32_t v, uint32_t *out)
{
    size_t i = slot(m, k);
    if (m->s[i].key == k) {
        *out = m->s[i].val;
        return 1;
    }
    if ((m->n + 1) * 2 > m->cap) {
        i64map g;
        if (map_init(&g, m->cap))
            return -1;
        for (size_t j = 0; j < m->cap; j++)
            if (m->s[j].key != INT64_MIN) {
                size_t s = slot(&g, m->s[j].key);
                g.s[s].key = m->s[j].key;
                g.s[s].val = m->s[j].val;
                g.n++;
            }
        free(m->s);
        *m = g;
        i = slot(m, k);
    }
    m->s[i].key = k;
    m->s[i].val = v;
    m->n++;
    *out = v;
    return 0;
}

struct nmdi_travellers {
    i64map docs;      /* document key -> index (only when a document key
                         occurs in several partitions)                  */
    int64_t *dockey;  /* index -> document key                          */
    uint32_t *parent; /* union-find over documents                      */
    uint16_t *home;   /* index -> first partition the document was seen */
    int64_t *pkey;    /* after linking: index -> person key             */
    uint16_t *phome;  /* after linking: index -> the person's home      */
    size_t ndocs, capdocs, np;
    nmdi_trun **runs; /* per partition: runs of rows of one document    */
    size_t *nruns;
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

static int docs_room(nmdi_travellers *t, size_t need)
{
    if (need <= t->capdocs)
        return 0;
    size_t ck = t->capdocs, cp = t->capdocs, ch = t->capdocs;
    if (nmdi_derive_big_grow((void **)&t->dockey, &ck, need, sizeof *t->dockey, 1024) ||
        nmdi_derive_big_grow((void **)&t->parent, &cp, need, sizeof *t->parent, 1024) ||
        nmdi_derive_big_grow((void **)&t->home, &ch, need, sizeof *t->home, 1024))
        return -1;
    t->capdocs = ch;
    return 0;
}

static void doc_new(nmdi_travellers *t, int64_t key, uint16_t part)
{
    t->dockey[t->ndocs] = key;
    t->parent[t->ndocs] = (uint32_t)t->ndocs;
    t->home[t->ndocs] = part;
    t->ndocs++;
}

/* The index of a document key seen in partition part, through the map of
 * every document (used when keys are not confined to one partition). */
static int doc_index(nmdi_travellers *t, int64_t key, uint16_t part, uint32_t *out)
{
    int r = map_put(&t->docs, key, (uint32_t)t->ndocs, out);
    if (r < 0)
        return -1;
    if (r == 0) {
        if (docs_room(t, t->ndocs + 1))
            return -1;
        doc_new(t, key, part);
    }
    return 0;
}

void nmdi_travellers_free(nmdi_travellers *t)
{
    if (!t)
        return;
    free(t->docs.s), free(t->dockey), free(t->parent), free(t->home);
    free(t->pkey), free(t->phome);
    for (size_t p = 0; t->runs && p < t->np; p++)
        free(t->runs[p]);
    free(t->runs), free(t->nruns);
    free(t);
}

/* What one partition contributes: its distinct document keys (in order of
 * first row), its runs of rows of one document (local document indices),
 * and the (identity, document) pairs of its rows, repeated pairs of
 * consecutive rows dropped, ordered by identity bucket (id_bucket) and
 * within a bucket by row: bucket b's pairs are [boff[b], boff[b + 1]).
 * spread: some key of the partition is not confined to it (the store
 * partitions by key % partitions). */
typedef struct plink {
    int64_t *docs;
    size_t ndocs;
    nmdi_trun *runs;
    size_t nruns;
    int64_t *pid;
    uint32_t *pdoc;
    size_t npairs;
    size_t *boff;
    int spread;
    nmdi_error err;
} plink;

/* The work memory of a running task (the scan's document map and pairs,
 * the merge's identity map), taken from the run and given back: as many as
 * threads, so that each is faulted in once, not once per task. */
typedef struct wslot {
    i64map map;
    int64_t *pid;
    uint32_t *pdoc;
    size_t cap;
    int busy;
} wslot;

typedef struct linkrun {
    const nmdi_dataset *ds;
    plink *pl;
    size_t nb; /* identity buckets, a power of two */
    pthread_mutex_t mu;
    wslot *ws;
    size_t nws;
} linkrun;

/* A free work slot; NULL only if more tasks run at once than threads. */
static wslot *ws_take(linkrun *L)
{
    wslot *w = NULL;
    pthread_mutex_lock(&L->mu);
    for (size_t i = 0; i < L->nws && !w; i++)
        if (!L->ws[i].busy) {
            w = &L->ws[i];
            w->busy = 1;
        }
    pthread_mutex_unlock(&L->mu);
    return w;
}

static void ws_give(linkrun *L, wslot *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&L->mu);
    w->busy = 0;
    pthread_mutex_unlock(&L->mu);
}

static int ws_pair(wslot *w, size_t n, int64_t id, uint32_t doc)
{
    if (n == w->cap) { /* two arrays, one capacity */
        size_t ci = w->cap, cd = w->cap;
        if (nmdi_derive_big_grow((void **)&w->pid, &ci, n + 1, sizeof *w->pid, 4096) ||
            nmdi_derive_big_grow((void **)&w->pdoc, &cd, n + 1, sizeof *w->pdoc, 4096))
            return -1;
        w->cap = cd < ci ? cd : ci;
    }
    w->pid[n] = id;
    w->pdoc[n] = doc;
    return 0;
}

/* nb is a power of two: a shift and a mask, no division per pair. */
static size_t id_bucket(int64_t id, size_t nb)
{
    return (size_t)((uint64_t)id >> 11) & (nb - 1);
}

/* The n pairs of w into l, ordered by bucket (a stable counting sort). */
static int bucket_pairs(plink *l, const wslot *w, size_t n, size_t nb)
{
    size_t *cur = malloc(nb * sizeof *cur);
    l->boff = calloc(nb + 1, sizeof *l->boff);
    l->pid = nmdi_derive_big_alloc((n ? n : 1) * sizeof *l->pid);
    l->pdoc = nmdi_derive_big_alloc((n ? n : 1) * sizeof *l->pdoc);
    if (!cur || !l->boff || !l->pid || !l->pdoc) {
        free(cur);
        return -1;
    }
    for (size_t j = 0; j < n; j++)
        l->boff[id_bucket(w->pid[j], nb) + 1]++;
    for (size_t b = 0; b < nb; b++) {
        l->boff[b + 1] += l->boff[b];
        cur[b] = l->boff[b];
    }
    for (size_t j = 0; j < n; j++) {
        size_t k = cur[id_bucket(w->pid[j], nb)]++;
        l->pid[k] = w->pid[j];
        l->pdoc[k] = w->pdoc[j];
    }
    l->npairs = n;
    free(cur);
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
    uint64_t np = nmdi_dataset_nparts(ds);
    if (!n)
        return 0;
    if (n > UINT32_MAX - 1)
        return nmdi_error_set(&l->err, NMDI_EDATA, "%zu rows in one partition: at most %u",
                              n, UINT32_MAX - 1);
    const int64_t *key, *h[3];
    const int32_t *sex = NULL;
    if (nmdi_dataset_i64(ds, p, "traveller_key", &key, &l->err))
        return l->err.code;
    static const char *const cols[5] = {"traveller_key", "surname_hash", "given_name_hash",
                                        "dob_hash", "sex"};
    for (int i = 0; i < 5; i++)
        nmdi_dataset_populate(ds, p, cols[i]);
    for (int i = 0; i < 3; i++)
        if (nmdi_dataset_i64(ds, p, idf[i], &h[i], &l->err))
            return l->err.code;
    if (nmdi_dataset_find(ds, "sex") >= 0 && nmdi_dataset_i32(ds, p, "sex", &sex, &l->err))
        return l->err.code;
    wslot *w = ws_take(L);
    if (!w || map_reset(&w->map, n / 8 + 16))
        goto oom;
    i64map *m = &w->map;
    /* room for the worst case (a document and a run per row): only what is
     * used is ever touched */
    if (!(l->docs = nmdi_derive_big_alloc(n * sizeof *l->docs)) ||
        !(l->runs = nmdi_derive_big_alloc(n * sizeof *l->runs)))
        goto oom;
    /* rows of one document usually follow each other with the same identity:
     * look the map up only when the key changes, hash only a new identity */
    int64_t last_key = NMDI_I64_NONE, last_v[4] = {0, 0, 0, 0};
    int have_v = 0;
    uint32_t d = 0;
    size_t npairs = 0;
    enum { AHEAD = 24 };
    for (size_t r = 0; r < n; r++) {
        if (r + AHEAD < n && key[r + AHEAD] != key[r + AHEAD - 1])
            map_prefetch(m, key[r + AHEAD]);
        if (key[r] == NMDI_I64_NONE) {
            if (r == 0 || last_key != NMDI_I64_NONE) {
                l->runs[l->nruns++] = (nmdi_trun){(uint32_t)r, NMDI_TRUN_NONE};
                last_key = NMDI_I64_NONE;
            }
            continue;
        }
        if (key[r] != last_key) {
            int x = map_put(m, key[r], (uint32_t)l->ndocs, &d);
            if (x < 0)
                goto oom;
            if (x == 0)
                l->docs[l->ndocs++] = key[r];
            l->runs[l->nruns++] = (nmdi_trun){(uint32_t)r, d};
            l->spread |= (uint64_t)key[r] % np != p;
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
        if (ws_pair(w, npairs++, id, d))
            goto oom;
    }
    if (bucket_pairs(l, w, npairs, L->nb))
        goto oom;
    ws_give(L, w);
    return 0;
oom:
    ws_give(L, w);
    return nmdi_error_set(&l->err, NMDI_EINTERNAL, "out of memory linking travel documents");
}

/* The parallel merge (keys confined to their partition): task i fills the
 * documents of partition i (index = base[i] + local index) and converts its
 * runs, and joins the identities of bucket i: the bucket's pairs of every
 * partition, in partition order, give an edge (first document of the
 * identity, document) for each repeat. */
typedef struct mergejob {
    nmdi_travellers *t;
    linkrun *L;
    size_t np, nb;
    size_t *base;
    uint32_t **ea, **eb; /* per bucket: edges */
    size_t *ne;
} mergejob;

static int merge_task(void *arg, size_t i)
{
    mergejob *M = arg;
    nmdi_travellers *t = M->t;
    plink *pl = M->L->pl;
    if (i < M->np) {
        plink *l = &pl[i];
        size_t b = M->base[i];
        for (size_t k = 0; k < l->ndocs; k++) {
            t->dockey[b + k] = l->docs[k];
            t->parent[b + k] = (uint32_t)(b + k);
            t->home[b + k] = (uint16_t)i;
        }
        for (size_t k = 0; k < l->nruns; k++)
            if (l->runs[k].doc != NMDI_TRUN_NONE)
                l->runs[k].doc += (uint32_t)b;
    }
    if (i >= M->nb)
        return 0;
    size_t cnt = 0;
    for (size_t p = 0; p < M->np; p++)
        cnt += pl[p].boff ? pl[p].boff[i + 1] - pl[p].boff[i] : 0;
    if (!cnt)
        return 0;
    wslot *w = ws_take(M->L);
    uint32_t *ea = NULL, *eb = NULL;
    size_t ne = 0, cap = 0;
    if (!w || map_reset(&w->map, cnt + 16))
        goto oom;
    enum { AHEAD = 16 };
    for (size_t p = 0; p < M->np; p++) {
        const plink *l = &pl[p];
        if (!l->boff)
            continue;
        size_t e = l->boff[i + 1];
        for (size_t j = l->boff[i]; j < e; j++) {
            if (j + AHEAD < e)
                map_prefetch(&w->map, l->pid[j + AHEAD]);
            uint32_t d = (uint32_t)(M->base[p] + l->pdoc[j]), first;
            int rr = map_put(&w->map, l->pid[j], d, &first);
            if (rr < 0)
                goto oom;
            if (rr == 0 || first == d)
                continue;
            if (ne == cap) {
                size_t ca = cap, cb = cap;
                if (nmdi_grow((void **)&ea, &ca, ne + 1, sizeof *ea, 1024) ||
                    nmdi_grow((void **)&eb, &cb, ne + 1, sizeof *eb, 1024))
                    goto oom;
                cap = cb < ca ? cb : ca;
            }
            ea[ne] = first;
            eb[ne++] = d;
        }
    }
    ws_give(M->L, w);
    M->ea[i] = ea, M->eb[i] = eb, M->ne[i] = ne;
    return 0;
oom:
    ws_give(M->L, w);
    free(ea), free(eb);
    return NMDI_EINTERNAL;
}

/* The merge when every key is in its partition: parallel (merge_task), then
 * the edges joined (union by smallest key: the same components and roots in
 * any order). Fills t's documents and runs. */
static int merge_confined(const nmdi_ctx *ctx, nmdi_travellers *t, linkrun *L, size_t np,
                          size_t ndocs)
{
    size_t nb = L->nb;
    plink *pl = L->pl;
    mergejob M = {t, L, np, nb, calloc(np + 1, sizeof(size_t)), calloc(nb, sizeof(uint32_t *)),
                  calloc(nb, sizeof(uint32_t *)), calloc(nb, sizeof(size_t))};
    int rc = -1;
    if (!M.base || !M.ea || !M.eb || !M.ne || docs_room(t, ndocs + 1))
        goto out;
    for (size_t p = 0; p < np; p++)
        M.base[p + 1] = M.base[p] + pl[p].ndocs;
    if (nmdi_pool_run(ctx, np > nb ? np : nb, merge_task, &M))
        goto out;
    dtrace("mergetasks", 0);
    t->ndocs = ndocs;
    for (size_t b = 0; b < nb; b++)
        for (size_t k = 0; k < M.ne[b]; k++) {
            uint32_t a = find(t->parent, M.ea[b][k]), c = find(t->parent, M.eb[b][k]);
            if (a != c) {
                if (t->dockey[a] < t->dockey[c])
                    t->parent[c] = a;
                else
                    t->parent[a] = c;
            }
        }
    for (size_t p = 0; p < np; p++) {
        t->runs[p] = pl[p].runs;
        t->nruns[p] = pl[p].nruns;
        pl[p].runs = NULL;
    }
    rc = 0;
out:
    for (size_t b = 0; M.ea && M.eb && b < nb; b++)
        free(M.ea[b]), free(M.eb[b]);
    free(M.base), free(M.ea), free(M.eb), free(M.ne);
    return rc;
}

/* The flattening of the joined documents, in FLAT_TASKS slices on the
 * pool, in place: a document that is not a root takes its root's key and
 * home (dockey and home become pkey and phome). parent is only read, and a
 * root's entries are never written, so the slices need no lock. */
#define FLAT_TASKS 16
typedef struct flatjob {
    nmdi_travellers *t;
    uint64_t roots[FLAT_TASKS], linked[FLAT_TASKS];
} flatjob;

static int flat_task(void *arg, size_t k)
{
    flatjob *J = arg;
    nmdi_travellers *t = J->t;
    size_t a = t->ndocs * k / FLAT_TASKS, b = t->ndocs * (k + 1) / FLAT_TASKS;
    uint64_t roots = 0;
    for (size_t i = a; i < b; i++) {
        uint32_t r = (uint32_t)i;
        while (t->parent[r] != r)
            r = t->parent[r];
        if (r == i) {
            roots++;
            continue;
        }
        t->dockey[i] = t->dockey[r];
        t->home[i] = t->home[r];
    }
    J->roots[k] = roots;
    J->linked[k] = (b - a) - roots;
    return 0;
}

static void plink_free(plink *l)
{
    free(l->docs), free(l->pid), free(l->pdoc), free(l->boff), free(l->runs);
}

int nmdi_travellers_link(const nmdi_ctx *ctx, const nmdi_dataset *ds, nmdi_travellers **out,
                         nmdi_error *err)
{
    *out = NULL;
    for (int i = 0; i < 3; i++)
        if (nmdi_dataset_find(ds, idf[i]) < 0)
            return 0; /* no identity: documents stay travellers */
    size_t np = nmdi_dataset_nparts(ds);
    size_t nt = ctx && ctx->nthreads > 1 ? (size_t)ctx->nthreads : 1;
    /* buckets: at least four per thread and one per partition, and about
     * 1 per 512 Ki crossings, so that a bucket's identity map (some 50 000
     * identities on the synthetic country) stays in the cache */
    uint64_t rows = nmdi_dataset_rows(ds);
    size_t nb = 1;
    while (nb < np || nb < 4 * nt || (nb < 4096 && nb < rows >> 19))
        nb <<= 1;
    nmdi_travellers *t = calloc(1, sizeof *t);
    linkrun L = {ds, calloc(np ? np : 1, sizeof(plink)), nb, PTHREAD_MUTEX_INITIALIZER,
                 calloc(nt, sizeof(wslot)), nt};
    i64map ids = {0};
    uint32_t *glob = NULL;
    if (!t || !L.pl || !L.ws)
        goto oom;
    t->np = np;
    t->runs = calloc(np ? np : 1, sizeof *t->runs);
    t->nruns = calloc(np ? np : 1, sizeof *t->nruns);
    if (!t->runs || !t->nruns)
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
    for (size_t k = 0; k < L.nws; k++) { /* the scan's pairs: bucketed into L.pl */
        free(L.ws[k].pid), free(L.ws[k].pdoc);
        L.ws[k].pid = NULL, L.ws[k].pdoc = NULL, L.ws[k].cap = 0;
    }
    dtrace("scanned", 0);
    /* serial merge over documents and pairs (not rows), in partition order */
    size_t ndocs = 0, npairs = 0, maxd = 0;
    int spread = 0;
    for (size_t p = 0; p < np; p++) {
        ndocs += L.pl[p].ndocs;
        npairs += L.pl[p].npairs;
        maxd = L.pl[p].ndocs > maxd ? L.pl[p].ndocs : maxd;
        spread |= L.pl[p].spread;
    }
    if (ndocs >= UINT32_MAX)
        goto oom;
#ifdef DERIVE_TRACE
    {
        size_t nr = 0;
        for (size_t p = 0; p < np; p++)
            nr += L.pl[p].nruns;
        dtrace("rows", (long)rows), dtrace("docs", (long)ndocs), dtrace("runs", (long)nr);
        dtrace("pairs", (long)npairs), dtrace("buckets", (long)nb);
    }
#endif
    /* keys confined to their partition (as the store writes them): a
     * document's index is its partition's base plus its local index, no map,
     * and the identities are joined in parallel */
    if (!spread) {
        if (merge_confined(ctx, t, &L, np, ndocs))
            goto oom;
    } else if (map_init(&t->docs, ndocs + 16) || map_init(&ids, npairs + 16) ||
               !(glob = malloc((maxd ? maxd : 1) * sizeof *glob)) || docs_room(t, ndocs + 1))
        goto oom;
    for (size_t p = 0; spread && p < np; p++) {
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
        for (size_t k = 0; k < l->nruns; k++)
            if (l->runs[k].doc != NMDI_TRUN_NONE)
                l->runs[k].doc = glob[l->runs[k].doc];
        t->runs[p] = l->runs;
        t->nruns[p] = l->nruns;
        l->runs = NULL;
    }
    free(ids.s), free(glob);
    ids.s = NULL, glob = NULL;
    dtrace("merged", 0);
    /* flatten: each document's person key and home, in place */
    {
        flatjob J = {t, {0}, {0}};
        if (nmdi_pool_run(ctx, FLAT_TASKS, flat_task, &J))
            goto oom;
        for (size_t k = 0; k < FLAT_TASKS; k++)
            t->npersons += J.roots[k], t->linked_docs += J.linked[k];
    }
    t->pkey = t->dockey, t->phome = t->home;
    t->dockey = NULL, t->home = NULL;
    if (!t->pkey) { /* no documents: empty, not NULL */
        t->pkey = malloc(sizeof *t->pkey);
        t->phome = malloc(sizeof *t->phome);
        if (!t->pkey || !t->phome)
            goto oom;
    }
#ifdef DERIVE_TRACE
    dtrace("flattened-cpu-ms", cpu_ms());
#endif
    free(t->docs.s), free(t->parent);
    t->docs.s = NULL, t->parent = NULL;
    for (size_t p = 0; p < np; p++)
        plink_free(&L.pl[p]);
    free(L.pl);
    for (size_t k = 0; k < L.nws; k++)
        free(L.ws[k].map.s);
    free(L.ws);
    pthread_mutex_destroy(&L.mu);
    *out = t;
    return 0;
oom:
    nmdi_error_set(err, NMDI_EINTERNAL, "out of memory linking travel documents");
fail:
    free(ids.s), free(glob);
    if (L.pl)
        for (size_t p = 0; p < np; p++)
            plink_free(&L.pl[p]);
    free(L.pl);
    for (size_t k = 0; L.ws && k < L.nws; k++)
        free(L.ws[k].map.s), free(L.ws[k].pid), free(L.ws[k].pdoc);
    free(L.ws);
    pthread_mutex_destroy(&L.mu);
    nmdi_travellers_free(t);
    return err->code ? err->code : NMDI_EINTERNAL;
}

const nmdi_trun *nmdi_travellers_runs(const nmdi_travellers *t, size_t part, size_t *n)
{
    *n = t && part < t->np ? t->nruns[part] : 0;
    return *n ? t->runs[part] : NULL;
}

void nmdi_travellers_docs(const nmdi_travellers *t, const int64_t **person, const uint16_t **home)
{
    *person = t ? t->pkey : NULL;
    *home = t ? t->phome : NULL;
}

void nmdi_travellers_counts(const nmdi_travellers *t, uint64_t *docs, uint64_t *persons)
{
    *docs = t ? t->ndocs : 0;
    *persons = t ? t->npersons : 0;
}

/* ---- the population register by identity --------------------------------------------- */

int64_t nmdi_identity_id(int64_t surname, int64_t given, int64_t dob, const char *sex)
{
    if (surname == NMDI_I64_NONE || given == NMDI_I64_NONE || dob == NMDI_I64_NONE)
        return NMDI_I64_NONE;
    int c = sex && *sex ? sex[0] : 0;
    int64_t v[4] = {surname, given, dob, c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c};
    int64_t id = (int64_t)nmdi_hash64(v, sizeof v, 0x72656769);
    return id == NMDI_I64_NONE ? id + 1 : id;
}

typedef struct regev {
    int64_t id;
    nmdi_date date;
    uint8_t kind; /* 1 registration from abroad, 2 deregistration to abroad */
    const char *country;
} regev;

/* A set of int64 keys (open addressing, INT64_MIN empty): 8 bytes a slot,
 * at most two thirds full, so that a lookup stays within a cache line or
 * two; half the size of an i64map for the same keys. */
typedef struct i64set {
    int64_t *k;
    size_t cap, n;
} i64set;

static size_t set_home(const i64set *m, int64_t k)
{
    uint64_t h = (uint64_t)k * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (m->cap - 1);
}

static int set_init(i64set *m, size_t expect)
{
    size_t cap = 64;
    while (cap < expect + expect / 2)
        cap <<= 1;
    m->k = nmdi_derive_big_alloc(cap * sizeof *m->k);
    m->cap = cap;
    m->n = 0;
    if (!m->k)
        return -1;
    for (size_t i = 0; i < cap; i++)
        m->k[i] = INT64_MIN;
    return 0;
}

static size_t set_slot(const i64set *m, int64_t k)
{
    size_t i = set_home(m, k);
    while (m->k[i] != INT64_MIN && m->k[i] != k)
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* Add k (not INT64_MIN); -1 when out of memory. */
static int set_add(i64set *m, int64_t k)
{
    size_t i = set_slot(m, k);
    if (m->k[i] == k)
        return 0;
    if ((m->n + 1) * 3 > m->cap * 2) {
        i64set g;
        if (set_init(&g, m->cap))
            return -1;
        for (size_t j = 0; j < m->cap; j++)
            if (m->k[j] != INT64_MIN) {
                g.k[set_slot(&g, m->k[j])] = m->k[j];
                g.n++;
            }
        free(m->k);
        *m = g;
        i = set_slot(m, k);
    }
    m->k[i] = k;
    m->n++;
    return 0;
}

struct nmdi_regindex {
    i64set base;  /* identities in the register extract          */
    i64map first; /* identity -> index of its first event in ev  */
    regev *ev;
    size_t nev, capev;
    nmdi_date extract;
    uint64_t base_rows;
};

/* Digit d (16 bits; 0, 1 of the date, 2..5 of the identity) of e's sort
 * key (identity, date), as unsigned numbers in the order of the signed. */
static unsigned regev_digit(const regev *e, int d)
{
    if (d < 2)
        return (unsigned)((((uint32_t)e->date ^ UINT32_C(0x80000000)) >> (16 * d)) & 0xffff);
    return (unsigned)((((uint64_t)e->id ^ (UINT64_C(1) << 63)) >> (16 * (d - 2))) & 0xffff);
}

/* ev (n >= 1) by identity, then date, ties in their order: a stable LSD
 * radix sort, 16 bits a pass, skipping the passes whose digit all events
 * share; tmp holds n. (The stable merge sort of glibc's qsort gave the same
 * order at several times the cost.) -1 when out of memory. */
static int regev_sort(regev *ev, regev *tmp, size_t n)
{
    size_t *cnt = calloc((size_t)6 << 16, sizeof *cnt);
    if (!cnt)
        return -1;
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < 6; d++)
            cnt[((size_t)d << 16) + regev_digit(&ev[i], d)]++;
    regev *a = ev, *b = tmp;
    for (int d = 0; d < 6; d++) {
        size_t *c = cnt + ((size_t)d << 16);
        if (c[regev_digit(&a[0], d)] == n)
            continue;
        size_t s = 0;
        for (size_t k = 0; k < ((size_t)1 << 16); k++) {
            size_t x = c[k];
            c[k] = s;
            s += x;
        }
        for (size_t i = 0; i < n; i++)
            b[c[regev_digit(&a[i], d)]++] = a[i];
        regev *t = a;
        a = b;
        b = t;
    }
    if (a != ev)
        memcpy(ev, a, n * sizeof *ev);
    free(cnt);
    return 0;
}

/* Add the n ids (duplicates allowed) to the empty set m, slot after slot:
 * the ids in order of their home slot (a stable LSD radix sort of the
 * homes, 11 bits a pass, in m's slots as scratch), each put at its home or
 * just after the one before (a valid linear-probing layout: every slot from
 * a key's home to the key is taken), those that would run past the last
 * slot added as usual. The same members as set_add one by one, in one pass
 * over the set instead of a cache miss per id. ids is overwritten. */
static int set_fill(i64set *m, int64_t *ids, size_t n)
{
    size_t *cnt = malloc(2048 * sizeof *cnt);
    if (!cnt)
        return -1;
    int bits = 0;
    while (((size_t)1 << bits) < m->cap)
        bits++;
    int64_t *a = ids, *b = m->k; /* m->cap >= n */
    for (int sh = 0; sh < bits; sh += 11) {
        memset(cnt, 0, 2048 * sizeof *cnt);
        for (size_t i = 0; i < n; i++)
            cnt[(set_home(m, a[i]) >> sh) & 2047]++;
        size_t s = 0;
        for (size_t k = 0; k < 2048; k++) {
            size_t x = cnt[k];
            cnt[k] = s;
            s += x;
        }
        for (size_t i = 0; i < n; i++)
            b[cnt[(set_home(m, a[i]) >> sh) & 2047]++] = a[i];
        int64_t *t = a;
        a = b;
        b = t;
    }
    free(cnt);
    if (a != ids)
        memcpy(ids, a, n * sizeof *ids);
    for (size_t i = 0; i < m->cap; i++)
        m->k[i] = INT64_MIN;
    m->n = 0;
    size_t next = 0, nover = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t k = ids[i];
        size_t h = set_home(m, k), q = h > next ? h : next, j = h;
        while (j < q && m->k[j] != k)
            j++;
        if (j < q)
            continue; /* a repeat */
        if (q >= m->cap) {
            ids[nover++] = k; /* nover <= i */
            continue;
        }
        m->k[q] = k;
        m->n++;
        next = q + 1;
    }
    for (size_t i = 0; i < nover; i++)
        if (set_add(m, ids[i]) < 0)
            return -1;
    return 0;
}

/* The identity columns of one partition; 0 when all are present. */
static int id_cols(const nmdi_dataset *ds, size_t p, const int64_t **h, const int32_t **sex,
                   const char *const **sexd, size_t *nsex)
{
    nmdi_error e;
    for (int i = 0; i < 3; i++)
        if (nmdi_dataset_find(ds, idf[i]) < 0 || nmdi_dataset_i64(ds, p, idf[i], &h[i], &e))
            return -1;
    *sex = NULL;
    *sexd = NULL;
    *nsex = 0;
    if (nmdi_dataset_find(ds, "sex") >= 0 && !nmdi_dataset_i32(ds, p, "sex", sex, &e))
        *sexd = nmdi_dataset_dict(ds, "sex", nsex);
    if (!*sexd)
        *sex = NULL;
    return 0;
}

static const char *code_str(const int32_t *col, const char *const *dict, size_t n, size_t r)
{
    return col && col[r] >= 0 && (size_t)col[r] < n ? dict[col[r]] : "";
}

int nmdi_regindex_build(const nmdi_dataset *base, const nmdi_dataset *const *events, size_t nevents,
                        nmdi_regindex **out, nmdi_error *err)
{
    *out = NULL;
    size_t nbase = base ? (size_t)nmdi_dataset_rows(base) : 0, nids = 0, nrows = 0;
    int64_t *ids = NULL;
    regev *tmp = NULL;
    uint8_t *kmap = NULL;
    nmdi_regindex *x = calloc(1, sizeof *x);
    if (!x || set_init(&x->base, nbase + 16) ||
        !(ids = nmdi_derive_big_alloc((nbase ? nbase : 1) * sizeof *ids)))
        goto oom;
    x->extract = NMDI_DATE_NONE;
    for (size_t p = 0; base && p < nmdi_dataset_nparts(base); p++) {
        size_t n = (size_t)nmdi_dataset_part_rows(base, p), ns;
        const int64_t *h[3];
        const int32_t *sex, *since = NULL;
        const char *const *sd;
        if (!n || id_cols(base, p, h, &sex, &sd, &ns))
            continue;
        nmdi_error e;
        if (nmdi_dataset_find(base, "registered_since") < 0 ||
            nmdi_dataset_i32(base, p, "registered_since", &since, &e))
            since = NULL;
        static const char *const bcols[5] = {"surname_hash", "given_name_hash", "dob_hash", "sex",
                                             "registered_since"};
        for (int i = 0; i < 5; i++)
            if (nmdi_dataset_find(base, bcols[i]) >= 0)
                nmdi_dataset_populate(base, p, bcols[i]);
        for (size_t r = 0; r < n && nids < nbase; r++) {
            if (since && since[r] != NMDI_DATE_NONE &&
                (x->extract == NMDI_DATE_NONE || since[r] > x->extract))
                x->extract = since[r];
            int64_t id = nmdi_identity_id(h[0][r], h[1][r], h[2][r], code_str(sex, sd, ns, r));
            if (id != NMDI_I64_NONE)
                ids[nids++] = id;
        }
        x->base_rows += n;
    }
    /* the identities go in slot order (set_fill), not one cache miss each */
    if (set_fill(&x->base, ids, nids))
        goto oom;
    free(ids);
    ids = NULL;
    for (size_t k = 0; k < nevents; k++)
        nrows += (size_t)nmdi_dataset_rows(events[k]);
    if (nrows && (!(x->ev = nmdi_derive_big_alloc(nrows * sizeof *x->ev)) ||
                  !(tmp = nmdi_derive_big_alloc(nrows * sizeof *tmp))))
        goto oom;
    x->capev = nrows;
    for (size_t k = 0; k < nevents; k++) {
        const nmdi_dataset *ds = events[k];
        size_t nev = 0, ncty = 0;
        const char *const *evd = nmdi_dataset_dict(ds, "event", &nev);
        const char *const *cd = nmdi_dataset_dict(ds, "country", &ncty);
        if (!evd)
            continue;
        /* the kind of each event code, once (not a string comparison a row) */
        free(kmap);
        if (!(kmap = calloc(nev + 1, 1)))
            goto oom;
        for (size_t i = 0; i < nev; i++)
            kmap[i] = !strcmp(evd[i], "REG_IN") ? 1 : !strcmp(evd[i], "DEREG_OUT") ? 2 : 0;
        for (size_t p = 0; p < nmdi_dataset_nparts(ds); p++) {
            size_t n = (size_t)nmdi_dataset_part_rows(ds, p), ns;
            const int64_t *h[3];
            const int32_t *sex, *ev, *date, *cty = NULL;
            const char *const *sd;
            nmdi_error e;
            if (!n || id_cols(ds, p, h, &sex, &sd, &ns) || nmdi_dataset_i32(ds, p, "event", &ev, &e) ||
                nmdi_dataset_i32(ds, p, "date", &date, &e))
                continue;
            if (cd && nmdi_dataset_i32(ds, p, "country", &cty, &e))
                cty = NULL;
            for (size_t r = 0; r < n && x->nev < x->capev; r++) {
                uint8_t kind = ev[r] >= 0 && (size_t)ev[r] < nev ? kmap[ev[r]] : 0;
                if (!kind || date[r] == NMDI_DATE_NONE)
                    continue;
                const char *c = code_str(cty, cd, ncty, r);
                if (!*c)
                    continue;
                int64_t id = nmdi_identity_id(h[0][r], h[1][r], h[2][r], code_str(sex, sd, ns, r));
                if (id == NMDI_I64_NONE)
                    continue;
                x->ev[x->nev++] = (regev){id, date[r], kind, c};
            }
        }
    }
    free(kmap);
    kmap = NULL;
    if (x->nev && regev_sort(x->ev, tmp, x->nev))
        goto oom;
    free(tmp);
    tmp = NULL;
    size_t nid = 0; /* the map holds one entry per identity, not per event */
    for (size_t i = 0; i < x->nev; i++)
        nid += i == 0 || x->ev[i].id != x->ev[i - 1].id;
    if (map_init(&x->first, nid + 16))
        goto oom;
    for (size_t i = 0; i < x->nev; i++) {
        uint32_t v;
        if ((i == 0 || x->ev[i].id != x->ev[i - 1].id) && map_put(&x->first, x->ev[i].id, (uint32_t)i, &v) < 0)
            goto oom;
    }
    *out = x;
    return 0;
oom:
    free(ids), free(tmp), free(kmap);
    nmdi_regindex_free(x);
    return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory indexing the population register");
}

void nmdi_regindex_free(nmdi_regindex *x)
{
    if (!x)
        return;
    free(x->base.k), free(x->first.s), free(x->ev);
    free(x);
}

nmdi_date nmdi_regindex_extract_date(const nmdi_regindex *x)
{
    return x ? x->extract : NMDI_DATE_NONE;
}

void nmdi_regindex_prefetch(const nmdi_regindex *x, int64_t id)
{
    if (!x || id == NMDI_I64_NONE)
        return;
    /* prefetch instructions: since session 5 the groups issue this once per
     * person, 20 persons ahead, and a blocking load of the slot (used
     * before) cost 1-3 s of wall time more at 100 M crossings (3 alternated
     * pairs) */
    __builtin_prefetch(&x->base.k[set_home(&x->base, id)]);
    if (x->nev)
        map_prefetch(&x->first, id);
}

int nmdi_regindex_registered(const nmdi_regindex *x, int64_t id)
{
    if (!x || id == NMDI_I64_NONE)
        return -1;
    return x->base.k[set_slot(&x->base, id)] == id;
}

const char *nmdi_regindex_country(const nmdi_regindex *x, int64_t id, int inward, nmdi_date date,
                                  int maxdays)
{
    if (!x || id == NMDI_I64_NONE || !x->nev)
        return NULL;
    size_t s = slot(&x->first, id);
    if (x->first.s[s].key != id)
        return NULL;
    const char *best = NULL;
    int64_t bestd = (int64_t)maxdays + 1;
    for (size_t i = x->first.s[s].val; i < x->nev && x->ev[i].id == id; i++) {
        if (x->ev[i].kind != (inward ? 1 : 2))
            continue;
        int64_t dd = (int64_t)x->ev[i].date - date;
        if (dd < 0)
            dd = -dd;
        if (dd < bestd) {
            bestd = dd;
            best = x->ev[i].country;
        }
    }
    return best;
}
