/*
 * infra_mobile.c — the mobile derivation of the estimate stage (the MOB_*
 * tables, docs/methods-mobile.md), memory-bounded by partition size.
 *
 * The store splits a mobile_presence dataset into partitions by the keyed
 * hash of its key field, subscriber_key (DESIGN.md §3), so every record of a
 * subscriber is in one partition. Each partition is a unit of work: its
 * records are read from the mapped columns into typed arrays, accumulated
 * (nmdi_mobile_acc_add) and merged into the total, on ctx's thread pool. A
 * partition with more than `partition_records` rows is split further into
 * ceil(rows / partition_records) units by a second hash of the subscriber
 * key (each unit scans the partition and keeps its share). A dataset not
 * partitioned by subscriber (another record type) is split the same way
 * over all its partitions. Records without a subscriber key (one pseudo-
 * subscriber, as in the whole-data derivation) form one more unit.
 * Accumulators hold integer counts, so the cubes are identical whatever the
 * partitioning, the number of threads and the order of merging.
 * Memory: about 29 bytes per record of one unit per thread, plus the cells.
 */
#include "infra_internal.h"
#include "nmdi/mobile.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct munit {
    size_t p0, p1; /* store partitions scanned: [p0, p1)                   */
    uint32_t m, j; /* keep the subscribers whose second hash % m == j      */
    int missing;   /* the records without a subscriber key instead          */
} munit;

typedef struct mrun {
    const nmdi_dataset *ds;
    const nmdi_mobile_params *p;
    const nmdi_cfg_node *amap; /* operator area -> subdivision, or NULL */
    const char *country;       /* the country's own code                */
    nmdi_date dmin, dmax;      /* over the whole data                   */
    munit *units;
    size_t nunits;
    nmdi_mobile_acc *total;
    pthread_mutex_t lock;
    nmdi_error *errs; /* one per unit */
} mrun;

typedef struct mcols {
    fcol cs, cd, ca, ch, cr, cv;
} mcols;

static void mcols_open(mcols *c, const nmdi_dataset *ds, size_t part)
{
    nmdi_est_fcol_open(&c->cs, ds, part, "subscriber_key");
    nmdi_est_fcol_open(&c->cd, ds, part, "day");
    nmdi_est_fcol_open(&c->ca, ds, part, "operator_area");
    if (!c->ca.present)
        nmdi_est_fcol_open(&c->ca, ds, part, "area");
    nmdi_est_fcol_open(&c->ch, ds, part, "home_country");
    nmdi_est_fcol_open(&c->cr, ds, part, "roam");
    if (!c->cr.present)
        nmdi_est_fcol_open(&c->cr, ds, part, "roaming");
    nmdi_est_fcol_open(&c->cv, ds, part, "visited_country");
}

/* Is row r a usable record? *key its subscriber key, *missing 1 without one. */
static int usable(mcols *c, size_t r, uint64_t *key, int *missing)
{
    if (nmdi_est_fcol_int(&c->cr, r) == INT32_MIN || nmdi_est_fcol_int(&c->cd, r) == NMDI_DATE_NONE)
        return 0;
    if (c->cs.i64) {
        *key = (uint64_t)c->cs.i64[r];
        *missing = c->cs.i64[r] == NMDI_I64_NONE;
    } else {
        const char *k = nmdi_est_fcol_str(&c->cs, r);
        *key = nmdi_hash64(k, strlen(k), 0);
        *missing = k[0] == 0;
    }
    return 1;
}

static int in_unit(const munit *u, uint64_t key, int missing)
{
    if (u->missing || missing)
        return u->missing && missing;
    return u->m <= 1 || nmdi_hash64(&key, sizeof key, 0x6d6f6269ULL) % u->m == u->j;
}

/* code strings of one unit: dictionary entries and configuration scalars are
 * stable while the dataset is open; other text is copied once */
typedef struct strs {
    nmdi_strmap *map;
    nmdi_arena *arena;
    const char **str;
    size_t n, cap;
} strs;

static const char *stable(strs *t, const fcol *c, const char *s)
{
    if (!c->present || c->type == NMDI_COL_CODE)
        return s;
    int ins;
    int64_t *v = nmdi_strmap_put(t->map, s, strlen(s), &ins);
    if (!v)
        return NULL;
    if (ins) {
        if (t->n == t->cap) {
            size_t nc = t->cap ? 2 * t->cap : 64;
            const char **x = realloc(t->str, nc * sizeof *x);
            if (!x)
                return NULL;
            t->str = x;
            t->cap = nc;
        }
        if (!(t->str[t->n] = nmdi_arena_strdup(t->arena, s)))
            return NULL;
        *v = (int64_t)++t->n;
    }
    return t->str[*v - 1];
}

