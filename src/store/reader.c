/*
 * reader.c — opens one dataset version of the store (nmdi/store.h): reads the
 * manifest, memory-maps every column file of every partition at open (so that
 * the opened dataset is immutable and can be read from many threads), checks
 * file sizes against row counts, and recomputes checksums on request.
 */
#include "nmdi/store.h"

#include "sum64.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct mapped {
    void *p;
    size_t len;
} mapped;

typedef struct dictv {
    mapped m;
    const char **codes;
    size_t n;
} dictv;

struct nmdi_dataset {
    char *dir;
    size_t nparts, nfields;
    nmdi_store_field *fields;
    size_t *width;       /* per field: bytes of a value in its column file  */
    uint64_t rows, *part_rows;
    mapped *data, *strs; /* nparts * nfields                              */
    dictv *dicts;        /* nfields                                       */
    char *meta;
    json_t *manifest;
};

static const char *ext_of(nmdi_coltype t)
{
    switch (t) {
    case NMDI_COL_I64: return "i64";
    case NMDI_COL_F64: return "f64";
    case NMDI_COL_STR: return "off";
    case NMDI_COL_BYTES: return "bin";
    default: return "i32";
    }
}

static size_t width_of(nmdi_coltype t)
{
    switch (t) {
    case NMDI_COL_I64:
    case NMDI_COL_F64:
    case NMDI_COL_STR: return 8;
    default: return 4;
    }
}

static int map_file(const char *path, mapped *m, nmdi_error *err)
{
    m->p = NULL;
    m->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot open a column file: %s",
                             strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot stat: %s", strerror(errno));
    }
    m->len = (size_t)st.st_size;
    if (m->len) {
        void *p = mmap(NULL, m->len, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            m->len = 0;
            return nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot map: %s", strerror(errno));
        }
        m->p = p;
    }
    close(fd);
    return 0;
}

static void unmap(mapped *m)
{
    if (m->p)
        munmap(m->p, m->len);
    m->p = NULL;
}

static int parse_type(const char *s, nmdi_coltype *t, size_t *width)
{
    if (!strncmp(s, "bytes", 5)) {
        char *end;
        unsigned long w = strtoul(s + 5, &end, 10);
        if (s[5] < '1' || s[5] > '9' || *end || w > NMDI_STORE_BYTES_MAX)
            return -1;
        *t = NMDI_COL_BYTES;
        *width = w;
        return 0;
    }
    static const nmdi_coltype all[] = {NMDI_COL_I32, NMDI_COL_I64, NMDI_COL_F64,
                                       NMDI_COL_STR, NMDI_COL_DATE, NMDI_COL_CODE};
    for (size_t i = 0; i < 6; i++)
        if (!strcmp(s, nmdi_coltype_name(all[i]))) {
            *t = all[i];
            *width = width_of(all[i]);
            return 0;
        }
    return -1;
}

void nmdi_dataset_close(nmdi_dataset *ds)
{
    if (!ds)
        return;
    size_t n = ds->nparts * ds->nfields;
    for (size_t i = 0; ds->data && i < n; i++) {
        unmap(&ds->data[i]);
        unmap(&ds->strs[i]);
    }
    for (size_t f = 0; ds->dicts && f < ds->nfields; f++) {
        unmap(&ds->dicts[f].m);
        free(ds->dicts[f].codes);
    }
    free(ds->data);
    free(ds->strs);
    free(ds->dicts);
    free(ds->part_rows);
    free(ds->fields);
    free(ds->width);
    free(ds->meta);
    free(ds->dir);
    json_decref(ds->manifest);
    free(ds);
}

