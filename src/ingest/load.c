/*
 * load.c — one delivery of a source into the store (nmdi_ingest_load):
 * plan the columns (mapping, code maps, types, rules, identifiers), stream
 * every file through the reader, convert and validate each record, write
 * records that pass to a new store version (partitioned by the keyed hash of
 * the person key) and the others to the quarantine, then commit the version
 * row, the delivery reports and the quarantine in one catalog transaction.
 * CSV files go through the block pipeline (blocks.c): workers convert
 * record-aligned blocks in parallel (work_row, each with its own memos), the
 * calling thread commits them in file order (nmdi_load_commit), so the result is
 * the same for any thread count (docs/methods-ingest.md).
 *
 * Failure model: the catalog write transaction is held for the whole load;
 * the store version is built in a temporary directory and renamed into
 * place just before the commit. A crash before the rename leaves a .tmp-*
 * directory; a crash between rename and commit leaves a version directory no
 * catalog row names. Both are removed by the next load of the source (which
 * holds the catalog's write lock while it does so). Nothing is visible
 * until the commit.
 */
#include "load_impl.h"

#include "nmdi/catalog.h"
#include "nmdi/codes.h"
#include "nmdi/csv.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

/* ---- planning ------------------------------------------------------------------- */

static int plan_fields(loadst *L, nmdi_error *err)
{
    const nmdi_cfg_source *s = L->src;
    const char *file = L->cfg->path;
    L->nf = s->ncolumns;
    L->f = nmdi_arena_calloc(L->arena, L->nf + 1, sizeof *L->f);
    L->rfields = nmdi_arena_calloc(L->arena, L->nf + 1, sizeof *L->rfields);
    if (!L->f || !L->rfields)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    L->keyf = -1;
    for (size_t i = 0; i < L->nf; i++) {
        const nmdi_cfg_column *c = &s->columns[i];
        pfield *p = &L->f[i];
        p->name = c->field;
        p->column = c->column;
        p->format = c->format;
        p->src = -1;
        const nmdi_std_field *sf = nmdi_record_type_field(L->rt, c->field);
        if (c->type) {
            p->type = nmdi_ftype_parse(c->type);
            if (!p->type)
                return nmdi_error_at(err, NMDI_EDATA, file, c->line, c->column,
                                     "unknown type '%s' (key, date, int, double, code, country, "
                                     "bool, string)", c->type);
            if (sf && sf->type != p->type)
                return nmdi_error_at(err, NMDI_EDATA, file, c->line, c->column,
                                     "standard field '%s' is of type %s, not %s", c->field,
                                     nmdi_ftype_name(sf->type), c->type);
        } else if (sf) {
            p->type = sf->type;
        } else {
            return nmdi_error_at(err, NMDI_EDATA, file, c->line, c->column,
                                 "'%s' is not a field of record type %s: use a standard field "
                                 "(docs/data-model.md) or give field and type", c->field, L->rt->id);
        }
        if (p->format) {
            if (p->type != NMDI_F_DATE)
                return nmdi_error_at(err, NMDI_EDATA, file, c->line, c->column,
                                     "format applies to date fields only");
            if (nmdi_date_format_valid(p->format))
                return nmdi_error_at(err, NMDI_EDATA, file, c->line, c->column,
                                     "bad date format '%s' (use YYYY, MM, DD, M, D)", p->format);
        }
        if (!strcmp(c->field, L->rt->key_field))
            L->keyf = (int)i;
        const char *clid = c->codelist ? c->codelist : sf ? sf->codelist : NULL;
        if (clid && p->type == NMDI_F_CODE) {
            if (!strcmp(clid, "CL_AREA") || !strcmp(clid, "area"))
                p->areas = L->cfg->nareas > 0;
            else if (!(p->cl = nmdi_codes_get(clid)))
                return nmdi_error_at(err, NMDI_EDATA, file, c->line, c->column,
                                     "unknown codelist '%s' (`nmdi codes` lists them)", clid);
        }
        L->rfields[i].name = p->name;
        L->rfields[i].type = p->type;
    }
    for (size_t m = 0; m < s->ncodemaps; m++) {
        const nmdi_cfg_codemap *cm = &s->codemaps[m];
        pfield *p = NULL;
        for (size_t i = 0; i < L->nf; i++)
            if (!strcmp(L->f[i].name, cm->field) || !strcmp(L->f[i].column, cm->field))
                p = &L->f[i];
        if (!p)
            return nmdi_error_at(err, NMDI_EDATA, file, cm->line, cm->field,
                                 "code mapping for a field this source does not map");
        p->cmap = nmdi_strmap_new();
        if (!p->cmap)
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        p->cto = cm->to;
        for (size_t k = 0; k < cm->n; k++) {
            int64_t *slot = nmdi_strmap_put(p->cmap, cm->from[k], strlen(cm->from[k]), NULL);
            if (!slot)
                return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            *slot = (int64_t)k;
        }
    }
    return 0;
}

