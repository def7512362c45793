/*
 * pipeline_border.c — the border crossings of `nmdi derive DIR`
 * (pipeline_impl.h): the travel documents of a border source joined into
 * travellers (travellers.c), the rows of each traveller gathered into the
 * group of the traveller's home partition, and group by group on the thread
 * pool, batch by batch of persons in key order, each traveller's crossings
 * sorted, classified by the residence rule (residence.c), its migration
 * events derived (events.c), and both written column by column to the
 * outputs crossing_residence and migration_events. The stage itself
 * (sources, output versions, registers, permits) is in pipeline.c.
 */
#include "pipeline_impl.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Make room for one person's n crossings and events (contents not kept). */
static int scratch_person(scratch *sc, size_t n)
{
    if (n <= sc->pcap)
        return 0;
    size_t c = 2 * n > 64 ? 2 * n : 64;
    sc->pcap = 0;
    if (GROW(sc->d, c) || GROW(sc->dir, c) || GROW(sc->res, c) || GROW(sc->ev, c) ||
        GROW(sc->pit, c) || GROW(sc->prec, c))
        return -1;
    sc->pcap = c;
    return 0;
}

static int is_digit2(const char *s)
{
    return s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9';
}

/* "HH:MM" or "HH:MM:SS" (one or two digits each) in seconds, -1 otherwise. */
static int32_t parse_time(const char *s, size_t len)
{
    /* the usual "HH:MM" and "HH:MM:SS" without a loop (the same values) */
    if ((len == 5 || (len == 8 && s[5] == ':' && is_digit2(s + 6))) && s[2] == ':' &&
        is_digit2(s) && is_digit2(s + 3)) {
        int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
        int sec = len == 8 ? (s[6] - '0') * 10 + (s[7] - '0') : 0;
        if (h > 23 || m > 59 || sec > 60)
            return -1;
        return (int32_t)(h * 3600 + m * 60 + sec);
    }
    int v[3] = {0, 0, 0}, k = 0;
    size_t i = 0;
    if (len < 4 || len > 8)
        return -1;
    while (k < 3) {
        size_t d0 = i;
        while (i < len && i - d0 < 2 && s[i] >= '0' && s[i] <= '9')
            v[k] = v[k] * 10 + (s[i++] - '0');
        if (i == d0)
            return -1;
        k++;
        if (i == len)
            break;
        if (s[i++] != ':' || k == 3)
            return -1;
    }
    if (k < 2 || v[0] > 23 || v[1] > 59 || v[2] > 60)
        return -1;
    return (int32_t)(v[0] * 3600 + v[1] * 60 + v[2]);
}

/* Columns of one input partition of a border dataset; with document linkage
 * also the rows whose traveller belongs to another group (the home partition
 * of the traveller's root document), found by one parallel pass. */
typedef struct bcols {
    size_t n;
    const int64_t *key;
    const int32_t *date, *dir, *doc, *sex, *dob;
    const uint64_t *toff;
    const char *tbytes;
    const int64_t *idh[3]; /* keyed surname, given names, date of birth (or NULL) */
    size_t nforeign, capforeign;
    uint32_t *frow;   /* rows of this partition that go to another group (ascending) */
    uint32_t *fdoc;   /* their document's index                                      */
    uint16_t *fgroup; /* and that group                                              */
    size_t ingroup;   /* rows of the group of this index (own rows + others' foreign) */
} bcols;

/* Push a row of this partition that goes to group g (its traveller's
 * home), with its document's index. */
static int push_foreign(run *R, bcols *c, uint32_t row, uint32_t g, uint32_t doc)
{
    if (c->nforeign == c->capforeign) { /* three arrays, one capacity */
        size_t cr = c->capforeign, cd = c->capforeign, cg = c->capforeign;
        if (nmdi_derive_big_grow((void **)&c->frow, &cr, c->nforeign + 1, sizeof *c->frow, 1024) ||
            nmdi_derive_big_grow((void **)&c->fdoc, &cd, c->nforeign + 1, sizeof *c->fdoc, 1024) ||
            nmdi_derive_big_grow((void **)&c->fgroup, &cg, c->nforeign + 1, sizeof *c->fgroup, 1024))
            return run_oom(R);
        c->capforeign = cg;
    }
    c->frow[c->nforeign] = row;
    c->fdoc[c->nforeign] = doc;
    c->fgroup[c->nforeign++] = (uint16_t)g;
    return 0;
}

/* One partition's rows whose traveller's home is another partition, run by
 * run of rows of one document. */
/* The columns the groups read of every row, other than those the document
 * scan and the cut-off already mapped. */
static const char *const group_cols[] = {"direction", "document_country", "sex", "date_of_birth",
                                         "time"};

