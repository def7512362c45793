/*
 * residence.c — the residence rule over border crossings (STANDARDS.md §4):
 * the Statistics New Zealand 12/16-month rule, parameterised by threshold Tm
 * and window Tw, reproducing the reference implementation (migrbc) including
 * its quirks, with sequence errors flagged per crossing instead of rejecting
 * the person. nmdi_residence_classify() classifies one person from plain
 * arrays (border crossings, or crossings synthesised from mobile presence);
 * nmdi_residence_run() sorts a whole file's crossings by person and date and
 * runs persons partition by partition on the thread pool.
 */
#include "nmdi/derive.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void nmdi_residence_rule_default(nmdi_residence_rule *r)
{
    r->threshold = 365;
    r->window = 487;
    r->cutoff = NMDI_DATE_NONE;
}

int nmdi_residence_rule_check(const nmdi_residence_rule *r, nmdi_error *err)
{
    if (r->threshold < 1 || r->threshold > 36600)
        return nmdi_error_set(err, NMDI_EDATA, "threshold must be 1 to 36600 days, not %d",
                              r->threshold);
    if (r->window < r->threshold || r->window > 36600)
        return nmdi_error_set(err, NMDI_EDATA,
                              "window must be at least the threshold (%d) and at most 36600 "
                              "days, not %d",
                              r->threshold, r->window);
    return 0;
}

int nmdi_residence_parse_direction(const char *s, size_t len)
{
    nmdi_str_trim(&s, &len);
    if (len == 1) {
        switch (s[0]) {
        case 'A': case 'a': case '1': return NMDI_ARRIVAL;
        case 'D': case 'd': case '0': return NMDI_DEPARTURE;
        default: return NMDI_DIR_UNKNOWN;
        }
    }
    if (len == 7 && strncasecmp(s, "arrival", 7) == 0)
        return NMDI_ARRIVAL;
    if (len == 9 && strncasecmp(s, "departure", 9) == 0)
        return NMDI_DEPARTURE;
    return NMDI_DIR_UNKNOWN;
}

static inline nmdi_date dmax(nmdi_date a, nmdi_date b) { return a > b ? a : b; }

/* Next crossing after i that takes part in the rule (no error), or n. */
static inline size_t next_valid(const nmdi_residence_result *out, size_t n, size_t i)
{
    for (i++; i < n && out[i].error; i++)
        ;
    return i;
}

/* Rule 5: the migrating direction. Walks the spells from crossing i on,
 * alternately on the far side (A_mig) and back on the original side (A_non),
 * deciding as soon as A_non > Tn (no migration) or A_mig >= Tm (migration);
 * on the way, a return crossing dated before B + Ts is known at once not to
 * be a migration (its Fm). */
static void classify_migrating(const nmdi_residence_rule *r, size_t n, const nmdi_date *date,
                               nmdi_residence_result *out, size_t i, nmdi_date b)
{
    const int tm = r->threshold, tw = r->window, tn = tw - tm, ts = 2 * tn;
    nmdi_residence_result *o = &out[i];
    const nmdi_date di = date[i], end = di + tw, ret_limit = b + ts;
    int64_t amig = 0, anon = 0;
    int far = 1;
    for (size_t j = i; j < n;) {
        if (date[j] > end)
            break; /* the window guard: never reached, as the walk decides first */
        size_t nj = next_valid(out, n, j);
        int64_t spell = nj < n ? date[nj] - date[j] : tw;
        if (far)
            amig += spell;
        else
            anon += spell;
        if (anon > tn) {
            o->ra = o->rb;
            o->ltm = 0;
            o->fa = dmax((nmdi_date)(di + tn + amig), b);
            if (o->fm == NMDI_DATE_NONE)
                o->fm = o->fa;
            return;
        }
        if (amig >= tm) {
            o->ra = (int8_t)!o->rb;
            o->ltm = 1;
            o->fa = o->fm = dmax((nmdi_date)(di + tm + anon), b);
            return;
        }
        if (far && nj < n && date[nj] < ret_limit && out[nj].fm == NMDI_DATE_NONE)
            out[nj].fm = dmax(date[nj], b); /* the return rule */
        far = !far;
        j = nj;
    }
    /* Unreachable: once A_mig + A_non >= Tw one of the tests above holds. */
    assert(0 && "residence walk left the window undecided");
    o->ra = o->rb;
    o->ltm = 0;
    o->fa = dmax((nmdi_date)(di + tn + amig), b);
    if (o->fm == NMDI_DATE_NONE)
        o->fm = o->fa;
}

