/*
 * tabulate_fast.c — the parallel path of nmdi_tabulate_csv for plain files:
 * the file is memory-mapped, cut into a fixed number of chunks at line
 * boundaries, and each chunk is split into fields and aggregated into its own
 * nmdi_tab on the thread pool; the partial tables are merged in chunk order
 * and the cube (with margins from the finest cells) is built once. Only the
 * by, weight, value and record-key fields of a record are looked at beyond
 * finding the commas.
 *
 * It handles the common case only: a comma-separated file without quotes,
 * carriage returns or a byte-order mark. Anything else — or any record the
 * streaming reader would reject (wrong number of fields, invalid UTF-8, a
 * missing, non-numeric or negative weight, "_T" with margins, ...) — makes it
 * step back (return 0) and the streaming reader runs from the start, so
 * results and error messages are the streaming reader's. The chunking does
 * not depend on the number of threads, so a file gives the same cube
 * (floating sums in the same order) with any --threads.
 */
#include "tabulate_internal.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NCHUNKS 8
#define MAXCOLS 4096

typedef struct fast {
    const char *buf;
    size_t size;
    size_t ncols;
    const nmdi_tab_spec *spec;
    int bycol[64], wcol, vcol, kcol;
    size_t start[NCHUNKS + 1];
    nmdi_tab *tab[NCHUNKS];
    atomic_int bad; /* a record the streaming reader must judge */
} fast;

static int num_field(const char *s, size_t len, double *out)
{
    char b[64];
    if (len == 0 || len >= sizeof b)
        return -1;
    memcpy(b, s, len);
    b[len] = 0;
    return nmdi_parse_double(b, out);
}

static int chunk(void *arg, size_t part)
{
    fast *f = arg;
    const nmdi_tab_spec *sp = f->spec;
    const char *p = f->buf + f->start[part], *end = f->buf + f->start[part + 1];
    const char **fs = malloc(f->ncols * sizeof *fs);
    size_t *fl = malloc(f->ncols * sizeof *fl);
    const char *codes[64];
    size_t lens[64];
    int rc = 0;
    if (!fs || !fl || !(f->tab[part] = nmdi_tab_new(sp->nby)))
        rc = NMDI_EINTERNAL;
    while (!rc && p < end && !atomic_load_explicit(&f->bad, memory_order_relaxed)) {
        /* one pass over the line: field starts and lengths, and whether it
         * holds a byte >= 0x80 (then it is validated as UTF-8) */
        const char *q = p;
        size_t nf = 1;
        unsigned high = 0;
        fs[0] = p;
        for (; q < end; q++) {
            unsigned char ch = (unsigned char)*q;
            if (ch == '\n')
                break;
            high |= ch;
            if (ch == '"' || ch == '\r')
                nf = f->ncols + 1; /* quotes and CR: the streaming reader's work */
            if (ch == ',') {
                if (nf < f->ncols) {
                    fl[nf - 1] = (size_t)(q - fs[nf - 1]);
                    fs[nf] = q + 1;
                }
                nf++;
            }
        }
        const char *le = q;
        if (nf <= f->ncols)
            fl[nf - 1] = (size_t)(le - fs[nf - 1]);
        high &= 0x80;
        size_t badoff;
        if (nf != f->ncols || (high && nmdi_utf8_valid(p, (size_t)(le - p), &badoff) != 1)) {
            atomic_store(&f->bad, 1);
            break;
        }
        for (size_t i = 0; i < sp->nby; i++) {
            codes[i] = fs[f->bycol[i]];
            lens[i] = fl[f->bycol[i]];
            if (sp->margins && lens[i] == 2 && memcmp(codes[i], NMDI_TAB_TOTAL, 2) == 0)
                atomic_store(&f->bad, 1);
        }
        double w = 1, y = 0;
        uint64_t rk = 0;
        if (f->wcol >= 0 && (num_field(fs[f->wcol], fl[f->wcol], &w) != 0 || w < 0))
            atomic_store(&f->bad, 1);
        if (f->vcol >= 0 && num_field(fs[f->vcol], fl[f->vcol], &y) != 0)
            atomic_store(&f->bad, 1);
        if (f->kcol >= 0) {
            double k;
            if (num_field(fs[f->kcol], fl[f->kcol], &k) != 0 || nmdi_tab_key_fixed(k, &rk) != 0)
                atomic_store(&f->bad, 1);
        }
        if (atomic_load_explicit(&f->bad, memory_order_relaxed))
            break;
        if (nmdi_tab_add(f->tab[part], codes, lens, w, y, rk) != 0)
            rc = NMDI_EINTERNAL;
        p = le + 1;
    }
    free(fs);
    free(fl);
    return rc;
}

