/*
 * ptable.c — perturbation tables for the cell key method (nmdi/protect.h):
 * built from (D, V, js) as the maximum-entropy distribution of the noise per
 * original count, read from and written to CSV, and applied to a (count,
 * cell key) pair.
 *
 * Maximum entropy with the constraints E[v] = 0 and E[v^2] = V over a finite
 * support S has the form p(v) ∝ exp(a v + b v^2); (a, b) are the root of the
 * gradient of the convex dual log Σ exp(a v + b (v^2 - V)), found with GSL's
 * hybridsj solver using the exact Jacobian (the covariance of v and v^2).
 */
#include "nmdi/protect.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multiroots.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct nmdi_ptable {
    nmdi_ptable_row *rows;
    size_t nrows, cap_rows;
    int cap;           /* largest i */
    size_t *start;     /* cap + 2 offsets: rows of i are start[i]..start[i+1]-1 */
    char desc[160];
};

void nmdi_ptable_free(nmdi_ptable *pt)
{
    if (!pt)
        return;
    free(pt->rows);
    free(pt->start);
    free(pt);
}

size_t nmdi_ptable_nrows(const nmdi_ptable *pt) { return pt->nrows; }
const nmdi_ptable_row *nmdi_ptable_row_at(const nmdi_ptable *pt, size_t k) { return &pt->rows[k]; }
int nmdi_ptable_cap(const nmdi_ptable *pt) { return pt->cap; }
const char *nmdi_ptable_describe(const nmdi_ptable *pt) { return pt->desc; }

static int push_row(nmdi_ptable *pt, int i, int j, double p)
{
    if (pt->nrows == pt->cap_rows) {
        size_t cap = pt->cap_rows ? pt->cap_rows * 2 : 32;
        nmdi_ptable_row *r = realloc(pt->rows, cap * sizeof *r);
        if (!r)
            return -1;
        pt->rows = r;
        pt->cap_rows = cap;
    }
    nmdi_ptable_row *r = &pt->rows[pt->nrows++];
    memset(r, 0, sizeof *r);
    r->i = i;
    r->j = j;
    r->v = j - i;
    r->p = p;
    return 0;
}

/* Fill lb/ub (cumulative within each row, scaled by the row's sum so that
 * the last ub is exactly 1) and the row offsets. Rows are sorted by (i, j). */
static int finish(nmdi_ptable *pt)
{
    pt->cap = pt->nrows ? pt->rows[pt->nrows - 1].i : 0;
    pt->start = calloc((size_t)pt->cap + 2, sizeof *pt->start);
    if (!pt->start)
        return -1;
    size_t k = 0;
    for (int i = 0; i <= pt->cap; i++) {
        pt->start[i] = k;
        size_t e = k;
        double sum = 0;
        while (e < pt->nrows && pt->rows[e].i == i)
            sum += pt->rows[e++].p;
        double cum = 0;
        for (size_t r = k; r < e; r++) {
            pt->rows[r].lb = cum / sum;
            cum += pt->rows[r].p;
            pt->rows[r].ub = r + 1 == e ? 1.0 : cum / sum;
        }
        k = e;
    }
    pt->start[pt->cap + 1] = k;
    return 0;
}

int64_t nmdi_ptable_apply(const nmdi_ptable *pt, int64_t count, double ckey)
{
    if (count <= 0)
        return count;
    int i = count > pt->cap ? pt->cap : (int)count;
    size_t a = pt->start[i], e = pt->start[i + 1];
    /* the row whose [lb, ub) holds ckey; rows are few, a scan is fastest */
    for (size_t r = a; r < e; r++)
        if (ckey < pt->rows[r].ub)
            return count + pt->rows[r].v;
    return count + pt->rows[e - 1].v; /* ckey >= 1: not a valid key; last row */
}

/* ---- maximum entropy for one row -----------------------------------------------
 * Features F[q][k] over the support points k with targets t[q]: q = 0 is v
 * (target 0), q = 1 is v^2 (target V), and each further q is the difference
 * of the indicators of two support points (target 0), an active monotony
 * constraint p(a) = p(b). p(k) ∝ exp(Σ_q λ_q F[q][k]); the λ solve
 * E[F_q] = t_q, whose Jacobian is the covariance matrix of the features. */
#define ME_MAXQ 24
#define ME_MAXN 64

typedef struct me_problem {
    size_t n, m;
    double F[ME_MAXQ][ME_MAXN];
    double t[ME_MAXQ];
} me_problem;

