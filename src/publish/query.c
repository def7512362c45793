/*
 * query.c — SDMX data queries over a release table: the key parser
 * ("A+B..C", "all"), SDMX time periods (YYYY, YYYY-Qn, YYYY-MM, ...), the
 * check of a query against a DSD (a 400 answer names what is wrong), and the
 * selection of observations sorted into series for the writers.
 *
 * Also the one place that decides which numbers of a cell are published:
 * withheld values have no number at all, and the unweighted count of a
 * full-count table (which would reveal the original of a perturbed count)
 * and the cell key are never written.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '@' || c == '$' || c == '-';
}

int nmdi_sdmx_key_parse(const char *s, nmdi_arena *a, nmdi_sdmx_key *out, nmdi_error *err)
{
    out->ndims = 0;
    out->parts = NULL;
    if (!s || !*s || !strcmp(s, "all") || !strcmp(s, "ALL"))
        return 0;
    size_t len = strlen(s);
    if (len > 8192)
        return nmdi_error_set(err, NMDI_EDATA, "key too long (%zu characters)", len);
    size_t nd = 1;
    for (const char *p = s; *p; p++) {
        if (*p == '.')
            nd++;
        else if (*p != '+' && !id_char(*p))
            return nmdi_error_set(err, NMDI_EDATA,
                                  "invalid character '%c' at position %zu of the key", *p,
                                  (size_t)(p - s) + 1);
    }
    out->parts = nmdi_arena_calloc(a, nd, sizeof *out->parts);
    if (!out->parts)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    out->ndims = nd;
    const char *p = s;
    for (size_t d = 0; d < nd; d++) {
        const char *e = strchr(p, '.');
        size_t plen = e ? (size_t)(e - p) : strlen(p);
        nmdi_sdmx_keypart *kp = &out->parts[d];
        if (plen > 0) {
            size_t nalt = 1;
            for (size_t i = 0; i < plen; i++)
                nalt += p[i] == '+';
            kp->codes = nmdi_arena_calloc(a, nalt, sizeof *kp->codes);
            if (!kp->codes)
                return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            const char *q = p, *end = p + plen;
            while (q <= end) {
                const char *plus = memchr(q, '+', (size_t)(end - q));
                size_t cl = plus ? (size_t)(plus - q) : (size_t)(end - q);
                if (cl == 0) {
                    out->ndims = 0;
                    return nmdi_error_set(err, NMDI_EDATA,
                                          "empty code in '+' list of key part %zu", d + 1);
                }
                kp->codes[kp->n++] = nmdi_arena_strndup(a, q, cl);
                if (!plus)
                    break;
                q = plus + 1;
            }
        }
        p = e ? e + 1 : p + plen;
    }
    return 0;
}

void nmdi_sdmx_query_init(nmdi_sdmx_query *q)
{
    memset(q, 0, sizeof *q);
    q->detail = NMDI_DETAIL_FULL;
}

static int digits(const char *s, size_t n, int *v)
{
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

int nmdi_sdmx_period(const char *s, nmdi_date *first, nmdi_date *last)
{
    if (!s)
        return -1;
    size_t n = strlen(s);
    int y, a, b;
    if (n < 4 || digits(s, 4, &y) != 0 || y < 1 || y > 9999)
        return -1;
    if (n == 4) {
        *first = nmdi_date_from_ymd(y, 1, 1);
        *last = nmdi_date_from_ymd(y, 12, 31);
        return 0;
    }
    if (s[4] != '-' || n < 6)
        return -1;
    const char *r = s + 5;
    size_t rn = n - 5;
    if (rn == 2 && digits(r, 2, &a) == 0) { /* YYYY-MM */
        if (a < 1 || a > 12)
            return -1;
        *first = nmdi_date_from_ymd(y, a, 1);
        *last = (a == 12 ? nmdi_date_from_ymd(y + 1, 1, 1) : nmdi_date_from_ymd(y, a + 1, 1)) - 1;
        return 0;
    }
    if (rn == 5 && r[2] == '-' && digits(r, 2, &a) == 0 && digits(r + 3, 2, &b) == 0) {
        if (!nmdi_date_valid_ymd(y, a, b))
            return -1;
        *first = *last = nmdi_date_from_ymd(y, a, b);
        return 0;
    }
    char kind = r[0];
    int v;
    if (digits(r + 1, rn - 1, &v) != 0)
        return -1;
    switch (kind) {
    case 'A':
        if (rn != 2 || v != 1)
            return -1;
        *first = nmdi_date_from_ymd(y, 1, 1);
        *last = nmdi_date_from_ymd(y, 12, 31);
        return 0;
    case 'S':
        if (rn != 2 || v < 1 || v > 2)
            return -1;
        *first = nmdi_date_from_ymd(y, v == 1 ? 1 : 7, 1);
        *last = v == 1 ? nmdi_date_from_ymd(y, 6, 30) : nmdi_date_from_ymd(y, 12, 31);
        return 0;
    case 'Q':
        if (rn != 2 || v < 1 || v > 4)
            return -1;
        *first = nmdi_date_from_ymd(y, 3 * v - 2, 1);
        *last = (v == 4 ? nmdi_date_from_ymd(y + 1, 1, 1) : nmdi_date_from_ymd(y, 3 * v + 1, 1)) - 1;
        return 0;
    case 'M':
        if (rn != 3 || v < 1 || v > 12)
            return -1;
        *first = nmdi_date_from_ymd(y, v, 1);
        *last = (v == 12 ? nmdi_date_from_ymd(y + 1, 1, 1) : nmdi_date_from_ymd(y, v + 1, 1)) - 1;
        return 0;
    case 'W': {
        if (rn != 3 || v < 1 || v > 53)
            return -1;
        /* ISO week 1 holds January 4th; weeks start on Monday (1970-01-01 was a Thursday) */
        nmdi_date j4 = nmdi_date_from_ymd(y, 1, 4);
        int wd = (int)(((j4 + 3) % 7 + 7) % 7); /* 0 = Monday */
        nmdi_date mon = j4 - wd + 7 * (v - 1);
        if (v == 53 && nmdi_date_year(mon + 3) != y)
            return -1;
        *first = mon;
        *last = mon + 6;
        return 0;
    }
    case 'D': {
        if (rn != 4 || v < 1)
            return -1;
        nmdi_date d0 = nmdi_date_from_ymd(y, 1, 1);
        if (nmdi_date_year(d0 + v - 1) != y)
            return -1;
        *first = *last = d0 + v - 1;
        return 0;
    }
    default:
        return -1;
    }
}