static int plan_rules(loadst *L, nmdi_error *err)
{
    size_t n = L->src->nrules;
    for (size_t i = 0; i < L->cfg->nrules; i++)
        if (!strcmp(L->cfg->rules[i].record_type, L->rt->id))
            n++;
    L->rules = nmdi_arena_calloc(L->arena, n + 1, sizeof *L->rules);
    if (!L->rules)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    for (int pass = 0; pass < 2; pass++) {
        size_t m = pass ? L->src->nrules : L->cfg->nrules;
        const nmdi_cfg_rule *rs = pass ? L->src->rules : L->cfg->rules;
        for (size_t i = 0; i < m; i++) {
            const nmdi_cfg_rule *r = &rs[i];
            if (!pass && strcmp(r->record_type, L->rt->id))
                continue;
            /* a top-level rule naming fields this source lacks does not apply */
            crule *c = &L->rules[L->nrules];
            int rc = nmdi_rule_compile(L->arena, L->cfg->path, r, L->rfields, L->nf, c, err);
            if (rc && !pass && strstr(err->msg, "does not map")) {
                nmdi_rule_free(c);
                continue;
            }
            if (rc) {
                nmdi_rule_free(c);
                return rc;
            }
            L->nrules++;
            if (r->kind == NMDI_RULE_DATE_FORMAT) {
                L->f[c->field].format = r->format;
                L->f[c->field].fmt_rule = r->id;
            }
        }
    }
    return 0;
}

static int plan_store(loadst *L, nmdi_error *err)
{
    const nmdi_cfg_source *s = L->src;
    L->nid = s->nidents;
    L->id = nmdi_arena_calloc(L->arena, L->nid + 1, sizeof *L->id);
    size_t max = L->nf + 3 * L->nid + 3;
    L->sfields = nmdi_arena_calloc(L->arena, max + 1, sizeof *L->sfields);
    if (!L->id || !L->sfields)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    int n = 0;
    for (size_t i = 0; i < L->nf; i++) {
        L->f[i].st = n;
        L->sfields[n].name = L->f[i].name;
        L->sfields[n++].type = nmdi_ftype_coltype(L->f[i].type);
    }
    for (size_t i = 0; i < L->nid; i++) {
        pident *d = &L->id[i];
        d->cfg = &s->idents[i];
        d->src = -1;
        d->st_hash = d->st_phon = d->st_qgram = -1;
        for (size_t k = 0; k < L->nf; k++)
            if (!strncmp(d->cfg->name, L->f[k].name, strlen(d->cfg->name)) &&
                (!strcmp(L->f[k].name + strlen(d->cfg->name), "_hash") ||
                 !strcmp(L->f[k].name + strlen(d->cfg->name), "_phon") ||
                 !strcmp(L->f[k].name + strlen(d->cfg->name), "_qgram")))
                return nmdi_error_at(err, NMDI_EDATA, L->cfg->path, d->cfg->line, d->cfg->name,
                                     "identifier name clashes with mapped field '%s'", L->f[k].name);
        if (!strcmp(d->cfg->kind, "date") && d->cfg->format && nmdi_date_format_valid(d->cfg->format))
            return nmdi_error_at(err, NMDI_EDATA, L->cfg->path, d->cfg->line, d->cfg->column,
                                 "bad date format '%s'", d->cfg->format);
        static const char *const suffix[] = {"_hash", "_phon", "_qgram"};
        int *slots[] = {&d->st_hash, &d->st_phon, &d->st_qgram};
        for (int e = 0; e < 3; e++) {
            if (!(d->cfg->encodings & (1u << e)))
                continue;
            *slots[e] = n;
            L->sfields[n].name = nmdi_arena_sprintf(L->arena, "%s%s", d->cfg->name, suffix[e]);
            /* the bigram Bloom filter: NMDI_QGRAM_BYTES raw bytes (width set at open) */
            L->sfields[n++].type = e == 2 ? NMDI_COL_BYTES : NMDI_COL_I64;
        }
    }
    L->st_rk = n;
    L->sfields[n].name = "record_key";
    L->sfields[n++].type = NMDI_COL_F64;
    L->st_file = n;
    L->sfields[n].name = "src_file";
    L->sfields[n++].type = NMDI_COL_CODE;
    L->st_line = n;
    L->sfields[n].name = "src_line";
    L->sfields[n++].type = NMDI_COL_I32;
    L->nst = n;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < i; k++)
            if (!strcmp(L->sfields[i].name, L->sfields[k].name))
                return nmdi_error_at(err, NMDI_EDATA, L->cfg->path, L->src->line, L->sfields[i].name,
                                     "source '%s' would store field '%s' twice", L->src->id,
                                     L->sfields[i].name);
    L->vals = nmdi_arena_calloc(L->arena, L->nf + 1, sizeof *L->vals);
    L->vbuf = nmdi_arena_calloc(L->arena, L->nf + 1, sizeof *L->vbuf);
    L->bad = nmdi_arena_calloc(L->arena, L->nf + 1, 1);
    L->norm = nmdi_arena_alloc(L->arena, 1024);
    if (!L->vals || !L->vbuf || !L->norm || !L->bad)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    for (size_t i = 0; i < L->nf; i++)
        if (!(L->vbuf[i] = nmdi_arena_alloc(L->arena, 64)))
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    return 0;
}

