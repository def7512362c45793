/*
 * mobile.c — mobile-phone presence records → migration aggregates
 * (nmdi/mobile.h, docs/methods-mobile.md). Records are sorted by
 * (subscriber, day); each subscriber's days become presence or absence
 * spells, the spells become synthetic crossings classified by the residence
 * engine of border crossings, and only counts of distinct subscribers per
 * cell leave the module, with small cells redacted.
 */
#include "nmdi/mobile.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void nmdi_mobile_params_default(nmdi_mobile_params *p)
{
    memset(p, 0, sizeof *p);
    nmdi_residence_rule_default(&p->rule);
    p->gap_days = 7;
    p->min_subscribers = 15;
    p->market_share = 1.0;
    p->home_country = "";
    p->tmpdir = NULL;
    p->partition_records = 0;
}

/* ---- aggregation: cells of distinct subscribers --------------------------- */
typedef struct agg {
    nmdi_strmap *idx;   /* joined codes → cell index + 1 */
    size_t ndims;
    char **keys;        /* joined codes per cell (malloc'd) */
    int64_t *n;
    int64_t *prov;      /* subscribers classified provisionally */
    uint64_t *ck;       /* fixed-point cell keys: sums of record keys mod 2^52 */
    size_t ncell, cap;
} agg;

/* Record and cell keys are multiples of 2^-52 held as integers (the
 * resolution of nmdi/rkey.h and of the tabulation engine), so a cell key is
 * an integer sum modulo 2^52: exact, whatever the order of the subscribers
 * or the partitioning of the records. */
#define KEY_BITS 52
#define KEY_MASK ((UINT64_C(1) << KEY_BITS) - 1)

static int agg_init(agg *g, size_t ndims)
{
    memset(g, 0, sizeof *g);
    g->ndims = ndims;
    g->idx = nmdi_strmap_new();
    return g->idx ? 0 : -1;
}

static void agg_free(agg *g)
{
    for (size_t i = 0; i < g->ncell; i++)
        free(g->keys[i]);
    free(g->keys);
    free(g->n);
    free(g->prov);
    free(g->ck);
    nmdi_strmap_free(g->idx);
}

/* the index of the cell of joined key (p bytes), created when new; -1 on OOM */
static int64_t agg_slot(agg *g, const char *key, size_t p)
{
    int ins;
    int64_t *v = nmdi_strmap_put(g->idx, key, p, &ins);
    if (!v)
        return -1;
    if (ins) {
        if (g->ncell == g->cap) {
            size_t nc = g->cap ? g->cap * 2 : 256;
            char **k = realloc(g->keys, nc * sizeof *k);
            if (!k)
                return -1;
            g->keys = k;
            int64_t *n = realloc(g->n, nc * sizeof *n);
            if (!n)
                return -1;
            g->n = n;
            uint64_t *c = realloc(g->ck, nc * sizeof *c);
            if (!c)
                return -1;
            g->ck = c;
            int64_t *pv = realloc(g->prov, nc * sizeof *pv);
            if (!pv)
                return -1;
            g->prov = pv;
            g->cap = nc;
        }
        g->keys[g->ncell] = strdup(key);
        if (!g->keys[g->ncell])
            return -1;
        g->n[g->ncell] = 0;
        g->ck[g->ncell] = 0;
        g->prov[g->ncell] = 0;
        *v = (int64_t)++g->ncell;
    }
    return *v - 1;
}

/* add one subscriber with fixed-point record key rk to the cell of codes
 * (prov: the subscriber's classification there is provisional) */
static int agg_add(agg *g, const char *const *codes, uint64_t rk, int prov)
{
    char key[512];
    size_t p = 0;
    for (size_t i = 0; i < g->ndims; i++) {
        size_t l = strlen(codes[i]);
        if (p + l + 2 >= sizeof key)
            return -1;
        memcpy(key + p, codes[i], l);
        p += l;
        key[p++] = '\x1f';
    }
    key[p] = 0;
    int64_t s = agg_slot(g, key, p);
    if (s < 0)
        return -1;
    size_t i = (size_t)s;
    g->n[i]++;
    g->prov[i] += prov != 0;
    g->ck[i] = (g->ck[i] + rk) & KEY_MASK;
    return 0;
}

