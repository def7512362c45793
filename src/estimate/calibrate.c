/*
 * calibrate.c — calibration of survey weights to population totals, as R's
 * calibrate() does at stage 0 (the whole sample):
 *   linear  g = 1 + x'λ, λ = (Σ w x x')⁻¹ (T − Σ w x)     (regcalibrate)
 *   raking  g = exp(x'η), Newton steps from η = 0 until every
 *           |T_j − Σ w g x_j| / (1 + |T_j|) < 1e-7, at most 50 (grake)
 * The model matrix is R's for the formula ~v1 + v2 + ...: an intercept, the
 * indicators of every category but the first (in sorted order) of each
 * categorical variable, and numeric variables as they are. The design keeps
 * X, g and Σ w x x' so that variances use the residuals of the calibration
 * regression, as svyrecvar does with the "greg_calibration" data.
 *
 * The margins file is CSV with header variable,category,total: one row per
 * category of a categorical variable, one row with an empty category for a
 * numeric variable, and optionally a row "(Intercept)" with the population
 * size (implied by the categories' totals otherwise).
 */
#include "survey_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct margin_var {
    const char *name;
    int numeric;
    size_t ncat;
    const char **cats;  /* margin categories       */
    double *totals;
    long *lines;
    int col;            /* data column             */
    size_t nlev;        /* sample categories used   */
    const char **levels;
    double *levtot;
} margin_var;

static int cmp_values_ptr(const void *a, const void *b)
{
    return nmdi_svy_cmp_values(*(const char *const *)a, *(const char *const *)b);
}

static int read_margins(const char *path, nmdi_arena *a, margin_var **vars_out, size_t *nvars,
                        int *has_int, double *int_total, nmdi_error *err)
{
    nmdi_table *m = NULL;
    nmdi_csv_opts o = {0, 1, 1};
    if (nmdi_table_read_csv(&m, path, &o, err))
        return err->code;
    int cv = nmdi_table_col(m, "variable"), cc = nmdi_table_col(m, "category"),
        ct = nmdi_table_col(m, "total");
    int rc = 0;
    if (cv < 0 || cc < 0 || ct < 0) {
        rc = nmdi_error_at(err, NMDI_EDATA, path, 1, "", "the margins file needs the columns "
                                                         "variable,category,total");
        goto done;
    }
    margin_var *vars = nmdi_arena_calloc(a, m->nrows + 1, sizeof *vars);
    size_t nv = 0;
    *has_int = 0;
    for (size_t i = 0; i < m->nrows; i++) {
        const char *v = nmdi_table_cell(m, i, (size_t)cv), *c = nmdi_table_cell(m, i, (size_t)cc);
        double tot;
        if (!*v) {
            rc = nmdi_error_at(err, NMDI_EDATA, path, m->lines[i], "variable", "empty variable");
            goto done;
        }
        if (nmdi_parse_double(nmdi_table_cell(m, i, (size_t)ct), &tot) != 0 || !isfinite(tot) ||
            tot < 0) {
            rc = nmdi_error_at(err, NMDI_EDATA, path, m->lines[i], "total",
                               "'%s' is not a non-negative number", nmdi_table_cell(m, i, (size_t)ct));
            goto done;
        }
        if (strcmp(v, "(Intercept)") == 0) {
            *has_int = 1;
            *int_total = tot;
            continue;
        }
        margin_var *mv = NULL;
        for (size_t k = 0; k < nv; k++)
            if (strcmp(vars[k].name, v) == 0)
                mv = &vars[k];
        if (!mv) {
            mv = &vars[nv++];
            mv->name = nmdi_arena_strdup(a, v);
            mv->numeric = !*c;
            mv->cats = nmdi_arena_calloc(a, m->nrows, sizeof(char *));
            mv->totals = nmdi_arena_calloc(a, m->nrows, sizeof(double));
            mv->lines = nmdi_arena_calloc(a, m->nrows, sizeof(long));
        } else if (mv->numeric || !*c) {
            rc = nmdi_error_at(err, NMDI_EDATA, path, m->lines[i], "category",
                               "variable '%s': give either one row with an empty category "
                               "(numeric) or one row per category",
                               v);
            goto done;
        }
        for (size_t k = 0; k < mv->ncat && *c; k++)
            if (strcmp(mv->cats[k], c) == 0) {
                rc = nmdi_error_at(err, NMDI_EDATA, path, m->lines[i], "category",
                                   "category '%s' of '%s' given twice", c, v);
                goto done;
            }
        mv->cats[mv->ncat] = nmdi_arena_strdup(a, c);
        mv->lines[mv->ncat] = m->lines[i];
        mv->totals[mv->ncat++] = tot;
    }
    *vars_out = vars;
    *nvars = nv;
done:
    nmdi_table_free(m);
    return rc;
}