static void free_plan(loadst *L)
{
    for (size_t i = 0; L->f && i < L->nf; i++)
        nmdi_strmap_free(L->f[i].cmap);
    for (size_t i = 0; L->rules && i < L->nrules; i++)
        nmdi_rule_free(&L->rules[i]);
}

int nmdi_ingest_check_config(const nmdi_config *cfg, nmdi_error *err)
{
    for (size_t i = 0; i < cfg->nrules; i++)
        if (!nmdi_record_type_find(cfg->rules[i].record_type))
            return nmdi_error_at(err, NMDI_EDATA, cfg->path, cfg->rules[i].line, "record_type",
                                 "unknown record type '%s'", cfg->rules[i].record_type);
    for (size_t i = 0; i < cfg->nsources; i++) {
        loadst L = {0};
        L.cfg = cfg;
        L.src = &cfg->sources[i];
        L.rt = nmdi_record_type_find(L.src->record_type);
        if (!L.rt) {
            size_t n;
            const nmdi_record_type *all = nmdi_record_types(&n);
            char list[256] = "";
            for (size_t k = 0, u = 0; k < n; k++)
                u += (size_t)snprintf(list + u, sizeof list - u, "%s%s", k ? ", " : "", all[k].id);
            return nmdi_error_at(err, NMDI_EDATA, cfg->path, L.src->line, "record_type",
                                 "unknown record type '%s' (%s)", L.src->record_type, list);
        }
        L.arena = nmdi_arena_new(0);
        if (!L.arena)
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        int rc = plan_fields(&L, err);
        if (!rc)
            rc = plan_rules(&L, err);
        if (!rc)
            rc = plan_store(&L, err);
        free_plan(&L);
        nmdi_arena_free(L.arena);
        if (rc)
            return rc;
    }
    return 0;
}