/* derive one unit: select its records, accumulate, merge into the total */
static int unit_run(void *arg, size_t ui)
{
    mrun *R = arg;
    const munit *u = &R->units[ui];
    nmdi_error *err = &R->errs[ui];
    mcols c;
    uint64_t key;
    int miss;
    size_t n = 0;
    for (size_t part = u->p0; part < u->p1; part++) {
        if (u->m <= 1 && !u->missing) { /* a whole partition: its rows bound it */
            n += nmdi_dataset_part_rows(R->ds, part);
            continue;
        }
        mcols_open(&c, R->ds, part);
        for (size_t r = 0; r < nmdi_dataset_part_rows(R->ds, part); r++)
            if (usable(&c, r, &key, &miss) && in_unit(u, key, miss))
                n++;
    }
    nmdi_mobile_cols o;
    int rc = nmdi_mobile_cols_alloc(&o, n);
    strs t = {nmdi_strmap_new(), nmdi_arena_new(1 << 12), NULL, 0, 0};
    if (rc || !t.map || !t.arena)
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory in the mobile derivation");
    size_t k = 0;
    for (size_t part = u->p0; !rc && part < u->p1; part++) {
        mcols_open(&c, R->ds, part);
        for (size_t r = 0; r < nmdi_dataset_part_rows(R->ds, part) && k < n; r++) {
            if (!usable(&c, r, &key, &miss) || !in_unit(u, key, miss))
                continue;
            int ro = nmdi_est_fcol_int(&c.cr, r);
            const char *h = stable(&t, &c.ch, nmdi_est_fcol_str(&c.ch, r));
            if (!h) {
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory in the mobile derivation");
                break;
            }
            /* roaming flag as 0/1 (then inbound = foreign home network) or 0/1/2 */
            if (ro == 1 && c.cr.type != NMDI_COL_CODE && !strcmp(h, R->country))
                ro = 2;
            fcol *ac = ro == 2 ? &c.cv : &c.ca;
            const char *ar = nmdi_est_fcol_str(ac, r);
            const nmdi_cfg_node *mapped = ro != 2 && R->amap ? nmdi_cfg_get(R->amap, ar) : NULL;
            if (mapped && mapped->kind == NMDI_CFG_SCALAR)
                ar = mapped->str;
            else if (!(ar = stable(&t, ac, ar))) {
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory in the mobile derivation");
                break;
            }
            o.sub[k] = key;
            o.day[k] = nmdi_est_fcol_int(&c.cd, r);
            o.area[k] = ar[0] ? ar : "_U";
            o.home[k] = h[0] ? h : "_U";
            o.roam[k] = (uint8_t)(ro < 0 || ro > 2 ? 0 : ro);
            k++;
        }
    }
    if (rc)
        nmdi_mobile_cols_free(&o);
    else
        rc = nmdi_mobile_add_part(R->total, &R->lock, R->p, &o, k, R->dmin, R->dmax, err);
    nmdi_strmap_free(t.map);
    nmdi_arena_free(t.arena);
    free(t.str);
    return rc;
}

static size_t ceil_div(uint64_t a, uint64_t b)
{
    return (size_t)((a + b - 1) / b);
}

int nmdi_est_mobile_derive(const nmdi_ctx *ctx, const nmdi_dataset *ds, const char *record_type,
                           const nmdi_mobile_params *p, const nmdi_cfg_node *amap,
                           nmdi_mobile_result *out, nmdi_error *err)
{
    memset(out, 0, sizeof *out);
    if (nmdi_mobile_check(p, err))
        return err->code;
    mrun R;
    memset(&R, 0, sizeof R);
    R.ds = ds;
    R.p = p;
    R.amap = amap;
    R.country = p->home_country ? p->home_country : "";
    R.dmin = INT32_MAX;
    R.dmax = INT32_MIN;
    /* the first and last day of the whole data; records without a key */
    size_t nparts = nmdi_dataset_nparts(ds);
    uint64_t nmissing = 0, nrows = 0;
    mcols c;
    for (size_t part = 0; part < nparts; part++) {
        mcols_open(&c, ds, part);
        nrows += nmdi_dataset_part_rows(ds, part);
        for (size_t r = 0; r < nmdi_dataset_part_rows(ds, part); r++) {
            uint64_t key;
            int miss;
            if (!usable(&c, r, &key, &miss))
                continue;
            nmdi_date d = nmdi_est_fcol_int(&c.cd, r);
            R.dmin = d < R.dmin ? d : R.dmin;
            R.dmax = d > R.dmax ? d : R.dmax;
            nmissing += (uint64_t)miss;
        }
    }
    /* units of at most about per records */
    uint64_t per = p->partition_records ? p->partition_records : (uint64_t)1 << 21;
    int by_sub = record_type && !strcmp(record_type, "mobile_presence");
    size_t cap = 1;
    if (by_sub)
        for (size_t part = 0; part < nparts; part++)
            cap += ceil_div(nmdi_dataset_part_rows(ds, part), per) + 1;
    else
        cap += ceil_div(nrows, per) + 1;
    R.units = calloc(cap, sizeof *R.units);
    if (!R.units)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory in the mobile derivation");
    for (size_t part = 0; part < (by_sub ? nparts : 1); part++) {
        uint64_t rows = by_sub ? nmdi_dataset_part_rows(ds, part) : nrows;
        size_t m = rows ? ceil_div(rows, per) : 0;
        for (size_t j = 0; j < m; j++)
            R.units[R.nunits++] = (munit){by_sub ? part : 0, by_sub ? part + 1 : nparts,
                                          (uint32_t)m, (uint32_t)j, 0};
    }
    if (nmissing)
        R.units[R.nunits++] = (munit){0, nparts, 1, 0, 1};
    R.total = nmdi_mobile_acc_new();
    R.errs = calloc(R.nunits + 1, sizeof *R.errs);
    int rc = 0;
    if (!R.total || !R.errs || pthread_mutex_init(&R.lock, NULL) != 0) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory in the mobile derivation");
    } else {
        rc = nmdi_pool_run(ctx, R.nunits, unit_run, &R);
        pthread_mutex_destroy(&R.lock);
        for (size_t i = 0; rc && i < R.nunits; i++)
            if (R.errs[i].code) {
                *err = R.errs[i];
                break;
            }
    }
    if (!rc)
        rc = nmdi_mobile_acc_finish(R.total, p, out, err);
    if (!rc)
        nmdi_note(ctx, "  mobile: %zu units of at most ~%llu records (%zu store partitions, %d threads)",
                  R.nunits, (unsigned long long)per, nparts, ctx ? ctx->nthreads : 1);
    nmdi_mobile_acc_free(R.total);
    free(R.errs);
    free(R.units);
    return rc;
}
