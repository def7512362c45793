/*
 * pipeline.c — the stage `nmdi derive DIR` over the store
 * (nmdi/derive_pipeline.h): the residence parameters of the configuration;
 * the latest version of every border_crossing, register_event and permit
 * source opened; each person's records classified partition by partition on
 * the thread pool with the functions of derive.h; the datasets
 * crossing_residence, migration_events, register_flows and first_permits
 * written with their lineage and catalog rows in one transaction. Here too:
 * the register flows and first permits, the workers' scratch buffers and
 * their sort, the register index built on its own thread. The border
 * crossings (document join, groups of travellers, classification, border
 * outputs) are in pipeline_border.c; shared declarations in pipeline_impl.h.
 */
#include "nmdi/derive_pipeline.h"

#include "nmdi/catalog.h"
#include "nmdi/store.h"
#include "pipeline_impl.h"

#include <assert.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- parameters ------------------------------------------------------------------- */

static int months_to_days(int64_t m)
{
    return (int)((double)m * 365.25 / 12.0);
}

int nmdi_derive_params_load(const nmdi_config *cfg, nmdi_derive_params *p, nmdi_error *err)
{
    memset(p, 0, sizeof *p);
    nmdi_residence_rule_default(&p->rule);
    p->rule.cutoff = NMDI_DATE_NONE;
    p->usual_residence = 'b';
    nmdi_events_opts_default(&p->events);
    p->country = cfg && cfg->country_code ? cfg->country_code : "";
    p->link_documents = 1;
    p->initial_register = NULL;
    p->initial_date = NMDI_DATE_NONE;
    if (!cfg)
        return 0;
    const nmdi_cfg_node *r = nmdi_cfg_get(cfg->root, "residence");
    if (!r)
        return 0;
    static const char *const keys[] = {"rule",          "threshold",       "window",
                                       "threshold_months", "window_months", "usual_residence",
                                       "temporary_min_days", "link_documents", "initial_register",
                                       "initial_date", "batch_crossings", NULL};
    const char *f = cfg->path;
    if (nmdi_cfg_check_keys(r, f, "residence", keys, err))
        return NMDI_EDATA;
    const nmdi_cfg_node *x;
    int64_t v;
    if ((x = nmdi_cfg_get(r, "rule"))) {
        const char *s;
        int tm, tw;
        char extra;
        if (nmdi_cfg_as_str(x, f, "residence.rule", &s, err))
            return NMDI_EDATA;
        if (sscanf(s, "%d/%d%c", &tm, &tw, &extra) != 2 || tm < 1 || tw < tm || tw > 1200)
            return nmdi_error_at(err, NMDI_EDATA, f, x->line, "residence.rule",
                                 "'%s' is not THRESHOLD/WINDOW in months (e.g. \"12/16\")", s);
        p->rule.threshold = months_to_days(tm);
        p->rule.window = months_to_days(tw);
    }
    static const struct {
        const char *key;
        int months;
        int which; /* 0 threshold, 1 window, 2 temp_min */
    } nums[] = {{"threshold_months", 1, 0}, {"window_months", 1, 1}, {"threshold", 0, 0},
                {"window", 0, 1},           {"temporary_min_days", 0, 2}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (!(x = nmdi_cfg_get(r, nums[i].key)))
            continue;
        char what[64];
        snprintf(what, sizeof what, "residence.%s", nums[i].key);
        if (nmdi_cfg_as_int(x, f, what, &v, err))
            return NMDI_EDATA;
        if (v < 1 || v > 36600)
            return nmdi_error_at(err, NMDI_EDATA, f, x->line, what, "%lld is out of range",
                                 (long long)v);
        int d = nums[i].months ? months_to_days(v) : (int)v;
        if (nums[i].which == 0)
            p->rule.threshold = d;
        else if (nums[i].which == 1)
            p->rule.window = d;
        else
            p->events.temp_min = d;
    }
    if ((x = nmdi_cfg_get(r, "link_documents")) &&
        nmdi_cfg_as_bool(x, f, "residence.link_documents", &p->link_documents, err))
        return NMDI_EDATA;
    /* batch_crossings (the work of a worker in batches, until 2026-11):
     * still checked in configurations written for it, without effect */
    if ((x = nmdi_cfg_get(r, "batch_crossings"))) {
        if (nmdi_cfg_as_int(x, f, "residence.batch_crossings", &v, err))
            return NMDI_EDATA;
        if (v < 1 || v > 1000000000)
            return nmdi_error_at(err, NMDI_EDATA, f, x->line, "residence.batch_crossings",
                                 "%lld is out of range (1 to 1000000000)", (long long)v);
    }
    if ((x = nmdi_cfg_get(r, "initial_register"))) {
        if (nmdi_cfg_as_str(x, f, "residence.initial_register", &p->initial_register, err))
            return NMDI_EDATA;
        int known = 0;
        for (size_t i = 0; i < cfg->nsources && !known; i++)
            known = !strcmp(cfg->sources[i].id, p->initial_register);
        if (!known)
            return nmdi_error_at(err, NMDI_EDATA, f, x->line, "residence.initial_register",
                                 "'%s' is not a source of this configuration (sources: ... id:)",
                                 p->initial_register);
    }
    if ((x = nmdi_cfg_get(r, "initial_date"))) {
        const char *s;
        if (nmdi_cfg_as_str(x, f, "residence.initial_date", &s, err))
            return NMDI_EDATA;
        if (nmdi_date_parse(s, strlen(s), &p->initial_date))
            return nmdi_error_at(err, NMDI_EDATA, f, x->line, "residence.initial_date",
                                 "'%s' is not a date YYYY-MM-DD", s);
    }
    if ((x = nmdi_cfg_get(r, "usual_residence"))) {
        const char *s;
        if (nmdi_cfg_as_str(x, f, "residence.usual_residence", &s, err))
            return NMDI_EDATA;
        if ((s[0] != 'a' && s[0] != 'b') || s[1])
            return nmdi_error_at(err, NMDI_EDATA, f, x->line, "residence.usual_residence",
                                 "'%s' is not a or b", s);
        p->usual_residence = s[0];
    }
    p->events.temp_max = p->rule.threshold;
    if (p->events.temp_min >= p->events.temp_max)
        p->events.temp_min = p->events.temp_max - 1;
    if (nmdi_residence_rule_check(&p->rule, err)) {
        err->line = r->line;
        snprintf(err->file, sizeof err->file, "%s", f);
        snprintf(err->field, sizeof err->field, "residence");
        return NMDI_EDATA;
    }
    return 0;
}