/* Header of a file: locate every mapped column and identifier. */
static int header(void *arg, size_t nf, const char *const *names, nmdi_error *err)
{
    loadst *L = arg;
    L->ncols = nf;
    for (size_t i = 0; i < L->nf; i++)
        L->f[i].src = -1;
    for (size_t i = 0; i < L->nid; i++)
        L->id[i].src = -1;
    char *unmapped = NULL;
    size_t ulen = 0;
    for (size_t c = 0; c < nf; c++) {
        int used = 0;
        for (size_t i = 0; i < L->nf; i++)
            if (!strcmp(L->f[i].column, names[c])) {
                if (L->f[i].src >= 0)
                    return nmdi_error_at(err, NMDI_EDATA, L->curname, 1, names[c],
                                         "column %zu: the header names this column twice", c + 1);
                L->f[i].src = (int)c;
                used = 1;
            }
        for (size_t i = 0; i < L->nid; i++)
            if (!strcmp(L->id[i].cfg->column, names[c])) {
                L->id[i].src = (int)c;
                used = 1;
            }
        if (!used) {
            size_t n = strlen(names[c]);
            char *nu = realloc(unmapped, ulen + n + 2);
            if (!nu) {
                free(unmapped);
                return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            }
            unmapped = nu;
            if (ulen)
                unmapped[ulen++] = ',';
            memcpy(unmapped + ulen, names[c], n + 1);
            ulen += n;
        }
    }
    L->cur->unmapped = unmapped;
    for (size_t i = 0; i < L->nf; i++)
        if (L->f[i].src < 0)
            return nmdi_error_at(err, NMDI_EDATA, L->curname, 1, L->f[i].column,
                                 "the header does not match the mapping of source '%s': column '%s' "
                                 "(for %s) is missing", L->src->id, L->f[i].column, L->f[i].name);
    for (size_t i = 0; i < L->nid; i++)
        if (L->id[i].src < 0)
            return nmdi_error_at(err, NMDI_EDATA, L->curname, 1, L->id[i].cfg->column,
                                 "the header does not match the mapping of source '%s': identifier "
                                 "column '%s' is missing", L->src->id, L->id[i].cfg->column);
    return 0;
}

static int read_csv(loadst *L, const char *path, nmdi_error *err)
{
    nmdi_csv_opts o = {L->src->delimiter, 1, 0};
    nmdi_csv *c;
    if (nmdi_csv_open(&c, path, &o, err))
        return err->code;
    int r = nmdi_csv_next(c, err);
    if (r <= 0) {
        nmdi_csv_close(c);
        if (r == 0)
            return nmdi_error_at(err, NMDI_EDATA, path, 1, NULL, "the file is empty (no header line)");
        return err->code;
    }
    size_t n = nmdi_csv_nfields(c);
    const char **f = malloc((n + 1) * sizeof *f);
    int rc = 0, fd = -1;
    uint64_t data_off = 0;
    if (!f) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto out;
    }
    L->delim = nmdi_csv_delim(c);
    if (L->src->header) {
        for (size_t i = 0; i < n; i++) {
            const char *s = nmdi_csv_field(c, i);
            size_t len = nmdi_csv_field_len(c, i);
            nmdi_str_trim(&s, &len);
            char *nm = nmdi_arena_strndup(L->arena, s, len);
            if (!nm) {
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                goto out;
            }
            f[i] = nm;
        }
        if ((rc = header(L, n, f, err)))
            goto out;
        /* the records start after the header */
        data_off = nmdi_csv_bytes(c);
        L->base = nmdi_csv_next_line(c);
    } else {
        /* no header: columns are named 1, 2, 3, ...; the first record is data */
        for (size_t i = 0; i < n; i++)
            f[i] = nmdi_arena_sprintf(L->arena, "%zu", i + 1);
        if ((rc = header(L, n, f, err)))
            goto out;
        L->base = 1;
    }
    nmdi_csv_close(c);
    c = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot open: %s", strerror(errno));
        goto out;
    }
    if (!L->src->header) {
        /* a byte-order mark is not part of the first record */
        unsigned char bom[3];
        if (pread(fd, bom, 3, 0) == 3 && bom[0] == 0xEF && bom[1] == 0xBB && bom[2] == 0xBF)
            data_off = 3;
    }
    L->rep->bytes += data_off;
    /* the file's checksum: its first data_off bytes, then each block as read */
    crypto_generichash_init(&L->fh, NULL, 0, 32);
    for (uint64_t done = 0; done < data_off;) {
        char hb[4096];
        size_t want = data_off - done < sizeof hb ? (size_t)(data_off - done) : sizeof hb;
        ssize_t got = pread(fd, hb, want, (off_t)done);
        if (got <= 0) {
            rc = nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot read: %s",
                               got < 0 ? strerror(errno) : "file shrank");
            goto out;
        }
        crypto_generichash_update(&L->fh, (const unsigned char *)hb, (size_t)got);
        done += (uint64_t)got;
    }
    if (lseek(fd, (off_t)data_off, SEEK_SET) < 0) {
        rc = nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot seek: %s", strerror(errno));
        goto out;
    }
    nmdi_block_ops ops = {L, nmdi_load_block_work, nmdi_load_block_write, nmdi_load_out_free, nmdi_load_block_read};
    /* NMDI_LOAD_BLOCK_BYTES: tests cut files into tiny blocks (results must not change) */
    const char *bb = getenv("NMDI_LOAD_BLOCK_BYTES");
    size_t block = bb ? (size_t)strtoull(bb, NULL, 10) : 0;
    rc = nmdi_blocks_run(fd, path, L->delim, L->base, L->nwork > 1 ? L->nwork : 0, block, &ops, err);
    if (!rc) {
        unsigned char h[32];
        crypto_generichash_final(&L->fh, h, sizeof h);
        sodium_bin2hex(L->cur->checksum, sizeof L->cur->checksum, h, sizeof h);
    }
