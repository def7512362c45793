/*
 * survey_read.c — reading a survey file for the survey engine
 * (nmdi_svy_read_csv in nmdi/survey.h): the same table of strings as
 * nmdi_table_read_csv, but holding only the columns a design and its
 * estimates use (ids, strata, weights, fpc, replicate weights, calibration
 * variables, estimated variables, domains), with repeated values of a
 * column stored once. A survey file carries many other columns; keeping
 * them all made reading dominate the whole command (docs/performance.md).
 * Every record is still parsed whole, so a malformed record anywhere in it
 * is the same error as with the full reader.
 */
#include "survey_internal.h"

#include <regex.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#define INTERN_MAX 65536 /* distinct values per column beyond which a column is not interned */

typedef struct want {
    const char *names[64];
    size_t n;
    regex_t re;
    int has_re;
} want;

static void want_add(want *w, const char *s)
{
    if (s && *s && w->n < sizeof w->names / sizeof w->names[0])
        w->names[w->n++] = s;
}

static int wanted(const want *w, const char *name)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->names[i], name) == 0)
            return 1;
    return w->has_re && regexec(&w->re, name, 0, NULL, 0) == 0;
}

/* The calibration variables named in the margins file (column `variable`). */
static int margin_vars(want *w, const char *path, nmdi_arena *a, nmdi_error *err)
{
    nmdi_table *m = NULL;
    nmdi_csv_opts o = {0, 1, 1};
    if (nmdi_table_read_csv(&m, path, &o, err))
        return err->code;
    int cv = nmdi_table_col(m, "variable");
    for (size_t i = 0; cv >= 0 && i < m->nrows; i++) {
        const char *v = nmdi_table_cell(m, i, (size_t)cv);
        int dup = 0;
        for (size_t k = 0; k < w->n; k++)
            dup |= strcmp(w->names[k], v) == 0;
        if (!dup)
            want_add(w, nmdi_arena_strdup(a, v));
    }
    nmdi_table_free(m);
    return 0;
}