/* ---- output layouts ------------------------------------------------------------------ */

/* (field indexes: the enums OUT_*, CR_*, EV_* of pipeline_impl.h) */
static const char *const out_names[NOUT] = {"crossing_residence", "migration_events",
                                            "register_flows", "first_permits"};

static const nmdi_store_field cr_fields[CR_N] = {
    {"traveller_key", NMDI_COL_I64},     {"date", NMDI_COL_DATE},
    {"direction", NMDI_COL_CODE},        {"document_country", NMDI_COL_CODE},
    {"sex", NMDI_COL_CODE},              {"date_of_birth", NMDI_COL_DATE},
    {"resident_before", NMDI_COL_I32},   {"resident_after", NMDI_COL_I32},
    {"long_term_migration", NMDI_COL_I32}, {"date_final_before", NMDI_COL_DATE},
    {"date_final_after", NMDI_COL_DATE}, {"date_final_migration", NMDI_COL_DATE},
    {"provisional", NMDI_COL_I32},       {"error", NMDI_COL_I32},
    {"source", NMDI_COL_CODE},           {"person_key", NMDI_COL_I64}};

static const nmdi_store_field ev_fields[EV_N] = {
    {"traveller_key", NMDI_COL_I64}, {"event", NMDI_COL_CODE},
    {"date", NMDI_COL_DATE},         {"citizen", NMDI_COL_I32},
    {"returning_citizen", NMDI_COL_I32}, {"country", NMDI_COL_CODE},
    {"sex", NMDI_COL_CODE},          {"date_of_birth", NMDI_COL_DATE},
    {"provisional", NMDI_COL_I32},   {"circular", NMDI_COL_I32},
    {"circular_temporary", NMDI_COL_I32}, {"duration", NMDI_COL_I32},
    {"source", NMDI_COL_CODE},       {"previous_residence", NMDI_COL_CODE},
    {"next_residence", NMDI_COL_CODE}};

enum { RG_KEY, RG_EVENT, RG_DATE, RG_CIT, RG_COUNTRY, RG_CITSHIP, RG_SEX, RG_DOB, RG_PROV, RG_SRC,
       RG_PREV, RG_NEXT, RG_N };
static const nmdi_store_field rg_fields[RG_N] = {
    {"person_key", NMDI_COL_I64},  {"event", NMDI_COL_CODE},       {"date", NMDI_COL_DATE},
    {"citizen", NMDI_COL_I32},     {"country", NMDI_COL_CODE},     {"citizenship", NMDI_COL_CODE},
    {"sex", NMDI_COL_CODE},        {"date_of_birth", NMDI_COL_DATE}, {"provisional", NMDI_COL_I32},
    {"source", NMDI_COL_CODE},     {"previous_residence", NMDI_COL_CODE},
    {"next_residence", NMDI_COL_CODE}};

enum { FP_KEY, FP_DATE, FP_TO, FP_REASON, FP_CITSHIP, FP_SEX, FP_DOB, FP_SRC, FP_N };
static const nmdi_store_field fp_fields[FP_N] = {
    {"person_key", NMDI_COL_I64}, {"date", NMDI_COL_DATE},        {"valid_to", NMDI_COL_DATE},
    {"reason", NMDI_COL_CODE},    {"citizenship", NMDI_COL_CODE}, {"sex", NMDI_COL_CODE},
    {"date_of_birth", NMDI_COL_DATE}, {"source", NMDI_COL_CODE}};

static const char *const reason_codes[5] = {"", "FAM", "EDU", "REM", "OTH"};

/* ---- the register index ------------------------------------------------------------------ */

/* The register index, built on a thread of its own while the first border
 * source's documents are joined (it is not needed before its travellers are
 * classified). */
typedef struct rxjob {
    const nmdi_dataset *base;
    const nmdi_dataset *evs[64];
    size_t nevs;
    nmdi_regindex *rx;
    nmdi_error err;
    int rc, started, joined;
    pthread_t th;
} rxjob;

static void *rxjob_main(void *arg)
{
    rxjob *j = arg;
    nmdi_error_clear(&j->err);
    dtrace("rxstart", 0);
    j->rc = nmdi_regindex_build(j->base, j->evs, j->nevs, &j->rx, &j->err);
    dtrace("rxend", 0);
    return NULL;
}

static void codecol_init(codecol *c, const nmdi_dataset *ds, const char *name)
{
    c->name = name;
    c->n = 0;
    c->dict = nmdi_dataset_find(ds, name) >= 0 ? nmdi_dataset_dict(ds, name, &c->n) : NULL;
    if (!c->dict)
        c->n = 0;
}

static const char *code_of(const codecol *c, const int32_t *col, size_t row, size_t *len)
{
    if (!col || !c->dict || col[row] < 0 || (size_t)col[row] >= c->n) {
        *len = 0;
        return "";
    }
    const char *s = c->dict[col[row]];
    *len = strlen(s);
    return s;
}

static void put_code(nmdi_store_writer *w, size_t f, const char *s)
{
    nmdi_store_put_str(w, f, s, strlen(s));
}

static void put_copy(nmdi_store_writer *w, size_t f, const codecol *c, const int32_t *col, size_t row)
{
    size_t len;
    const char *s = code_of(c, col, row, &len);
    nmdi_store_put_str(w, f, s, len);
}

static int8_t *home_map(const codecol *c, const char *country)
{
    int8_t *m = calloc(c->n + 1, 1);
    for (size_t i = 0; m && i < c->n; i++)
        m[i] = country && *country && nmdi_str_ieq(c->dict[i], country);
    return m;
}

static int item_cmp(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->date != y->date)
        return x->date < y->date ? -1 : 1;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->part != y->part)
        return x->part < y->part ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