/* grake() with calfun raking and no bounds. */
static int rake(const double *X, const double *w0, size_t n, size_t p, const double *T, double *g,
                nmdi_error *err)
{
    double *ww = malloc(n * sizeof(double)), *xeta = calloc(n, sizeof(double));
    double *eta = calloc(p, sizeof(double)), *deta = malloc(p * sizeof(double));
    double *Tm = malloc(p * p * sizeof(double)), *mis = malloc(p * sizeof(double));
    double *st = calloc(p, sizeof(double));
    int rc = 0;
    if (!ww || !xeta || !eta || !deta || !Tm || !mis || !st) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < n; k++) {
        ww[k] = w0[k];
        for (size_t j = 0; j < p; j++)
            st[j] += X[k * p + j] * w0[k];
    }
    double minsc = INFINITY, sumsc = 0, scale = 1;
    for (size_t j = 0; j < p; j++) {
        double s = T[j] / st[j];
        if (s < minsc)
            minsc = s;
        sumsc += s;
    }
    if (minsc > 20) { /* R rescales the weights when the totals are far off */
        scale = sumsc / (double)p;
        for (size_t k = 0; k < n; k++)
            ww[k] *= scale;
        for (size_t j = 0; j < p; j++)
            st[j] *= scale;
    }
    for (size_t k = 0; k < n; k++)
        g[k] = 1;
    for (int iter = 1;; iter++) {
        memset(Tm, 0, p * p * sizeof(double));
        for (size_t j = 0; j < p; j++)
            mis[j] = T[j] - st[j];
        for (size_t k = 0; k < n; k++) {
            const double *x = X + k * p;
            double d = ww[k] * exp(xeta[k]), f = ww[k] * (exp(xeta[k]) - 1);
            for (size_t i = 0; i < p; i++) {
                mis[i] -= x[i] * f;
                for (size_t j = 0; j <= i; j++)
                    Tm[i * p + j] += d * x[i] * x[j];
            }
        }
        for (size_t i = 0; i < p; i++)
            for (size_t j = i + 1; j < p; j++)
                Tm[i * p + j] = Tm[j * p + i];
        if (nmdi_svy_solve(Tm, mis, p, deta) != 0) {
            rc = nmdi_error_set(err, NMDI_EDATA, "raking: the calibration variables are collinear");
            goto done;
        }
        for (size_t j = 0; j < p; j++)
            eta[j] += deta[j];
        for (int half = 0;; half++) {
            int finite = 1;
            for (size_t k = 0; k < n; k++) {
                double s = 0;
                for (size_t j = 0; j < p; j++)
                    s += X[k * p + j] * eta[j];
                xeta[k] = s;
                g[k] = exp(s);
                if (!isfinite(g[k]))
                    finite = 0;
            }
            if (finite || iter >= 50)
                break;
            iter++; /* step halving, as grake */
            for (size_t j = 0; j < p; j++) {
                deta[j] /= 2;
                eta[j] -= deta[j];
            }
        }
        int conv = 1;
        for (size_t j = 0; j < p; j++)
            mis[j] = T[j] - st[j];
        for (size_t k = 0; k < n; k++)
            for (size_t j = 0; j < p; j++)
                mis[j] -= X[k * p + j] * ww[k] * (g[k] - 1);
        for (size_t j = 0; j < p; j++)
            if (!(fabs(mis[j]) / (1 + fabs(T[j])) < 1e-7))
                conv = 0;
        if (conv)
            break;
        if (iter + 1 > 50) {
            rc = nmdi_error_set(err, NMDI_EDATA,
                                "raking did not converge in 50 iterations: are the margins "
                                "consistent and reachable?");
            goto done;
        }
    }
    for (size_t k = 0; k < n; k++)
        g[k] *= scale;