static int find(char **names, size_t n, const char *want)
{
    for (size_t i = 0; want && i < n; i++)
        if (strcmp(names[i], want) == 0)
            return (int)i;
    return -1;
}

int nmdi_tab_csv_fast(const nmdi_ctx *ctx, const char *path, const nmdi_tab_spec *spec,
                      nmdi_cube **out, nmdi_error *err)
{
    if (!strcmp(path, "-") || spec->nby > 64)
        return 0;
    size_t size = 0;
    const char *buf = nmdi_map_file(path, 2, 0, &size);
    if (!buf)
        return 0;
    fast *f = NULL;
    char **names = NULL;
    size_t ncols = 0;
    int done = 0;
    const char *hl = memchr(buf, '\n', size);
    if (!hl || memchr(buf, '"', (size_t)(hl - buf)) || memchr(buf, '\r', (size_t)(hl - buf)) ||
        (unsigned char)buf[0] == 0xEF)
        goto out; /* in the body, quotes and CR make a chunk step back */
    for (const char *q = buf; q < hl; q++)
        if (*q == ';' || *q == '\t' || *q == '|')
            goto out; /* the streaming reader sniffs the delimiter */
    ncols = 1;
    for (const char *q = buf; q < hl; q++)
        ncols += *q == ',';
    if (ncols < 2 || ncols > MAXCOLS || !(names = calloc(ncols, sizeof *names)))
        goto out;
    {
        const char *q = buf;
        for (size_t i = 0; i < ncols; i++) {
            const char *c = memchr(q, ',', (size_t)(hl - q));
            const char *fe = c ? c : hl;
            const char *s = q;
            size_t len = (size_t)(fe - q);
            nmdi_str_trim(&s, &len);
            if (!(names[i] = strndup(s, len)))
                goto out;
            q = fe + 1;
        }
    }
    f = calloc(1, sizeof *f);
    if (!f)
        goto out;
    f->buf = buf;
    f->size = size;
    f->ncols = ncols;
    f->spec = spec;
    for (size_t i = 0; i < spec->nby; i++)
        if ((f->bycol[i] = find(names, ncols, spec->by[i])) < 0)
            goto out;
    f->wcol = find(names, ncols, spec->weight);
    f->vcol = spec->measure != NMDI_TAB_COUNT ? find(names, ncols, spec->var) : -1;
    f->kcol = find(names, ncols, spec->rkey);
    if ((spec->weight && f->wcol < 0) || (spec->measure != NMDI_TAB_COUNT && f->vcol < 0) ||
        (spec->rkey && f->kcol < 0))
        goto out;
    /* chunks at line boundaries; a small file is one chunk */
    size_t body = (size_t)(hl + 1 - buf);
    size_t nch = size - body < (1u << 20) ? 1 : NCHUNKS;
    f->start[0] = body;
    for (size_t k = 1; k < nch; k++) {
        size_t s = body + (size - body) / nch * k;
        if (s < f->start[k - 1])
            s = f->start[k - 1];
        const char *nl = s < size ? memchr(buf + s, '\n', size - s) : NULL;
        f->start[k] = nl ? (size_t)(nl + 1 - buf) : size;
    }
    f->start[nch] = size;
    atomic_init(&f->bad, 0);
    int rc = nmdi_pool_run(ctx, nch, chunk, f);
    if (rc) {
        nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        done = -NMDI_EINTERNAL;
    } else if (!atomic_load(&f->bad)) {
        for (size_t k = 1; k < nch && !rc; k++)
            rc = nmdi_tab_merge(f->tab[0], f->tab[k]);
        if (rc) {
            nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            done = -NMDI_EINTERNAL;
        } else {
            rc = nmdi_tab_cube(f->tab[0], spec->by, spec->measure, spec->margins, f->kcol >= 0, out,
                               err);
            done = rc ? -rc : 1;
        }
    }
    for (size_t k = 0; k < NCHUNKS; k++)
        nmdi_tab_free(f->tab[k]);
out:
    free(f);
    for (size_t i = 0; names && i < ncols; i++)
        free(names[i]);
    free(names);
    munmap((void *)buf, size);
    return done;
}
