/*
 * survey.c — estimation from a survey design: totals, means, ratios and
 * proportions of categories, for the whole sample or for every domain of the
 * --by columns, each with its standard error, CV, 95% normal interval and
 * unweighted count; and the output of the results (CSV contract, JSON).
 *
 * Every statistic is a ratio of two weighted sums, Y/X (X = 1 for a total),
 * so one routine serves all: the estimate is computed from the domain's
 * records, its linearised variable z = w (y - R x) / X goes to the Taylor
 * engine (survey_design.c), or the statistic is recomputed with each set of
 * replicate weights. Domains are formed in one pass (a counting sort of the
 * records in design order), so the work is linear in the records whatever
 * the number of domains.
 */
#include "survey_internal.h"

#include <gsl/gsl_cdf.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *nmdi_svy_stat_name(nmdi_svy_stat s)
{
    switch (s) {
    case NMDI_SVY_TOTAL: return "total";
    case NMDI_SVY_MEAN: return "mean";
    case NMDI_SVY_RATIO: return "ratio";
    case NMDI_SVY_PROP: return "prop";
    }
    return "?";
}

/* ---- domains ------------------------------------------------------------------ */

typedef struct domains {
    size_t ndom;
    size_t *first; /* ndom: a record of each domain (for its values)     */
    size_t *start; /* ndom + 1: offsets into list                        */
    size_t *list;  /* records of each domain, in design order            */
} domains;

typedef struct dom_sort_ctx {
    const nmdi_table *t;
    const int *cols;
    size_t nby;
    const size_t *first;
} dom_sort_ctx;

static int cmp_dom(const void *pa, const void *pb, void *arg)
{
    const dom_sort_ctx *c = arg;
    size_t a = c->first[*(const size_t *)pa], b = c->first[*(const size_t *)pb];
    for (size_t j = 0; j < c->nby; j++) {
        int r = nmdi_svy_cmp_values(nmdi_table_cell(c->t, a, (size_t)c->cols[j]),
                                    nmdi_table_cell(c->t, b, (size_t)c->cols[j]));
        if (r)
            return r;
    }
    return 0;
}

static void domains_free(domains *D)
{
    free(D->first);
    free(D->start);
    free(D->list);
}