static int foreign_part(void *arg, size_t p)
{
    run *R = arg;
    bcols *c = &R->bc[p];
    size_t nr;
    /* mapped here, partition by partition on the pool, rather than by the
     * first groups that read this partition's foreign rows (a page fault
     * each, scattered) */
    for (size_t k = 0; k < sizeof group_cols / sizeof group_cols[0]; k++)
        if (nmdi_dataset_find(R->ds, group_cols[k]) >= 0)
            nmdi_dataset_populate(R->ds, p, group_cols[k]);
    const nmdi_trun *runs = nmdi_travellers_runs(R->tr, p, &nr);
    for (size_t k = 0; k < nr; k++) {
        uint32_t doc = runs[k].doc;
        if (doc == NMDI_TRUN_NONE || R->phome[doc] == p)
            continue;
        size_t end = k + 1 < nr ? runs[k + 1].row : c->n;
        for (size_t i = runs[k].row; i < end; i++)
            if (push_foreign(R, c, (uint32_t)i, R->phome[doc], doc))
                return NMDI_EINTERNAL;
    }
    return 0;
}

static int border_cols(run *R, nmdi_error *err)
{
    size_t np = nmdi_dataset_nparts(R->ds);
    if (np > 65535)
        return nmdi_error_set(err, NMDI_EDATA, "%zu partitions: at most 65535 are supported", np);
    R->bc = calloc(np ? np : 1, sizeof *R->bc);
    if (!R->bc)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    for (size_t p = 0; p < np; p++) {
        bcols *c = &R->bc[p];
        c->n = (size_t)nmdi_dataset_part_rows(R->ds, p);
        if (!c->n)
            continue;
        if (nmdi_dataset_i64(R->ds, p, "traveller_key", &c->key, err) ||
            nmdi_dataset_i32(R->ds, p, "date", &c->date, err) ||
            nmdi_dataset_i32(R->ds, p, "direction", &c->dir, err))
            return err->code;
        c->doc = col_i32(R, p, "document_country");
        c->sex = col_i32(R, p, "sex");
        c->dob = col_i32(R, p, "date_of_birth");
        nmdi_error e;
        if (!R->has_time || nmdi_dataset_str(R->ds, p, "time", &c->toff, &c->tbytes, &e))
            c->toff = NULL;
        static const char *const idn[3] = {"surname_hash", "given_name_hash", "dob_hash"};
        for (int k = 0; k < 3; k++)
            if (nmdi_dataset_find(R->ds, idn[k]) < 0 ||
                nmdi_dataset_i64(R->ds, p, idn[k], &c->idh[k], &e))
                c->idh[k] = NULL;
    }
    if (R->tr && nmdi_pool_run(R->ctx, np, foreign_part, R)) {
        *err = R->err;
        return err->code ? err->code : nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    for (size_t p = 0; p < np; p++) {
        bcols *c = &R->bc[p];
        c->ingroup += c->n - c->nforeign;
        for (size_t j = 0; j < c->nforeign; j++)
            R->bc[c->fgroup[j]].ingroup++;
    }
    return 0;
}

static void border_cols_free(run *R)
{
    if (!R->bc)
        return;
    for (size_t p = 0; p < nmdi_dataset_nparts(R->ds); p++)
        free(R->bc[p].frow), free(R->bc[p].fdoc), free(R->bc[p].fgroup);
    free(R->bc);
    R->bc = NULL;
}

/* The register identity of the last row gathered: rows of one document
 * usually repeat their identity, which is then not hashed again. */
typedef struct idcache {
    int64_t h[3];
    int32_t sex;
    int64_t id;
} idcache;

/* Put row i of a partition (columns c) into a group as record q. */
static void border_item(const run *R, prow *q, const bcols *c, size_t i, idcache *ic)
{
    int32_t date = c->date[i];
    q->date = date == NMDI_DATE_NONE ? INT32_MAX : date;
    q->time = c->toff ? parse_time(c->tbytes + c->toff[i], (size_t)(c->toff[i + 1] - c->toff[i])) : -1;
    q->key = c->key[i];
    q->dir = c->dir[i];
    q->doc = c->doc ? c->doc[i] : -1;
    q->sex = c->sex ? c->sex[i] : -1;
    q->dob = c->dob ? c->dob[i] : NMDI_DATE_NONE;
    q->id = NMDI_I64_NONE;
    if (R->rx && c->idh[0] && c->idh[1] && c->idh[2]) {
        int64_t h0 = c->idh[0][i], h1 = c->idh[1][i], h2 = c->idh[2][i];
        int32_t sx = q->sex;
        if (h0 != ic->h[0] || h1 != ic->h[1] || h2 != ic->h[2] || sx != ic->sex) {
            const char *sl = sx >= 0 && (size_t)sx < R->sex.n && R->sex.dict ? R->sex.dict[sx] : "";
            ic->h[0] = h0, ic->h[1] = h1, ic->h[2] = h2, ic->sex = sx;
            ic->id = nmdi_identity_id(h0, h1, h2, sl);
        }
        q->id = ic->id;
    }
}

/* The output dictionary index of a code, added on first use (under dmu). */
static int32_t lazy_code_n(run *R, int32_t *slot, nmdi_store_writer *w, size_t f, const char *s,
                           size_t len)
{
    int32_t v = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (v != CODE_UNSEEN)
        return v;
    pthread_mutex_lock(&R->dmu);
    if ((v = *slot) == CODE_UNSEEN) {
        v = nmdi_store_code_index(w, f, s, len);
        if (v < -1) {
            R->code_failed = 1;
            v = -1;
        } else
            __atomic_store_n(slot, v, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&R->dmu);
    return v;
}

static inline int32_t lazy_code(run *R, int32_t *slot, nmdi_store_writer *w, size_t f, const char *s)
{
    int32_t v = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    return v != CODE_UNSEEN ? v : lazy_code_n(R, slot, w, f, s, strlen(s));
}

/* The output index of an input CODE value (-1 missing), through map. */
static inline int32_t out_code_v(run *R, int32_t *map, nmdi_store_writer *w, size_t f, const codecol *c,
                          int32_t k)
{
    if (!c->dict || k < 0 || (size_t)k >= c->n)
        return -1;
    return lazy_code(R, &map[k], w, f, c->dict[k]);
}

/* The output index of a register country (a string of a dataset dictionary;
 * the same pointer for the same country), cached per worker. */
static int32_t cty_code(run *R, scratch *sc, nmdi_store_writer *w, size_t f, const char *s)
{
    if (!s || !*s)
        return -1;
    int k = f == EV_PREV ? 0 : 1;
    unsigned h = (unsigned)(((uintptr_t)s * 0x9E3779B97F4A7C15ULL) >> 58);
    if (sc->cty_ptr[k][h] == s)
        return sc->cty_idx[k][h];
    int32_t slot = CODE_UNSEEN;
    int32_t v = lazy_code(R, &slot, w, f, s);
    if (!R->code_failed) {
        sc->cty_ptr[k][h] = s;
        sc->cty_idx[k][h] = v;
    }
    return v;
}

/* ---- the output threads --------------------------------------------------------------------------
 * The chunks of crossing_residence and migration_events are appended to the
 * store by output threads, while the workers go on with their other set of
 * chunks: the appends wait for the disk (direct writes,
 * nmdi_store_writer_direct), which would otherwise stop a worker for about a
 * quarter of its time at 100 M crossings. An output partition's chunks go to
 * one thread (partition op to thread op % OW_THREADS), appended in the order
 * queued; a group holds its output partition's lock while it queues, so a
 * partition's rows keep their order. Several threads keep several writes in
 * flight (one at a time reaches about half of the disk's throughput). Without
 * the threads (they could not start) the chunks are appended at once. */
#define OW_THREADS 4
#define OQ 32 /* queued chunks per thread at most (workers x 2 outputs x 2 sets need fewer) */

typedef struct ojob {
    nmdi_store_writer *w;
    uint32_t op;
    size_t n;
    unsigned char **cols;
    int *busy;
} ojob;

typedef struct olane {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a job queued, done, or the stop */
    ojob q[OQ];
    size_t head, n;
    int stop, failed;
    nmdi_error err; /* the first failed append */
} olane;

typedef struct owriter {
    olane l[OW_THREADS];
    int nl;
} owriter;

static void *ow_main(void *arg)
{
    olane *o = arg;
    pthread_mutex_lock(&o->mu);
    for (;;) {
        while (!o->n && !o->stop)
            pthread_cond_wait(&o->cv, &o->mu);
        if (!o->n)
            break;
        ojob j = o->q[o->head];
        int failed = o->failed;
        pthread_mutex_unlock(&o->mu);
        nmdi_error e;
        nmdi_error_clear(&e);
        int rc = failed ? 0 : nmdi_store_append_columns(j.w, j.op, j.n, (const void *const *)j.cols, &e);
        pthread_mutex_lock(&o->mu);
        if (rc && !o->failed) {
            o->failed = 1;
            o->err = e;
        }
        o->head = (o->head + 1) % OQ;
        o->n--;
        *j.busy = 0;
        pthread_cond_broadcast(&o->cv);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

/* Wait until the jobs queued are done, then end the threads. */
static void ow_stop(run *R)
{
    owriter *w = R->ow;
    if (!w)
        return;
    for (int i = 0; i < w->nl; i++) {
        olane *o = &w->l[i];
        pthread_mutex_lock(&o->mu);
        o->stop = 1;
        pthread_cond_broadcast(&o->cv);
        pthread_mutex_unlock(&o->mu);
        pthread_join(o->th, NULL);
        pthread_cond_destroy(&o->cv);
        pthread_mutex_destroy(&o->mu);
    }
    free(w);
    R->ow = NULL;
}

static void ow_start(run *R)
{
    owriter *w = calloc(1, sizeof *w);
    if (!w)
        return;
    R->ow = w;
    int want = R->out_parts < OW_THREADS ? (int)R->out_parts : OW_THREADS;
    for (int i = 0; i < want; i++) {
        olane *o = &w->l[i];
        if (pthread_mutex_init(&o->mu, NULL))
            break;
        if (pthread_cond_init(&o->cv, NULL)) {
            pthread_mutex_destroy(&o->mu);
            break;
        }
        if (pthread_create(&o->th, NULL, ow_main, o)) {
            pthread_cond_destroy(&o->cv);
            pthread_mutex_destroy(&o->mu);
            break;
        }
        w->nl++;
    }
    if (!w->nl) { /* no thread: appends in the workers */
        free(w);
        R->ow = NULL;
    }
}

static olane *ow_lane(run *R, uint32_t op)
{
    return R->ow ? &R->ow->l[op % (uint32_t)R->ow->nl] : NULL;
}

/* Wait until *busy is clear (its chunk set appended by the thread of output
 * partition op); 0, or that thread's error (an append that failed). */
static int ow_wait(run *R, uint32_t op, int *busy, nmdi_error *e)
{
    olane *o = ow_lane(R, op);
    if (!o)
        return 0;
    pthread_mutex_lock(&o->mu);
    while (*busy)
        pthread_cond_wait(&o->cv, &o->mu);
    int rc = o->failed ? (*e = o->err, o->err.code ? o->err.code : NMDI_EINTERNAL) : 0;
    pthread_mutex_unlock(&o->mu);
    return rc;
}

/* Hand the n rows of chunk set *k of output o (0 CR, 1 EV) to the thread of
 * output partition op, and switch *k to the other set, once that one is
 * free; *n is then 0. Without the threads: appended here. */
static int flush_chunk(run *R, scratch *sc, int o, uint32_t op, int *k, size_t *n, nmdi_error *e)
{
    nmdi_store_writer *w = R->w[o ? OUT_EV : OUT_CR];
    unsigned char **cols = o ? sc->evcol[*k] : sc->crcol[*k];
    size_t rows = *n;
    *n = 0;
    olane *l = ow_lane(R, op);
    if (!l)
        return nmdi_store_append_columns(w, op, rows, (const void *const *)cols, e);
    pthread_mutex_lock(&l->mu);
    while (l->n == OQ)
        pthread_cond_wait(&l->cv, &l->mu);
    sc->busy[o][*k] = 1;
    l->q[(l->head + l->n) % OQ] = (ojob){w, op, rows, cols, &sc->busy[o][*k]};
    l->n++;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    *k ^= 1;
    return ow_wait(R, op, &sc->busy[o][*k], e);
}

/* Crossings of a stretch of persons (below); more for one person of more. */
#define STRETCH_ROWS ((size_t)1 << 21)

/* Items ahead of the person being classified whose register entries are
 * fetched (a register lookup is a cache miss). */
#define PREFETCH_AHEAD 40

/* The rows of group g (see border_part) as spans of rows of one traveller,
 * in (part, row) order (the tie-break of item_cmp): partition p's spans are
 * sp[ps[p] .. ps[p + 1]). sp must hold group_spans_max(R, g) spans, ps
 * partitions + 1 entries. Returns their number. */
static size_t group_spans_max(const run *R, size_t g)
{
    const bcols *c = &R->bc[g];
    size_t own = c->n - c->nforeign, in = R->bc[g].ingroup - own, nr = c->n;
    if (R->tr)
        nmdi_travellers_runs(R->tr, g, &nr);
    return nr + in;
}

static size_t group_spans(const run *R, size_t g, span *sp, size_t *ps)
{
    size_t np = nmdi_dataset_nparts(R->ds), ns = 0;
    for (size_t p = 0; p < np; p++) {
        const bcols *c = &R->bc[p];
        ps[p] = ns;
        if (!R->tr) {
            if (p != g)
                continue;
            for (size_t i = 0, e; i < c->n; i = e) {
                for (e = i + 1; e < c->n && c->key[e] == c->key[i]; e++)
                    ;
                sp[ns++] = (span){c->key[i], (uint32_t)i, (uint32_t)e};
            }
            continue;
        }
        if (p == g) {
            /* the partition's own rows: its runs of documents of travellers at home here */
            size_t nr;
            const nmdi_trun *runs = nmdi_travellers_runs(R->tr, p, &nr);
            for (size_t r = 0; r < nr; r++) {
                uint32_t doc = runs[r].doc;
                if (doc != NMDI_TRUN_NONE && R->phome[doc] != g)
                    continue;
                int64_t person = doc == NMDI_TRUN_NONE ? NMDI_I64_NONE : R->pkey[doc];
                size_t end = r + 1 < nr ? runs[r + 1].row : c->n;
                sp[ns++] = (span){person, runs[r].row, (uint32_t)end};
            }
        } else
            for (size_t f = 0; f < c->nforeign; f++)
                if (c->fgroup[f] == g)
                    sp[ns++] = (span){R->pkey[c->fdoc[f]], c->frow[f], c->frow[f] + 1};
    }
    ps[np] = ns;
    return ns;
}

/* Sort one person's n records (in (part, row) order) by (date, time),
 * stable: item_cmp's order, through nmdi_derive_person_sort of their dates
 * and times when they are not in that order already (the usual case: a
 * document's crossings come in date order). 0, or -1 when out of memory. */
static int person_rows_sort(scratch *sc, prow *r, size_t n)
{
    size_t k = 1;
    while (k < n && (r[k - 1].date < r[k].date || (r[k - 1].date == r[k].date && r[k - 1].time <= r[k].time)))
        k++;
    if (k >= n)
        return 0;
    if (scratch_person(sc, n))
        return -1;
    for (size_t i = 0; i < n; i++)
        sc->pit[i] = (item){0, r[i].date, r[i].time, 0, (uint32_t)i};
    nmdi_derive_person_sort(sc->pit, n);
    for (size_t i = 0; i < n; i++)
        sc->prec[i] = r[sc->pit[i].row];
    memcpy(r, sc->prec, n * sizeof *r);
    return 0;
}

/* Spans ahead of the one being gathered whose rows are fetched into the cache. */
#define SPAN_AHEAD 8

static void prefetch_span(const run *R, const bcols *c, const span *x)
{
    uint32_t r = x->s;
    __builtin_prefetch(&c->key[r]);
    __builtin_prefetch(&c->date[r]);
    __builtin_prefetch(&c->dir[r]);
    if (c->toff)
        __builtin_prefetch(&c->toff[r]);
    if (c->doc)
        __builtin_prefetch(&c->doc[r]);
    if (c->sex)
        __builtin_prefetch(&c->sex[r]);
    if (c->dob)
        __builtin_prefetch(&c->dob[r]);
    if (R->rx)
        for (int k = 0; k < 3; k++)
            if (c->idh[k])
                __builtin_prefetch(&c->idh[k][r]);
}

/* One group of travellers: the rows of partition g whose traveller's home is
 * g, and with document linkage the rows of other partitions whose traveller's
 * home is g. Batch by batch of persons (ranges of person keys, in order),
 * person by person (in key order): the crossings are classified, their
 * events derived, and both appended to output partition g % out_parts
 * column by column, CHUNK rows per append. The output partition's lock is
 * held for the whole group, so that its rows are contiguous and in person
 * order (no group waits when there are as many output as input partitions). */
int nmdi_derive_border_part(void *arg, size_t g)
{
    run *R = arg;
    size_t n = R->bc[g].ingroup;
    if (n == 0)
        return 0;
    dtrace("group+", (long)g);
    nmdi_error e;
    nmdi_error_clear(&e);
    size_t np = nmdi_dataset_nparts(R->ds), smax = group_spans_max(R, g);
    size_t *ps = calloc(np + 1, sizeof *ps);
    scratch *sc = ps ? nmdi_derive_scratch_get(R, 0) : NULL;
    nmdi_derive_summary *S = calloc(1, sizeof *S);
    if (sc && smax > sc->scap) { /* spans and their destinations */
        size_t c2 = smax + smax / 4;
        sc->scap = 0;
        if (!GROW(sc->sp, c2) && !GROW(sc->sdst, c2) && !GROW(sc->pb, c2 + 1) &&
            !GROW(sc->spk, 2 * c2))
            sc->scap = c2;
    }
    size_t want = n < STRETCH_ROWS ? n : STRETCH_ROWS; /* records of a stretch */
    if (sc && sc->scap >= smax && want > sc->gcap) {
        sc->gcap = 0;
        if (!GROW(sc->rows, want))
            sc->gcap = want;
    }
    if (!sc || !S || sc->scap < smax || sc->gcap < want) {
        if (sc)
            nmdi_derive_scratch_put(R, sc);
        free(S), free(ps);
        return run_oom(R);
    }
    /* the group's spans in (part, row) order, sorted by person key (stable);
     * a span's destination is then its place in person order, and the
     * persons (their key and first place) are noted in key order */
    size_t ns = group_spans(R, g, sc->sp, ps), npers = 0;
    dtrace("spans", (long)g);
    {
        keyidx *pk = sc->spk, *ptmp = pk + ns;
        for (size_t x = 0; x < ns; x++)
            pk[x] = (keyidx){sc->sp[x].person, (uint32_t)x};
        nmdi_derive_keyidx_sort(pk, ptmp, ns);
        size_t dst = 0;
        for (size_t r = 0; r < ns; r++) {
            const span *q = &sc->sp[pk[r].idx];
            if (r == 0 || pk[r].key != pk[r - 1].key)
                sc->pb[npers++] = (keyidx){pk[r].key, (uint32_t)dst};
            sc->sdst[pk[r].idx] = (uint32_t)dst;
            dst += q->e - q->s;
        }
        assert(dst == n);
        sc->pb[npers] = (keyidx){0, (uint32_t)dst};
    }
    /* the pages of this partition's columns mapped in one call each (done
     * by foreign_part when the documents were joined) */
    if (!R->tr)
        for (size_t k = 0; k < sizeof group_cols / sizeof group_cols[0]; k++)
            if (nmdi_dataset_find(R->ds, group_cols[k]) >= 0)
                nmdi_dataset_populate(R->ds, g, group_cols[k]);
    nmdi_circular_opts co;
    nmdi_circular_opts_default(&co, R->cutoff);
    nmdi_residence_rule rule = R->P->rule;
    rule.cutoff = R->cutoff;
    nmdi_store_writer *wc = R->w[OUT_CR], *we = R->w[OUT_EV];
    uint32_t op = (uint32_t)(g % R->out_parts);
    int rc = 0;
    pthread_mutex_lock(&R->opmu[op]);
    size_t ncr = 0, nevr = 0;
#define COL32(cols, f, row) (((int32_t *)(cols)[f])[row])
#define COL64(cols, f, row) (((int64_t *)(cols)[f])[row])
    int kc = 0, ke = 0; /* the chunk sets being filled */
    unsigned char **cc = sc->crcol[kc], **ec = sc->evcol[ke];
    prow *pr = sc->rows;
    const keyidx *pb = sc->pb;
    /* the source's output codes, looked up once per group on first use */
    int32_t cr_src = CODE_UNSEEN, ev_src = CODE_UNSEEN;
    idcache ic = {{NMDI_I64_NONE, NMDI_I64_NONE, NMDI_I64_NONE}, -2, NMDI_I64_NONE};
    /* stretch by stretch of persons in key order (STRETCH_ROWS crossings, or
     * one person's), each stretch's rows read in (part, row) order, the
     * input columns sequentially, and each row put at its place in person
     * order (a span's rows together, in the stretch's records: work memory
     * that stays in the cache's reach and is reused, not a group's worth of
     * fresh pages); then person by person (persons without a key: each
     * crossing alone), the records of a person sorted by date and time when
     * reached (item_cmp's tie-break, the place, is the (part, row) order) */
    for (size_t j0 = 0; j0 < npers && !rc;) {
        size_t lo = pb[j0].idx, j1 = j0 + 1;
        while (j1 < npers && pb[j1 + 1].idx - lo <= STRETCH_ROWS)
            j1++;
        size_t hi = pb[j1].idx;
        if (hi - lo > sc->gcap) { /* one person of more crossings */
            sc->gcap = 0;
            if (GROW(sc->rows, hi - lo)) {
                rc = nmdi_error_set(&e, NMDI_EINTERNAL, "out of memory in partition work");
                break;
            }
            sc->gcap = hi - lo;
            pr = sc->rows;
        }
        for (size_t p = 0; p < np; p++) {
            const bcols *c = &R->bc[p];
            for (size_t x = ps[p]; x < ps[p + 1]; x++) {
                size_t dx = sc->sdst[x];
                if (dx < lo || dx >= hi)
                    continue;
                /* the columns of a span of this stretch a little ahead */
                if (x + SPAN_AHEAD < ps[p + 1] && sc->sdst[x + SPAN_AHEAD] >= lo &&
                    sc->sdst[x + SPAN_AHEAD] < hi)
                    prefetch_span(R, c, &sc->sp[x + SPAN_AHEAD]);
                const span *q = &sc->sp[x];
                prow *r = &pr[dx - lo];
                for (uint32_t i = q->s; i < q->e; i++, r++)
                    border_item(R, r, c, i, &ic);
            }
        }
        for (size_t pj = j0, a = 0, b; pj < j1 && !rc; a = b) {
            size_t e0 = pb[pj + 1].idx - lo;
            int64_t pkey = pb[pj].key;
            if (a == pb[pj].idx - lo) {
                if (person_rows_sort(sc, pr + a, e0 - a)) {
                    rc = nmdi_error_set(&e, NMDI_EINTERNAL, "out of memory in partition work");
                    break;
                }
                /* the register's entry of a person a little ahead */
                if (R->rx && pj + PREFETCH_AHEAD / 2 < j1)
                    nmdi_regindex_prefetch(R->rx, pr[pb[pj + PREFETCH_AHEAD / 2].idx - lo].id);
            }
            b = pkey == NMDI_I64_NONE ? a + 1 : e0;
            pj += b == e0;
            size_t pn = b - a;
            if (scratch_person(sc, pn)) {
                rc = nmdi_error_set(&e, NMDI_EINTERNAL, "out of memory in partition work");
                break;
            }
            nmdi_date *d = sc->d;
            uint8_t *dir = sc->dir;
            nmdi_residence_result *res = sc->res;
            nmdi_migration_event *ev = sc->ev;
            int citizen = -1;
            for (size_t i = 0; i < pn; i++) {
                const prow *q = &pr[a + i];
                d[i] = q->date == INT32_MAX ? NMDI_DATE_NONE : q->date;
                int32_t k = q->dir;
                dir[i] = k >= 0 && (size_t)k < R->dir.n ? R->dirmap[k] : NMDI_DIR_UNKNOWN;
                k = q->doc;
                if (citizen != 1 && k >= 0 && (size_t)k < R->doc.n)
                    citizen = R->home[k] ? 1 : 0;
            }
            /* the traveller's identities (distinct, up to 4) for the register */
            int nid = 0, initial = -1;
            int64_t ids[4];
            if (R->rx) {
                for (size_t i = a; i < b && nid < 4; i++) {
                    int64_t id = pr[i].id;
                    int seen = id == NMDI_I64_NONE;
                    for (int k = 0; k < nid && !seen; k++)
                        seen = ids[k] == id;
                    if (!seen)
                        ids[nid++] = id;
                }
                /* found in the extract: resident at its date; not found (a visitor,
                 * or a resident the register missed or a name keyed otherwise):
                 * inferred from the first crossing, as without a register */
                int found = 0;
                for (int k = 0; R->use_initial && k < nid && !found; k++)
                    found = nmdi_regindex_registered(R->rx, ids[k]) == 1;
                if (found)
                    initial = 1;
                if (R->use_initial) {
                    S->initial_registered += found;
                    S->initial_unregistered += nid && !found;
                    S->initial_inferred += !found;
                }
            }
            int64_t pid0 = nid ? ids[0] : NMDI_I64_NONE; /* countries: through the first identity */
            nmdi_residence_classify(&rule, pn, d, dir, NULL, initial,
                                    initial < 0 ? NMDI_DATE_NONE : R->d0, res);
            size_t nev = nmdi_derive_events(&R->P->events, pn, d, dir, res, citizen, ev);
            S->travellers++;
            for (size_t i = 0; i < pn && !rc; i++) {
                const prow *q = &pr[a + i];
                const nmdi_residence_result *x = &res[i];
                S->errors[x->error < 5 ? x->error : 0]++;
                S->provisional_crossings += x->provisional;
                size_t j = ncr;
                COL64(cc, CR_KEY, j) = q->key;
                COL32(cc, CR_DATE, j) = d[i];
                COL32(cc, CR_DIR, j) = out_code_v(R, R->cr_dir, wc, CR_DIR, &R->dir, q->dir);
                COL32(cc, CR_DOC, j) = out_code_v(R, R->cr_doc, wc, CR_DOC, &R->doc, q->doc);
                COL32(cc, CR_SEX, j) = out_code_v(R, R->cr_sex, wc, CR_SEX, &R->sex, q->sex);
                COL32(cc, CR_DOB, j) = q->dob;
                COL32(cc, CR_RB, j) = i32_or_none(x->rb);
                COL32(cc, CR_RA, j) = i32_or_none(x->ra);
                COL32(cc, CR_LTM, j) = x->ltm;
                COL32(cc, CR_FB, j) = x->fb;
                COL32(cc, CR_FA, j) = x->fa;
                COL32(cc, CR_FM, j) = x->fm;
                COL32(cc, CR_PROV, j) = x->provisional;
                COL32(cc, CR_ERR, j) = x->error;
                if (cr_src == CODE_UNSEEN)
                    cr_src = lazy_code(R, &R->cr_src, wc, CR_SRC, R->source);
                COL32(cc, CR_SRC, j) = cr_src;
                COL64(cc, CR_PERSON, j) = pkey;
                if (++ncr == CHUNK) {
                    rc = flush_chunk(R, sc, 0, op, &kc, &ncr, &e);
                    cc = sc->crcol[kc];
                }
            }
            int any_circ = 0, any_tcirc = 0;
            for (size_t j = 0; j < nev && !rc; j++) {
                const nmdi_migration_event *x = &ev[j];
                /* circular (UNECE 2016, as in the truth of nmdi synth): the event is at
                 * least the min_crossings-th long-term migration (IMM/EMI) of the
                 * traveller within window_days ending at it; temporary circular: the
                 * same counting temporary mobility too */
                int nlt = 0, nall = 0;
                for (size_t i = 0; i <= j; i++)
                    if (ev[i].date > x->date - co.window_days) {
                        nall++;
                        nlt += ev[i].type == NMDI_EV_IMMIGRATION || ev[i].type == NMDI_EV_EMIGRATION;
                    }
                int lt = x->type == NMDI_EV_IMMIGRATION || x->type == NMDI_EV_EMIGRATION;
                int circ = lt && nlt >= co.min_crossings, tcirc = nall >= co.min_crossings;
                any_circ |= circ;
                any_tcirc |= tcirc;
                const prow *sr = &pr[a + x->crossing];
                size_t q = nevr;
                COL64(ec, EV_KEY, q) = pkey;
                COL32(ec, EV_EVENT, q) = lazy_code(R, &R->ev_type[x->type & 7], we, EV_EVENT,
                                                   nmdi_event_code(x->type, 0));
                COL32(ec, EV_DATE, q) = x->date;
                COL32(ec, EV_CIT, q) = i32_or_none(citizen);
                COL32(ec, EV_RET, q) = x->returning_citizen;
                COL32(ec, EV_COUNTRY, q) = out_code_v(R, R->ev_cty, we, EV_COUNTRY, &R->doc, sr->doc);
                COL32(ec, EV_SEX, q) = out_code_v(R, R->ev_sex, we, EV_SEX, &R->sex, sr->sex);
                COL32(ec, EV_DOB, q) = sr->dob;
                COL32(ec, EV_PROV, q) = x->provisional;
                COL32(ec, EV_CIRC, q) = circ;
                COL32(ec, EV_CIRCT, q) = tcirc;
                COL32(ec, EV_DUR, q) = x->duration < 0 ? NMDI_I32_NONE : x->duration;
                if (ev_src == CODE_UNSEEN)
                    ev_src = lazy_code(R, &R->ev_src, we, EV_SRC, R->source);
                COL32(ec, EV_SRC, q) = ev_src;
                /* previous / next country of residence: the register's record of
                 * this move (registration from / deregistration to abroad) */
                int inward = x->type == NMDI_EV_IMMIGRATION || x->type == NMDI_EV_TEMP_IN;
                const char *rc_cty = nmdi_regindex_country(R->rx, pid0, inward, x->date, 183);
                COL32(ec, inward ? EV_PREV : EV_NEXT, q) =
                    cty_code(R, sc, we, inward ? EV_PREV : EV_NEXT, rc_cty);
                COL32(ec, inward ? EV_NEXT : EV_PREV, q) = -1;
                S->events_with_residence += rc_cty && lt;
                if (++nevr == CHUNK) {
                    rc = flush_chunk(R, sc, 1, op, &ke, &nevr, &e);
                    ec = sc->evcol[ke];
                }
                int y = year_index(x->date);
                if (x->type < 5) {
                    S->events[x->type][y]++;
                    S->events_prov[x->type][y] += x->provisional;
                }
                S->returning += x->returning_citizen;
            }
            S->circular += any_circ;
            S->circular_temporary += any_tcirc;
        }
        j0 = j1;
    }
    free(ps);
#undef COL32
#undef COL64
    if (!rc && ncr)
        rc = flush_chunk(R, sc, 0, op, &kc, &ncr, &e);
    if (!rc && nevr)
        rc = flush_chunk(R, sc, 1, op, &ke, &nevr, &e);
    /* the scratch (and its chunks) goes back to the spare list: every chunk
     * queued must be appended first (also after an error) */
    for (int o = 0; o < 2; o++)
        for (int k = 0; k < 2; k++) {
            nmdi_error e2;
            int r2 = ow_wait(R, op, &sc->busy[o][k], &e2);
            if (r2 && !rc)
                rc = r2, e = e2;
        }
    if (!rc && R->code_failed)
        rc = nmdi_error_set(&e, NMDI_EINTERNAL, "out of memory writing the store");
    pthread_mutex_unlock(&R->opmu[op]);
    pthread_mutex_lock(&R->mu);
    if (rc && !R->err.code)
        R->err = e;
    nmdi_derive_summary *T = R->sum;
    T->crossings_in += n;
    T->crossings_out += n;
    T->travellers += S->travellers;
    for (int i = 0; i < 5; i++)
        T->errors[i] += S->errors[i];
    T->provisional_crossings += S->provisional_crossings;
    for (int t = 0; t < 5; t++)
        for (int y = 0; y < NMDI_DERIVE_NYEARS; y++) {
            T->events[t][y] += S->events[t][y];
            T->events_prov[t][y] += S->events_prov[t][y];
        }
    T->returning += S->returning;
    T->circular += S->circular;
    T->circular_temporary += S->circular_temporary;
    T->initial_registered += S->initial_registered;
    T->initial_unregistered += S->initial_unregistered;
    T->initial_inferred += S->initial_inferred;
    T->events_with_residence += S->events_with_residence;
    run_progress(R, n);
    pthread_mutex_unlock(&R->mu);
    nmdi_derive_scratch_put(R, sc);
    free(S);
    dtrace("group-", (long)g);
    return rc;
}

/* Input dictionary -> output dictionary maps of the border outputs (all unseen). */
static int32_t *unseen_map(size_t n)
{
    int32_t *m = malloc((n + 1) * sizeof *m);
    for (size_t i = 0; m && i <= n; i++)
        m[i] = CODE_UNSEEN;
    return m;
}

static int code_maps(run *R, nmdi_error *err)
{
    R->cr_dir = unseen_map(R->dir.n);
    R->cr_doc = unseen_map(R->doc.n);
    R->cr_sex = unseen_map(R->sex.n);
    R->ev_cty = unseen_map(R->doc.n);
    R->ev_sex = unseen_map(R->sex.n);
    R->cr_src = R->ev_src = CODE_UNSEEN;
    for (int t = 0; t < 8; t++)
        R->ev_type[t] = CODE_UNSEEN;
    R->code_failed = 0;
    if (!R->cr_dir || !R->cr_doc || !R->cr_sex || !R->ev_cty || !R->ev_sex)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    return 0;
}

/* ---- the steps of a border source (run_source in pipeline.c) ----------------------------- */

int nmdi_derive_border_join(run *R, const char *source, nmdi_error *err)
{
    int rc;
    if (R->P->link_documents && (rc = nmdi_travellers_link(R->ctx, R->ds, &R->tr, err)))
        return rc;
    uint64_t docs, persons;
    nmdi_travellers_counts(R->tr, &docs, &persons);
    nmdi_travellers_docs(R->tr, &R->pkey, &R->phome);
    R->sum->documents += docs;
    if (R->tr)
        nmdi_note(R->ctx, "derive %s: %llu travel documents joined into %llu travellers by "
                          "name and date of birth", source, (unsigned long long)docs,
                  (unsigned long long)persons);
    return 0;
}

int nmdi_derive_border_layout(run *R, nmdi_error *err)
{
    int rc = border_cols(R, err);
    if (!rc && !(rc = code_maps(R, err)))
        ow_start(R);
    return rc;
}

void nmdi_derive_border_end(run *R)
{
    ow_stop(R);
    border_cols_free(R);
    free(R->cr_dir), free(R->cr_doc), free(R->cr_sex), free(R->ev_cty), free(R->ev_sex);
    R->cr_dir = R->cr_doc = R->cr_sex = R->ev_cty = R->ev_sex = NULL;
    nmdi_travellers_free(R->tr);
    R->tr = NULL;
    R->pkey = NULL;
    R->phome = NULL;
}