int nmdi_dataset_open(nmdi_dataset **out, const char *dir, nmdi_error *err)
{
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_error_t je;
    json_t *man = json_load_file(path, 0, &je);
    if (!man)
        return nmdi_error_at(err, NMDI_EDATA, path, je.line, NULL, "cannot read the manifest: %s",
                             je.text);
    nmdi_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) {
        json_decref(man);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    ds->manifest = man;
    ds->dir = strdup(dir);
    json_t *jf = json_object_get(man, "fields"), *jp = json_object_get(man, "parts");
    const char *fmt = json_string_value(json_object_get(man, "format"));
    if (!fmt || strcmp(fmt, "nmdi-store-1") || !json_is_array(jf) || !json_is_array(jp)) {
        nmdi_dataset_close(ds);
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "not an nmdi store manifest");
    }
    ds->nfields = json_array_size(jf);
    ds->nparts = json_array_size(jp);
    ds->fields = calloc(ds->nfields + 1, sizeof *ds->fields);
    ds->width = calloc(ds->nfields + 1, sizeof *ds->width);
    ds->part_rows = calloc(ds->nparts + 1, sizeof *ds->part_rows);
    ds->data = calloc(ds->nparts * ds->nfields + 1, sizeof *ds->data);
    ds->strs = calloc(ds->nparts * ds->nfields + 1, sizeof *ds->strs);
    ds->dicts = calloc(ds->nfields + 1, sizeof *ds->dicts);
    if (!ds->dir || !ds->fields || !ds->width || !ds->part_rows || !ds->data || !ds->strs || !ds->dicts) {
        nmdi_dataset_close(ds);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    for (size_t f = 0; f < ds->nfields; f++) {
        json_t *x = json_array_get(jf, f);
        const char *name = json_string_value(json_object_get(x, "name"));
        const char *type = json_string_value(json_object_get(x, "type"));
        if (!name || !type || parse_type(type, &ds->fields[f].type, &ds->width[f])) {
            nmdi_dataset_close(ds);
            return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "bad field %zu in the manifest", f);
        }
        ds->fields[f].name = name; /* owned by the manifest */
    }
    for (size_t p = 0; p < ds->nparts; p++) {
        json_t *x = json_array_get(jp, p);
        ds->part_rows[p] = (uint64_t)json_integer_value(json_object_get(x, "rows"));
        ds->rows += ds->part_rows[p];
        for (size_t f = 0; f < ds->nfields; f++) {
            nmdi_coltype t = ds->fields[f].type;
            size_t i = p * ds->nfields + f;
            snprintf(path, sizeof path, "%s/p%03zu/%s.%s", dir, p, ds->fields[f].name, ext_of(t));
            if (map_file(path, &ds->data[i], err)) {
                nmdi_dataset_close(ds);
                return err->code;
            }
            uint64_t want = (ds->part_rows[p] + (t == NMDI_COL_STR)) * ds->width[f];
            if (ds->data[i].len != want) {
                nmdi_dataset_close(ds);
                return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL,
                                     "column file has %zu bytes, expected %llu: the store is damaged",
                                     ds->data[i].len, (unsigned long long)want);
            }
            if (t == NMDI_COL_STR) {
                snprintf(path, sizeof path, "%s/p%03zu/%s.str", dir, p, ds->fields[f].name);
                if (map_file(path, &ds->strs[i], err)) {
                    nmdi_dataset_close(ds);
                    return err->code;
                }
                const uint64_t *off = ds->data[i].p;
                if (off[ds->part_rows[p]] != ds->strs[i].len) {
                    nmdi_dataset_close(ds);
                    return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL,
                                         "string bytes do not match the offsets: the store is damaged");
                }
            }
        }
    }
    for (size_t f = 0; f < ds->nfields; f++) {
        if (ds->fields[f].type != NMDI_COL_CODE)
            continue;
        dictv *d = &ds->dicts[f];
        snprintf(path, sizeof path, "%s/%s.dict", dir, ds->fields[f].name);
        if (map_file(path, &d->m, err)) {
            nmdi_dataset_close(ds);
            return err->code;
        }
        const char *s = d->m.p;
        size_t n = 0;
        for (size_t k = 0; k < d->m.len; k++)
            n += s[k] == 0;
        if (d->m.len && s[d->m.len - 1] != 0) {
            nmdi_dataset_close(ds);
            return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "dictionary is damaged");
        }
        d->codes = calloc(n + 1, sizeof *d->codes);
        if (!d->codes) {
            nmdi_dataset_close(ds);
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
        for (size_t k = 0, pos = 0; k < n; k++) {
            d->codes[k] = s + pos;
            pos += strlen(s + pos) + 1;
        }
        d->n = n;
    }
    json_t *meta = json_object_get(man, "meta");
    ds->meta = meta ? json_dumps(meta, JSON_COMPACT) : strdup("{}");
    *out = ds;
    return 0;
}