done:
    free(ww);
    free(xeta);
    free(eta);
    free(deta);
    free(Tm);
    free(mis);
    free(st);
    return rc;
}

int nmdi_svy_calibrate(nmdi_svy_design *d, const nmdi_svy_spec *spec, nmdi_error *err)
{
    const nmdi_table *t = d->t;
    nmdi_arena *a = d->arena;
    margin_var *vars = NULL;
    size_t nv = 0;
    int has_int = 0;
    double int_total = NAN;
    if (read_margins(spec->margins, a, &vars, &nv, &has_int, &int_total, err))
        return err->code;
    int any_cat = 0;
    size_t p = 0;
    for (size_t k = 0; k < nv; k++) {
        margin_var *mv = &vars[k];
        mv->col = nmdi_table_col(t, mv->name);
        if (mv->col < 0)
            return nmdi_error_at(err, NMDI_EDATA, spec->margins, mv->lines[0], "variable",
                                 "no column '%s' in %s", mv->name, t->path);
        if (mv->numeric) {
            p++;
            continue;
        }
        any_cat = 1;
        /* levels: the categories seen in the sample, sorted as R's factor() */
        mv->levels = nmdi_arena_calloc(a, mv->ncat + 1, sizeof(char *));
        mv->levtot = nmdi_arena_calloc(a, mv->ncat + 1, sizeof(double));
        char *seen = calloc(mv->ncat + 1, 1);
        if (!seen)
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        for (size_t i = 0; i < d->n; i++) {
            const char *v = nmdi_table_cell(t, i, (size_t)mv->col);
            size_t c = 0;
            while (c < mv->ncat && strcmp(mv->cats[c], v) != 0)
                c++;
            if (nmdi_svy_is_missing(v) || c == mv->ncat) {
                free(seen);
                return nmdi_error_at(err, NMDI_EDATA, t->path, t->lines[i], mv->name,
                                     nmdi_svy_is_missing(v)
                                         ? "missing value of a calibration variable"
                                         : "value '%s' has no population total in the margins file",
                                     v);
            }
            seen[c] = 1;
        }
        double sum = 0;
        for (size_t c = 0; c < mv->ncat; c++) {
            sum += mv->totals[c];
            if (seen[c])
                mv->levels[mv->nlev++] = mv->cats[c];
            else if (mv->totals[c] > 0) {
                free(seen);
                return nmdi_error_at(err, NMDI_EDATA, spec->margins, mv->lines[c], "total",
                                     "category '%s' of '%s' has a population total but no sample "
                                     "record: calibration impossible",
                                     mv->cats[c], mv->name);
            }
        }
        free(seen);
        qsort(mv->levels, mv->nlev, sizeof(char *), cmp_values_ptr);
        for (size_t l = 0; l < mv->nlev; l++)
            for (size_t c = 0; c < mv->ncat; c++)
                if (strcmp(mv->cats[c], mv->levels[l]) == 0)
                    mv->levtot[l] = mv->totals[c];
        if (!has_int) {
            has_int = 1;
            int_total = sum;
        } else if (fabs(sum - int_total) > 1e-9 * fabs(int_total)) {
            return nmdi_error_at(err, NMDI_EDATA, spec->margins, mv->lines[0], "total",
                                 "the totals of '%s' sum to %.17g, not the population size %.17g",
                                 mv->name, sum, int_total);
        }
        p += mv->nlev - 1;
    }
    int intercept = has_int || any_cat;
    p += (size_t)intercept;
    if (p == 0)
        return nmdi_error_at(err, NMDI_EDATA, spec->margins, 0, "", "no calibration variable");
    double *T = nmdi_arena_calloc(a, p, sizeof(double));
    d->X = nmdi_arena_calloc(a, d->n * p + 1, sizeof(double));
    d->g = nmdi_arena_calloc(a, d->n + 1, sizeof(double));
    d->M = nmdi_arena_calloc(a, p * p, sizeof(double));
    double *w = nmdi_arena_calloc(a, d->n + 1, sizeof(double));
    if (!T || !d->X || !d->g || !d->M || !w)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    size_t j = 0;
    if (intercept) {
        T[j] = int_total;
        for (size_t i = 0; i < d->n; i++)
            d->X[i * p + j] = 1;
        j++;
    }
    for (size_t k = 0; k < nv; k++) {
        margin_var *mv = &vars[k];
        if (mv->numeric) {
            T[j] = mv->totals[0];
            for (size_t i = 0; i < d->n; i++) {
                double v;
                if (nmdi_svy_cell_num(t, i, mv->col, &v, err))
                    return err->code;
                if (isnan(v))
                    return nmdi_error_at(err, NMDI_EDATA, t->path, t->lines[i], mv->name,
                                         "missing value of a calibration variable");
                d->X[i * p + j] = v;
            }
            j++;
            continue;
        }
        for (size_t l = 1; l < mv->nlev; l++, j++) {
            T[j] = mv->levtot[l];
            for (size_t i = 0; i < d->n; i++)
                d->X[i * p + j] = strcmp(nmdi_table_cell(t, i, (size_t)mv->col), mv->levels[l]) == 0;
        }
    }
    /* M = Σ w0 x x' and the sample totals */
    double *st = calloc(p, sizeof(double)), *lam = calloc(p, sizeof(double));
    if (!st || !lam) {
        free(st);
        free(lam);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < d->n; i++) {
        const double *x = d->X + i * p;
        double wi = d->w0[i];
        for (size_t q = 0; q < p; q++) {
            st[q] += wi * x[q];
            for (size_t r = 0; r <= q; r++)
                d->M[q * p + r] += wi * x[q] * x[r];
        }
    }
    for (size_t q = 0; q < p; q++)
        for (size_t r = q + 1; r < p; r++)
            d->M[q * p + r] = d->M[r * p + q];
    int rc = 0;
    if (spec->calibrate == NMDI_SVY_CAL_LINEAR) {
        for (size_t q = 0; q < p; q++)
            st[q] = T[q] - st[q];
        if (nmdi_svy_solve(d->M, st, p, lam) != 0) {
            rc = nmdi_error_set(err, NMDI_EDATA, "calibration variables are collinear");
        } else {
            for (size_t i = 0; i < d->n; i++) {
                double s = 0;
                for (size_t q = 0; q < p; q++)
                    s += d->X[i * p + q] * lam[q];
                d->g[i] = 1 + s;
            }
        }
    } else {
        rc = rake(d->X, d->w0, d->n, p, T, d->g, err);
    }
    free(st);
    free(lam);
    if (rc)
        return rc;
    for (size_t i = 0; i < d->n; i++)
        w[i] = d->w0[i] * d->g[i];
    d->w = w;
    d->p = p;
    d->calibrated = 1;
    return 0;
}