out:
    if (fd >= 0)
        close(fd);
    free(f);
    nmdi_csv_close(c);
    return rc;
}

static int file_checksum(const char *path, char hex[65], nmdi_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot open: %s", strerror(errno));
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    unsigned char *buf = malloc(1 << 20);
    if (!buf) {
        fclose(fp);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    size_t r;
    while ((r = fread(buf, 1, 1 << 20, fp)) > 0)
        crypto_generichash_update(&st, buf, r);
    int bad = ferror(fp);
    fclose(fp);
    free(buf);
    if (bad)
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot read");
    unsigned char h[32];
    crypto_generichash_final(&st, h, 32);
    sodium_bin2hex(hex, 65, h, 32);
    return 0;
}

/* Checksums of the delivered files, on a thread of their own while the load
 * runs (ctx->nthreads > 1), else before it. */
typedef struct cksum_job {
    size_t nfiles;
    const char *const *files;
    nmdi_load_file_report *reps;
    int rc;
    nmdi_error err;
} cksum_job;

static void *cksum_run(void *arg)
{
    cksum_job *j = arg;
    nmdi_error_clear(&j->err);
    for (size_t i = 0; i < j->nfiles && !j->rc; i++)
        j->rc = file_checksum(j->files[i], j->reps[i].checksum, &j->err);
    return NULL;
}

static char *lineage_json(loadst *L, const char *const *files, size_t nfiles)
{
    json_t *j = json_object(), *in = json_array();
    for (size_t i = 0; i < nfiles; i++) {
        char *abs = realpath(files[i], NULL);
        json_array_append_new(in, json_pack("{s:s,s:s,s:I,s:I,s:I}", "file", abs ? abs : files[i], "blake2b",
                                            L->rep->files[i].checksum, "read",
                                            (json_int_t)L->rep->files[i].read, "loaded",
                                            (json_int_t)L->rep->files[i].loaded, "quarantined",
                                            (json_int_t)L->rep->files[i].quarantined));
        free(abs);
    }
    json_object_set_new(j, "inputs", in);
    json_object_set_new(j, "source", json_string(L->src->id));
    json_object_set_new(j, "agency", json_string(L->src->agency));
    json_object_set_new(j, "record_type", json_string(L->rt->id));
    json_object_set_new(j, "config", json_string(L->cfg->path));
    json_object_set_new(j, "method", json_string("nmdi load"));
    json_object_set_new(j, "nmdi_version", json_string(NMDI_VERSION));
    json_object_set_new(j, "pseudonym_scheme", json_integer(L->scheme));
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return s;
}

void nmdi_load_report_free(nmdi_load_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfiles; i++) {
        free(r->files[i].file);
        free(r->files[i].unmapped);
    }
    free(r->files);
    free(r->source);
    free(r->record_type);
    free(r->path);
    free(r);
}