static void me_probs(const me_problem *mp, const gsl_vector *x, double *p)
{
    double mx = -INFINITY;
    for (size_t k = 0; k < mp->n; k++) {
        double e = 0;
        for (size_t q = 0; q < mp->m; q++)
            e += gsl_vector_get(x, q) * mp->F[q][k];
        p[k] = e;
        if (e > mx)
            mx = e;
    }
    double s = 0;
    for (size_t k = 0; k < mp->n; k++)
        s += (p[k] = exp(p[k] - mx));
    for (size_t k = 0; k < mp->n; k++)
        p[k] /= s;
}

static void me_moments(const me_problem *mp, const double *p, double *mean)
{
    for (size_t q = 0; q < mp->m; q++) {
        mean[q] = 0;
        for (size_t k = 0; k < mp->n; k++)
            mean[q] += p[k] * mp->F[q][k];
    }
}

static int me_f(const gsl_vector *x, void *params, gsl_vector *f)
{
    const me_problem *mp = params;
    double p[ME_MAXN], mean[ME_MAXQ];
    me_probs(mp, x, p);
    me_moments(mp, p, mean);
    for (size_t q = 0; q < mp->m; q++)
        gsl_vector_set(f, q, mean[q] - mp->t[q]);
    return GSL_SUCCESS;
}

static int me_df(const gsl_vector *x, void *params, gsl_matrix *J)
{
    const me_problem *mp = params;
    double p[ME_MAXN], mean[ME_MAXQ];
    me_probs(mp, x, p);
    me_moments(mp, p, mean);
    for (size_t q = 0; q < mp->m; q++)
        for (size_t r = 0; r < mp->m; r++) {
            double c = 0;
            for (size_t k = 0; k < mp->n; k++)
                c += p[k] * (mp->F[q][k] - mean[q]) * (mp->F[r][k] - mean[r]);
            gsl_matrix_set(J, q, r, c);
        }
    return GSL_SUCCESS;
}

static int me_fdf(const gsl_vector *x, void *params, gsl_vector *f, gsl_matrix *J)
{
    me_f(x, params, f);
    return me_df(x, params, J);
}

/* Solve the problem; p gets the distribution. 0, or -1 when not converged. */
static int me_run(me_problem *mp, double *p)
{
    gsl_multiroot_function_fdf fn = {me_f, me_df, me_fdf, mp->m, mp};
    gsl_multiroot_fdfsolver *s =
        gsl_multiroot_fdfsolver_alloc(gsl_multiroot_fdfsolver_hybridsj, mp->m);
    gsl_vector *x = gsl_vector_calloc(mp->m);
    if (!s || !x) {
        if (s)
            gsl_multiroot_fdfsolver_free(s);
        gsl_vector_free(x);
        return -1;
    }
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    gsl_multiroot_fdfsolver_set(s, &fn, x);
    int status = GSL_CONTINUE;
    for (int it = 0; it < 2000 && status == GSL_CONTINUE; it++) {
        if (gsl_multiroot_fdfsolver_iterate(s) != GSL_SUCCESS)
            break;
        status = gsl_multiroot_test_residual(s->f, 1e-14);
    }
    double mean[ME_MAXQ];
    me_probs(mp, s->x, p);
    me_moments(mp, p, mean);
    gsl_set_error_handler(old);
    gsl_multiroot_fdfsolver_free(s);
    gsl_vector_free(x);
    for (size_t q = 0; q < mp->m; q++)
        if (fabs(mean[q] - mp->t[q]) > 1e-10)
            return -1;
    return 0;
}

/* Maximum entropy over support v[0..n-1] (ascending) with mean 0 and
 * variance at most V, as the R package ptable states it (optim = 1); with
 * mono, the probabilities must not decrease from the smallest perturbation up
 * to 0 (ptable's monotony condition, applied when 0 is in the support).
 * Active set: the variance constraint is added when the solution without it
 * exceeds V; a violated monotony condition is added as the equality
 * p(v_k) = p(v_k+1); repeated until no condition is violated. */
static int me_solve(const int *v, size_t n, double V, int mono, double *p)
{
    if (n > ME_MAXN)
        return -1;
    size_t z = n;
    for (size_t k = 0; k < n; k++)
        if (v[k] == 0)
            z = k;
    int active[ME_MAXN] = {0};
    for (int round = 0; round <= (int)n; round++) {
        me_problem mp;
        memset(&mp, 0, sizeof mp);
        mp.n = n;
        for (size_t k = 0; k < n; k++)
            mp.F[0][k] = v[k];
        mp.t[0] = 0;
        mp.m = 1;
        for (size_t k = 0; k + 1 < n; k++)
            if (active[k] && mp.m < ME_MAXQ - 1) {
                for (size_t r = 0; r < n; r++)
                    mp.F[mp.m][r] = (r == k) - (r == k + 1);
                mp.t[mp.m++] = 0;
            }
        /* without the variance constraint first: if the variance stays
         * within V, the constraint is not binding */
        int ok = me_run(&mp, p) == 0;
        double var = 0;
        for (size_t k = 0; k < n; k++)
            var += p[k] * v[k] * v[k];
        if (!ok || var > V + 1e-12) {
            for (size_t k = 0; k < n; k++)
                mp.F[mp.m][k] = (double)v[k] * v[k];
            mp.t[mp.m++] = V;
            if (me_run(&mp, p) != 0)
                return -1;
        }
        if (!mono || z == n)
            return 0;
        int added = 0;
        for (size_t k = 0; k < z; k++)
            if (!active[k] && p[k] > p[k + 1] * (1 + 1e-12)) {
                active[k] = 1;
                added = 1;
            }
        if (!added)
            return 0;
    }
    return -1;
}