static int obs_dim_index(const nmdi_rel_table *t, const char *dim_at_obs)
{
    if (!dim_at_obs || !strcmp(dim_at_obs, "TIME_PERIOD"))
        return (int)t->ndims - 1;
    if (!strcmp(dim_at_obs, "AllDimensions"))
        return -1;
    for (size_t d = 0; d < t->ndims; d++)
        if (!strcmp(t->dims[d], dim_at_obs))
            return (int)d;
    return -2;
}

int nmdi_sdmx_query_check(const nmdi_rel_table *t, const nmdi_sdmx_query *q, nmdi_error *err)
{
    if (!q)
        return 0;
    if (q->key.ndims && q->key.ndims != t->ndims)
        return nmdi_error_set(err, NMDI_EDATA,
                              "the key has %zu parts but %s has %zu dimensions (%s...)",
                              q->key.ndims, t->id, t->ndims, t->dims[0]);
    nmdi_date f, l;
    if (q->start_period && nmdi_sdmx_period(q->start_period, &f, &l) != 0)
        return nmdi_error_set(err, NMDI_EDATA, "startPeriod '%s' is not an SDMX time period",
                              q->start_period);
    if (q->end_period && nmdi_sdmx_period(q->end_period, &f, &l) != 0)
        return nmdi_error_set(err, NMDI_EDATA, "endPeriod '%s' is not an SDMX time period",
                              q->end_period);
    if (obs_dim_index(t, q->dim_at_obs) == -2)
        return nmdi_error_set(err, NMDI_EDATA,
                              "dimensionAtObservation '%s' is not a dimension of %s",
                              q->dim_at_obs, t->id);
    if (q->first_n < 0 || q->last_n < 0)
        return nmdi_error_set(err, NMDI_EDATA, "firstNObservations/lastNObservations < 0");
    return 0;
}

static int matches(const nmdi_rel_table *t, const nmdi_cell *c, const nmdi_sdmx_query *q,
                   int has_start, nmdi_date start, int has_end, nmdi_date end)
{
    for (size_t d = 0; d < q->key.ndims; d++) {
        const nmdi_sdmx_keypart *kp = &q->key.parts[d];
        if (!kp->n)
            continue;
        const char *code = nmdi_rel_code(t, c, d);
        size_t i;
        for (i = 0; i < kp->n; i++)
            if (!strcmp(kp->codes[i], code))
                break;
        if (i == kp->n)
            return 0;
    }
    if (has_start || has_end) {
        nmdi_date f, l;
        if (nmdi_sdmx_period(nmdi_rel_code(t, c, t->ndims - 1), &f, &l) != 0)
            return 0;
        if (has_start && l < start)
            return 0;
        if (has_end && f > end)
            return 0;
    }
    return 1;
}

typedef struct sort_arg {
    const nmdi_rel_table *t;
    int od;
} sort_arg;

static int cmp_dim(const nmdi_rel_table *t, const nmdi_cell *a, const nmdi_cell *b, size_t d)
{
    const char *x = nmdi_rel_code(t, a, d), *y = nmdi_rel_code(t, b, d);
    if (d == t->ndims - 1) {
        nmdi_date fx, lx, fy, ly;
        if (nmdi_sdmx_period(x, &fx, &lx) == 0 && nmdi_sdmx_period(y, &fy, &ly) == 0) {
            if (fx != fy)
                return fx < fy ? -1 : 1;
            if (lx != ly)
                return lx < ly ? -1 : 1;
        }
    }
    return strcmp(x, y);
}