void nmdi_derive_keyidx_sort(keyidx *pk, keyidx *tmp, size_t n)
{
    size_t cnt[256];
    keyidx *a = pk, *b = tmp;
    for (int pass = 0; pass < 8; pass++) {
        int sh = 8 * pass;
        memset(cnt, 0, sizeof cnt);
        for (size_t i = 0; i < n; i++)
            cnt[(((uint64_t)a[i].key ^ (UINT64_C(1) << 63)) >> sh) & 255]++;
        int same = 0;
        for (int d = 0; d < 256 && !same; d++)
            same = cnt[d] == n;
        if (same)
            continue;
        for (size_t d = 0, sum = 0; d < 256; d++) {
            size_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            b[cnt[(((uint64_t)a[i].key ^ (UINT64_C(1) << 63)) >> sh) & 255]++] = a[i];
        keyidx *t = a;
        a = b;
        b = t;
    }
    if (a != pk)
        memcpy(pk, a, n * sizeof *pk);
}

void nmdi_derive_scratch_free(scratch *sc)
{
    while (sc) {
        scratch *nx = sc->next;
        free(sc->tmp), free(sc->rows), free(sc->sp), free(sc->sdst), free(sc->spk), free(sc->pb), free(sc->pit), free(sc->prec), free(sc->pid), free(sc->rank), free(sc->pos), free(sc->pk);
        free(sc->hk), free(sc->hv), free(sc->d), free(sc->dir), free(sc->res), free(sc->ev);
        free(sc->colblk);
        free(sc);
        sc = nx;
    }
}

/* Make room for n items (contents not kept). -1 when out of memory, with
 * cap 0 (the buffers are then freed or NULL). */
int nmdi_derive_scratch_need(scratch *sc, size_t n)
{
    if (n <= sc->cap)
        return 0;
    size_t c = sc->cap + sc->cap / 4;
    if (c < n)
        c = n;
    sc->cap = 0;
    if (GROW(sc->tmp, c) || GROW(sc->pid, c) || GROW(sc->rank, c) ||
        GROW(sc->pos, c + 1) || GROW(sc->pk, c))
        return -1;
    sc->cap = c;
    return 0;
}

scratch *nmdi_derive_scratch_get(run *R, size_t n)
{
    pthread_mutex_lock(&R->mu);
    scratch *sc = R->spare;
    if (sc)
        R->spare = sc->next;
    pthread_mutex_unlock(&R->mu);
    if (!sc) {
        if (!(sc = calloc(1, sizeof *sc)))
            return NULL;
        /* the column chunks, two sets, in one block (on huge pages: 62 MiB) */
        if ((sc->colblk = nmdi_derive_big_alloc((size_t)2 * (CR_N + EV_N) * CHUNK * 8))) {
            unsigned char *b = sc->colblk;
            for (int k = 0; k < 2; k++) {
                for (int f = 0; f < CR_N; f++, b += (size_t)CHUNK * 8)
                    sc->crcol[k][f] = b;
                for (int f = 0; f < EV_N; f++, b += (size_t)CHUNK * 8)
                    sc->evcol[k][f] = b;
            }
        }
        if (!sc->colblk) {
            nmdi_derive_scratch_free(sc);
            return NULL;
        }
    }
    sc->next = NULL;
    if (nmdi_derive_scratch_need(sc, n)) {
        nmdi_derive_scratch_free(sc);
        return NULL;
    }
    return sc;
}

void nmdi_derive_scratch_put(run *R, scratch *sc)
{
    pthread_mutex_lock(&R->mu);
    sc->next = R->spare;
    R->spare = sc;
    pthread_mutex_unlock(&R->mu);
}

void nmdi_derive_person_sort(item *it, size_t n)
{
    if (n > 48) {
        qsort(it, n, sizeof *it, item_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        item x = it[i];
        size_t j = i;
        while (j > 0 && (it[j - 1].date > x.date || (it[j - 1].date == x.date && it[j - 1].time > x.time))) {
            it[j] = it[j - 1];
            j--;
        }
        it[j] = x;
    }
}

/* Sort items into item_cmp order without a comparison sort over all rows.
 * Items arrive in (part, row) order, so a stable sort by (key, date, time)
 * is item_cmp's order: persons are numbered with a hash map (looked up only
 * when the key changes from the previous item), the persons alone are sorted
 * by key, the items are counted into place (stable), and each person's few
 * crossings are sorted by insertion (stable; long histories by qsort with
 * item_cmp). Rows without a key form one group first, as under item_cmp.
 * sc must hold n items. Returns 0, or -1 when out of memory (it unchanged). */
int nmdi_derive_items_sort(scratch *sc, item *it, size_t n)
{
    if (n < 2)
        return 0;
    assert(sc->cap >= n);
    size_t runs = 1;
    for (size_t i = 1; i < n; i++)
        runs += it[i].key != it[i - 1].key;
    size_t cap = 64;
    while (cap < 2 * runs)
        cap <<= 1;
    if (cap > sc->hcap) {
        sc->hcap = 0;
        if (GROW(sc->hk, cap) || GROW(sc->hv, cap))
            return -1;
        sc->hcap = cap;
    }
    int64_t *hk = sc->hk;
    uint32_t *hv = sc->hv, *pid = sc->pid, *rank = sc->rank, *pos = sc->pos;
    keyidx *pk = sc->pk;
    item *tmp = sc->tmp;
    int shift = 64;
    for (size_t c = cap; c > 1; c >>= 1)
        shift--;
    for (size_t i = 0; i < cap; i++)
        hk[i] = NMDI_I64_NONE;
    size_t P = 0;
    uint32_t none = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        int64_t k = it[i].key;
        if (i && k == it[i - 1].key) {
            pid[i] = pid[i - 1];
            continue;
        }
        if (k == NMDI_I64_NONE) {
            if (none == UINT32_MAX) {
                none = (uint32_t)P;
                pk[P] = (keyidx){k, (uint32_t)P};
                P++;
            }
            pid[i] = none;
            continue;
        }
        size_t h = (size_t)(((uint64_t)k * 0x9E3779B97F4A7C15ull) >> shift) & (cap - 1);
        while (hk[h] != NMDI_I64_NONE && hk[h] != k)
            h = (h + 1) & (cap - 1);
        if (hk[h] == NMDI_I64_NONE) {
            hk[h] = k;
            hv[h] = (uint32_t)P;
            pk[P] = (keyidx){k, (uint32_t)P};
            P++;
        }
        pid[i] = hv[h];
    }
    nmdi_derive_keyidx_sort(pk, (keyidx *)(void *)tmp, P);
    for (size_t r = 0; r < P; r++)
        rank[pk[r].idx] = (uint32_t)r;
    memset(pos, 0, (P + 1) * sizeof *pos);
    for (size_t i = 0; i < n; i++)
        pos[rank[pid[i]] + 1]++;
    for (size_t r = 0; r < P; r++)
        pos[r + 1] += pos[r];
    for (size_t i = 0; i < n; i++)
        tmp[pos[rank[pid[i]]]++] = it[i];
    /* pos[r] is now the end of person r's items */
    for (size_t r = 0, a = 0; r < P; a = pos[r], r++)
        nmdi_derive_person_sort(tmp + a, pos[r] - a);
    memcpy(it, tmp, n * sizeof *it);
    return 0;
}

/* The last valid date of a DATE column over every partition, the partitions
 * scanned on the thread pool (their pages then mapped for later readers). */
typedef struct lastjob {
    const nmdi_dataset *ds;
    const char *name;
    nmdi_date *m; /* per partition (stride 1) or one value (stride 0) */
    size_t stride;
} lastjob;

static int last_date_part(void *arg, size_t p)
{
    lastjob *J = arg;
    const int32_t *c;
    nmdi_error e;
    J->m[p * J->stride] = NMDI_DATE_NONE;
    if (nmdi_dataset_i32(J->ds, p, J->name, &c, &e))
        return 0;
    nmdi_dataset_populate(J->ds, p, J->name);
    size_t n = (size_t)nmdi_dataset_part_rows(J->ds, p);
    nmdi_date m = NMDI_DATE_NONE;
    for (size_t i = 0; i < n; i++)
        if (c[i] != NMDI_DATE_NONE && c[i] > m)
            m = c[i];
    J->m[p * J->stride] = m;
    return 0;
}

static nmdi_date last_date(const nmdi_ctx *ctx, const nmdi_dataset *ds, const char *name)
{
    size_t np = nmdi_dataset_nparts(ds);
    nmdi_date m = NMDI_DATE_NONE, one, *pm = malloc((np ? np : 1) * sizeof *pm);
    lastjob J = {ds, name, pm ? pm : &one, pm ? 1 : 0};
    if (pm)
        nmdi_pool_run(ctx, np, last_date_part, &J);
    for (size_t p = 0; p < np; p++) {
        if (!pm) /* out of memory: one partition after the other */
            last_date_part(&J, p);
        nmdi_date x = pm ? pm[p] : one;
        if (x != NMDI_DATE_NONE && x > m)
            m = x;
    }
    free(pm);
    return m;
}

/* ---- registers ------------------------------------------------------------------------------ */

static int register_part(void *arg, size_t part)
{
    run *R = arg;
    size_t n = (size_t)nmdi_dataset_part_rows(R->ds, part);
    if (n == 0)
        return 0;
    nmdi_error e;
    nmdi_error_clear(&e);
    const int64_t *key;
    const int32_t *date, *evc;
    if (nmdi_dataset_i64(R->ds, part, "person_key", &key, &e) ||
        nmdi_dataset_i32(R->ds, part, "date", &date, &e) ||
        nmdi_dataset_i32(R->ds, part, "event", &evc, &e)) {
        run_fail(R, &e);
        return e.code;
    }
    const int32_t *country = col_i32(R, part, "country"), *cit = col_i32(R, part, "citizenship"),
                  *sex = col_i32(R, part, "sex"), *dob = col_i32(R, part, "date_of_birth");
    item *it = malloc(n * sizeof *it);
    nmdi_date *d = malloc(n * sizeof *d);
    uint8_t *kind = malloc(n), *counted = malloc(n), *prov = malloc(n);
    if (!it || !d || !kind || !counted || !prov) {
        free(it), free(d), free(kind), free(counted), free(prov);
        return run_oom(R);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t c = evc[i];
        int k = c >= 0 && (size_t)c < R->event.n ? R->kindmap[c] : NMDI_REG_OTHER;
        if (k == NMDI_REG_OTHER || date[i] == NMDI_DATE_NONE)
            continue;
        it[m++] = (item){key[i], date[i], 0, 0, (uint32_t)i};
    }
    scratch *sc = nmdi_derive_scratch_get(R, m);
    if (!sc || nmdi_derive_items_sort(sc, it, m)) {
        if (sc)
            nmdi_derive_scratch_put(R, sc);
        free(it), free(d), free(kind), free(counted), free(prov);
        return run_oom(R);
    }
    nmdi_derive_scratch_put(R, sc);
    for (size_t i = 0; i < m; i++) {
        d[i] = it[i].date;
        kind[i] = R->kindmap[evc[it[i].row]];
    }
    int min_stay = nmdi_usual_residence_days(R->P->usual_residence);
    for (size_t a = 0, b; a < m; a = b) {
        for (b = a + 1; b < m && same_person(&it[a], &it[b]); b++)
            ;
        nmdi_derive_register(min_stay < 0 ? 365 : min_stay, R->cutoff, b - a, d + a, kind + a,
                             counted + a, prov + a);
    }
    pthread_mutex_lock(&R->mu);
    nmdi_store_writer *w = R->w[OUT_REG];
    uint32_t op = (uint32_t)(part % R->out_parts);
    int rc = 0;
    for (size_t i = 0; i < m && !rc; i++) {
        if (!counted[i])
            continue;
        uint32_t r = it[i].row;
        size_t len;
        const char *cs = code_of(&R->citship, cit, r, &len);
        int citizen = len ? nmdi_str_ieq(cs, R->P->country) : -1;
        nmdi_store_row_begin(w, op);
        nmdi_store_put_i64(w, RG_KEY, key[r]);
        put_code(w, RG_EVENT, kind[i] == NMDI_REG_IN ? "IMM" : "EMI");
        nmdi_store_put_i32(w, RG_DATE, d[i]);
        nmdi_store_put_i32(w, RG_CIT, i32_or_none(citizen));
        put_copy(w, RG_COUNTRY, &R->country, country, r);
        put_copy(w, RG_CITSHIP, &R->citship, cit, r);
        put_copy(w, RG_SEX, &R->sex, sex, r);
        nmdi_store_put_i32(w, RG_DOB, dob ? dob[r] : NMDI_DATE_NONE);
        nmdi_store_put_i32(w, RG_PROV, prov[i]);
        put_code(w, RG_SRC, R->source);
        put_copy(w, kind[i] == NMDI_REG_IN ? RG_PREV : RG_NEXT, &R->country, country, r);
        put_code(w, kind[i] == NMDI_REG_IN ? RG_NEXT : RG_PREV, "");
        rc = nmdi_store_row_end(w, &e);
        int y = year_index(d[i]);
        R->sum->reg[kind[i]][y]++;
        R->sum->reg_prov[kind[i]][y] += prov[i];
    }
    if (rc && !R->err.code)
        R->err = e;
    R->sum->register_rows += n;
    run_progress(R, n);
    pthread_mutex_unlock(&R->mu);
    free(it), free(d), free(kind), free(counted), free(prov);
    return rc;
}

/* ---- permits ---------------------------------------------------------------------------------- */

static int permit_part(void *arg, size_t part)
{
    run *R = arg;
    size_t n = (size_t)nmdi_dataset_part_rows(R->ds, part);
    if (n == 0)
        return 0;
    nmdi_error e;
    nmdi_error_clear(&e);
    const int64_t *key;
    const int32_t *from;
    if (nmdi_dataset_i64(R->ds, part, "person_key", &key, &e) ||
        nmdi_dataset_i32(R->ds, part, "valid_from", &from, &e)) {
        run_fail(R, &e);
        return e.code;
    }
    const int32_t *to = col_i32(R, part, "valid_to"), *reason = col_i32(R, part, "reason"),
                  *cit = col_i32(R, part, "citizenship"), *sex = col_i32(R, part, "sex"),
                  *dob = col_i32(R, part, "date_of_birth");
    item *it = malloc(n * sizeof *it);
    nmdi_date *df = malloc(n * sizeof *df), *dt = malloc(n * sizeof *dt);
    uint8_t *rs = malloc(n), *kind = malloc(n);
    if (!it || !df || !dt || !rs || !kind) {
        free(it), free(df), free(dt), free(rs), free(kind);
        return run_oom(R);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (from[i] != NMDI_DATE_NONE)
            it[m++] = (item){key[i], from[i], 0, 0, (uint32_t)i};
    scratch *sc = nmdi_derive_scratch_get(R, m);
    if (!sc || nmdi_derive_items_sort(sc, it, m)) {
        if (sc)
            nmdi_derive_scratch_put(R, sc);
        free(it), free(df), free(dt), free(rs), free(kind);
        return run_oom(R);
    }
    nmdi_derive_scratch_put(R, sc);
    for (size_t i = 0; i < m; i++) {
        uint32_t r = it[i].row;
        df[i] = from[r];
        dt[i] = to ? to[r] : NMDI_DATE_NONE;
        int32_t c = reason ? reason[r] : -1;
        rs[i] = c >= 0 && (size_t)c < R->reason.n ? R->kindmap[c] : 0;
    }
    nmdi_permit_opts po;
    nmdi_permit_opts_default(&po);
    for (size_t a = 0, b; a < m; a = b) {
        for (b = a + 1; b < m && same_person(&it[a], &it[b]); b++)
            ;
        nmdi_derive_permits(&po, b - a, df + a, dt + a, rs + a, kind + a);
    }
    pthread_mutex_lock(&R->mu);
    nmdi_store_writer *w = R->w[OUT_PERMIT];
    uint32_t op = (uint32_t)(part % R->out_parts);
    int rc = 0;
    for (size_t i = 0; i < m && !rc; i++) {
        if (kind[i] != NMDI_PERMIT_FIRST)
            continue;
        uint32_t r = it[i].row;
        nmdi_store_row_begin(w, op);
        nmdi_store_put_i64(w, FP_KEY, key[r]);
        nmdi_store_put_i32(w, FP_DATE, df[i]);
        nmdi_store_put_i32(w, FP_TO, dt[i]);
        put_copy(w, FP_REASON, &R->reason, reason, r);
        put_copy(w, FP_CITSHIP, &R->citship, cit, r);
        put_copy(w, FP_SEX, &R->sex, sex, r);
        nmdi_store_put_i32(w, FP_DOB, dob ? dob[r] : NMDI_DATE_NONE);
        put_code(w, FP_SRC, R->source);
        rc = nmdi_store_row_end(w, &e);
        R->sum->first_permits++;
        R->sum->permits_by_reason[rs[i] <= 4 && rs[i] ? rs[i] - 1 : 4]++;
    }
    if (rc && !R->err.code)
        R->err = e;
    R->sum->permits_in += n;
    run_progress(R, n);
    pthread_mutex_unlock(&R->mu);
    free(it), free(df), free(dt), free(rs), free(kind);
    return rc;
}

/* ---- the stage --------------------------------------------------------------------------------- */

typedef struct input {
    const nmdi_cfg_source *src;
    int kind; /* 0 border, 1 register, 2 permit */
    int64_t version, rows;
    char *path;
    nmdi_dataset *ds;
} input;

static int kind_of(const char *record_type)
{
    if (!strcmp(record_type, "border_crossing"))
        return 0;
    if (!strcmp(record_type, "register_event"))
        return 1;
    if (!strcmp(record_type, "permit"))
        return 2;
    return -1;
}

static const int out_of_kind[3][2] = {{OUT_CR, OUT_EV}, {OUT_REG, -1}, {OUT_PERMIT, -1}};


/* Wait for the register index (once): R->rx, and the initial status from
 * the extract. */
static int rx_ready(run *R, nmdi_error *err)
{
    rxjob *j = R->rxj;
    if (!j || j->joined)
        return 0;
    j->joined = 1;
    if (j->started)
        pthread_join(j->th, NULL);
    else if (j->base || j->nevs)
        rxjob_main(j);
    if (j->rc) {
        *err = j->err;
        return j->rc;
    }
    R->rx = j->rx;
    if (j->base) {
        R->use_initial = 1;
        R->d0 = R->P->initial_date != NMDI_DATE_NONE ? R->P->initial_date
                                                      : nmdi_regindex_extract_date(j->rx);
        if (R->d0 == NMDI_DATE_NONE)
            return nmdi_error_at(err, NMDI_EDATA, R->cfg_path, 0, "residence.initial_date",
                                 "the register extract '%s' has no registered_since dates: "
                                 "give its date as residence.initial_date",
                                 R->P->initial_register);
        R->sum->initial_date = R->d0;
    }
    return 0;
}

static int run_source(run *R, input *in, nmdi_date as_of, nmdi_error *err)
{
    nmdi_dataset *ds = in->ds;
    R->ds = ds;
    R->source = in->src->id;
    nmdi_error_clear(&R->err);
    static const char *const need[3][3] = {{"traveller_key", "date", "direction"},
                                           {"person_key", "date", "event"},
                                           {"person_key", "valid_from", NULL}};
    for (int i = 0; i < 3 && need[in->kind][i]; i++)
        if (nmdi_dataset_find(ds, need[in->kind][i]) < 0)
            return nmdi_error_set(err, NMDI_EDATA,
                                  "source '%s' (%s) maps no field '%s': nothing to derive from it "
                                  "(map it in nmdi.yaml)",
                                  in->src->id, in->src->record_type, need[in->kind][i]);
    codecol_init(&R->doc, ds, "document_country");
    codecol_init(&R->sex, ds, "sex");
    codecol_init(&R->country, ds, "country");
    codecol_init(&R->citship, ds, "citizenship");
    codecol_init(&R->event, ds, "event");
    codecol_init(&R->reason, ds, "reason");
    codecol_init(&R->dir, ds, "direction");
    R->has_time = nmdi_dataset_find(ds, "time") >= 0 &&
                  nmdi_dataset_field(ds, (size_t)nmdi_dataset_find(ds, "time"))->type == NMDI_COL_STR;
    R->dirmap = calloc(R->dir.n + 1, 1);
    R->home = home_map(in->kind == 0 ? &R->doc : &R->citship, R->P->country);
    const codecol *km = in->kind == 1 ? &R->event : &R->reason;
    R->kindmap = calloc(km->n + 1, 1);
    if (!R->dirmap || !R->home || !R->kindmap) {
        free(R->dirmap), free(R->home), free(R->kindmap);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < R->dir.n; i++)
        R->dirmap[i] = (uint8_t)nmdi_residence_parse_direction(R->dir.dict[i], strlen(R->dir.dict[i]));
    for (size_t i = 0; i < km->n; i++) {
        const char *s = km->dict[i];
        if (in->kind == 1)
            R->kindmap[i] = !strcmp(s, "REG_IN") ? NMDI_REG_IN
                            : !strcmp(s, "DEREG_OUT") ? NMDI_REG_OUT
                                                      : NMDI_REG_OTHER;
        else
            for (uint8_t k = 1; k < 5; k++)
                if (!strcmp(s, reason_codes[k]))
                    R->kindmap[i] = k;
    }
    nmdi_part_fn fn = in->kind == 0 ? nmdi_derive_border_part : in->kind == 1 ? register_part : permit_part;
    R->cutoff = as_of;
    if (as_of == NMDI_DATE_NONE && in->kind != 2)
        R->cutoff = last_date(R->ctx, ds, "date");
    if (in->kind == 0 && (R->sum->cutoff == NMDI_DATE_NONE || R->cutoff > R->sum->cutoff))
        R->sum->cutoff = R->cutoff;
    int rc = 0;
    dtrace("lastdate", in->kind);
    if (in->kind == 0 &&
        ((rc = nmdi_derive_border_join(R, in->src->id, err)) || (dtrace("joined", 0), 0) || (rc = rx_ready(R, err)) ||
         (dtrace("rxready", 0), 0) || (rc = nmdi_derive_border_layout(R, err))))
        goto out;
    dtrace("layout", in->kind);
    char label[160];
    snprintf(label, sizeof label, "derive %s", in->src->id);
    R->done = 0;
    nmdi_progress_begin(&R->prog, R->ctx, label, nmdi_dataset_rows(ds));
    rc = nmdi_pool_run(R->ctx, nmdi_dataset_nparts(ds), fn, R);
    nmdi_progress_end(&R->prog);
    dtrace("pooldone", in->kind);
    if (rc) {
        *err = R->err.code ? R->err : *err;
        if (!err->code)
            nmdi_error_set(err, NMDI_EINTERNAL, "derivation of '%s' failed", in->src->id);
        rc = err->code;
    }
out:
    nmdi_derive_scratch_free(R->spare);
    R->spare = NULL;
    nmdi_derive_border_end(R);
    free(R->dirmap), free(R->home), free(R->kindmap);
    R->dirmap = NULL, R->home = NULL, R->kindmap = NULL;
    return rc;
}

static char *lineage(const nmdi_derive_params *P, const input *ins, size_t nin, int out,
                     nmdi_date cutoff_as_of, const char *config_path, nmdi_date d0,
                     int64_t reg_version)
{
    json_t *j = json_object(), *arr = json_array();
    for (size_t i = 0; i < nin; i++) {
        int k = ins[i].kind;
        if (out_of_kind[k][0] != out && out_of_kind[k][1] != out)
            continue;
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I,s:s}", "dataset", ins[i].src->id,
                                             "record_type", ins[i].src->record_type, "version",
                                             (json_int_t)ins[i].version, "rows",
                                             (json_int_t)ins[i].rows, "path", ins[i].path));
    }
    json_object_set_new(j, "inputs", arr);
    char asof[11] = "";
    nmdi_date_format(cutoff_as_of, asof);
    char ur[2] = {P->usual_residence, 0};
    json_object_set_new(j, "parameters",
                        json_pack("{s:i,s:i,s:s,s:i,s:i,s:s,s:s,s:b}", "threshold_days",
                                  P->rule.threshold, "window_days", P->rule.window,
                                  "usual_residence", ur,
                                  "temporary_min_days", P->events.temp_min, "temporary_max_days",
                                  P->events.temp_max, "country", P->country, "as_of",
                                  asof[0] ? asof : "last date of each source", "link_documents",
                                  P->link_documents));
    char d0s[11] = "";
    nmdi_date_format(d0, d0s);
    json_object_set_new(json_object_get(j, "parameters"), "initial_status",
                        P->initial_register && d0 != NMDI_DATE_NONE
                            ? json_pack("{s:s,s:s,s:I}", "register", P->initial_register, "date",
                                        d0s, "version", (json_int_t)reg_version)
                            : json_string("inferred from the first crossing"));
    json_object_set_new(j, "config", json_string(config_path));
    json_object_set_new(j, "method", json_string("nmdi derive"));
    json_object_set_new(j, "nmdi_version", json_string(NMDI_VERSION));
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return s;
}

