/*
 * cube.c — the statistical cube (nmdi/cube.h): cells with codes, value and
 * attributes; CSV serialisation with atomic save (write to a temporary file,
 * fsync, rename) so that a crash never leaves a half-written cube.
 */
#include "nmdi/cube.h"
#include "nmdi/csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct nmdi_cube {
    size_t ndims;
    char **dims;
    nmdi_cell *cells;
    size_t ncells, cap;
    nmdi_arena *arena;
    nmdi_strmap *index; /* joined codes → cell index + 1 */
};

static const char *cell_fields[] = {"value", "se", "cv", "ci_low", "ci_high",
                                    "n", "ckey", "OBS_STATUS", "CONF_STATUS"};
#define NFIELDS (sizeof cell_fields / sizeof cell_fields[0])

nmdi_cube *nmdi_cube_new(size_t ndims, const char *const *dims)
{
    nmdi_cube *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->arena = nmdi_arena_new(1 << 16);
    c->ndims = ndims;
    c->dims = c->arena ? nmdi_arena_calloc(c->arena, ndims + 1, sizeof(char *)) : NULL;
    if (!c->dims) {
        nmdi_cube_free(c);
        return NULL;
    }
    for (size_t i = 0; i < ndims; i++)
        if (!(c->dims[i] = nmdi_arena_strdup(c->arena, dims[i]))) {
            nmdi_cube_free(c);
            return NULL;
        }
    return c;
}

void nmdi_cube_free(nmdi_cube *c)
{
    if (!c)
        return;
    free(c->cells);
    nmdi_strmap_free(c->index);
    nmdi_arena_free(c->arena);
    free(c);
}

size_t nmdi_cube_ndims(const nmdi_cube *c) { return c->ndims; }
const char *nmdi_cube_dim(const nmdi_cube *c, size_t i) { return c->dims[i]; }
size_t nmdi_cube_ncells(const nmdi_cube *c) { return c->ncells; }
nmdi_cell *nmdi_cube_cell(nmdi_cube *c, size_t i) { return &c->cells[i]; }

int nmdi_cube_dim_index(const nmdi_cube *c, const char *name)
{
    for (size_t i = 0; i < c->ndims; i++)
        if (strcmp(c->dims[i], name) == 0)
            return (int)i;
    return -1;
}

void nmdi_cell_init(nmdi_cell *cell)
{
    memset(cell, 0, sizeof *cell);
    cell->value = cell->se = cell->cv = cell->ci_low = cell->ci_high = NAN;
    cell->ckey = NAN;
    strcpy(cell->obs_status, NMDI_OBS_NORMAL);
    strcpy(cell->conf_status, NMDI_CONF_FREE);
}

const char *nmdi_cube_intern(nmdi_cube *c, const char *s)
{
    return nmdi_arena_strdup(c->arena, s ? s : "");
}

/* key of a code tuple: codes joined by \x1f */
static char *join_codes(const nmdi_cube *c, const char *const *codes, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; i < c->ndims; i++)
        n += strlen(codes[i]) + 1;
    char *k = malloc(n + 1);
    if (!k)
        return NULL;
    size_t p = 0;
    for (size_t i = 0; i < c->ndims; i++) {
        size_t l = strlen(codes[i]);
        memcpy(k + p, codes[i], l);
        p += l;
        k[p++] = '\x1f';
    }
    k[p] = 0;
    *len = p;
    return k;
}

int nmdi_cube_add(nmdi_cube *c, const char *const *codes, const nmdi_cell *cell)
{
    if (c->ncells == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        nmdi_cell *n = realloc(c->cells, ncap * sizeof *n);
        if (!n)
            return NMDI_EINTERNAL;
        c->cells = n;
        c->cap = ncap;
    }
    nmdi_cell *d = &c->cells[c->ncells];
    *d = *cell;
    d->codes = nmdi_arena_calloc(c->arena, c->ndims ? c->ndims : 1, sizeof(char *));
    if (!d->codes)
        return NMDI_EINTERNAL;
    for (size_t i = 0; i < c->ndims; i++)
        if (!(d->codes[i] = nmdi_arena_strdup(c->arena, codes[i] ? codes[i] : "")))
            return NMDI_EINTERNAL;
    if (c->index) {
        size_t len;
        char *k = join_codes(c, d->codes, &len);
        int64_t *v = k ? nmdi_strmap_put(c->index, k, len, NULL) : NULL;
        free(k);
        if (!v)
            return NMDI_EINTERNAL;
        *v = (int64_t)c->ncells + 1;
    }
    c->ncells++;
    return 0;
}

static int build_index(nmdi_cube *c)
{
    nmdi_strmap_free(c->index);
    c->index = nmdi_strmap_new();
    if (!c->index)
        return -1;
    for (size_t i = 0; i < c->ncells; i++) {
        size_t len;
        char *k = join_codes(c, c->cells[i].codes, &len);
        int64_t *v = k ? nmdi_strmap_put(c->index, k, len, NULL) : NULL;
        free(k);
        if (!v)
            return -1;
        *v = (int64_t)i + 1;
    }
    return 0;
}

nmdi_cell *nmdi_cube_find(nmdi_cube *c, const char *const *codes)
{
    if (!c->index && build_index(c) != 0)
        return NULL;
    size_t len;
    char *k = join_codes(c, codes, &len);
    if (!k)
        return NULL;
    int64_t *v = nmdi_strmap_get(c->index, k, len);
    free(k);
    return v && *v > 0 ? &c->cells[*v - 1] : NULL;
}