/* add every cell of src into dst: counts and key sums are integers, so the
 * result does not depend on the order of merging */
static int agg_merge(agg *dst, const agg *src)
{
    for (size_t c = 0; c < src->ncell; c++) {
        int64_t s = agg_slot(dst, src->keys[c], strlen(src->keys[c]));
        if (s < 0)
            return -1;
        dst->n[s] += src->n[c];
        dst->prov[s] += src->prov[c];
        dst->ck[s] = (dst->ck[s] + src->ck[c]) & KEY_MASK;
    }
    return 0;
}

static nmdi_cube *agg_cube(agg *g, const char *const *dims, const nmdi_mobile_params *p,
                           uint64_t *redacted)
{
    nmdi_cube *c = nmdi_cube_new(g->ndims, dims);
    if (!c)
        return NULL;
    const char *codes[8];
    for (size_t i = 0; i < g->ncell; i++) {
        char *k = strdup(g->keys[i]), *s = k;
        if (!k) {
            nmdi_cube_free(c);
            return NULL;
        }
        for (size_t d = 0; d < g->ndims; d++) {
            codes[d] = s;
            s = strchr(s, '\x1f');
            *s++ = 0;
        }
        nmdi_cell cell;
        nmdi_cell_init(&cell);
        cell.n = g->n[i];
        cell.ckey = ldexp((double)g->ck[i], -KEY_BITS);
        strcpy(cell.obs_status, g->prov[i] ? NMDI_OBS_PROVISIONAL : NMDI_OBS_ESTIMATED);
        if (g->n[i] < p->min_subscribers) {
            /* redacted: neither the count nor its key leaves the module */
            cell.n = 0;
            cell.ckey = NAN;
            strcpy(cell.obs_status, NMDI_OBS_MISSING);
            strcpy(cell.conf_status, NMDI_CONF_PRIMARY);
            (*redacted)++;
        } else {
            cell.value = (double)g->n[i] / p->market_share;
        }
        int rc = nmdi_cube_add(c, codes, &cell);
        free(k);
        if (rc) {
            nmdi_cube_free(c);
            return NULL;
        }
    }
    nmdi_cube_sort(c);
    return c;
}

/* ---- per subscriber --------------------------------------------------------- */
typedef struct sortctx {
    const nmdi_mobile_input *in;
} sortctx;