static const nmdi_store_field *out_fields(int o, size_t *n)
{
    switch (o) {
    case OUT_CR: *n = CR_N; return cr_fields;
    case OUT_EV: *n = EV_N; return ev_fields;
    case OUT_REG: *n = RG_N; return rg_fields;
    default: *n = FP_N; return fp_fields;
    }
}

/* The border outputs finished (their files synced and the version moved into
 * place) on a thread of their own while the registers and permits are
 * derived: the sync of ~70 bytes per crossing then overlaps work instead of
 * following it. */
typedef struct finjob {
    nmdi_store_writer *w[NOUT]; /* to finish (NULL: not by this job)      */
    char *lin[NOUT];            /* their lineage (manifest metadata)      */
    uint64_t rows[NOUT];
    char **vdir;                /* per output: the version's directory    */
    nmdi_error err;
    int rc, started, joined;
    pthread_t th;
} finjob;

static void *finjob_main(void *arg)
{
    finjob *F = arg;
    nmdi_error_clear(&F->err);
    for (int o = 0; o < NOUT; o++) {
        nmdi_store_writer *w = F->w[o];
        F->w[o] = NULL;
        if (w && !F->rc)
            F->rc = nmdi_store_writer_finish(w, F->lin[o], &F->vdir[o], &F->err);
        else if (w)
            nmdi_store_writer_abort(w);
    }
    return NULL;
}