size_t nmdi_dataset_nparts(const nmdi_dataset *ds) { return ds->nparts; }
uint64_t nmdi_dataset_rows(const nmdi_dataset *ds) { return ds->rows; }
uint64_t nmdi_dataset_part_rows(const nmdi_dataset *ds, size_t part)
{
    return part < ds->nparts ? ds->part_rows[part] : 0;
}
size_t nmdi_dataset_nfields(const nmdi_dataset *ds) { return ds->nfields; }
const nmdi_store_field *nmdi_dataset_field(const nmdi_dataset *ds, size_t i)
{
    return i < ds->nfields ? &ds->fields[i] : NULL;
}
const char *nmdi_dataset_meta(const nmdi_dataset *ds) { return ds->meta ? ds->meta : "{}"; }

int nmdi_dataset_find(const nmdi_dataset *ds, const char *name)
{
    for (size_t f = 0; f < ds->nfields; f++)
        if (!strcmp(ds->fields[f].name, name))
            return (int)f;
    return -1;
}

/* str: 1 string, 2 bytes; else want_w 4 (int32, date, code), 8 (int64), 9 (double) */
static const void *column(const nmdi_dataset *ds, size_t part, const char *name, int want_w,
                          int str, nmdi_error *err, size_t *idx)
{
    int f = nmdi_dataset_find(ds, name);
    if (f < 0) {
        nmdi_error_at(err, NMDI_EDATA, ds->dir, 0, name, "no such field in the dataset");
        return NULL;
    }
    nmdi_coltype t = ds->fields[f].type;
    int ok = str == 2 ? t == NMDI_COL_BYTES
             : str ? t == NMDI_COL_STR
                 : (want_w == 4 ? (t == NMDI_COL_I32 || t == NMDI_COL_DATE || t == NMDI_COL_CODE)
                    : want_w == 8 ? t == NMDI_COL_I64
                                  : t == NMDI_COL_F64);
    if (!ok) {
        nmdi_error_at(err, NMDI_EDATA, ds->dir, 0, name, "field is of type %s", nmdi_coltype_name(t));
        return NULL;
    }
    if (part >= ds->nparts) {
        nmdi_error_set(err, NMDI_EINTERNAL, "partition %zu out of range", part);
        return NULL;
    }
    *idx = part * ds->nfields + (size_t)f;
    static const uint64_t zero = 0;
    return ds->data[*idx].p ? ds->data[*idx].p : (const void *)&zero;
}

int nmdi_dataset_i32(const nmdi_dataset *ds, size_t part, const char *name, const int32_t **out,
                     nmdi_error *err)
{
    size_t i;
    *out = column(ds, part, name, 4, 0, err, &i);
    return *out ? 0 : err->code;
}

int nmdi_dataset_i64(const nmdi_dataset *ds, size_t part, const char *name, const int64_t **out,
                     nmdi_error *err)
{
    size_t i;
    *out = column(ds, part, name, 8, 0, err, &i);
    return *out ? 0 : err->code;
}

int nmdi_dataset_f64(const nmdi_dataset *ds, size_t part, const char *name, const double **out,
                     nmdi_error *err)
{
    size_t i;
    *out = column(ds, part, name, 9, 0, err, &i);
    return *out ? 0 : err->code;
}

int nmdi_dataset_str(const nmdi_dataset *ds, size_t part, const char *name, const uint64_t **off,
                     const char **bytes, nmdi_error *err)
{
    size_t i;
    *off = column(ds, part, name, 8, 1, err, &i);
    if (!*off)
        return err->code;
    *bytes = ds->strs[i].p ? ds->strs[i].p : "";
    return 0;
}