void nmdi_residence_classify(const nmdi_residence_rule *r, size_t n, const nmdi_date *date,
                             const uint8_t *dir, const uint8_t *flag, int initial,
                             nmdi_date initial_date, nmdi_residence_result *out)
{
    /* Rule 8: flag errors. Invalid date first, then unknown direction, then
     * the later of two consecutive valid crossings in the same direction. */
    size_t nvalid = 0, first = n;
    int last_dir = -1;
    for (size_t i = 0; i < n; i++) {
        nmdi_residence_result *o = &out[i];
        o->fb = o->fa = o->fm = NMDI_DATE_NONE;
        o->rb = o->ra = -1;
        o->ltm = o->provisional = 0;
        uint8_t e = flag ? flag[i] : 0;
        if (!e && date[i] == NMDI_DATE_NONE)
            e = NMDI_RES_EDATE;
        else if (!e && dir[i] != NMDI_ARRIVAL && dir[i] != NMDI_DEPARTURE)
            e = NMDI_RES_EDIR;
        else if (!e && dir[i] == last_dir)
            e = NMDI_RES_ESAMEDIR;
        o->error = e;
        if (!e) {
            last_dir = dir[i];
            if (!nvalid++)
                first = i;
        }
    }

    /* Rule 1: the initial status. irs is Rb of the first crossing; the
     * reference also remembers (irs_date, irs_final) = the given status and
     * its date, or the inferred status and the first crossing's date, for
     * the quirk of rule 2. */
    int irs = initial >= 0 ? initial : -1;
    nmdi_date irs_date = NMDI_DATE_NONE;
    int irs_final = irs;
    if (nvalid) {
        int inferred = dir[first] == NMDI_ARRIVAL ? 0 : 1;
        if (initial >= 0) {
            irs_date = initial_date;
            irs = (initial_date == NMDI_DATE_NONE || date[first] >= initial_date) ? initial
                                                                                  : inferred;
        } else {
            irs = irs_final = inferred;
            irs_date = date[first];
        }
    }

    /* Rules 2-6 and 8, crossing by crossing in time order. */
    nmdi_date last_fa = NMDI_DATE_NONE; /* Fa of the latest dated crossing */
    for (size_t i = 0; i < n; i++) {
        nmdi_residence_result *o = &out[i];
        const nmdi_date d = date[i];
        /* Rule 2: chaining. */
        if (i == 0) {
            o->rb = (int8_t)irs;
            o->fb = d;
        } else {
            o->rb = out[i - 1].ra;
            if (d == NMDI_DATE_NONE)
                o->fb = NMDI_DATE_NONE;
            else
                o->fb = last_fa == NMDI_DATE_NONE ? d : dmax(last_fa, d);
            if (last_fa != NMDI_DATE_NONE && last_fa == irs_date)
                o->rb = (int8_t)irs_final; /* the reference quirk */
        }
        const nmdi_date b = o->fb;
        if (o->error) {
            /* Rule 8: flagged crossings carry the status through. */
            o->ra = o->rb;
            o->ltm = 0;
            o->fa = o->fm = b;
        } else if ((dir[i] == NMDI_ARRIVAL) == (o->rb == 1)) {
            /* Rule 4: non-migrating direction. */
            o->ra = o->rb;
            o->ltm = 0;
            o->fa = dmax(d, b);
            if (o->fm == NMDI_DATE_NONE)
                o->fm = o->fa;
        } else if (nvalid == 1) {
            /* Rule 6: a lone migrating crossing depends on the cut-off. */
            int mig = r->cutoff != NMDI_DATE_NONE && (int64_t)r->cutoff - d >= r->threshold;
            o->ra = (int8_t)(mig ? !o->rb : o->rb);
            o->ltm = (uint8_t)mig;
            o->fa = dmax(d + r->threshold, b);
            if (mig || o->fm == NMDI_DATE_NONE)
                o->fm = o->fa;
        } else {
            classify_migrating(r, n, date, out, i, b);
        }
        if (o->fa != NMDI_DATE_NONE)
            last_fa = o->fa;
    }

    /* Rule 7: provisional when Fa or Fm is after the cut-off. */
    for (size_t i = 0; i < n; i++) {
        nmdi_residence_result *o = &out[i];
        o->provisional = (uint8_t)((o->fa != NMDI_DATE_NONE && o->fa > r->cutoff) ||
                                   (o->fm != NMDI_DATE_NONE && o->fm > r->cutoff));
    }
}

/* ---- driver over many persons ---------------------------------------------- */

typedef struct run_job {
    const nmdi_residence_rule *rule;
    const nmdi_residence_input *in;
    nmdi_residence_result *out;
    const uint32_t *order;  /* crossings sorted by person (stable)       */
    const size_t *start;    /* start[p] .. start[p+1]: person p in order */
    const uint32_t *pbound; /* persons of partition k: pbound[k]..[k+1]  */
} run_job;

static inline nmdi_date sort_key(nmdi_date d) { return d == NMDI_DATE_NONE ? INT32_MAX : d; }