/* The variance only sums z over the clusters of stage L (the last stage it
 * visits: the deepest with an fpc beyond stage 1, else stage 1), so the
 * residuals z - w x'β enter only through their unit totals
 * t_u - (Σ_u w x)'β: O(units * p) per estimate instead of O(records * p). */
int nmdi_svy_calib_units(nmdi_svy_design *d, nmdi_error *err)
{
    int L = (d->has_fpc && d->nst > 1) ? d->nst - 1 : 0;
    size_t p = d->p, nu = 0;
    d->unit_of = nmdi_arena_calloc(d->arena, d->n + 1, sizeof(size_t));
    d->unit_rep = nmdi_arena_calloc(d->arena, d->n + 1, sizeof(size_t));
    if (!d->unit_of || !d->unit_rep)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    for (size_t r = 0; r < d->n; r++) { /* units are contiguous in design order */
        size_t i = d->ord[r];
        if (r == 0 || d->clu[L][i] != d->clu[L][d->ord[r - 1]])
            d->unit_rep[nu++] = i;
        d->unit_of[i] = nu - 1;
    }
    d->nunit = nu;
    d->WX = nmdi_arena_calloc(d->arena, nu * p + 1, sizeof(double));
    if (!d->WX)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    for (size_t i = 0; i < d->n; i++) {
        double *wx = d->WX + d->unit_of[i] * p;
        for (size_t q = 0; q < p; q++)
            wx[q] += d->w[i] * d->X[i * p + q];
    }
    return 0;
}
