/*
 * export.c — writes a dataset version back out as CSV or Stata (nmdi export).
 * Reads the store partition by partition through the column reader, so
 * memory stays bounded by one row; identifiers stay pseudonymised (keys are
 * written as 16 hex digits of their keyed hash). Stata files are written with
 * ReadStat's writer into a temporary file renamed into place.
 */
#include "nmdi/catalog.h"
#include "nmdi/csv.h"
#include "nmdi/ingest.h"

#include <errno.h>
#include <math.h>
#include <readstat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct col {
    const nmdi_store_field *f;
    const int32_t *i32;
    const int64_t *i64;
    const double *f64;
    const uint64_t *off;
    const char *bytes;
    const unsigned char *bin;  /* BYTES: width bytes per row                */
    size_t width;
    const char *const *dict;
    size_t ndict;
} col;

static int bind_part(const nmdi_dataset *ds, size_t p, col *cols, size_t n, nmdi_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *nm = cols[i].f->name;
        switch (cols[i].f->type) {
        case NMDI_COL_I64:
            if (nmdi_dataset_i64(ds, p, nm, &cols[i].i64, err)) return err->code;
            break;
        case NMDI_COL_F64:
            if (nmdi_dataset_f64(ds, p, nm, &cols[i].f64, err)) return err->code;
            break;
        case NMDI_COL_STR:
            if (nmdi_dataset_str(ds, p, nm, &cols[i].off, &cols[i].bytes, err)) return err->code;
            break;
        case NMDI_COL_BYTES:
            if (nmdi_dataset_bytes(ds, p, nm, &cols[i].bin, &cols[i].width, err)) return err->code;
            break;
        default:
            if (nmdi_dataset_i32(ds, p, nm, &cols[i].i32, err)) return err->code;
        }
    }
    return 0;
}

/* Text of cell (i, row) into buf (for CSV and Stata strings); NULL = missing. */
static const char *cell(const col *c, uint64_t r, char *buf, size_t size)
{
    switch (c->f->type) {
    case NMDI_COL_I32:
        if (c->i32[r] == NMDI_I32_NONE) return NULL;
        snprintf(buf, size, "%d", c->i32[r]);
        return buf;
    case NMDI_COL_DATE:
        if (c->i32[r] == NMDI_DATE_NONE) return NULL;
        nmdi_date_format(c->i32[r], buf);
        return buf;
    case NMDI_COL_CODE:
        if (c->i32[r] < 0 || (size_t)c->i32[r] >= c->ndict) return NULL;
        return c->dict[c->i32[r]];
    case NMDI_COL_I64:
        if (c->i64[r] == NMDI_I64_NONE) return NULL;
        snprintf(buf, size, "%016llx", (unsigned long long)c->i64[r]);
        return buf;
    case NMDI_COL_F64:
        if (isnan(c->f64[r])) return NULL;
        nmdi_fmt_double(c->f64[r], buf);
        return buf;
    case NMDI_COL_STR: {
        size_t len = (size_t)(c->off[r + 1] - c->off[r]);
        if (len >= size) len = size - 1;
        memcpy(buf, c->bytes + c->off[r], len);
        buf[len] = 0;
        return buf;
    }
    case NMDI_COL_BYTES: {
        /* hex ("b1:" + hex for the names' Bloom filters: the text these
         * columns held before they were stored as bytes) */
        nmdi_store_bytes_text(c->f->name, c->bin + r * c->width, c->width, buf, size);
        return buf[0] ? buf : NULL;
    }
    }
    return NULL;
}

static ssize_t write_fd(const void *data, size_t len, void *ctx)
{
    FILE *f = ctx;
    return fwrite(data, 1, len, f) == len ? (ssize_t)len : -1;
}

static void stata_name(const char *in, char out[33])
{
    size_t n = 0;
    for (const char *p = in; *p && n < 32; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                 (n > 0 && *p >= '0' && *p <= '9');
        out[n] = ok ? *p : '_';
        n++;
    }
    out[n] = 0;
}