/* qsort_r (GNU) passes the number of dimensions */
static int cmp_cells(const void *a, const void *b, void *arg)
{
    const nmdi_cell *x = a, *y = b;
    size_t nd = *(const size_t *)arg;
    for (size_t i = 0; i < nd; i++) {
        int xt = strcmp(x->codes[i], "_T") == 0, yt = strcmp(y->codes[i], "_T") == 0;
        if (xt != yt)
            return xt - yt;
        int r = strcmp(x->codes[i], y->codes[i]);
        if (r)
            return r;
    }
    return 0;
}

void nmdi_cube_sort(nmdi_cube *c)
{
    size_t nd = c->ndims;
    if (c->ncells > 1)
        qsort_r(c->cells, c->ncells, sizeof *c->cells, cmp_cells, &nd);
    nmdi_strmap_free(c->index);
    c->index = NULL;
}

static void put_num(FILE *f, double v)
{
    if (isnan(v))
        return;
    char buf[32];
    nmdi_fmt_double(v, buf);
    fputs(buf, f);
}

int nmdi_cube_write_csv(const nmdi_cube *c, FILE *f)
{
    for (size_t i = 0; i < c->ndims; i++) {
        nmdi_csv_put(f, c->dims[i]);
        fputc(',', f);
    }
    for (size_t i = 0; i < NFIELDS; i++)
        fprintf(f, "%s%s", cell_fields[i], i + 1 < NFIELDS ? "," : "\n");
    for (size_t r = 0; r < c->ncells; r++) {
        const nmdi_cell *x = &c->cells[r];
        for (size_t i = 0; i < c->ndims; i++) {
            nmdi_csv_put(f, x->codes[i]);
            fputc(',', f);
        }
        put_num(f, x->value);
        fputc(',', f);
        put_num(f, x->se);
        fputc(',', f);
        put_num(f, x->cv);
        fputc(',', f);
        put_num(f, x->ci_low);
        fputc(',', f);
        put_num(f, x->ci_high);
        if (x->n >= 0)
            fprintf(f, ",%lld,", (long long)x->n);
        else
            fputs(",,", f); /* hidden or unknown (e.g. a suppressed cell) */
        put_num(f, x->ckey);
        fprintf(f, ",%s,%s\n", x->obs_status, x->conf_status);
    }
    return ferror(f) ? NMDI_EINTERNAL : 0;
}

int nmdi_cube_save(const nmdi_cube *c, const char *path, nmdi_error *err)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        nmdi_error_at(err, NMDI_EINTERNAL, tmp, 0, NULL, "cannot write: %s", strerror(errno));
        free(tmp);
        return NMDI_EINTERNAL;
    }
    int rc = nmdi_cube_write_csv(c, f);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = NMDI_EINTERNAL;
    if (fclose(f) != 0)
        rc = NMDI_EINTERNAL;
    if (rc || rename(tmp, path) != 0) {
        nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot write: %s", strerror(errno));
        unlink(tmp);
        free(tmp);
        return NMDI_EINTERNAL;
    }
    free(tmp);
    return 0;
}

static double get_num(const char *s, const char *path, long line, const char *field, int *bad,
                      nmdi_error *err)
{
    if (!*s)
        return NAN;
    double v;
    if (nmdi_parse_double(s, &v) != 0) {
        if (!*bad)
            nmdi_error_at(err, NMDI_EDATA, path, line, field, "not a number: '%s'", s);
        *bad = 1;
        return NAN;
    }
    return v;
}

int nmdi_cube_load(nmdi_cube **out, const char *path, nmdi_error *err)
{
    nmdi_table *t;
    int rc = nmdi_table_read_csv(&t, path, NULL, err);
    if (rc)
        return rc;
    if (t->ncols < NFIELDS || nmdi_table_col(t, "value") != (int)(t->ncols - NFIELDS)) {
        nmdi_table_free(t);
        return nmdi_error_at(err, NMDI_EDATA, path, 1, NULL,
                             "not a cube file: the header must end with "
                             "value,se,cv,ci_low,ci_high,n,ckey,OBS_STATUS,CONF_STATUS");
    }
    size_t nd = t->ncols - NFIELDS;
    nmdi_cube *c = nmdi_cube_new(nd, (const char *const *)t->names);
    if (!c) {
        nmdi_table_free(t);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    int bad = 0;
    for (size_t r = 0; r < t->nrows && !bad; r++) {
        nmdi_cell cell;
        nmdi_cell_init(&cell);
        const char **row = &t->cells[r * t->ncols];
        long line = t->lines[r];
        cell.value = get_num(row[nd], path, line, "value", &bad, err);
        cell.se = get_num(row[nd + 1], path, line, "se", &bad, err);
        cell.cv = get_num(row[nd + 2], path, line, "cv", &bad, err);
        cell.ci_low = get_num(row[nd + 3], path, line, "ci_low", &bad, err);
        cell.ci_high = get_num(row[nd + 4], path, line, "ci_high", &bad, err);
        double n = get_num(row[nd + 5], path, line, "n", &bad, err);
        cell.n = isnan(n) ? -1 : (int64_t)n;
        cell.ckey = get_num(row[nd + 6], path, line, "ckey", &bad, err);
        snprintf(cell.obs_status, sizeof cell.obs_status, "%s", row[nd + 7]);
        snprintf(cell.conf_status, sizeof cell.conf_status, "%s", row[nd + 8]);
        if (!bad && nmdi_cube_add(c, row, &cell) != 0) {
            bad = 1;
            nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
    }
    nmdi_table_free(t);
    if (bad) {
        nmdi_cube_free(c);
        return err->code;
    }
    *out = c;
    return 0;
}