static int cmp_obs(const void *x, const void *y, void *arg)
{
    const sort_arg *s = arg;
    nmdi_cube *cube = s->t->cube;
    const nmdi_cell *a = nmdi_cube_cell(cube, *(const size_t *)x);
    const nmdi_cell *b = nmdi_cube_cell(cube, *(const size_t *)y);
    for (size_t d = 0; d < s->t->ndims; d++) {
        if ((int)d == s->od)
            continue;
        int c = cmp_dim(s->t, a, b, d);
        if (c)
            return c;
    }
    return s->od >= 0 ? cmp_dim(s->t, a, b, (size_t)s->od) : 0;
}

int nmdi__same_series(const nmdi_rel_table *t, const nmdi_cell *a, const nmdi_cell *b,
                      int obs_dim)
{
    if (obs_dim < 0)
        return 0;
    for (size_t d = 0; d < t->ndims; d++)
        if ((int)d != obs_dim && strcmp(nmdi_rel_code(t, a, d), nmdi_rel_code(t, b, d)) != 0)
            return 0;
    return 1;
}

int nmdi__sdmx_select(const nmdi_rel_table *t, const nmdi_sdmx_query *q, size_t **idx,
                      size_t *n, int *obs_dim, nmdi_error *err)
{
    nmdi_sdmx_query all;
    if (!q) {
        nmdi_sdmx_query_init(&all);
        q = &all;
    }
    int rc = nmdi_sdmx_query_check(t, q, err);
    if (rc)
        return rc;
    nmdi_date start = 0, end = 0, tmp;
    int has_start = q->start_period && nmdi_sdmx_period(q->start_period, &start, &tmp) == 0;
    int has_end = q->end_period && nmdi_sdmx_period(q->end_period, &tmp, &end) == 0;
    size_t nc = nmdi_cube_ncells(t->cube);
    size_t *v = malloc((nc + 1) * sizeof *v);
    if (!v)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < nc; i++)
        if (matches(t, nmdi_cube_cell(t->cube, i), q, has_start, start, has_end, end))
            v[k++] = i;
    int od = obs_dim_index(t, q->dim_at_obs);
    sort_arg sa = {t, od};
    qsort_r(v, k, sizeof *v, cmp_obs, &sa);
    if ((q->first_n > 0 || q->last_n > 0) && od >= 0) {
        size_t w = 0, s0 = 0;
        while (s0 < k) {
            size_t s1 = s0 + 1;
            while (s1 < k && nmdi__same_series(t, nmdi_cube_cell(t->cube, v[s0]),
                                               nmdi_cube_cell(t->cube, v[s1]), od))
                s1++;
            for (size_t i = s0; i < s1; i++) {
                size_t pos = i - s0, len = s1 - s0;
                if ((q->first_n > 0 && pos < (size_t)q->first_n) ||
                    (q->last_n > 0 && len - pos <= (size_t)q->last_n))
                    v[w++] = v[i];
            }
            s0 = s1;
        }
        k = w;
    }
    *idx = v;
    *n = k;
    *obs_dim = od;
    return 0;
}

size_t nmdi_sdmx_query_count(const nmdi_rel_table *t, const nmdi_sdmx_query *q)
{
    size_t *idx = NULL, n = 0;
    int od;
    nmdi_error e;
    nmdi_error_clear(&e);
    if (nmdi__sdmx_select(t, q, &idx, &n, &od, &e) != 0)
        return 0;
    free(idx);
    return n;
}

const char *nmdi__cell_value(const nmdi_cell *c, char buf[32])
{
    if (isnan(c->value) || isinf(c->value))
        return NULL;
    nmdi_fmt_double(c->value, buf);
    return buf;
}

void nmdi__cell_attrs(const nmdi_rel_table *t, const nmdi_cell *c, const char *vals[NMDI_NATTRS],
                      char bufs[NMDI_NATTRS][32])
{
    int withheld = isnan(c->value) || isinf(c->value);
    vals[NMDI_ATTR_OBS_STATUS] = c->obs_status[0] ? c->obs_status : NULL;
    vals[NMDI_ATTR_CONF_STATUS] = c->conf_status[0] ? c->conf_status : NULL;
    vals[NMDI_ATTR_UNIT_MEASURE] = t->unit;
    const double num[] = {c->se, c->cv, c->ci_low, c->ci_high};
    for (int i = 0; i < 4; i++) {
        int a = NMDI_ATTR_SE + i;
        if (withheld || isnan(num[i]) || isinf(num[i])) {
            vals[a] = NULL;
        } else {
            nmdi_fmt_double(num[i], bufs[a]);
            vals[a] = bufs[a];
        }
    }
    /* the unweighted count of a full count is the unperturbed value: never */
    if (!withheld && c->n > 0 && t->measure && strcmp(t->measure, "count") != 0) {
        snprintf(bufs[NMDI_ATTR_N], 32, "%lld", (long long)c->n);
        vals[NMDI_ATTR_N] = bufs[NMDI_ATTR_N];
    } else {
        vals[NMDI_ATTR_N] = NULL;
    }
}
