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
 *
 * A plain file (comma-separated, no quotes, carriage returns, NUL bytes,
 * byte-order mark or blank lines, every record with the header's number of
 * fields) is read by fast_read from a memory map, cutting records at '\n'
 * and fields at ',' without copying a record; anything else makes it step
 * back and the streaming reader (nmdi_csv) reads the file from the start,
 * so the table and the error messages are the streaming reader's.
 */
#include "survey_internal.h"

#include <fcntl.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* A direct-mapped cache per column of values of at most 7 bytes (the bytes
 * and the length packed in the key, so a hit is exact): most categorical
 * codes are found without hashing the string. */
#define VCACHE 512
typedef struct vcache {
    uint64_t key[VCACHE];
    const char *val[VCACHE];
} vcache;

/* Intern one value of column k (as the streaming path does). */
static const char *keep(nmdi_strmap **intern, vcache *vc, size_t k, nmdi_arena *a, const char *s,
                        size_t len)
{
    if (!len)
        return "";
    if (!intern[k])
        return nmdi_arena_strndup(a, s, len);
    uint64_t key = 0;
    size_t slot = 0;
    if (len <= 7) {
        memcpy(&key, s, len);
        key |= (uint64_t)len << 56;
        slot = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 55) % VCACHE;
        if (vc[k].key[slot] == key)
            return vc[k].val[slot];
    }
    int ins;
    int64_t *sp = nmdi_strmap_put(intern[k], s, len, &ins);
    if (sp && ins)
        *sp = (int64_t)(intptr_t)nmdi_arena_strndup(a, s, len);
    const char *v = sp ? (const char *)(intptr_t)*sp : NULL;
    if (v && len <= 7) {
        vc[k].key[slot] = key;
        vc[k].val[slot] = v;
    }
    if (nmdi_strmap_count(intern[k]) > INTERN_MAX) { /* a continuous variable */
        nmdi_strmap_free(intern[k]);
        intern[k] = NULL;
    }
    return v;
}