static int export_stata(const nmdi_dataset *ds, col *cols, size_t n, const char *out, uint64_t *rows,
                        nmdi_error *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return nmdi_error_at(err, NMDI_EDATA, out, 0, NULL, "cannot create: %s", strerror(errno));
    /* string widths first (Stata str1..str2045) */
    size_t *width = calloc(n + 1, sizeof *width);
    readstat_variable_t **vars = calloc(n + 1, sizeof *vars);
    char buf[4096];
    int rc = 0;
    if (!width || !vars) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto out;
    }
    for (size_t p = 0; p < nmdi_dataset_nparts(ds) && !rc; p++) {
        if ((rc = bind_part(ds, p, cols, n, err)))
            break;
        for (uint64_t r = 0; r < nmdi_dataset_part_rows(ds, p); r++)
            for (size_t i = 0; i < n; i++) {
                nmdi_coltype t = cols[i].f->type;
                if (t != NMDI_COL_STR && t != NMDI_COL_CODE && t != NMDI_COL_I64 &&
                    t != NMDI_COL_BYTES)
                    continue;
                const char *s = cell(&cols[i], r, buf, sizeof buf);
                size_t l = s ? strlen(s) : 0;
                if (l > width[i])
                    width[i] = l > 2045 ? 2045 : l;
            }
    }
    if (rc)
        goto out;
    readstat_writer_t *w = readstat_writer_init();
    readstat_set_data_writer(w, write_fd);
    for (size_t i = 0; i < n; i++) {
        char name[33];
        stata_name(cols[i].f->name, name);
        switch (cols[i].f->type) {
        case NMDI_COL_I32:
            vars[i] = readstat_add_variable(w, name, READSTAT_TYPE_INT32, 0);
            break;
        case NMDI_COL_DATE:
            vars[i] = readstat_add_variable(w, name, READSTAT_TYPE_INT32, 0);
            readstat_variable_set_format(vars[i], "%td");
            break;
        case NMDI_COL_F64:
            vars[i] = readstat_add_variable(w, name, READSTAT_TYPE_DOUBLE, 0);
            break;
        default:
            vars[i] = readstat_add_variable(w, name, READSTAT_TYPE_STRING, width[i] ? width[i] : 1);
        }
        readstat_variable_set_label(vars[i], cols[i].f->name);
    }
    readstat_error_t e = readstat_begin_writing_dta(w, f, (long)nmdi_dataset_rows(ds));
    const nmdi_date base = nmdi_date_from_ymd(1960, 1, 1);
    for (size_t p = 0; p < nmdi_dataset_nparts(ds) && e == READSTAT_OK && !rc; p++) {
        if ((rc = bind_part(ds, p, cols, n, err)))
            break;
        for (uint64_t r = 0; r < nmdi_dataset_part_rows(ds, p) && e == READSTAT_OK; r++) {
            e = readstat_begin_row(w);
            for (size_t i = 0; i < n && e == READSTAT_OK; i++) {
                const col *c = &cols[i];
                switch (c->f->type) {
                case NMDI_COL_I32:
                    e = c->i32[r] == NMDI_I32_NONE ? readstat_insert_missing_value(w, vars[i])
                                                   : readstat_insert_int32_value(w, vars[i], c->i32[r]);
                    break;
                case NMDI_COL_DATE:
                    e = c->i32[r] == NMDI_DATE_NONE
                            ? readstat_insert_missing_value(w, vars[i])
                            : readstat_insert_int32_value(w, vars[i], c->i32[r] - base);
                    break;
                case NMDI_COL_F64:
                    e = isnan(c->f64[r]) ? readstat_insert_missing_value(w, vars[i])
                                         : readstat_insert_double_value(w, vars[i], c->f64[r]);
                    break;
                default: {
                    const char *s = cell(c, r, buf, width[i] + 1 < sizeof buf ? width[i] + 1 : sizeof buf);
                    e = readstat_insert_string_value(w, vars[i], s ? s : "");
                }
                }
            }
            if (e == READSTAT_OK)
                e = readstat_end_row(w);
            (*rows)++;
        }
    }
    if (e == READSTAT_OK && !rc)
        e = readstat_end_writing(w);
    readstat_writer_free(w);
    if (!rc && e != READSTAT_OK)
        rc = nmdi_error_at(err, NMDI_EINTERNAL, out, 0, NULL, "Stata writer: %s", readstat_error_message(e));
out:
    free(width);
    free(vars);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = rc ? rc : nmdi_error_at(err, NMDI_EINTERNAL, out, 0, NULL, "cannot write: %s", strerror(errno));
    fclose(f);
    if (!rc && rename(tmp, out) < 0)
        rc = nmdi_error_at(err, NMDI_EINTERNAL, out, 0, NULL, "cannot rename: %s", strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}

