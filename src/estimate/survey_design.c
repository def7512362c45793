/*
 * survey_design.c — the sampling design of nmdi survey: building it from a
 * table as R's svydesign()/svrepdesign() do (clusters per stage, strata,
 * weights, finite-population corrections, nesting, replicate weights and
 * their scales), and the variance engines: Taylor linearisation through
 * the stages (R's svyrecvar/multistage/onestage/onestrat, with the lonely-PSU
 * rules) and the replicate variance (R's svrVar).
 */
#include "survey_internal.h"

#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers --------------------------------------------------------- */

int nmdi_svy_is_missing(const char *s)
{
    return !s || !*s || strcmp(s, "NA") == 0;
}

int nmdi_svy_cell_num(const nmdi_table *t, size_t row, int col, double *v, nmdi_error *err)
{
    const char *s = nmdi_table_cell(t, row, (size_t)col);
    if (nmdi_svy_is_missing(s)) {
        *v = NAN;
        return 0;
    }
    if (nmdi_parse_double(s, v) != 0 || !isfinite(*v))
        return nmdi_error_at(err, NMDI_EDATA, t->path, t->lines[row], t->names[col],
                             "'%s' is not a number", s);
    return 0;
}

int nmdi_svy_cmp_values(const char *a, const char *b)
{
    double x, y;
    if (nmdi_parse_double(a, &x) == 0 && nmdi_parse_double(b, &y) == 0 && x != y)
        return x < y ? -1 : 1;
    return strcmp(a, b);
}

static int find_col(const nmdi_table *t, const char *name, const char *what, int *col,
                    nmdi_error *err)
{
    *col = nmdi_table_col(t, name);
    if (*col < 0)
        return nmdi_error_at(err, NMDI_EDATA, t->path, 1, name, "no column '%s' (%s)", name,
                             what);
    return 0;
}

/* Dense id of (parent, value): a map from the bytes of both. buf (bufsize
 * bytes) serves short keys; longer ones get their own buffer, never a
 * truncated key that could merge two clusters. */
static int intern(nmdi_strmap *m, int32_t parent, const char *val, int32_t *id, char *buf,
                  size_t bufsize)
{
    size_t len = strlen(val);
    char *key = buf;
    if (len + sizeof parent > bufsize && !(key = malloc(len + sizeof parent)))
        return -1;
    memcpy(key, &parent, sizeof parent);
    memcpy(key + sizeof parent, val, len);
    int ins = 0;
    int64_t *slot = nmdi_strmap_put(m, key, sizeof parent + len, &ins);
    if (key != buf)
        free(key);
    if (!slot)
        return -1;
    if (ins)
        *slot = (int64_t)nmdi_strmap_count(m) - 1;
    *id = (int32_t)*slot;
    return 0;
}

/* intern() through a direct-mapped cache keyed by (parent, the cell's
 * pointer): cells of an interned column share one pointer per value, and
 * equal pointers are equal strings, so a hit is exact. val must be a cell of
 * the table (or a string constant), never a reused buffer. */
enum { ICACHE = 4096 };
typedef struct icache {
    const char *p[ICACHE];
    int32_t parent[ICACHE], id[ICACHE];
} icache;

static int intern_cached(nmdi_strmap *m, icache *ic, int32_t parent, const char *val, int32_t *id,
                         char *buf, size_t bufsize)
{
    uint64_t h = ((uint64_t)(uintptr_t)val ^ ((uint64_t)(uint32_t)parent << 40)) *
                 0x9E3779B97F4A7C15ull;
    size_t k = (size_t)(h >> 52) % ICACHE;
    if (ic->p[k] == val && ic->parent[k] == parent) {
        *id = ic->id[k];
        return 0;
    }
    if (intern(m, parent, val, id, buf, bufsize))
        return -1;
    ic->p[k] = val;
    ic->parent[k] = parent;
    ic->id[k] = *id;
    return 0;
}

/* ---- building the design ---------------------------------------------------- */

/* The records in design order (stratum, cluster, stratum, cluster, ... by
 * stage, then record): stable counting sorts on the dense ids from the last
 * key to the first, O(n) per key; the same order as sorting with
 * comparing (str, clu) per stage and then the record index. */