int nmdi_ingest_load(const nmdi_ctx *ctx, const char *dir, const char *source, size_t nfiles,
                     const char *const *files, const nmdi_load_opts *opts, nmdi_load_report **out,
                     nmdi_error *err)
{
    *out = NULL;
    nmdi_load_opts defopts = {0};
    loadst L = {0};
    cksum_job ck = {0};
    pthread_t ckt;
    int ck_running = 0;
    L.ctx = ctx;
    L.opts = opts ? opts : &defopts;
    char path[4096];
    nmdi_config *cfg = NULL;
    int rc;
    double t0 = nmdi_now();
    snprintf(path, sizeof path, "%s/nmdi.yaml", dir);
    if ((rc = nmdi_config_load(&cfg, path, err)))
        return rc;
    if ((rc = nmdi_ingest_check_config(cfg, err)))
        goto done;
    L.cfg = cfg;
    L.src = nmdi_config_source(cfg, source);
    if (!L.src) {
        rc = nmdi_error_at(err, NMDI_EDATA, path, 0, NULL,
                           "no source '%s' in the configuration (`nmdi status %s` lists them)",
                           source, dir);
        goto done;
    }
    if (nfiles == 0) {
        rc = nmdi_error_set(err, NMDI_EDATA, "no file to load");
        goto done;
    }
    L.rt = nmdi_record_type_find(L.src->record_type);
    L.arena = nmdi_arena_new(0);
    L.rep = calloc(1, sizeof *L.rep);
    if (!L.arena || !L.rep || !(L.rep->files = calloc(nfiles, sizeof *L.rep->files))) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    L.rep->source = strdup(source);
    L.rep->record_type = strdup(L.rt->id);
    L.rep->nfiles = nfiles;
    for (size_t i = 0; i < nfiles; i++)
        L.rep->files[i].file = strdup(files[i]);
    if ((rc = plan_fields(&L, err)) || (rc = plan_rules(&L, err)) || (rc = plan_store(&L, err)) ||
        (rc = nmdi_pseudo_key_load(dir, L.key, err)) || (rc = nmdi_pseudo_scheme_load(dir, &L.scheme, err)))
        goto done;
    uint64_t total_bytes = 0;
    for (size_t i = 0; i < nfiles; i++) {
        struct stat fst;
        if (stat(files[i], &fst) == 0)
            total_bytes += (uint64_t)fst.st_size;
    }
    /* CSV files are converted by ctx->nthreads workers (ReadStat files by one) */
    L.nwork = ctx->nthreads > 1 ? ctx->nthreads : 1;
    L.work = calloc((size_t)L.nwork, sizeof *L.work);
    if (!L.work) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    unsigned shift = 0;
    while (shift < 6 && (1 << shift) < L.nwork)
        shift++;
    for (int i = 0; i < L.nwork; i++)
        if (nmdi_load_work_init(&L, &L.work[i], total_bytes, shift)) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            goto done;
        }
    /* every file must open before anything is written; the checksums run
     * alongside the load on a second thread when there is one */
    for (size_t i = 0; i < nfiles; i++) {
        FILE *fp = fopen(files[i], "rb");
        if (!fp) {
            rc = nmdi_error_at(err, NMDI_EDATA, files[i], 0, NULL, "cannot open: %s", strerror(errno));
            goto done;
        }
        fclose(fp);
    }
    /* CSV files are checksummed by the block reader as it reads them */
    ck.nfiles = strcmp(L.src->format, "csv") ? nfiles : 0;
    ck.files = files;
    ck.reps = L.rep->files;
    if (ck.nfiles && ctx->nthreads > 1 && pthread_create(&ckt, NULL, cksum_run, &ck) == 0)
        ck_running = 1;
    else if ((cksum_run(&ck), ck.rc)) {
        *err = ck.err;
        rc = ck.rc;
        goto done;
    }
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    if ((rc = nmdi_catalog_open(&L.cat, path, 0, err)) || (rc = nmdi_catalog_sync_config(L.cat, cfg, err)) ||
        (rc = nmdi_catalog_begin(L.cat, err)))
        goto done;
    int64_t version;
    if ((rc = nmdi_catalog_next_version(L.cat, source, &version, err)))
        goto done;
    char vname[32], store[4096];
    snprintf(vname, sizeof vname, "%lld", (long long)version);
    snprintf(store, sizeof store, "%s/store", dir);
    /* leftovers of crashed loads: we hold the catalog's write lock */
    if ((rc = nmdi_store_clean_tmp(store, source, err)) ||
        (rc = nmdi_store_remove_version(store, source, vname, err)))
        goto done;
    L.rep->version = version;
    char rel[512], now[32];
    snprintf(rel, sizeof rel, "store/%s/%s", source, vname);
    time_t tt = time(NULL);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    nmdi_dsversion v = {0, source, version, source, L.rt->id, rel, 0, 0, 0, cfg->partitions, now, "{}"};
    if ((rc = nmdi_catalog_add_version(L.cat, &v, err)))
        goto done;
    L.version_id = v.id;
    nmdi_store_opts so = {cfg->partitions, L.opts->fail_after_bytes};
    if ((rc = nmdi_store_writer_open(&L.w, store, source, vname, (size_t)L.nst, L.sfields, &so, err)))
        goto done;
    for (int f = 0; f < L.nst; f++)
        if (L.sfields[f].type == NMDI_COL_BYTES &&
            (rc = nmdi_store_writer_set_width(L.w, (size_t)f, NMDI_QGRAM_BYTES, err)))
            goto done;
    /* the column files go to the disk while the load runs (the final sync then waits for little) */
    if (total_bytes >= ((uint64_t)64 << 20))
        nmdi_store_writer_write_behind(L.w);
    nmdi_progress_begin(&L.prog, ctx, "load", 0);
    for (size_t i = 0; i < nfiles && !rc; i++) {
        L.cur = &L.rep->files[i];
        L.curname = files[i];
        if (!strcmp(L.src->format, "csv"))
            rc = read_csv(&L, files[i], err);
        else
        {
            rc = nmdi_readstat_read(files[i], L.src->format, header, nmdi_load_rs_row, &L, &L.rep->bytes, err);
            if (!rc && L.rsout && L.rsout->nrec)
                rc = nmdi_load_commit(&L, L.rsout, 1, err);
            if (L.rsout)
                nmdi_load_out_reset(L.rsout);
        }
    }
    nmdi_progress_end(&L.prog);
    if (ck_running) {
        pthread_join(ckt, NULL);
        ck_running = 0;
        if (!rc && ck.rc) {
            *err = ck.err;
            rc = ck.rc;
        }
    }
    if (rc)
        goto done;
    char *lin = lineage_json(&L, files, nfiles);
    char *vdir = NULL;
    nmdi_store_writer *w = L.w;
    L.w = NULL;
    rc = nmdi_store_writer_finish(w, lin, &vdir, err);
    if (!rc)
        rc = nmdi_catalog_update_version(L.cat, L.version_id, (int64_t)L.rep->read, (int64_t)L.rep->loaded,
                                         (int64_t)L.rep->quarantined, lin, err);
    for (size_t i = 0; i < nfiles && !rc; i++)
        rc = nmdi_catalog_add_delivery(L.cat, L.version_id, files[i], L.rep->files[i].checksum,
                                       (int64_t)L.rep->files[i].read, (int64_t)L.rep->files[i].loaded,
                                       (int64_t)L.rep->files[i].quarantined, err);
    if (!rc)
        rc = nmdi_catalog_commit(L.cat, err);
    free(lin);
    if (rc && vdir) {
        nmdi_error keep = *err;
        nmdi_store_remove_version(store, source, vname, err);
        *err = keep;
    }
    L.rep->path = vdir;