static int finjob_join(finjob *F, nmdi_error *err)
{
    if (F->started && !F->joined)
        pthread_join(F->th, NULL);
    F->joined = 1;
    if (F->rc)
        *err = F->err;
    return F->rc;
}

int nmdi_derive_dir(const nmdi_ctx *ctx, const char *dir, nmdi_date as_of,
                    nmdi_derive_summary *sum, nmdi_error *err)
{
    memset(sum, 0, sizeof *sum);
    nmdi_error_clear(err);
    sum->cutoff = NMDI_DATE_NONE;
    sum->initial_date = NMDI_DATE_NONE;
    double t0 = nmdi_now();
    char path[4096], store[4096];
    nmdi_config *cfg = NULL;
    nmdi_catalog *cat = NULL;
    nmdi_arena *arena = NULL;
    input *ins = NULL;
    size_t nin = 0;
    int rc, have[NOUT] = {0}, in_tx = 0;
    nmdi_dataset *regbase = NULL;
    rxjob rxj;
    memset(&rxj, 0, sizeof rxj);
    finjob F;
    memset(&F, 0, sizeof F);
    int64_t reg_version = 0;
    char *vdir[NOUT] = {0};
    int64_t vid[NOUT] = {0};
    run R;
    memset(&R, 0, sizeof R);
    pthread_mutex_init(&R.mu, NULL);
    pthread_mutex_init(&R.dmu, NULL);
    snprintf(path, sizeof path, "%s/nmdi.yaml", dir);
    snprintf(store, sizeof store, "%s/store", dir);
    nmdi_derive_params P;
    if ((rc = nmdi_config_load(&cfg, path, err)) || (rc = nmdi_derive_params_load(cfg, &P, err)))
        goto done;
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    if ((rc = nmdi_catalog_open(&cat, path, 0, err)))
        goto done;
    arena = nmdi_arena_new(0);
    ins = calloc(cfg->nsources + 1, sizeof *ins);
    if (!arena || !ins) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < cfg->nsources; i++) {
        const nmdi_cfg_source *s = &cfg->sources[i];
        int k = kind_of(s->record_type);
        if (k < 0)
            continue;
        nmdi_dsversion v;
        int r = nmdi_catalog_latest(cat, s->id, &v, arena, err);
        if (r < 0) {
            rc = err->code ? err->code : NMDI_EINTERNAL;
            goto done;
        }
        if (r == 0) {
            nmdi_note(ctx, "derive: source '%s' (%s) has no loaded version: skipped", s->id,
                      s->record_type);
            continue;
        }
        input *in = &ins[nin];
        in->src = s;
        in->kind = k;
        in->version = v.version;
        in->rows = v.rows;
        in->path = nmdi_arena_strdup(arena, v.path);
        snprintf(path, sizeof path, "%s/%s", dir, v.path);
        if ((rc = nmdi_dataset_open(&in->ds, path, err)))
            goto done;
        nin++;
        have[out_of_kind[k][0]] = 1;
        if (out_of_kind[k][1] >= 0)
            have[out_of_kind[k][1]] = 1;
        sum->border_sources += k == 0;
        sum->register_sources += k == 1;
        sum->permit_sources += k == 2;
    }
    if (nin == 0) {
        nmdi_note(ctx, "derive: no border crossing, register event or permit data loaded: "
                       "nothing to derive");
        goto done;
    }
    /* new versions of the outputs, in one catalog transaction */
    if ((rc = nmdi_catalog_begin(cat, err)))
        goto done;
    in_tx = 1;
    char now[32];
    time_t tt = time(NULL);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    R.out_parts = cfg->partitions > 0 ? (size_t)cfg->partitions : 1;
    if (!(R.opmu = malloc(R.out_parts * sizeof *R.opmu))) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < R.out_parts; i++)
        pthread_mutex_init(&R.opmu[i], NULL);
    for (int o = 0; o < NOUT; o++) {
        if (!have[o])
            continue;
        int64_t version;
        char vname[32], rel[512];
        if ((rc = nmdi_catalog_next_version(cat, out_names[o], &version, err)))
            goto done;
        snprintf(vname, sizeof vname, "%lld", (long long)version);
        snprintf(rel, sizeof rel, "store/%s/%s", out_names[o], vname);
        if ((rc = nmdi_store_clean_tmp(store, out_names[o], err)) ||
            (rc = nmdi_store_remove_version(store, out_names[o], vname, err)))
            goto done;
        nmdi_dsversion v = {0, out_names[o], version, NULL, "derived", rel, 0, 0, 0,
                            (int)R.out_parts, now, "{}"};
        if ((rc = nmdi_catalog_add_version(cat, &v, err)))
            goto done;
        vid[o] = v.id;
        sum->version[o] = version;
        size_t nf;
        const nmdi_store_field *f = out_fields(o, &nf);
        nmdi_store_opts so = {(int)R.out_parts, ctx->store_fail_after};
        if ((rc = nmdi_store_writer_open(&R.w[o], store, out_names[o], vname, nf, f, &so, err)))
            goto done;
        if (o == OUT_CR || o == OUT_EV) {
            /* gigabytes at 100 M crossings, not read again soon: written
             * past the page cache (see nmdi_store_writer_direct) */
            nmdi_store_writer_write_behind(R.w[o]);
            nmdi_store_writer_direct(R.w[o]);
        }
    }
    R.ctx = ctx;
    R.P = &P;
    R.sum = sum;
    /* the register by identity: initial status from an extract, previous and
     * next residence from register events */
    {
        const nmdi_dataset *evs[64];
        size_t nevs = 0;
        for (size_t i = 0; i < nin && nevs < 64; i++)
            if (ins[i].kind == 1)
                evs[nevs++] = ins[i].ds;
        if (P.initial_register) {
            nmdi_dsversion v;
            int r = nmdi_catalog_latest(cat, P.initial_register, &v, arena, err);
            if (r < 0) {
                rc = err->code ? err->code : NMDI_EINTERNAL;
                goto done;
            }
            if (r == 0)
                nmdi_note(ctx, "derive: the register extract '%s' (residence.initial_register) "
                               "has no loaded version: initial residence inferred from the first "
                               "crossing", P.initial_register);
            else {
                snprintf(path, sizeof path, "%s/%s", dir, v.path);
                if ((rc = nmdi_dataset_open(&regbase, path, err)))
                    goto done;
                reg_version = v.version;
            }
        }
        rxj.base = regbase;
        memcpy(rxj.evs, evs, nevs * sizeof *evs);
        rxj.nevs = nevs;
        R.rxj = &rxj;
        R.cfg_path = cfg->path;
        if ((regbase || nevs) && ctx && ctx->nthreads > 1 &&
            !pthread_create(&rxj.th, NULL, rxjob_main, &rxj))
            rxj.started = 1;
    }
    F.vdir = vdir;
    dtrace("opened", 0);
    for (int pass = 0; pass < 3; pass++) { /* border first: the summary's cut-off */
        for (size_t i = 0; i < nin; i++)
            if (ins[i].kind == pass && (rc = run_source(&R, &ins[i], as_of, err)))
                goto done;
        /* the border outputs are complete (their lineage too: the register
         * extract's date is known once the border sources ran) */
        if (pass == 0 && ctx && ctx->nthreads > 1 && (R.w[OUT_CR] || R.w[OUT_EV])) {
            for (int o = OUT_CR; o <= OUT_EV; o++) {
                if (!R.w[o])
                    continue;
                F.lin[o] = lineage(&P, ins, nin, o, as_of, cfg->path, sum->initial_date, reg_version);
                F.rows[o] = nmdi_store_writer_rows(R.w[o]);
                F.w[o] = R.w[o];
                R.w[o] = NULL;
            }
            if (!pthread_create(&F.th, NULL, finjob_main, &F))
                F.started = 1;
            else
                finjob_main(&F);
        }
    }
    dtrace("passes", 0);
    if ((rc = rx_ready(&R, err)) || (rc = finjob_join(&F, err)))
        goto done;
    dtrace("finjob", 0);
    for (int o = 0; o < NOUT; o++) {
        if (!R.w[o] && !F.lin[o])
            continue;
        int early = F.lin[o] != NULL;
        char *lin = early ? F.lin[o]
                          : lineage(&P, ins, nin, o, as_of, cfg->path, sum->initial_date, reg_version);
        uint64_t rows = early ? F.rows[o] : nmdi_store_writer_rows(R.w[o]);
        int64_t read = 0;
        for (size_t i = 0; i < nin; i++)
            if (out_of_kind[ins[i].kind][0] == o || out_of_kind[ins[i].kind][1] == o)
                read += (int64_t)nmdi_dataset_rows(ins[i].ds);
        if (!early) {
            nmdi_store_writer *w = R.w[o];
            R.w[o] = NULL;
            rc = nmdi_store_writer_finish(w, lin, &vdir[o], err);
        }
        if (!rc)
            rc = nmdi_catalog_update_version(cat, vid[o], read, (int64_t)rows, 0, lin, err);
        if (!early)
            free(lin);
        if (rc)
            goto done;
    }
    dtrace("finished", 0);
    rc = nmdi_catalog_commit(cat, err);
    if (!rc)
        in_tx = 0;
    dtrace("commit", 0);