static int cmp_rec(const void *a, const void *b, void *arg)
{
    const nmdi_mobile_input *in = ((const sortctx *)arg)->in;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (in->subscriber[x] != in->subscriber[y])
        return in->subscriber[x] < in->subscriber[y] ? -1 : 1;
    if (in->day[x] != in->day[y])
        return in->day[x] < in->day[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* the month of a day as one integer (comparisons without formatting) */
static int month_key(nmdi_date d)
{
    if (d == NMDI_DATE_NONE)
        return INT_MIN;
    int y, m, dd;
    nmdi_date_to_ymd(d, &y, &m, &dd);
    return y * 12 + m;
}

static void month_of(nmdi_date d, char out[8])
{
    char buf[11];
    nmdi_date_format(d, buf);
    memcpy(out, buf, 7);
    out[7] = 0;
}

/* the subscriber's record key, fixed-point (52 bits) */
static uint64_t record_key(uint64_t sub)
{
    return nmdi_hash64(&sub, sizeof sub, 0x6d6f62696c65ULL) >> (64 - KEY_BITS);
}

/* The most frequent string of field among the records idx[a..b) (only those
 * with that roaming flag when roam >= 0; ties: the smallest string), or NULL
 * when no record qualifies. */
static const char *modal_of(const nmdi_mobile_input *in, const size_t *idx, size_t a, size_t b,
                            const char *const *field, int roam)
{
    const char *best = NULL;
    size_t bestn = 0;
    for (size_t i = a; i < b; i++) {
        if (roam >= 0 && in->roaming[idx[i]] != roam)
            continue;
        const char *s = field[idx[i]];
        size_t n = 0;
        for (size_t k = a; k < b; k++)
            n += (roam < 0 || in->roaming[idx[k]] == roam) && strcmp(field[idx[k]], s) == 0;
        if (n > bestn || (n == bestn && best && strcmp(s, best) < 0)) {
            best = s;
            bestn = n;
        }
    }
    return best;
}

/* modal_of over all records, "_U" when the range is empty */
static const char *modal(const nmdi_mobile_input *in, const size_t *idx, size_t a, size_t b,
                         const char *const *field)
{
    const char *m = modal_of(in, idx, a, b, field, -1);
    return m ? m : "_U";
}

typedef struct spell {
    size_t a, b;          /* record range in the sorted index */
    nmdi_date first, last;
} spell;

static const char *spell_type(const nmdi_residence_result *r, nmdi_date first, nmdi_date last)
{
    if (r->ltm)
        return "LONG";
    return last - first + 1 >= 90 ? "TEMP" : "SHORT";
}

/* Classify the spells of one subscriber with the residence engine and count
 * the subscriber in the cells of the months the spells touch. Returns -1 on
 * out of memory. cdate/cdir/res hold at least 2*nsp entries. */
static int spells_to_cells(const nmdi_mobile_input *in, const nmdi_mobile_params *p,
                           const nmdi_residence_rule *rule, const size_t *idx, const spell *sp,
                           size_t nsp, int inbound, uint64_t rk, nmdi_date *cdate, uint8_t *cdir,
                           nmdi_residence_result *res, agg *gin, agg *gout, agg *glt,
                           nmdi_date dmin, nmdi_date dmax)
{
    size_t nc = 0;
    size_t *first_cross = malloc(nsp * sizeof *first_cross);
    if (!first_cross)
        return -1;
    for (size_t s = 0; s < nsp; s++) {
        first_cross[s] = nc;
        cdate[nc] = sp[s].first;
        cdir[nc++] = inbound ? NMDI_ARRIVAL : NMDI_DEPARTURE;
        if (sp[s].last + p->gap_days < dmax) {
            cdate[nc] = sp[s].last + 1;
            cdir[nc++] = inbound ? NMDI_DEPARTURE : NMDI_ARRIVAL;
        }
    }
    nmdi_residence_classify(rule, nc, cdate, cdir, NULL, inbound ? 0 : 1, NMDI_DATE_NONE, res);
    int rc = 0;
    for (size_t s = 0; s < nsp && rc == 0; s++) {
        const nmdi_residence_result *r = &res[first_cross[s]];
        const char *type = spell_type(r, sp[s].first, sp[s].last);
        const char *country =
            inbound ? in->home[idx[sp[s].a]] : modal(in, idx, sp[s].a, sp[s].b, in->area);
        /* a spell under way when the data begin (its first day within gap_days
         * of the first day of data) is a stock, not a start: left-censored */
        if (r->ltm && sp[s].first > dmin + p->gap_days) {
            char yr[11];
            nmdi_date_format(sp[s].first, yr);
            yr[4] = 0;
            const char *codes[] = {yr, inbound ? "IMM" : "EMI", country};
            const char *tot[] = {yr, inbound ? "IMM" : "EMI", "_T"};
            rc = agg_add(glt, codes, rk, r->provisional);
            if (!rc)
                rc = agg_add(glt, tot, rk, r->provisional);
        }
        /* one count per month the spell touches, in the month's modal area */
        for (size_t i = sp[s].a; i < sp[s].b && rc == 0;) {
            char mon[8];
            month_of(in->day[idx[i]], mon);
            int mk = month_key(in->day[idx[i]]);
            size_t j = i;
            while (j < sp[s].b && month_key(in->day[idx[j]]) == mk)
                j++;
            /* each subscriber-month counts in its country's cell and in the total
             * over countries (_T), so totals survive the redaction of small cells */
            const char *codes[] = {mon, country, type};
            const char *tot[] = {mon, "_T", type};
            rc = agg_add(inbound ? gin : gout, codes, rk, 0);
            if (!rc)
                rc = agg_add(inbound ? gin : gout, tot, rk, 0);
            i = j;
        }
    }
    free(first_cross);
    return rc;
}

/* ---- the accumulator: partial results of any set of whole subscribers ---- */
struct nmdi_mobile_acc {
    agg gin, gout, gint, glt;
    int inited;             /* aggs initialised */
    uint64_t subscribers, machines, records;
    spell *sp;              /* scratch, reused across subscribers */
    size_t spcap;
    nmdi_date *cdate;
    uint8_t *cdir;
    nmdi_residence_result *res;
    size_t ccap;
};

nmdi_mobile_acc *nmdi_mobile_acc_new(void)
{
    nmdi_mobile_acc *acc = calloc(1, sizeof *acc);
    if (!acc)
        return NULL;
    if (agg_init(&acc->gin, 3) || (acc->inited = 1, agg_init(&acc->gout, 3)) ||
        (acc->inited = 2, agg_init(&acc->gint, 3)) || (acc->inited = 3, agg_init(&acc->glt, 3))) {
        nmdi_mobile_acc_free(acc);
        return NULL;
    }
    acc->inited = 4;
    return acc;
}

void nmdi_mobile_acc_free(nmdi_mobile_acc *acc)
{
    if (!acc)
        return;
    if (acc->inited >= 1)
        agg_free(&acc->gin);
    if (acc->inited >= 2)
        agg_free(&acc->gout);
    if (acc->inited >= 3)
        agg_free(&acc->gint);
    if (acc->inited >= 4)
        agg_free(&acc->glt);
    free(acc->sp);
    free(acc->cdate);
    free(acc->cdir);
    free(acc->res);
    free(acc);
}

int nmdi_mobile_acc_add(nmdi_mobile_acc *acc, const nmdi_mobile_params *p,
                        const nmdi_mobile_input *in, nmdi_date dmin, nmdi_date dmax,
                        nmdi_error *err)
{
    size_t n = in->n;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory in the mobile derivation");
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    sortctx sc = {in};
    qsort_r(idx, n, sizeof *idx, cmp_rec, &sc);
    nmdi_residence_rule rule = p->rule;
    if (rule.cutoff == NMDI_DATE_NONE)
        rule.cutoff = dmax;
    acc->records += n;
    for (size_t a = 0; a < n;) {
        size_t b = a;
        uint64_t sub = in->subscriber[idx[a]];
        while (b < n && in->subscriber[idx[b]] == sub)
            b++;
        acc->subscribers++;
        uint64_t rk = record_key(sub);
        int inbound = 0, outbound = 0;
        for (size_t i = a; i < b; i++) {
            inbound |= in->roaming[idx[i]] == NMDI_MOBILE_INBOUND;
            outbound |= in->roaming[idx[i]] == NMDI_MOBILE_OUTBOUND;
        }
        /* machine SIM: seen on at least 90 % of the days of a span of 60 days or
         * more, always in one single area, never abroad (persons move) */
        size_t ndays = 0;
        int one_area = 1;
        nmdi_date first = NMDI_DATE_NONE, last = NMDI_DATE_NONE;
        for (size_t i = a; i < b; i++) {
            nmdi_date dd = in->day[idx[i]];
            if (dd == NMDI_DATE_NONE)
                continue;
            if (first == NMDI_DATE_NONE)
                first = dd;
            if (last != dd)
                ndays++;
            last = dd;
            if (strcmp(in->area[idx[i]], in->area[idx[a]]) != 0)
                one_area = 0;
        }
        if (!outbound && one_area && first != NMDI_DATE_NONE && last - first + 1 >= 60 &&
            (double)ndays >= 0.9 * (double)(last - first + 1)) {
            acc->machines++;
            a = b;
            continue;
        }
        /* spells: inbound = days present here; domestic = days abroad (outbound) */
        size_t nsp = 0;
        for (size_t i = a; i < b; i++) {
            size_t r = idx[i];
            if (in->day[r] == NMDI_DATE_NONE)
                continue;
            int counts = inbound ? in->roaming[r] == NMDI_MOBILE_INBOUND
                                 : in->roaming[r] == NMDI_MOBILE_OUTBOUND;
            if (!counts)
                continue;
            if (nsp && in->day[r] - acc->sp[nsp - 1].last <= p->gap_days) {
                acc->sp[nsp - 1].last = in->day[r];
                acc->sp[nsp - 1].b = i + 1;
                continue;
            }
            if (nsp == acc->spcap) {
                acc->spcap = acc->spcap ? acc->spcap * 2 : 16;
                spell *ns = realloc(acc->sp, acc->spcap * sizeof *ns);
                if (!ns)
                    goto fail;
                acc->sp = ns;
            }
            acc->sp[nsp].a = i;
            acc->sp[nsp].b = i + 1;
            acc->sp[nsp].first = acc->sp[nsp].last = in->day[r];
            nsp++;
        }
        if (nsp) {
            /* synthetic crossings: into the spell at its first day, out of it the day
             * after its last day unless the data end within the gap */
            if (2 * nsp > acc->ccap) {
                acc->ccap = 2 * nsp;
                nmdi_date *d2 = realloc(acc->cdate, acc->ccap * sizeof *d2);
                uint8_t *r2 = realloc(acc->cdir, acc->ccap);
                nmdi_residence_result *s2 = realloc(acc->res, acc->ccap * sizeof *s2);
                if (d2)
                    acc->cdate = d2;
                if (r2)
                    acc->cdir = r2;
                if (s2)
                    acc->res = s2;
                if (!d2 || !r2 || !s2)
                    goto fail;
            }
            if (spells_to_cells(in, p, &rule, idx, acc->sp, nsp, inbound, rk, acc->cdate, acc->cdir, acc->res, &acc->gin,
                                &acc->gout, &acc->glt, dmin, dmax))
                goto fail;
        }
        /* internal mobility of domestic subscribers: home area per month */
        if (!inbound) {
            char prev_mon[8] = "", prev_area[64] = "";
            for (size_t i = a; i < b;) {
                if (in->roaming[idx[i]] != NMDI_MOBILE_DOMESTIC || in->day[idx[i]] == NMDI_DATE_NONE) {
                    i++;
                    continue;
                }
                char mon[8];
                month_of(in->day[idx[i]], mon);
                int mk = month_key(in->day[idx[i]]);
                size_t j = i;
                while (j < b && month_key(in->day[idx[j]]) == mk)
                    j++;
                /* modal area among the domestic records of the month */
                const char *best = modal_of(in, idx, i, j, in->area, NMDI_MOBILE_DOMESTIC);
                if (best && prev_mon[0]) {
                    const char *codes[] = {mon, prev_area, best};
                    if (agg_add(&acc->gint, codes, rk, 0))
                        goto fail;
                }
                if (best) {
                    memcpy(prev_mon, mon, sizeof mon);
                    snprintf(prev_area, sizeof prev_area, "%s", best);
                }
                i = j;
            }
        }
        a = b;
    }
    free(idx);
    return 0;
fail:
    free(idx);
    return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory in the mobile derivation");
}

int nmdi_mobile_cols_alloc(nmdi_mobile_cols *c, size_t n)
{
    c->sub = malloc((n + 1) * sizeof *c->sub);
    c->day = malloc((n + 1) * sizeof *c->day);
    c->area = malloc((n + 1) * sizeof *c->area);
    c->home = malloc((n + 1) * sizeof *c->home);
    c->roam = malloc(n + 1);
    if (c->sub && c->day && c->area && c->home && c->roam)
        return 0;
    nmdi_mobile_cols_free(c);
    return NMDI_EINTERNAL;
}

void nmdi_mobile_cols_free(nmdi_mobile_cols *c)
{
    free(c->sub);
    free(c->day);
    free(c->area);
    free(c->home);
    free(c->roam);
    memset(c, 0, sizeof *c);
}

int nmdi_mobile_add_part(nmdi_mobile_acc *total, pthread_mutex_t *lock, const nmdi_mobile_params *p,
                         nmdi_mobile_cols *c, size_t n, nmdi_date dmin, nmdi_date dmax,
                         nmdi_error *err)
{
    nmdi_mobile_acc *acc = nmdi_mobile_acc_new();
    nmdi_mobile_input in = {n, c->sub, c->day, c->area, c->home, c->roam};
    int rc = acc ? nmdi_mobile_acc_add(acc, p, &in, dmin, dmax, err)
                 : nmdi_error_set(err, NMDI_EINTERNAL, "out of memory in the mobile derivation");
    nmdi_mobile_cols_free(c);
    if (!rc) {
        pthread_mutex_lock(lock);
        rc = nmdi_mobile_acc_merge(total, acc, err);
        pthread_mutex_unlock(lock);
    }
    nmdi_mobile_acc_free(acc);
    return rc;
}

int nmdi_mobile_acc_merge(nmdi_mobile_acc *dst, const nmdi_mobile_acc *src, nmdi_error *err)
{
    if (agg_merge(&dst->gin, &src->gin) || agg_merge(&dst->gout, &src->gout) ||
        agg_merge(&dst->gint, &src->gint) || agg_merge(&dst->glt, &src->glt))
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory in the mobile derivation");
    dst->subscribers += src->subscribers;
    dst->machines += src->machines;
    dst->records += src->records;
    return 0;
}

int nmdi_mobile_acc_finish(nmdi_mobile_acc *acc, const nmdi_mobile_params *p,
                           nmdi_mobile_result *out, nmdi_error *err)
{
    memset(out, 0, sizeof *out);
    static const char *const din[] = {"TIME_PERIOD", "HOME_COUNTRY", "PRESENCE_TYPE"};
    static const char *const dout[] = {"TIME_PERIOD", "VISITED_COUNTRY", "ABSENCE_TYPE"};
    static const char *const dint[] = {"TIME_PERIOD", "ORIGIN_AREA", "DESTINATION_AREA"};
    static const char *const dlt[] = {"TIME_PERIOD", "FLOW", "COUNTERPART_AREA"};
    out->inbound = agg_cube(&acc->gin, din, p, &out->redacted);
    out->outbound = agg_cube(&acc->gout, dout, p, &out->redacted);
    out->internal = agg_cube(&acc->gint, dint, p, &out->redacted);
    out->longterm = agg_cube(&acc->glt, dlt, p, &out->redacted);
    out->subscribers = acc->subscribers;
    out->machines = acc->machines;
    out->records = acc->records;
    if (!out->inbound || !out->outbound || !out->internal || !out->longterm) {
        nmdi_mobile_result_free(out);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory in the mobile derivation");
    }
    return 0;
}

int nmdi_mobile_check(const nmdi_mobile_params *p, nmdi_error *err)
{
    if (!(p->market_share > 0 && p->market_share <= 1))
        return nmdi_error_set(err, NMDI_EDATA, "market_share must be in (0, 1], not %g",
                              p->market_share);
    return nmdi_residence_rule_check(&p->rule, err);
}

int nmdi_mobile_run(const nmdi_ctx *ctx, const nmdi_mobile_params *p,
                    const nmdi_mobile_input *in, nmdi_mobile_result *out, nmdi_error *err)
{
    (void)ctx;
    memset(out, 0, sizeof *out);
    if (nmdi_mobile_check(p, err))
        return err->code;
    nmdi_date dmin = INT32_MAX, dmax = INT32_MIN;
    for (size_t i = 0; i < in->n; i++)
        if (in->day[i] != NMDI_DATE_NONE) {
            dmin = in->day[i] < dmin ? in->day[i] : dmin;
            dmax = in->day[i] > dmax ? in->day[i] : dmax;
        }
    nmdi_mobile_acc *acc = nmdi_mobile_acc_new();
    if (!acc)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory in the mobile derivation");
    int rc = nmdi_mobile_acc_add(acc, p, in, dmin, dmax, err);
    if (!rc)
        rc = nmdi_mobile_acc_finish(acc, p, out, err);
    nmdi_mobile_acc_free(acc);
    return rc;
}

void nmdi_mobile_result_free(nmdi_mobile_result *r)
{
    nmdi_cube_free(r->inbound);
    nmdi_cube_free(r->outbound);
    nmdi_cube_free(r->internal);
    nmdi_cube_free(r->longterm);
    r->inbound = r->outbound = r->internal = r->longterm = NULL;
}