int nmdi_ptable_build(nmdi_ptable **out, int D, double V, int js, nmdi_error *err)
{
    if (D < 1 || D > 20)
        return nmdi_error_set(err, NMDI_EDATA, "D must be between 1 and 20 (got %d)", D);
    if (js < 0 || js > 20)
        return nmdi_error_set(err, NMDI_EDATA, "js must be between 0 and 20 (got %d)", js);
    if (!(V > 0) || !(V < (double)D * D))
        return nmdi_error_set(err, NMDI_EDATA,
                              "V must be above 0 and below D^2 = %d (got %g): the noise of "
                              "larger counts ranges over -D..D",
                              D * D, V);
    if (js > D)
        return nmdi_error_set(err, NMDI_EDATA,
                              "js (%d) must not exceed D (%d): count 1 could not be moved "
                              "above js",
                              js, D);
    nmdi_ptable *pt = calloc(1, sizeof *pt);
    if (!pt)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    snprintf(pt->desc, sizeof pt->desc, "cell key method (D=%d, V=%g, js=%d)", D, V, js);
    int cap = D + js + 1;
    int rc = push_row(pt, 0, 0, 1.0);
    for (int i = 1; !rc && i <= cap; i++) {
        int v[64];
        double p[64];
        size_t n = 0;
        int has0 = 0, neg = 0, pos = 0;
        for (int d = -D; d <= D; d++) {
            int j = i + d;
            if (j < 0 || (j >= 1 && j <= js))
                continue;
            v[n++] = d;
            has0 |= d == 0;
            neg |= d < 0;
            pos |= d > 0;
        }
        if (!neg || !pos) {
            /* cannot move both ways: mean zero forces no noise */
            if (!has0) {
                nmdi_ptable_free(pt);
                return nmdi_error_set(err, NMDI_EDATA, "no zero-mean noise for count %d", i);
            }
            rc = push_row(pt, i, i, 1.0);
            continue;
        }
        int vmin = v[0], vmax = v[n - 1];
        int aneg = vmin, bpos = vmax; /* nearest to zero on each side */
        for (size_t k = 0; k < n; k++) {
            if (v[k] < 0 && v[k] > aneg)
                aneg = v[k];
            if (v[k] > 0 && v[k] < bpos)
                bpos = v[k];
        }
        double minvar = has0 ? 0 : -(double)aneg * bpos;
        int lo = 0, hi = 0; /* a two-point row: the pair used */
        if (n == 2) {
            lo = vmin;
            hi = vmax;
        } else if (V <= minvar + 1e-12) {
            /* no zero-mean noise with variance V or less: the least variance */
            lo = aneg;
            hi = bpos;
        }
        if (lo != hi) {
            /* two points with mean zero: p(lo) = hi / (hi - lo) */
            double plo = (double)hi / (hi - lo);
            rc = push_row(pt, i, i + lo, plo);
            if (!rc)
                rc = push_row(pt, i, i + hi, 1 - plo);
            continue;
        }
        if (me_solve(v, n, V, 1, p) != 0) {
            nmdi_ptable_free(pt);
            return nmdi_error_set(err, NMDI_EINTERNAL,
                                  "the maximum-entropy solver did not converge for count %d", i);
        }
        for (size_t k = 0; !rc && k < n; k++)
            rc = push_row(pt, i, i + v[k], p[k]);
    }
    if (rc || finish(pt) != 0) {
        nmdi_ptable_free(pt);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    *out = pt;
    return 0;
}

int nmdi_ptable_write_csv(const nmdi_ptable *pt, FILE *f)
{
    fputs("i,j,p,v,p_int_lb,p_int_ub\n", f);
    char p[32], lb[32], ub[32];
    for (size_t k = 0; k < pt->nrows; k++) {
        const nmdi_ptable_row *r = &pt->rows[k];
        nmdi_fmt_double(r->p, p);
        nmdi_fmt_double(r->lb, lb);
        nmdi_fmt_double(r->ub, ub);
        fprintf(f, "%d,%d,%s,%d,%s,%s\n", r->i, r->j, p, r->v, lb, ub);
    }
    return ferror(f) ? NMDI_EINTERNAL : 0;
}

static int cmp_rows(const void *a, const void *b)
{
    const nmdi_ptable_row *x = a, *y = b;
    if (x->i != y->i)
        return x->i < y->i ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

int nmdi_ptable_read_csv(nmdi_ptable **out, const char *path, nmdi_error *err)
{
    nmdi_csv_opts o = {0, 1, 1};
    nmdi_table *t;
    int rc = nmdi_table_read_csv(&t, path, &o, err);
    if (rc)
        return rc;
    int ci = nmdi_table_col(t, "i"), cj = nmdi_table_col(t, "j"), cp = nmdi_table_col(t, "p");
    int cv = nmdi_table_col(t, "v");
    if (ci < 0 || cj < 0 || cp < 0) {
        nmdi_table_free(t);
        return nmdi_error_at(err, NMDI_EDATA, path, 1, ci < 0 ? "i" : cj < 0 ? "j" : "p",
                             "a ptable needs columns i, j and p");
    }
    nmdi_ptable *pt = calloc(1, sizeof *pt);
    if (!pt) {
        nmdi_table_free(t);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    snprintf(pt->desc, sizeof pt->desc, "cell key method (ptable %s)", path);
    for (size_t r = 0; r < t->nrows && !rc; r++) {
        int64_t i, j, v;
        double p;
        long line = t->lines[r];
        if (nmdi_parse_int64(nmdi_table_cell(t, r, (size_t)ci), &i) != 0 || i < 0 || i > 100000)
            rc = nmdi_error_at(err, NMDI_EDATA, path, line, "i", "not a count: '%s'",
                               nmdi_table_cell(t, r, (size_t)ci));
        else if (nmdi_parse_int64(nmdi_table_cell(t, r, (size_t)cj), &j) != 0 || j < 0 ||
                 j > 200000)
            rc = nmdi_error_at(err, NMDI_EDATA, path, line, "j", "not a count: '%s'",
                               nmdi_table_cell(t, r, (size_t)cj));
        else if (nmdi_parse_double(nmdi_table_cell(t, r, (size_t)cp), &p) != 0 || p < 0 ||
                 p > 1)
            rc = nmdi_error_at(err, NMDI_EDATA, path, line, "p", "not a probability: '%s'",
                               nmdi_table_cell(t, r, (size_t)cp));
        else if (cv >= 0 && (nmdi_parse_int64(nmdi_table_cell(t, r, (size_t)cv), &v) != 0 ||
                             v != j - i))
            rc = nmdi_error_at(err, NMDI_EDATA, path, line, "v", "v must be j - i = %lld",
                               (long long)(j - i));
        else if (p > 0 && push_row(pt, (int)i, (int)j, p) != 0)
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    nmdi_table_free(t);
    if (!rc && pt->nrows == 0)
        rc = nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "empty ptable");
    if (!rc) {
        qsort(pt->rows, pt->nrows, sizeof *pt->rows, cmp_rows);
        int expect = 0;
        double sum = 0;
        for (size_t k = 0; k < pt->nrows && !rc; k++) {
            const nmdi_ptable_row *x = &pt->rows[k];
            if (x->i != expect && x->i != expect + 1)
                rc = nmdi_error_at(err, NMDI_EDATA, path, 0, "i",
                                   "no rows for count %d: rows 0..max must all be present",
                                   expect + 1);
            else if (x->i == expect + 1) {
                if (fabs(sum - 1) > 1e-4)
                    rc = nmdi_error_at(err, NMDI_EDATA, path, 0, "p",
                                       "the probabilities of count %d sum to %.17g, not 1",
                                       expect, sum);
                expect++;
                sum = 0;
            }
            if (x->i == 0 && (x->j != 0 || x->p < 1))
                rc = nmdi_error_at(err, NMDI_EDATA, path, 0, "j",
                                   "count 0 must stay 0 (row i=0 must be j=0 with p=1)");
            sum += x->p;
        }
        if (!rc && fabs(sum - 1) > 1e-4)
            rc = nmdi_error_at(err, NMDI_EDATA, path, 0, "p",
                               "the probabilities of count %d sum to %.17g, not 1", expect, sum);
        if (!rc && pt->rows[0].i != 0)
            rc = nmdi_error_at(err, NMDI_EDATA, path, 0, "i", "no row for count 0");
    }
    if (!rc && finish(pt) != 0)
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    if (rc) {
        nmdi_ptable_free(pt);
        return rc;
    }
    *out = pt;
    return 0;
}