/* The plain-file path: 1 read (t filled), 0 step back, < 0 out of memory. */
static int fast_read(nmdi_table *t, const char *path, const nmdi_csv_opts *opts, const want *w)
{
    if (!strcmp(path, "-") || (opts && opts->delim && opts->delim != ','))
        return 0;
    size_t size = 0;
    const char *buf = nmdi_map_file(path, 2, 1, &size);
    if (!buf)
        return 0;
    nmdi_arena *a = t->arena;
    int trim = opts && opts->trim;
    int utf8 = !opts || opts->check_utf8;
    int res = 0;
    size_t nf = 0, ncols = 0, n = 0, cap = 0;
    size_t *src = NULL, *colk = NULL;
    const char **fs = NULL, **cells = NULL;
    size_t *fl = NULL;
    nmdi_strmap **intern = NULL;
    vcache *vc = NULL;
    const char *hl = memchr(buf, '\n', size);
    if (!hl || hl == buf || (unsigned char)buf[0] == 0xEF)
        goto out;
    for (const char *q = buf; q < hl; q++)
        if (*q == '"' || *q == '\r' || *q == ';' || *q == '\t' || *q == '|' || *q == 0)
            goto out; /* quoting, CR or another delimiter: the streaming reader's work */
    nf = 1;
    for (const char *q = buf; q < hl; q++)
        nf += *q == ',';
    if (nf < 2)
        goto out;
    {
        size_t hb;
        if (utf8 && !nmdi_utf8_valid(buf, (size_t)(hl - buf), &hb))
            goto out;
    }
    /* quotes, carriage returns and NUL bytes anywhere: the streaming reader's work */
    if (memchr(hl, '"', size - (size_t)(hl - buf)) || memchr(hl, '\r', size - (size_t)(hl - buf)) ||
        memchr(buf, 0, size))
        goto out;
    src = calloc(nf, sizeof *src);
    colk = malloc(nf * sizeof *colk);
    fs = malloc(nf * sizeof *fs);
    fl = malloc(nf * sizeof *fl);
    t->names = nmdi_arena_calloc(a, nf + 1, sizeof(char *));
    if (!src || !colk || !fs || !fl || !t->names)
        goto oom;
    {
        const char *q = buf;
        for (size_t i = 0; i < nf; i++) {
            const char *c = memchr(q, ',', (size_t)(hl - q));
            const char *fe = c ? c : hl;
            const char *s = q;
            size_t len = (size_t)(fe - q);
            if (trim)
                nmdi_str_trim(&s, &len);
            char *name = nmdi_arena_strndup(a, s, len);
            if (!name)
                goto oom;
            colk[i] = SIZE_MAX;
            if (wanted(w, name)) {
                src[ncols] = i;
                colk[i] = ncols;
                t->names[ncols++] = name;
            }
            q = fe + 1;
        }
    }
    intern = calloc(ncols + 1, sizeof *intern);
    vc = calloc(ncols + 1, sizeof *vc);
    if (!intern || !vc)
        goto oom;
    for (size_t k = 0; k < ncols; k++)
        if (!(intern[k] = nmdi_strmap_new()))
            goto oom;
    /* records: at most one per nf bytes (nf - 1 commas and a '\n'); the
     * pages of the array beyond the records are never touched */
    cap = (size - (size_t)(hl + 1 - buf)) / nf + 2;
    cells = nmdi_arena_alloc(a, cap * (ncols ? ncols : 1) * sizeof *cells + 1);
    if (!cells)
        goto oom;
    const char *p = hl + 1, *end = buf + size;
    const uint64_t ones = 0x0101010101010101ull, low7 = 0x7f7f7f7f7f7f7f7full;
    const uint64_t commas = ones * (uint64_t)',';
    while (p < end) {
        const char *q = memchr(p, '\n', (size_t)(end - p));
        if (!q)
            q = end;
        /* field starts: the commas, found eight bytes at a time */
        size_t k = 1;
        uint64_t high = 0;
        fs[0] = p;
        const char *r = p;
        for (; r + 8 <= q; r += 8) {
            uint64_t x;
            memcpy(&x, r, 8);
            high |= x;
            uint64_t y = x ^ commas;
            uint64_t m = ~(((y & low7) + low7) | y | low7); /* 0x80 in each comma byte */
            while (m) {
                const char *c = r + (__builtin_ctzll(m) >> 3);
                if (k < nf) {
                    fl[k - 1] = (size_t)(c - fs[k - 1]);
                    fs[k] = c + 1;
                }
                k++;
                m &= m - 1;
            }
        }
        for (; r < q; r++) {
            high |= (unsigned char)*r;
            if (*r == ',') {
                if (k < nf) {
                    fl[k - 1] = (size_t)(r - fs[k - 1]);
                    fs[k] = r + 1;
                }
                k++;
            }
        }
        if (k != nf)
            goto out; /* a blank line or another number of fields */
        fl[nf - 1] = (size_t)(q - fs[nf - 1]);
        size_t bad;
        if (utf8 && (high & 0x8080808080808080ull) && !nmdi_utf8_valid(p, (size_t)(q - p), &bad))
            goto out;
        const char **row = cells + n * ncols;
        for (size_t j = 0; j < ncols; j++) {
            const char *s = fs[src[j]];
            size_t len = fl[src[j]];
            if (trim) {
                while (len && (*s == ' ' || *s == '\t'))
                    s++, len--;
                while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
                    len--;
            }
            if (!(row[j] = keep(intern, vc, j, a, s, len)))
                goto oom;
        }
        n++;
        p = q + 1;
    }
    t->ncols = ncols;
    t->nrows = n;
    t->cells = cells;
    t->lines = nmdi_arena_alloc(a, (n ? n : 1) * sizeof(long));
    if (!t->lines)
        goto oom;
    for (size_t i = 0; i < n; i++)
        t->lines[i] = (long)i + 2;
    res = 1;
    goto out;
oom:
    res = -1;
out:
    if (res != 1) {
        t->ncols = 0;
        t->nrows = 0;
        t->names = NULL;
    }
    for (size_t k = 0; intern && k < ncols; k++)
        nmdi_strmap_free(intern[k]);
    free(intern);
    free(vc);
    free(src);
    free(colk);
    free(fs);
    free(fl);
    munmap((void *)buf, size);
    return res;
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
    if (!rc) {
        int f = fast_read(t, path, opts, &w);
        if (f != 0) {
            if (w.has_re)
                regfree(&w.re);
            if (f < 0) {
                nmdi_table_free(t);
                return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            }
            *out = t;
            return 0;
        }
    }
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