done:
    if (F.started && !F.joined) { /* an error while the border outputs were finished */
        nmdi_error keep = *err;
        finjob_join(&F, err);
        *err = keep;
    }
    for (int o = 0; o < NOUT; o++) {
        free(F.lin[o]);
        if (R.w[o])
            nmdi_store_writer_abort(R.w[o]);
        if (rc && vdir[o]) {
            nmdi_error keep = *err;
            char vname[32];
            snprintf(vname, sizeof vname, "%lld", (long long)sum->version[o]);
            nmdi_store_remove_version(store, out_names[o], vname, err);
            *err = keep;
        }
        free(vdir[o]);
        if (rc)
            sum->version[o] = 0;
    }
    if (cat) {
        if (in_tx)
            nmdi_catalog_rollback(cat);
        nmdi_catalog_close(cat);
    }
    if (rxj.started && !rxj.joined)
        pthread_join(rxj.th, NULL);
    nmdi_regindex_free(rxj.rx);
    nmdi_dataset_close(regbase);
    for (size_t i = 0; i < nin; i++)
        nmdi_dataset_close(ins[i].ds);
    free(ins);
    nmdi_arena_free(arena);
    nmdi_config_free(cfg);
    for (size_t i = 0; R.opmu && i < R.out_parts; i++)
        pthread_mutex_destroy(&R.opmu[i]);
    free(R.opmu);
    pthread_mutex_destroy(&R.dmu);
    pthread_mutex_destroy(&R.mu);
    sum->seconds = nmdi_now() - t0;
    return rc;
}