static int domains_build(const nmdi_svy_design *d, const int *cols, size_t nby, domains *D,
                         nmdi_error *err)
{
    const nmdi_table *t = d->t;
    size_t n = d->n;
    memset(D, 0, sizeof *D);
    int64_t *dom = malloc((n ? n : 1) * sizeof(int64_t));
    D->list = malloc((n ? n : 1) * sizeof(size_t));
    if (!dom || !D->list) {
        free(dom);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    size_t ndom = 0;
    if (nby == 0) {
        for (size_t i = 0; i < n; i++)
            dom[i] = 0;
        ndom = 1;
        D->first = calloc(1, sizeof(size_t));
    } else {
        nmdi_strmap *m = nmdi_strmap_new();
        size_t cap = 1024, klen = 0;
        int oom = 0;
        char *key = malloc(cap);
        size_t fcap = 64;
        D->first = malloc(fcap * sizeof(size_t));
        if (!m || !key || !D->first) {
            nmdi_strmap_free(m);
            free(key);
            free(dom);
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
        /* a direct-mapped cache from the cells' pointers to the domain: equal
         * pointers are equal strings (values are interned), so a hit is exact */
        enum { DCACHE = 4096, DMAXBY = 8 };
        const char *(*ck)[DMAXBY] = nby <= DMAXBY ? calloc(DCACHE, sizeof *ck) : NULL;
        int64_t *cv = ck ? malloc(DCACHE * sizeof *cv) : NULL;
        for (size_t i = 0; i < n; i++) {
            size_t cs = 0;
            const char *cp[DMAXBY];
            if (cv) {
                uint64_t h = 0;
                for (size_t j = 0; j < nby; j++) {
                    cp[j] = nmdi_table_cell(t, i, (size_t)cols[j]);
                    h = (h ^ (uint64_t)(uintptr_t)cp[j]) * 0x9E3779B97F4A7C15ull;
                }
                cs = (size_t)(h >> 52) % DCACHE;
                int hit = ck[cs][0] != NULL;
                for (size_t j = 0; hit && j < nby; j++)
                    hit = ck[cs][j] == cp[j];
                if (hit) {
                    dom[i] = cv[cs];
                    continue;
                }
            }
            klen = 0;
            int miss = 0;
            for (size_t j = 0; j < nby; j++) {
                const char *v = nmdi_table_cell(t, i, (size_t)cols[j]);
                if (nmdi_svy_is_missing(v)) {
                    miss = 1;
                    break;
                }
                size_t l = strlen(v);
                if (klen + l + 2 > cap) {
                    cap = (klen + l + 2) * 2;
                    char *nk = realloc(key, cap);
                    if (!nk) {
                        oom = 1;
                        break;
                    }
                    key = nk;
                }
                memcpy(key + klen, v, l);
                klen += l;
                key[klen++] = '\x1f';
            }
            if (oom)
                break;
            if (miss) {
                dom[i] = -1;
                continue;
            }
            int ins = 0;
            int64_t *slot = nmdi_strmap_put(m, key, klen, &ins);
            if (!slot) {
                oom = 1;
                break;
            }
            if (ins) {
                if (ndom == fcap) {
                    fcap *= 2;
                    size_t *nf = realloc(D->first, fcap * sizeof(size_t));
                    if (!nf) {
                        oom = 1;
                        break;
                    }
                    D->first = nf;
                }
                *slot = (int64_t)ndom;
                D->first[ndom++] = i;
            }
            dom[i] = *slot;
            if (cv) {
                for (size_t j = 0; j < nby; j++)
                    ck[cs][j] = cp[j];
                cv[cs] = dom[i];
            }
        }
        free(ck);
        free(cv);
        nmdi_strmap_free(m);
        free(key);
        if (oom) {
            free(dom);
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
        /* sort the domains by their values; renumber */
        size_t *perm = malloc((ndom ? ndom : 1) * sizeof(size_t));
        size_t *inv = malloc((ndom ? ndom : 1) * sizeof(size_t));
        size_t *nf = malloc((ndom ? ndom : 1) * sizeof(size_t));
        if (!perm || !inv || !nf) {
            free(perm);
            free(inv);
            free(nf);
            free(dom);
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
        for (size_t k = 0; k < ndom; k++)
            perm[k] = k;
        dom_sort_ctx c = {t, cols, nby, D->first};
        qsort_r(perm, ndom, sizeof(size_t), cmp_dom, &c);
        for (size_t k = 0; k < ndom; k++) {
            inv[perm[k]] = k;
            nf[k] = D->first[perm[k]];
        }
        for (size_t i = 0; i < n; i++)
            if (dom[i] >= 0)
                dom[i] = (int64_t)inv[dom[i]];
        free(D->first);
        D->first = nf;
        free(perm);
        free(inv);
    }
    D->ndom = ndom;
    D->start = calloc(ndom + 1, sizeof(size_t));
    if (!D->start || !D->first) {
        free(dom);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        if (dom[i] >= 0)
            D->start[dom[i] + 1]++;
    for (size_t k = 0; k < ndom; k++)
        D->start[k + 1] += D->start[k];
    size_t *pos = malloc((ndom + 1) * sizeof(size_t));
    if (!pos) {
        free(dom);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    memcpy(pos, D->start, (ndom + 1) * sizeof(size_t));
    for (size_t r = 0; r < n; r++) {
        size_t i = d->ord[r];
        if (dom[i] >= 0)
            D->list[pos[dom[i]]++] = i;
    }
    free(pos);
    free(dom);
    return 0;
}

/* ---- one statistic over one domain ------------------------------------------------ */

typedef struct work {
    const nmdi_svy_design *d;
    size_t *P;      /* present records of the domain (design order) */
    double *z;      /* per record, zero outside P                   */
    double *zr;     /* calibrated: residualised z                   */
    double *thetas; /* R replicate estimates                         */
    double *ry, *rx; /* R replicate sums                             */
    double *beta, *rhs;
    double *tu; /* calibrated: per-unit totals, zero between uses */
} work;

/* The statistic Y/X over the records P[0..m) with numerator a[k] and
 * denominator b[k] (b NULL: a total). */
static int stat_eval(work *W, const size_t *P, size_t m, const double *a, const double *b,
                     nmdi_svy_row *row, nmdi_error *err)
{
    const nmdi_svy_design *d = W->d;
    double Y = 0, X = 0;
    for (size_t j = 0; j < m; j++) {
        size_t k = P[j];
        Y += d->w[k] * a[k];
        X += d->w[k] * (b ? b[k] : 0);
    }
    double est = b ? Y / X : Y;
    row->n = (int64_t)m;
    /* a domain without any observed value: explicit NA, never a made-up 0 */
    row->estimate = (m == 0 || (b && X == 0)) ? NAN : est;
    row->se = NAN;
    if (isnan(row->estimate))
        return 0;
    double v = NAN;
    if (d->type != NMDI_SVY_REP_NONE) {
        size_t R = d->R;
        for (size_t r = 0; r < R; r++)
            W->ry[r] = W->rx[r] = 0;
        for (size_t j = 0; j < m; j++) {
            size_t k = P[j];
            const double *rw = d->repw + k * R;
            double ak = a[k], bk = b ? b[k] : 0;
            for (size_t r = 0; r < R; r++) {
                W->ry[r] += rw[r] * ak;
                W->rx[r] += rw[r] * bk;
            }
        }
        for (size_t r = 0; r < R; r++)
            W->thetas[r] = b ? (W->rx[r] == 0 ? NAN : W->ry[r] / W->rx[r]) : W->ry[r];
        v = nmdi_svy_rep_var(W->thetas, R, d->scale, d->rscales, d->mse, est);
    } else {
        for (size_t j = 0; j < m; j++) {
            size_t k = P[j];
            W->z[k] = b ? d->w[k] * (a[k] - est * b[k]) / X : d->w[k] * a[k];
        }
        int rc;
        if (d->calibrated) {
            /* residuals of the calibration regression (R: qr.resid on the
             * g-calibration data), over every record of the sample */
            size_t p = d->p;
            for (size_t q = 0; q < p; q++)
                W->rhs[q] = 0;
            for (size_t j = 0; j < m; j++) {
                size_t k = P[j];
                const double *xk = d->X + k * p;
                double zg = W->z[k] / d->g[k];
                for (size_t q = 0; q < p; q++)
                    W->rhs[q] += xk[q] * zg;
            }
            if (nmdi_svy_solve(d->M, W->rhs, p, W->beta) != 0)
                return nmdi_error_set(err, NMDI_EDATA, "calibration variables are collinear");
            for (size_t j = 0; j < m; j++)
                W->tu[d->unit_of[P[j]]] += W->z[P[j]];
            for (size_t u = 0; u < d->nunit; u++) {
                const double *wx = d->WX + u * p;
                double xb = 0;
                for (size_t q = 0; q < p; q++)
                    xb += wx[q] * W->beta[q];
                W->zr[d->unit_rep[u]] = W->tu[u] - xb;
                W->tu[u] = 0;
            }
            rc = nmdi_svy_taylor_var_sorted(d, W->zr, d->unit_rep, d->nunit, &v, err);
        } else {
            rc = nmdi_svy_taylor_var_sorted(d, W->z, P, m, &v, err);
        }
        for (size_t j = 0; j < m; j++)
            W->z[P[j]] = 0;
        if (rc)
            return rc;
    }
    row->se = v >= 0 ? sqrt(v) : NAN;
    return 0;
}

static void finish_row(nmdi_svy_row *row)
{
    const double z = gsl_cdf_ugaussian_Pinv(0.975); /* R's qnorm(0.975) */
    row->cv = (isfinite(row->se) && row->estimate != 0) ? row->se / row->estimate : NAN;
    row->ci_low = row->estimate - z * row->se;
    row->ci_high = row->estimate + z * row->se;
}

/* ---- the driver ------------------------------------------------------------------ */

typedef struct prepared {
    double *y, *x;    /* numeric variables (NAN missing)  */
    int32_t *cat;     /* prop: category index, -1 missing  */
    size_t ncat;
    char **cats;      /* sorted category values (arena)    */
    double *ind;      /* indicator scratch (n)             */
    const char *label;
} prepared;

static int numeric_column(const nmdi_table *t, const char *name, double **out, nmdi_error *err)
{
    int col = nmdi_table_col(t, name);
    if (col < 0)
        return nmdi_error_at(err, NMDI_EDATA, t->path, 1, name, "no column '%s'", name);
    double *v = malloc((t->nrows ? t->nrows : 1) * sizeof(double));
    if (!v)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    for (size_t i = 0; i < t->nrows; i++)
        if (nmdi_svy_cell_num(t, i, col, &v[i], err)) {
            free(v);
            return err->code;
        }
    *out = v;
    return 0;
}

static int cmp_str_values(const void *a, const void *b)
{
    return nmdi_svy_cmp_values(*(char *const *)a, *(char *const *)b);
}

static int prepare(const nmdi_table *t, const nmdi_svy_request *q, prepared *pr, nmdi_arena *a,
                   nmdi_error *err)
{
    memset(pr, 0, sizeof *pr);
    if (!q->var || !*q->var)
        return nmdi_error_set(err, NMDI_EDATA, "an estimate without a variable");
    if (q->stat == NMDI_SVY_RATIO) {
        if (!q->den || !*q->den)
            return nmdi_error_set(err, NMDI_EDATA, "--ratio needs num/den");
        pr->label = nmdi_arena_sprintf(a, "%s/%s", q->var, q->den);
        if (!pr->label)
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        if (numeric_column(t, q->var, &pr->y, err) || numeric_column(t, q->den, &pr->x, err))
            return err->code;
        return 0;
    }
    pr->label = nmdi_arena_strdup(a, q->var);
    if (!pr->label)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    if (q->stat != NMDI_SVY_PROP)
        return numeric_column(t, q->var, &pr->y, err);
    int col = nmdi_table_col(t, q->var);
    if (col < 0)
        return nmdi_error_at(err, NMDI_EDATA, t->path, 1, q->var, "no column '%s'", q->var);
    nmdi_strmap *m = nmdi_strmap_new();
    pr->cat = malloc((t->nrows ? t->nrows : 1) * sizeof(int32_t));
    pr->ind = calloc(t->nrows ? t->nrows : 1, sizeof(double));
    if (!m || !pr->cat || !pr->ind) {
        nmdi_strmap_free(m);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < t->nrows; i++) {
        const char *v = nmdi_table_cell(t, i, (size_t)col);
        if (nmdi_svy_is_missing(v))
            continue;
        if (!nmdi_strmap_put(m, v, strlen(v), NULL)) {
            nmdi_strmap_free(m);
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
    }
    pr->ncat = nmdi_strmap_count(m);
    pr->cats = nmdi_arena_calloc(a, pr->ncat + 1, sizeof(char *));
    if (!pr->cats) {
        nmdi_strmap_free(m);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    size_t it = 0, k = 0;
    const char *key;
    int64_t val;
    while (nmdi_strmap_iter(m, &it, &key, &val))
        if (!(pr->cats[k++] = nmdi_arena_strdup(a, key))) {
            nmdi_strmap_free(m);
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
    qsort(pr->cats, pr->ncat, sizeof(char *), cmp_str_values);
    for (k = 0; k < pr->ncat; k++)
        *nmdi_strmap_get(m, pr->cats[k], strlen(pr->cats[k])) = (int64_t)k;
    for (size_t i = 0; i < t->nrows; i++) {
        const char *v = nmdi_table_cell(t, i, (size_t)col);
        pr->cat[i] = nmdi_svy_is_missing(v) ? -1 : (int32_t)*nmdi_strmap_get(m, v, strlen(v));
    }
    nmdi_strmap_free(m);
    return 0;
}

static void prepared_free(prepared *pr)
{
    free(pr->y);
    free(pr->x);
    free(pr->cat);
    free(pr->ind);
}

static int push_row(nmdi_svy_result *res, size_t *cap, const nmdi_svy_row *row)
{
    if (res->nrows == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        nmdi_svy_row *nr = realloc(res->rows, nc * sizeof *nr);
        if (!nr)
            return -1;
        res->rows = nr;
        *cap = nc;
    }
    res->rows[res->nrows++] = *row;
    return 0;
}

int nmdi_svy_estimate(const nmdi_svy_design *d, const nmdi_svy_request *req, size_t nreq,
                      const char *const *by, size_t nby, nmdi_svy_result **out, nmdi_error *err)
{
    const nmdi_table *t = d->t;
    *out = NULL;
    nmdi_svy_result *res = calloc(1, sizeof *res);
    int *cols = calloc(nby + 1, sizeof(int));
    prepared *prs = calloc(nreq + 1, sizeof *prs);
    domains D = {0};
    work W = {0};
    int rc = 0;
    if (!res || !cols || !prs || !(res->arena = nmdi_arena_new(1 << 16))) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    res->nby = nby;
    res->by = nmdi_arena_calloc(res->arena, nby + 1, sizeof(char *));
    for (size_t j = 0; j < nby; j++) {
        cols[j] = nmdi_table_col(t, by[j]);
        if (cols[j] < 0) {
            rc = nmdi_error_at(err, NMDI_EDATA, t->path, 1, by[j], "no column '%s' (--by)", by[j]);
            goto done;
        }
        res->by[j] = nmdi_arena_strdup(res->arena, by[j]);
    }
    for (size_t q = 0; q < nreq && !rc; q++)
        rc = prepare(t, &req[q], &prs[q], res->arena, err);
    if (rc)
        goto done;
    if (d->n == 0) {
        rc = nmdi_error_at(err, NMDI_EDATA, t->path, 0, "", "no records");
        goto done;
    }
    if ((rc = domains_build(d, cols, nby, &D, err)))
        goto done;
    if (D.ndom == 0) {
        rc = nmdi_error_at(err, NMDI_EDATA, t->path, 0, by[0],
                           "no domain: every record has a missing --by value");
        goto done;
    }
    size_t n = d->n, R = d->R ? d->R : 1, p = d->p ? d->p : 1;
    W.d = d;
    W.P = malloc((n + 1) * sizeof(size_t));
    W.z = calloc(n + 1, sizeof(double));
    W.zr = calloc(n + 1, sizeof(double));
    W.thetas = malloc(R * sizeof(double));
    W.ry = malloc(R * sizeof(double));
    W.rx = malloc(R * sizeof(double));
    W.beta = malloc(p * sizeof(double));
    W.rhs = malloc(p * sizeof(double));
    W.tu = calloc(d->nunit + 1, sizeof(double));
    double *ones = malloc((n + 1) * sizeof(double));
    if (!W.P || !W.z || !W.zr || !W.thetas || !W.ry || !W.rx || !W.beta || !W.rhs || !W.tu || !ones) {
        free(ones);
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        ones[i] = 1;
    size_t cap = 0;
    for (size_t k = 0; k < D.ndom && !rc; k++) {
        const size_t *L = D.list + D.start[k];
        size_t m = D.start[k + 1] - D.start[k];
        const char **dvals = nmdi_arena_calloc(res->arena, nby + 1, sizeof(char *));
        if (!dvals) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            break;
        }
        for (size_t j = 0; j < nby; j++)
            if (!(dvals[j] = nmdi_arena_strdup(res->arena,
                                               nmdi_table_cell(t, D.first[k], (size_t)cols[j]))))
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        for (size_t q = 0; q < nreq && !rc; q++) {
            prepared *pr = &prs[q];
            size_t mp = 0;
            nmdi_svy_row row = {0};
            row.domain = dvals;
            row.stat = req[q].stat;
            if (req[q].stat == NMDI_SVY_PROP) {
                for (size_t j = 0; j < m; j++)
                    if (pr->cat[L[j]] >= 0)
                        W.P[mp++] = L[j];
                for (size_t c = 0; c < pr->ncat && !rc; c++) {
                    for (size_t j = 0; j < mp; j++)
                        pr->ind[W.P[j]] = pr->cat[W.P[j]] == (int32_t)c;
                    row.variable = nmdi_arena_sprintf(res->arena, "%s=%s", pr->label, pr->cats[c]);
                    if (!row.variable) {
                        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                        break;
                    }
                    rc = stat_eval(&W, W.P, mp, pr->ind, ones, &row, err);
                    finish_row(&row);
                    if (!rc && push_row(res, &cap, &row))
                        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                }
                continue;
            }
            for (size_t j = 0; j < m; j++) {
                size_t i = L[j];
                if (!isnan(pr->y[i]) && (!pr->x || !isnan(pr->x[i])))
                    W.P[mp++] = i;
            }
            row.variable = pr->label;
            const double *b = req[q].stat == NMDI_SVY_TOTAL ? NULL
                              : req[q].stat == NMDI_SVY_MEAN ? ones
                                                             : pr->x;
            rc = stat_eval(&W, W.P, mp, pr->y, b, &row, err);
            finish_row(&row);
            if (!rc && push_row(res, &cap, &row))
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
    }
    free(ones);
done:
    for (size_t q = 0; prs && q < nreq; q++)
        prepared_free(&prs[q]);
    free(prs);
    free(cols);
    domains_free(&D);
    free(W.P);
    free(W.z);
    free(W.zr);
    free(W.thetas);
    free(W.ry);
    free(W.rx);
    free(W.beta);
    free(W.rhs);
    free(W.tu);
    if (rc) {
        nmdi_svy_result_free(res);
        return rc;
    }
    *out = res;
    return 0;
}

void nmdi_svy_result_free(nmdi_svy_result *r)
{
    if (!r)
        return;
    free(r->rows);
    nmdi_arena_free(r->arena);
    free(r);
}

/* ---- output ---------------------------------------------------------------------- */

static void put_num(FILE *f, double v)
{
    char buf[32];
    if (!isfinite(v))
        strcpy(buf, "NA");
    else
        nmdi_fmt_double(v, buf);
    fputs(buf, f);
}

int nmdi_svy_result_write_csv(const nmdi_svy_result *r, FILE *f)
{
    for (size_t j = 0; j < r->nby; j++) {
        nmdi_csv_put(f, r->by[j]);
        fputc(',', f);
    }
    fputs("statistic,variable,estimate,se,cv,ci_low,ci_high,n\n", f);
    for (size_t i = 0; i < r->nrows; i++) {
        const nmdi_svy_row *row = &r->rows[i];
        for (size_t j = 0; j < r->nby; j++) {
            nmdi_csv_put(f, row->domain[j]);
            fputc(',', f);
        }
        fputs(nmdi_svy_stat_name(row->stat), f);
        fputc(',', f);
        nmdi_csv_put(f, row->variable);
        const double v[5] = {row->estimate, row->se, row->cv, row->ci_low, row->ci_high};
        for (int k = 0; k < 5; k++) {
            fputc(',', f);
            put_num(f, v[k]);
        }
        fprintf(f, ",%lld\n", (long long)row->n);
    }
    return ferror(f) ? -1 : 0;
}

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

int nmdi_svy_result_write_json(const nmdi_svy_result *r, FILE *f)
{
    json_t *arr = json_array();
    if (!arr)
        return -1;
    for (size_t i = 0; i < r->nrows; i++) {
        const nmdi_svy_row *row = &r->rows[i];
        json_t *o = json_object(), *dom = json_object();
        for (size_t j = 0; j < r->nby; j++)
            json_object_set_new(dom, r->by[j], json_string(row->domain[j]));
        json_object_set_new(o, "domain", dom);
        json_object_set_new(o, "statistic", json_string(nmdi_svy_stat_name(row->stat)));
        json_object_set_new(o, "variable", json_string(row->variable));
        json_object_set_new(o, "estimate", jnum(row->estimate));
        json_object_set_new(o, "se", jnum(row->se));
        json_object_set_new(o, "cv", jnum(row->cv));
        json_object_set_new(o, "ci_low", jnum(row->ci_low));
        json_object_set_new(o, "ci_high", jnum(row->ci_high));
        json_object_set_new(o, "n", json_integer(row->n));
        json_array_append_new(arr, o);
    }
    int rc = json_dumpf(arr, f, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    fputc('\n', f);
    json_decref(arr);
    return rc;
}