done:
    if (ck_running)
        pthread_join(ckt, NULL);
    if (L.w)
        nmdi_store_writer_abort(L.w);
    if (L.cat) {
        nmdi_catalog_rollback(L.cat);
        nmdi_catalog_close(L.cat);
    }
    sodium_memzero(L.key, sizeof L.key);
    for (int i = 0; L.work && i < L.nwork; i++)
        nmdi_load_work_free(&L, &L.work[i]);
    free(L.work);
    free(L.order);
    free(L.pstart);
    nmdi_load_out_free(NULL, L.rsout);
    free_plan(&L);
    nmdi_arena_free(L.arena);
    nmdi_config_free(cfg);
    if (L.rep)
        L.rep->seconds = nmdi_now() - t0;
    if (rc) {
        nmdi_load_report_free(L.rep);
        return rc;
    }
    *out = L.rep;
    return 0;
}

int nmdi_ingest_open_latest(const char *dir, const char *dataset, nmdi_dataset **out, nmdi_error *err)
{
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    nmdi_catalog *c;
    int rc = nmdi_catalog_open(&c, path, 1, err);
    if (rc)
        return rc;
    nmdi_arena *a = nmdi_arena_new(0);
    nmdi_dsversion v;
    int r = a ? nmdi_catalog_latest(c, dataset, &v, a, err) : -1;
    nmdi_catalog_close(c);
    if (r <= 0) {
        nmdi_arena_free(a);
        if (r == 0)
            return nmdi_error_set(err, NMDI_EDATA, "no version of dataset '%s' has been loaded", dataset);
        return err->code ? err->code : NMDI_EINTERNAL;
    }
    snprintf(path, sizeof path, "%s/%s", dir, v.path);
    nmdi_arena_free(a);
    return nmdi_dataset_open(out, path, err);
}