/* Stable sort of idx[0..n) by date (invalid dates last), ties in input order. */
static void sort_person(uint32_t *idx, size_t n, const nmdi_date *date)
{
    /* idx arrives in input order; insertion sort keeps ties in it */
    for (size_t i = 1; i < n; i++) {
        uint32_t v = idx[i];
        nmdi_date k = sort_key(date[v]);
        size_t j = i;
        while (j > 0 && sort_key(date[idx[j - 1]]) > k) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

static int cmp_key(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sort a long history through (date, position) keys: O(n log n). */
static int sort_person_long(uint32_t *idx, size_t n, const nmdi_date *date)
{
    int64_t *keys = malloc(n * sizeof *keys);
    uint32_t *tmp = malloc(n * sizeof *tmp);
    if (!keys || !tmp) {
        free(keys);
        free(tmp);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        keys[i] = ((int64_t)sort_key(date[idx[i]]) - INT32_MIN) << 31 | (int64_t)i;
        tmp[i] = idx[i];
    }
    qsort(keys, n, sizeof *keys, cmp_key);
    for (size_t i = 0; i < n; i++)
        idx[i] = tmp[keys[i] & 0x7fffffff];
    free(keys);
    free(tmp);
    return 0;
}

static int run_part(void *arg, size_t part)
{
    const run_job *job = arg;
    const nmdi_residence_input *in = job->in;
    uint32_t p0 = job->pbound[part], p1 = job->pbound[part + 1];
    size_t cap = 0;
    for (uint32_t p = p0; p < p1; p++) {
        size_t len = job->start[p + 1] - job->start[p];
        if (len > cap)
            cap = len;
    }
    if (!cap)
        return 0;
    /* one scratch allocation per partition, never per crossing */
    size_t one = sizeof(uint32_t) + sizeof(nmdi_date) + 2 + sizeof(nmdi_residence_result);
    char *mem = malloc(cap * one);
    if (!mem)
        return NMDI_EINTERNAL;
    nmdi_residence_result *res = (nmdi_residence_result *)mem;
    uint32_t *idx = (uint32_t *)(res + cap);
    nmdi_date *d = (nmdi_date *)(idx + cap);
    uint8_t *dir = (uint8_t *)(d + cap), *flag = dir + cap;
    int rc = 0;
    for (uint32_t p = p0; p < p1 && !rc; p++) {
        size_t s = job->start[p], len = job->start[p + 1] - s;
        if (!len)
            continue;
        memcpy(idx, job->order + s, len * sizeof *idx);
        if (len <= 64)
            sort_person(idx, len, in->date);
        else if (sort_person_long(idx, len, in->date))
            rc = NMDI_EINTERNAL;
        for (size_t k = 0; k < len; k++) {
            d[k] = in->date[idx[k]];
            dir[k] = in->dir[idx[k]];
            flag[k] = in->flag ? in->flag[idx[k]] : 0;
        }
        int init = in->initial ? in->initial[p] : -1;
        nmdi_date init_date = in->initial_date && init >= 0 ? in->initial_date[p] : NMDI_DATE_NONE;
        nmdi_residence_classify(job->rule, len, d, dir, flag, init, init_date, res);
        for (size_t k = 0; k < len; k++)
            job->out[idx[k]] = res[k];
    }
    free(mem);
    return rc;
}

int nmdi_residence_run(const nmdi_ctx *ctx, const nmdi_residence_rule *r,
                       const nmdi_residence_input *in, nmdi_residence_result *out,
                       nmdi_error *err)
{
    int rc = nmdi_residence_rule_check(r, err);
    if (rc)
        return rc;
    if (in->n > UINT32_MAX - 1 || in->npersons > UINT32_MAX - 1)
        return nmdi_error_set(err, NMDI_EDATA, "too many crossings or persons for one run (%zu)",
                              in->n);
    if (!in->n)
        return 0;
    const size_t np = in->npersons;
    size_t *start = calloc(np + 2, sizeof *start);
    uint32_t *order = malloc(in->n * sizeof *order);
    size_t nparts = (size_t)(ctx && ctx->nthreads > 1 ? ctx->nthreads * 8 : 1);
    if (nparts > np)
        nparts = np ? np : 1;
    uint32_t *pbound = malloc((nparts + 1) * sizeof *pbound);
    if (!start || !order || !pbound) {
        free(start);
        free(order);
        free(pbound);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory for %zu crossings", in->n);
    }
    /* counting sort by person, stable: crossings of a person in input order */
    for (size_t i = 0; i < in->n; i++) {
        assert(in->person[i] < np);
        start[in->person[i] + 2]++;
    }
    for (size_t p = 2; p < np + 2; p++)
        start[p] += start[p - 1];
    for (size_t i = 0; i < in->n; i++)
        order[start[in->person[i] + 1]++] = (uint32_t)i;
    /* now start[p]..start[p+1] is person p; balance partitions by crossings */
    pbound[0] = 0;
    size_t k = 1;
    for (size_t p = 0; p < np && k < nparts; p++)
        if (start[p + 1] >= in->n * k / nparts)
            pbound[k++] = (uint32_t)(p + 1);
    while (k <= nparts)
        pbound[k++] = (uint32_t)np;
    run_job job = {r, in, out, order, start, pbound};
    nmdi_ctx one;
    if (!ctx) {
        nmdi_ctx_init(&one);
        one.nthreads = 1;
        ctx = &one;
    }
    rc = nmdi_pool_run(ctx, nparts, run_part, &job);
    free(start);
    free(order);
    free(pbound);
    if (rc)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory classifying crossings");
    return 0;
}