static int export_csv(const nmdi_dataset *ds, col *cols, size_t n, const char *out, uint64_t *rows,
                      nmdi_error *err)
{
    int std = !strcmp(out, "-");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out, (long)getpid());
    FILE *f = std ? stdout : fopen(tmp, "wb");
    if (!f)
        return nmdi_error_at(err, NMDI_EDATA, out, 0, NULL, "cannot create: %s", strerror(errno));
    const char **row = calloc(n + 1, sizeof *row);
    char(*bufs)[4096] = calloc(n + 1, sizeof *bufs);
    int rc = 0;
    if (!row || !bufs)
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    for (size_t i = 0; !rc && i < n; i++)
        row[i] = cols[i].f->name;
    if (!rc)
        nmdi_csv_put_row(f, n, row);
    for (size_t p = 0; !rc && p < nmdi_dataset_nparts(ds); p++) {
        if ((rc = bind_part(ds, p, cols, n, err)))
            break;
        for (uint64_t r = 0; r < nmdi_dataset_part_rows(ds, p); r++) {
            for (size_t i = 0; i < n; i++) {
                const char *s = cell(&cols[i], r, bufs[i], sizeof bufs[i]);
                row[i] = s ? s : "";
            }
            nmdi_csv_put_row(f, n, row);
            (*rows)++;
        }
    }
    free(row);
    free(bufs);
    if (fflush(f) != 0 || ferror(f))
        rc = rc ? rc : nmdi_error_at(err, NMDI_EINTERNAL, out, 0, NULL, "cannot write: %s", strerror(errno));
    if (!std) {
        if (!rc && fsync(fileno(f)) != 0)
            rc = nmdi_error_at(err, NMDI_EINTERNAL, out, 0, NULL, "cannot write: %s", strerror(errno));
        fclose(f);
        if (!rc && rename(tmp, out) < 0)
            rc = nmdi_error_at(err, NMDI_EINTERNAL, out, 0, NULL, "cannot rename: %s", strerror(errno));
        if (rc)
            unlink(tmp);
    }
    return rc;
}

typedef struct findv {
    int64_t want;
    char path[1024];
    int found;
} findv;

static int find_version(void *arg, const nmdi_dsversion *v)
{
    findv *f = arg;
    if (f->want == 0 || v->version == f->want) {
        snprintf(f->path, sizeof f->path, "%s", v->path);
        f->found = 1;
    }
    return 0;
}

int nmdi_ingest_export(const char *dir, const char *dataset, int64_t version, const char *format,
                       const char *out, uint64_t *rows, nmdi_error *err)
{
    *rows = 0;
    if (strcmp(format, "csv") && strcmp(format, "stata"))
        return nmdi_error_set(err, NMDI_EDATA, "unknown format '%s' (csv, stata)", format);
    if (!strcmp(format, "stata") && !strcmp(out, "-"))
        return nmdi_error_set(err, NMDI_EDATA, "a Stata file needs an output file (--output FILE)");
    char path[4096];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    nmdi_catalog *cat;
    if (nmdi_catalog_open(&cat, path, 1, err))
        return err->code;
    findv fv = {version, "", 0};
    int rc = nmdi_catalog_versions(cat, dataset, find_version, &fv, err);
    nmdi_catalog_close(cat);
    if (rc)
        return rc;
    if (!fv.found)
        return nmdi_error_set(err, NMDI_EDATA, "no version %s of dataset '%s' (`nmdi datasets %s`)",
                              version ? "with that number" : "at all", dataset, dir);
    snprintf(path, sizeof path, "%s/%s", dir, fv.path);
    nmdi_dataset *ds;
    if (nmdi_dataset_open(&ds, path, err))
        return err->code;
    size_t n = nmdi_dataset_nfields(ds);
    col *cols = calloc(n + 1, sizeof *cols);
    if (!cols) {
        nmdi_dataset_close(ds);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        cols[i].f = nmdi_dataset_field(ds, i);
        cols[i].dict = nmdi_dataset_dict(ds, cols[i].f->name, &cols[i].ndict);
    }
    rc = !strcmp(format, "csv") ? export_csv(ds, cols, n, out, rows, err)
                                : export_stata(ds, cols, n, out, rows, err);
    free(cols);
    nmdi_dataset_close(ds);
    return rc;
}