static int design_order(nmdi_svy_design *d, nmdi_error *err)
{
    size_t n = d->n;
    size_t kmax = 1;
    for (int s = 0; s < d->nst; s++) {
        if (d->nstr[s] > kmax)
            kmax = d->nstr[s];
        if (d->ncl[s] > kmax)
            kmax = d->ncl[s];
    }
    size_t *tmp = malloc((n ? n : 1) * sizeof(size_t));
    size_t *cnt = malloc((kmax + 1) * sizeof(size_t));
    if (!tmp || !cnt) {
        free(tmp);
        free(cnt);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    size_t *src = d->ord, *dst = tmp;
    for (size_t i = 0; i < n; i++)
        src[i] = i;
    for (int k = 2 * d->nst - 1; k >= 0; k--) {
        const int32_t *key = (k & 1) ? d->clu[k / 2] : d->str[k / 2];
        size_t nk = (k & 1) ? d->ncl[k / 2] : d->nstr[k / 2];
        memset(cnt, 0, (nk + 1) * sizeof(size_t));
        for (size_t i = 0; i < n; i++)
            cnt[(size_t)key[i] + 1]++;
        for (size_t h = 0; h < nk; h++)
            cnt[h + 1] += cnt[h];
        for (size_t i = 0; i < n; i++) {
            size_t r = src[i];
            dst[cnt[key[r]]++] = r;
        }
        size_t *x = src;
        src = dst;
        dst = x;
    }
    if (src != d->ord)
        memcpy(d->ord, src, n * sizeof(size_t));
    free(tmp);
    free(cnt);
    return 0;
}


static int build_stages(nmdi_svy_design *d, const nmdi_svy_spec *spec, nmdi_error *err)
{
    const nmdi_table *t = d->t;
    size_t n = d->n;
    nmdi_arena *a = d->arena;
    int scol = -1, idcol[NMDI_SVY_MAXSTAGES];
    if (spec->strata && *spec->strata && find_col(t, spec->strata, "--strata", &scol, err))
        return err->code;
    d->scol = scol;
    d->nst = spec->nids ? (int)spec->nids : 1;
    for (int s = 0; s < d->nst; s++) {
        idcol[s] = -1;
        if (spec->nids && find_col(t, spec->ids[s], "--ids", &idcol[s], err))
            return err->code;
        d->idcol[s] = idcol[s];
    }
    char buf[1024];
    int rc = 0;
    for (int s = 0; s < d->nst; s++) {
        d->clu[s] = nmdi_arena_calloc(a, n ? n : 1, sizeof(int32_t));
        d->str[s] = nmdi_arena_calloc(a, n ? n : 1, sizeof(int32_t));
        if (!d->clu[s] || !d->str[s])
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        nmdi_strmap *sm = nmdi_strmap_new(), *cm = nmdi_strmap_new();
        icache *sc = calloc(1, sizeof *sc), *cc = calloc(1, sizeof *cc);
        if (!sm || !cm || !sc || !cc) {
            free(sc);
            free(cc);
            nmdi_strmap_free(sm);
            nmdi_strmap_free(cm);
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
        for (size_t i = 0; i < n && !rc; i++) {
            /* stratum: the --strata value at stage 1, the parent cluster below */
            if (s == 0) {
                const char *sv = scol >= 0 ? nmdi_table_cell(t, i, (size_t)scol) : "";
                if (scol >= 0 && nmdi_svy_is_missing(sv)) {
                    rc = nmdi_error_at(err, NMDI_EDATA, t->path, t->lines[i], t->names[scol],
                                       "missing stratum");
                    break;
                }
                if (intern_cached(sm, sc, 0, sv, &d->str[0][i], buf, sizeof buf))
                    rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            } else {
                d->str[s][i] = d->clu[s - 1][i];
            }
            /* cluster: nested in the parent cluster (and in the stratum with --nest) */
            int32_t parent = s > 0 ? d->clu[s - 1][i] : (spec->nest ? d->str[0][i] : 0);
            if (idcol[s] < 0) {
                char num[32];
                snprintf(num, sizeof num, "%zu", i);
                if (intern(cm, parent, num, &d->clu[s][i], buf, sizeof buf))
                    rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            } else {
                const char *cv = nmdi_table_cell(t, i, (size_t)idcol[s]);
                if (nmdi_svy_is_missing(cv)) {
                    rc = nmdi_error_at(err, NMDI_EDATA, t->path, t->lines[i],
                                       t->names[idcol[s]], "missing cluster id");
                    break;
                }
                if (intern_cached(cm, cc, parent, cv, &d->clu[s][i], buf, sizeof buf))
                    rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            }
        }
        size_t nstr = s == 0 ? nmdi_strmap_count(sm) : d->ncl[s - 1];
        size_t ncl = nmdi_strmap_count(cm);
        d->ncl[s] = ncl;
        nmdi_strmap_free(sm);
        nmdi_strmap_free(cm);
        free(sc);
        free(cc);
        if (rc)
            return rc;
        d->nstr[s] = nstr;
        d->nps[s] = nmdi_arena_calloc(a, nstr ? nstr : 1, sizeof(int32_t));
        d->pop[s] = nmdi_arena_calloc(a, nstr ? nstr : 1, sizeof(double));
        d->strrec[s] = nmdi_arena_calloc(a, nstr ? nstr : 1, sizeof(size_t));
        int32_t *clstr = calloc(ncl ? ncl : 1, sizeof(int32_t));
        if (!d->nps[s] || !d->pop[s] || !d->strrec[s] || !clstr) {
            free(clstr);
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
        for (size_t c = 0; c < ncl; c++)
            clstr[c] = -1;
        for (size_t h = 0; h < nstr; h++) {
            d->pop[s][h] = INFINITY;
            d->strrec[s][h] = SIZE_MAX;
        }
        for (size_t i = 0; i < n; i++) {
            int32_t c = d->clu[s][i], h = d->str[s][i];
            if (d->strrec[s][h] == SIZE_MAX)
                d->strrec[s][h] = i;
            if (clstr[c] < 0) {
                clstr[c] = h;
                d->nps[s][h]++;
            } else if (clstr[c] != h) {
                free(clstr);
                return nmdi_error_at(err, NMDI_EDATA, t->path, t->lines[i],
                                     idcol[s] >= 0 ? t->names[idcol[s]] : "",
                                     "clusters not nested in strata at top level "
                                     "(cluster '%s' lies in several strata); you may want --nest",
                                     nmdi_table_cell(t, i, (size_t)idcol[s]));
            }
        }
        free(clstr);
        if (s == 0 && ncl == 1 && !(spec->nest && scol >= 0) && spec->type == NMDI_SVY_REP_NONE)
            return nmdi_error_at(err, NMDI_EDATA, t->path, 0, spec->nids ? spec->ids[0] : "",
                                 "design has only one primary sampling unit");
    }
    return 0;
}

static int build_fpc(nmdi_svy_design *d, const nmdi_svy_spec *spec, nmdi_error *err)
{
    const nmdi_table *t = d->t;
    if (!spec->nfpc)
        return 0;
    if ((int)spec->nfpc != d->nst)
        return nmdi_error_at(err, NMDI_EDATA, t->path, 0, spec->fpc[0],
                             "--fpc gives %zu column(s) for a design of %d stage(s): give one "
                             "per stage of --ids",
                             spec->nfpc, d->nst);
    d->has_fpc = 1;
    int col[NMDI_SVY_MAXSTAGES];
    int anybig = 0, allge1 = 1;
    for (int s = 0; s < d->nst; s++) {
        if (find_col(t, spec->fpc[s], "--fpc", &col[s], err))
            return err->code;
        for (size_t i = 0; i < d->n; i++) {
            double v;
            if (nmdi_svy_cell_num(t, i, col[s], &v, err))
                return err->code;
            if (isnan(v) || v < 0)
                return nmdi_error_at(err, NMDI_EDATA, t->path, t->lines[i], t->names[col[s]],
                                     "missing or negative fpc");
            if (v > 1)
                anybig = 1;
            if (v < 1)
                allge1 = 0;
        }
    }
    if (anybig && !allge1)
        return nmdi_error_at(err, NMDI_EDATA, t->path, 0, spec->fpc[0],
                             "fpc values must be all >= 1 (population sizes) or all <= 1 "
                             "(sampling fractions)");
    if (!anybig && allge1)
        return nmdi_error_at(err, NMDI_EDATA, t->path, 0, spec->fpc[0],
                             "fpc values are all 1: ambiguous (R refuses it too)");
    for (int s = 0; s < d->nst; s++) {
        double *seen = calloc(d->nstr[s] ? d->nstr[s] : 1, sizeof(double));
        if (!seen)
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        for (size_t h = 0; h < d->nstr[s]; h++)
            seen[h] = NAN;
        int rc = 0;
        for (size_t i = 0; i < d->n && !rc; i++) {
            double v;
            nmdi_svy_cell_num(t, i, col[s], &v, err);
            int32_t h = d->str[s][i];
            if (isnan(seen[h])) {
                seen[h] = v;
                double popsize = anybig ? v : (v == 0 ? INFINITY : d->nps[s][h] / v);
                if (popsize < d->nps[s][h])
                    rc = nmdi_error_at(err, NMDI_EDATA, t->path, t->lines[i], t->names[col[s]],
                                       "fpc implies more than 100%% sampling at stage %d "
                                       "(population %g, sample %d)",
                                       s + 1, popsize, (int)d->nps[s][h]);
                d->pop[s][h] = popsize;
            } else if (seen[h] != v) {
                rc = nmdi_error_at(err, NMDI_EDATA, t->path, t->lines[i], t->names[col[s]],
                                   "fpc varies within a stratum at stage %d", s + 1);
            }
        }
        free(seen);
        if (rc)
            return rc;
    }
    return 0;
}

static int build_weights(nmdi_svy_design *d, const nmdi_svy_spec *spec, nmdi_error *err)
{
    const nmdi_table *t = d->t;
    d->w0 = nmdi_arena_calloc(d->arena, d->n ? d->n : 1, sizeof(double));
    if (!d->w0)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    if (spec->weights && *spec->weights) {
        int col;
        if (find_col(t, spec->weights, "--weights", &col, err))
            return err->code;
        for (size_t i = 0; i < d->n; i++) {
            double v;
            if (nmdi_svy_cell_num(t, i, col, &v, err))
                return err->code;
            if (isnan(v))
                return nmdi_error_at(err, NMDI_EDATA, t->path, t->lines[i], t->names[col],
                                     "missing weight");
            if (v < 0)
                return nmdi_error_at(err, NMDI_EDATA, t->path, t->lines[i], t->names[col],
                                     "negative weight %g", v);
            d->w0[i] = v;
        }
    } else if (spec->type != NMDI_SVY_REP_NONE) {
        return nmdi_error_set(err, NMDI_EDATA,
                              "a replicate-weight design needs --weights (the full-sample "
                              "weights)");
    } else {
        for (size_t i = 0; i < d->n; i++) {
            double w = 1;
            if (d->has_fpc)
                for (int s = 0; s < d->nst; s++) {
                    int32_t h = d->str[s][i];
                    w *= isinf(d->pop[s][h]) ? 1 : d->pop[s][h] / d->nps[s][h];
                }
            d->w0[i] = w;
        }
    }
    d->w = d->w0;
    return 0;
}

/* JKn: the replicate r deletes one PSU of stratum h: rscale = (n_h - 1) / n_h. */
static int derive_jkn_rscales(nmdi_svy_design *d, nmdi_error *err)
{
    for (size_t r = 0; r < d->R; r++) {
        size_t first = SIZE_MAX;
        for (size_t i = 0; i < d->n; i++) {
            if (d->repw[i * d->R + r] != 0 || d->w0[i] == 0)
                continue;
            if (first == SIZE_MAX)
                first = i;
            else if (d->clu[0][i] != d->clu[0][first])
                return nmdi_error_at(err, NMDI_EDATA, d->t->path, d->t->lines[i], "",
                                     "JKn replicate %zu sets the weights of several PSUs to zero: "
                                     "give the design's --strata, --ids (and --nest), or the "
                                     "factors with --rscales",
                                     r + 1);
        }
        if (first == SIZE_MAX)
            return nmdi_error_set(err, NMDI_EDATA,
                                  "JKn replicate %zu deletes no record: cannot tell its stratum; "
                                  "give the factors with --rscales",
                                  r + 1);
        /* the whole PSU must be deleted, else --ids does not match the replicates */
        for (size_t i = 0; i < d->n; i++)
            if (d->clu[0][i] == d->clu[0][first] && d->w0[i] != 0 && d->repw[i * d->R + r] != 0)
                return nmdi_error_at(err, NMDI_EDATA, d->t->path, d->t->lines[i], "",
                                     "JKn replicate %zu deletes only part of a PSU: give the "
                                     "design's --ids, or the factors with --rscales",
                                     r + 1);
        double nh = d->nps[0][d->str[0][first]];
        d->rscales[r] = (nh - 1) / nh;
    }
    return 0;
}

static int build_replicates(nmdi_svy_design *d, const nmdi_svy_spec *spec, nmdi_error *err)
{
    const nmdi_table *t = d->t;
    regex_t re;
    if (!spec->repweights || !*spec->repweights)
        return nmdi_error_set(err, NMDI_EDATA, "--type needs --repweights 'regex'");
    if (regcomp(&re, spec->repweights, REG_EXTENDED | REG_NOSUB) != 0)
        return nmdi_error_set(err, NMDI_EDATA, "--repweights: invalid regular expression '%s'",
                              spec->repweights);
    int *cols = calloc(t->ncols ? t->ncols : 1, sizeof(int));
    if (!cols) {
        regfree(&re);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    size_t R = 0;
    for (size_t c = 0; c < t->ncols; c++)
        if (regexec(&re, t->names[c], 0, NULL, 0) == 0)
            cols[R++] = (int)c;
    regfree(&re);
    int rc = 0;
    if (R < 2) {
        rc = nmdi_error_at(err, NMDI_EDATA, t->path, 1, spec->repweights,
                           "--repweights matches %zu column(s); at least 2 replicates needed", R);
        goto done;
    }
    d->R = R;
    d->repw = nmdi_arena_calloc(d->arena, d->n * R + 1, sizeof(double));
    d->rscales = nmdi_arena_calloc(d->arena, R, sizeof(double));
    if (!d->repw || !d->rscales) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < d->n && !rc; i++)
        for (size_t r = 0; r < R; r++) {
            double v;
            if ((rc = nmdi_svy_cell_num(t, i, cols[r], &v, err)))
                break;
            if (isnan(v)) {
                rc = nmdi_error_at(err, NMDI_EDATA, t->path, t->lines[i], t->names[cols[r]],
                                   "missing replicate weight");
                break;
            }
            if (v < 0) {
                rc = nmdi_error_at(err, NMDI_EDATA, t->path, t->lines[i], t->names[cols[r]],
                                   "negative replicate weight %g", v);
                break;
            }
            d->repw[i * R + r] = v;
        }
    if (rc)
        goto done;
    for (size_t r = 0; r < R; r++)
        d->rscales[r] = 1;
    d->mse = spec->mse;
    switch (spec->type) {
    case NMDI_SVY_REP_JK1: d->scale = (double)(R - 1) / (double)R; break;
    case NMDI_SVY_REP_BRR: d->scale = 1.0 / (double)R; break;
    case NMDI_SVY_REP_FAY:
        if (!(spec->rho >= 0 && spec->rho < 1)) {
            rc = nmdi_error_set(err, NMDI_EDATA, "--type Fay needs --rho in [0, 1)");
            goto done;
        }
        d->scale = 1.0 / ((double)R * (1 - spec->rho) * (1 - spec->rho));
        break;
    case NMDI_SVY_REP_BOOTSTRAP: d->scale = 1.0 / (double)(R - 1); break;
    case NMDI_SVY_REP_JKN:
        d->scale = 1;
        if (spec->nrscales) {
            /* given: copied below */
        } else if (!spec->strata || !*spec->strata) {
            rc = nmdi_error_set(err, NMDI_EDATA,
                                "--type JKn needs --strata (and --ids) to derive the factors "
                                "(n_h-1)/n_h, or --rscales");
            goto done;
        } else {
            rc = derive_jkn_rscales(d, err);
        }
        break;
    default: rc = nmdi_error_set(err, NMDI_EINTERNAL, "unknown replicate type"); break;
    }
    if (rc)
        goto done;
    if (spec->nrscales) { /* as svrepdesign(rscales =): for every type */
        if (spec->nrscales != R) {
            rc = nmdi_error_set(err, NMDI_EDATA, "--rscales gives %zu factors for %zu replicates",
                                spec->nrscales, R);
            goto done;
        }
        memcpy(d->rscales, spec->rscales, R * sizeof(double));
    }
    if (!isnan(spec->scale) && spec->scale != 0) { /* svrepdesign(scale =) */
        if (spec->type == NMDI_SVY_REP_BRR || spec->type == NMDI_SVY_REP_FAY) {
            rc = nmdi_error_set(err, NMDI_EDATA, "--scale does not apply to BRR or Fay (R ignores it)");
            goto done;
        }
        if (!(spec->scale > 0)) {
            rc = nmdi_error_set(err, NMDI_EDATA, "--scale must be positive");
            goto done;
        }
        d->scale = spec->scale;
    }
done:
    free(cols);
    return rc;
}

int nmdi_svy_design_new(nmdi_svy_design **out, const nmdi_table *t, const nmdi_svy_spec *spec,
                        nmdi_error *err)
{
    *out = NULL;
    nmdi_arena *a = nmdi_arena_new(1 << 16);
    if (!a)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    nmdi_svy_design *d = nmdi_arena_calloc(a, 1, sizeof *d);
    if (!d) {
        nmdi_arena_free(a);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    d->arena = a;
    d->t = t;
    d->n = t->nrows;
    d->lonely = spec->lonely;
    d->type = spec->type;
    if (spec->nids > NMDI_SVY_MAXSTAGES || spec->nfpc > NMDI_SVY_MAXSTAGES) {
        nmdi_arena_free(a);
        return nmdi_error_set(err, NMDI_EDATA, "at most %d stages", NMDI_SVY_MAXSTAGES);
    }
    int rc = build_stages(d, spec, err);
    if (!rc && spec->type == NMDI_SVY_REP_NONE)
        rc = build_fpc(d, spec, err);
    if (!rc)
        rc = build_weights(d, spec, err);
    if (!rc && spec->type != NMDI_SVY_REP_NONE)
        rc = build_replicates(d, spec, err);
    if (!rc) {
        d->ord = nmdi_arena_calloc(a, d->n + 1, sizeof(size_t));
        d->rank = nmdi_arena_calloc(a, d->n + 1, sizeof(size_t));
        if (!d->ord || !d->rank)
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    if (!rc) {
        rc = design_order(d, err);
        for (size_t i = 0; i < d->n; i++)
            d->rank[d->ord[i]] = i;
    }
    if (!rc && spec->calibrate != NMDI_SVY_CAL_NONE) {
        if (spec->type != NMDI_SVY_REP_NONE)
            rc = nmdi_error_set(err, NMDI_EDATA,
                                "--calibrate works with Taylor designs only (not replicate weights)");
        else if ((rc = nmdi_svy_calibrate(d, spec, err)) == 0)
            rc = nmdi_svy_calib_units(d, err);
    }
    if (rc) {
        nmdi_arena_free(a);
        return rc;
    }
    *out = d;
    return 0;
}

void nmdi_svy_design_free(nmdi_svy_design *d)
{
    if (d)
        nmdi_arena_free(d->arena);
}

size_t nmdi_svy_design_nrec(const nmdi_svy_design *d)
{
    return d->n;
}

double nmdi_svy_design_weight(const nmdi_svy_design *d, size_t i)
{
    return d->w[i];
}

/* ---- Taylor linearisation ----------------------------------------------------- */

static const char *stratum_label(const nmdi_svy_design *d, int s, int32_t h, char *buf, size_t n)
{
    size_t i = d->strrec[s][h];
    if (i == SIZE_MAX)
        snprintf(buf, n, "?");
    else if (s == 0 && d->scol >= 0)
        snprintf(buf, n, "%s=%s", d->t->names[d->scol], nmdi_table_cell(d->t, i, (size_t)d->scol));
    else if (s > 0 && d->idcol[s - 1] >= 0)
        snprintf(buf, n, "cluster %s=%s", d->t->names[d->idcol[s - 1]],
                 nmdi_table_cell(d->t, i, (size_t)d->idcol[s - 1]));
    else
        snprintf(buf, n, "of the record at line %ld", d->t->lines[i]);
    return buf;
}

/* onestrat(): variance contribution of one stratum whose records (in design
 * order) are idx[a..b). *v is NAN for a lonely PSU under "average". */
static int onestrat(const nmdi_svy_design *d, const double *z, const size_t *idx, size_t a,
                    size_t b, int s, double *v, nmdi_error *err)
{
    int32_t h = d->str[s][idx[a]];
    double npsu = d->nps[s][h];
    double N = d->pop[s][h];
    double f = (!d->has_fpc || isinf(N)) ? 1 : (N - npsu) / N;
    double scale = npsu > 1 ? f * npsu / (npsu - 1) : f;
    *v = 0;
    if (f < 1e-7)
        return 0; /* self-representing stratum */
    /* cluster totals (clusters contiguous) */
    double sum = 0;
    size_t nsub = 0;
    for (size_t i = a; i < b;) {
        int32_t c = d->clu[s][idx[i]];
        double tot = 0;
        for (; i < b && d->clu[s][idx[i]] == c; i++)
            tot += z[idx[i]];
        sum += tot;
        nsub++;
    }
    size_t np = (size_t)npsu > nsub ? (size_t)npsu : nsub;
    int centre = d->lonely != NMDI_SVY_LONELY_ADJUST || nsub > 1 || npsu > 1;
    double mean = centre ? sum / (double)np : 0;
    double ss = 0;
    for (size_t i = a; i < b;) {
        int32_t c = d->clu[s][idx[i]];
        double tot = 0;
        for (; i < b && d->clu[s][idx[i]] == c; i++)
            tot += z[idx[i]];
        ss += (tot - mean) * (tot - mean);
    }
    ss += (double)(np - nsub) * mean * mean;
    if (npsu > 1) {
        *v = scale * ss;
        return 0;
    }
    switch (d->lonely) {
    case NMDI_SVY_LONELY_CERTAINTY:
    case NMDI_SVY_LONELY_REMOVE:
    case NMDI_SVY_LONELY_ADJUST: *v = scale * ss; return 0;
    case NMDI_SVY_LONELY_AVERAGE: *v = NAN; return 0;
    default: {
        char buf[256];
        size_t r = d->strrec[s][h];
        return nmdi_error_at(err, NMDI_EDATA, d->t->path, r == SIZE_MAX ? 0 : d->t->lines[r],
                             "", "stratum (%s) has only one PSU at stage %d; choose --lonely-psu "
                             "certainty|remove|adjust|average",
                             stratum_label(d, s, h, buf, sizeof buf), s + 1);
    }
    }
}

static int onestage(const nmdi_svy_design *d, const double *z, const size_t *idx, size_t a,
                    size_t b, int s, double *v, nmdi_error *err)
{
    double sum = 0;
    size_t nstrat = 0, nok = 0;
    *v = 0;
    if (a >= b)
        return 0;
    for (size_t i = a; i < b;) {
        int32_t h = d->str[s][idx[i]];
        size_t j = i;
        while (j < b && d->str[s][idx[j]] == h)
            j++;
        double vh;
        int rc = onestrat(d, z, idx, i, j, s, &vh, err);
        if (rc)
            return rc;
        nstrat++;
        if (!isnan(vh)) {
            nok++;
            sum += vh;
        }
        i = j;
    }
    *v = sum * (double)nstrat / (double)nok;
    return 0;
}

static int multistage(const nmdi_svy_design *d, const double *z, const size_t *idx, size_t a,
                      size_t b, int s, double *v, nmdi_error *err)
{
    int rc = onestage(d, z, idx, a, b, s, v, err);
    if (rc || !d->has_fpc || s + 1 >= d->nst)
        return rc;
    for (size_t i = a; i < b;) {
        int32_t c = d->clu[s][idx[i]];
        size_t j = i;
        while (j < b && d->clu[s][idx[j]] == c)
            j++;
        double sub;
        if ((rc = multistage(d, z, idx, i, j, s + 1, &sub, err)))
            return rc;
        int32_t h = d->str[s][idx[i]];
        *v += sub * d->nps[s][h] / d->pop[s][h];
        i = j;
    }
    return 0;
}

int nmdi_svy_taylor_var_sorted(const nmdi_svy_design *d, const double *z, const size_t *idx,
                               size_t m, double *v, nmdi_error *err)
{
    return multistage(d, z, idx, 0, m, 0, v, err);
}

static int cmp_rank(const void *pa, const void *pb, void *arg)
{
    const size_t *rank = arg;
    size_t a = rank[*(const size_t *)pa], b = rank[*(const size_t *)pb];
    return a < b ? -1 : (a > b);
}

int nmdi_svy_taylor_var(const nmdi_svy_design *d, const double *z, const size_t *idx, size_t nidx,
                        double *v, nmdi_error *err)
{
    size_t *s = malloc((nidx ? nidx : 1) * sizeof(size_t));
    if (!s)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    memcpy(s, idx, nidx * sizeof(size_t));
    qsort_r(s, nidx, sizeof(size_t), cmp_rank, d->rank);
    int rc = nmdi_svy_taylor_var_sorted(d, z, s, nidx, v, err);
    free(s);
    return rc;
}

/* ---- replicate variance ----------------------------------------------------------- */

double nmdi_svy_rep_var(const double *thetas, size_t R, double scale, const double *rscales,
                        int mse, double full)
{
    double centre = full;
    if (!mse) {
        double sum = 0;
        size_t k = 0;
        for (size_t r = 0; r < R; r++)
            if (!isnan(thetas[r]) && (!rscales || rscales[r] > 0)) {
                sum += thetas[r];
                k++;
            }
        if (k == 0)
            return NAN;
        centre = sum / (double)k;
    }
    double v = 0;
    size_t used = 0;
    for (size_t r = 0; r < R; r++) {
        if (isnan(thetas[r]))
            continue;
        double dv = thetas[r] - centre;
        v += dv * dv * (rscales ? rscales[r] : 1);
        used++;
    }
    return used ? v * scale : NAN;
}

/* ---- linear algebra ---------------------------------------------------------------- */

int nmdi_svy_solve(const double *A, const double *b, size_t p, double *x)
{
    /* Cholesky A = L L' (p is small: the calibration variables), then two
     * triangular solves. GSL's Cholesky would call its global error handler
     * on a singular matrix; this one reports it. */
    double *L = calloc(p * p + 1, sizeof(double));
    if (!L)
        return -1;
    double amax = 0;
    for (size_t i = 0; i < p; i++)
        if (fabs(A[i * p + i]) > amax)
            amax = fabs(A[i * p + i]);
    int rc = 0;
    for (size_t j = 0; j < p && !rc; j++) {
        double s = A[j * p + j];
        for (size_t k = 0; k < j; k++)
            s -= L[j * p + k] * L[j * p + k];
        if (!(s > amax * 1e-13)) {
            rc = -1;
            break;
        }
        L[j * p + j] = sqrt(s);
        for (size_t i = j + 1; i < p; i++) {
            double t = A[i * p + j];
            for (size_t k = 0; k < j; k++)
                t -= L[i * p + k] * L[j * p + k];
            L[i * p + j] = t / L[j * p + j];
        }
    }
    if (!rc) {
        for (size_t i = 0; i < p; i++) { /* L y = b */
            double t = b[i];
            for (size_t k = 0; k < i; k++)
                t -= L[i * p + k] * x[k];
            x[i] = t / L[i * p + i];
        }
        for (size_t i = p; i-- > 0;) { /* L' x = y */
            double t = x[i];
            for (size_t k = i + 1; k < p; k++)
                t -= L[k * p + i] * x[k];
            x[i] = t / L[i * p + i];
        }
        for (size_t i = 0; i < p; i++)
            if (!isfinite(x[i]))
                rc = -1;
    }
    free(L);
    return rc;
}