int nmdi_dataset_bytes(const nmdi_dataset *ds, size_t part, const char *name,
                       const unsigned char **out, size_t *width, nmdi_error *err)
{
    size_t i;
    *out = column(ds, part, name, 0, 2, err, &i);
    if (!*out)
        return err->code;
    *width = ds->width[i % ds->nfields];
    return 0;
}

size_t nmdi_dataset_width(const nmdi_dataset *ds, size_t i)
{
    return i < ds->nfields && ds->fields[i].type == NMDI_COL_BYTES ? ds->width[i] : 0;
}

static void populate(const mapped *m)
{
    if (!m->p || !m->len)
        return;
#ifdef MADV_POPULATE_READ
    if (madvise(m->p, m->len, MADV_POPULATE_READ) == 0)
        return;
#endif
    (void)madvise(m->p, m->len, MADV_WILLNEED);
}

void nmdi_dataset_populate(const nmdi_dataset *ds, size_t part, const char *name)
{
    int f = nmdi_dataset_find(ds, name);
    if (f < 0 || part >= ds->nparts)
        return;
    size_t i = part * ds->nfields + (size_t)f;
    populate(&ds->data[i]);
    if (ds->fields[f].type == NMDI_COL_STR)
        populate(&ds->strs[i]);
}

const char *const *nmdi_dataset_dict(const nmdi_dataset *ds, const char *name, size_t *n)
{
    int f = nmdi_dataset_find(ds, name);
    if (f < 0 || ds->fields[f].type != NMDI_COL_CODE) {
        if (n)
            *n = 0;
        return NULL;
    }
    if (n)
        *n = ds->dicts[f].n;
    return ds->dicts[f].codes;
}

static int check_sum(const char *path, const void *p, size_t len, json_t *entry, nmdi_error *err)
{
    const char *want = json_string_value(json_object_get(entry, "sum64"));
    char hex[65];
    if (want) {
        sum64 st;
        sum64_init(&st);
        sum64_update(&st, p, len);
        sum64_hex(sum64_final(&st), hex);
    } else {
        /* versions written before sum64 */
        unsigned char h[32];
        want = json_string_value(json_object_get(entry, "blake2b"));
        crypto_generichash(h, 32, p, len, NULL, 0);
        sodium_bin2hex(hex, sizeof hex, h, 32);
    }
    if (!want || strcmp(want, hex))
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "checksum mismatch: the store is damaged");
    return 0;
}

int nmdi_dataset_verify(const nmdi_dataset *ds, nmdi_error *err)
{
    if (sodium_init() < 0)
        return nmdi_error_set(err, NMDI_EINTERNAL, "libsodium failed to initialise");
    json_t *jp = json_object_get(ds->manifest, "parts");
    char name[300], path[4096];
    for (size_t p = 0; p < ds->nparts; p++) {
        json_t *files = json_object_get(json_array_get(jp, p), "files");
        for (size_t f = 0; f < ds->nfields; f++) {
            size_t i = p * ds->nfields + f;
            snprintf(name, sizeof name, "%s.%s", ds->fields[f].name, ext_of(ds->fields[f].type));
            snprintf(path, sizeof path, "%s/p%03zu/%s", ds->dir, p, name);
            if (check_sum(path, ds->data[i].p, ds->data[i].len, json_object_get(files, name), err))
                return err->code;
            if (ds->fields[f].type == NMDI_COL_STR) {
                snprintf(name, sizeof name, "%s.str", ds->fields[f].name);
                snprintf(path, sizeof path, "%s/p%03zu/%s", ds->dir, p, name);
                if (check_sum(path, ds->strs[i].p, ds->strs[i].len, json_object_get(files, name),
                              err))
                    return err->code;
            }
        }
    }
    json_t *dicts = json_object_get(ds->manifest, "dicts");
    for (size_t f = 0; f < ds->nfields; f++) {
        if (ds->fields[f].type != NMDI_COL_CODE)
            continue;
        snprintf(name, sizeof name, "%s.dict", ds->fields[f].name);
        snprintf(path, sizeof path, "%s/%s", ds->dir, name);
        if (check_sum(path, ds->dicts[f].m.p, ds->dicts[f].m.len, json_object_get(dicts, name), err))
            return err->code;
    }
    return 0;
}