int nmdi_svy_read_csv(nmdi_table **out, const char *path, const nmdi_csv_opts *opts,
                      const nmdi_svy_spec *spec, const nmdi_svy_request *req, size_t nreq,
                      const char *const *by, size_t nby, nmdi_error *err)
{
    *out = NULL;
    nmdi_arena *a = nmdi_arena_new(1 << 20);
    nmdi_table *t = a ? calloc(1, sizeof *t) : NULL;
    if (!t) {
        nmdi_arena_free(a);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    t->arena = a;
    t->path = nmdi_arena_strdup(a, path);
    want w;
    memset(&w, 0, sizeof w);
    for (size_t i = 0; i < spec->nids; i++)
        want_add(&w, spec->ids[i]);
    for (size_t i = 0; i < spec->nfpc; i++)
        want_add(&w, spec->fpc[i]);
    want_add(&w, spec->strata);
    want_add(&w, spec->weights);
    for (size_t i = 0; i < nreq; i++) {
        want_add(&w, req[i].var);
        want_add(&w, req[i].den);
    }
    for (size_t i = 0; i < nby; i++)
        want_add(&w, by[i]);
    if (spec->repweights && *spec->repweights) {
        if (regcomp(&w.re, spec->repweights, REG_EXTENDED | REG_NOSUB) != 0) {
            nmdi_table_free(t);
            return nmdi_error_set(err, NMDI_EDATA, "--repweights: invalid regular expression '%s'",
                                  spec->repweights);
        }
        w.has_re = 1;
    }
    int rc = 0;
    if (spec->calibrate != NMDI_SVY_CAL_NONE && spec->margins)
        rc = margin_vars(&w, spec->margins, a, err);
    nmdi_csv *c = NULL;
    if (!rc)
        rc = nmdi_csv_open(&c, path, opts, err);
    struct stat fst;
    uint64_t fsize = strcmp(path, "-") && stat(path, &fst) == 0 && S_ISREG(fst.st_mode)
                         ? (uint64_t)fst.st_size
                         : 0;
    if (!rc) {
        int r = nmdi_csv_next(c, err);
        if (r == 0)
            rc = nmdi_error_at(err, NMDI_EDATA, path, 1, NULL, "empty file: no header line");
        else if (r < 0)
            rc = err->code ? err->code : NMDI_EDATA;
    }
    size_t nf = 0, *src = NULL;
    nmdi_strmap **intern = NULL;
    const char **cells = NULL;
    long *lines = NULL;
    size_t n = 0, cap = 4096;
    if (!rc) {
        nf = nmdi_csv_nfields(c);
        src = calloc(nf + 1, sizeof *src);
        t->names = nmdi_arena_calloc(a, nf + 1, sizeof(char *));
        if (!src || !t->names)
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        for (size_t i = 0; !rc && i < nf; i++) {
            const char *s = nmdi_csv_field(c, i);
            size_t len = nmdi_csv_field_len(c, i);
            if (opts && opts->trim)
                nmdi_str_trim(&s, &len);
            char *name = nmdi_arena_strndup(a, s, len);
            if (name && wanted(&w, name)) {
                src[t->ncols] = i;
                t->names[t->ncols++] = name;
            }
        }
        intern = calloc(t->ncols + 1, sizeof *intern);
        cells = malloc(cap * (t->ncols ? t->ncols : 1) * sizeof *cells);
        lines = malloc(cap * sizeof *lines);
        if (!rc && (!intern || !cells || !lines))
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        for (size_t k = 0; !rc && k < t->ncols; k++)
            if (!(intern[k] = nmdi_strmap_new()))
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    while (!rc) {
        int r = nmdi_csv_next(c, err);
        if (r == 0)
            break;
        if (r < 0) {
            rc = err->code ? err->code : NMDI_EDATA;
            break;
        }
        if (nmdi_csv_nfields(c) != nf) {
            rc = nmdi_error_at(err, NMDI_EDATA, path, nmdi_csv_line(c), NULL,
                               "expected %zu fields as in the header, found %zu", nf,
                               nmdi_csv_nfields(c));
            break;
        }
        if (n == cap) {
            /* size the arrays for the whole file from the bytes per record so
             * far (a plain file), else double them */
            size_t ncap = cap * 2;
            uint64_t used = nmdi_csv_bytes(c);
            if (fsize > 0 && used > 0) {
                double est = (double)fsize / (double)used * (double)n * 1.02 + 1024;
                if (est > (double)ncap && est < 1e12)
                    ncap = (size_t)est;
            }
            cap = ncap;
            const char **nc = realloc(cells, cap * (t->ncols ? t->ncols : 1) * sizeof *cells);
            long *nl = realloc(lines, cap * sizeof *lines);
            if (nc)
                cells = nc;
            if (nl)
                lines = nl;
            if (!nc || !nl) {
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                break;
            }
        }
        for (size_t k = 0; k < t->ncols && !rc; k++) {
            const char *s = nmdi_csv_field(c, src[k]);
            size_t len = nmdi_csv_field_len(c, src[k]);
            const char *v = "";
            if (len && intern[k]) {
                int ins;
                int64_t *slot = nmdi_strmap_put(intern[k], s, len, &ins);
                if (slot && ins)
                    *slot = (int64_t)(intptr_t)nmdi_arena_strndup(a, s, len);
                v = slot ? (const char *)(intptr_t)*slot : NULL;
                if (nmdi_strmap_count(intern[k]) > INTERN_MAX) { /* a continuous variable */
                    nmdi_strmap_free(intern[k]);
                    intern[k] = NULL;
                }
            } else if (len) {
                v = nmdi_arena_strndup(a, s, len);
            }
            if (!v)
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            cells[n * t->ncols + k] = v;
        }
        lines[n++] = nmdi_csv_line(c);
    }
    nmdi_csv_close(c);
    for (size_t k = 0; intern && k < t->ncols; k++)
        nmdi_strmap_free(intern[k]);
    free(intern);
    free(src);
    if (w.has_re)
        regfree(&w.re);
    if (!rc) {
        t->nrows = n;
        t->cells = nmdi_arena_alloc(a, (n ? n : 1) * (t->ncols ? t->ncols : 1) * sizeof *cells + 1);
        t->lines = nmdi_arena_alloc(a, (n ? n : 1) * sizeof *lines);
        if (!t->cells || !t->lines) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        } else {
            memcpy((void *)t->cells, cells, n * t->ncols * sizeof *cells);
            memcpy(t->lines, lines, n * sizeof *lines);
        }
    }
    free(cells);
    free(lines);
    if (rc) {
        nmdi_table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}
