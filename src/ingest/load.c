/*
 * load.c — one delivery of a source into the store (nmdi_ingest_load):
 * plan the columns (mapping, code maps, types, rules, identifiers), stream
 * every file through the reader, convert and validate each record, write
 * records that pass to a new store version (partitioned by the keyed hash of
 * the person key) and the others to the quarantine, then commit the version
 * row, the delivery reports and the quarantine in one catalog transaction.
 * CSV files go through the block pipeline (blocks.c): workers convert
 * record-aligned blocks in parallel (work_row, each with its own memos), the
 * calling thread commits them in file order (commit_block), so the result is
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
#include "ingest_impl.h"

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

#define MAX_ISSUES 16   /* quarantine rows recorded per record */
#define VALUE_MAX 200   /* bytes of a value kept in the quarantine */

typedef struct pfield {
    const char *name, *column, *format, *fmt_rule;
    nmdi_ftype type;
    int src;            /* column index in the file                     */
    int st;             /* store field index                            */
    nmdi_strmap *cmap;  /* agency code → index into cto                  */
    const nmdi_codelist *cl; /* built-in codelist the codes must be in    */
    int areas;          /* codes must be areas of the configuration      */
    const char **cto;
} pfield;

typedef struct pident {
    const nmdi_cfg_ident *cfg;
    int src;
    int st_hash, st_phon, st_qgram;
} pident;

typedef struct loadst {
    const nmdi_ctx *ctx;
    const nmdi_config *cfg;
    const nmdi_cfg_source *src;
    const nmdi_record_type *rt;
    const nmdi_load_opts *opts;
    unsigned char key[NMDI_KEY_BYTES];
    nmdi_pseudo_cache pc; /* the writer's (records keyed by their line)      */
    unsigned char *bad;  /* per field: conversion failed in this record */
    nmdi_arena *arena;
    nmdi_catalog *cat;
    nmdi_store_writer *w;
    int64_t version_id;
    size_t nf;
    pfield *f;
    ival *vals;
    char **vbuf;        /* per field: converted text (code maps, case) */
    rule_field *rfields;
    size_t nid;
    pident *id;
    size_t nrules;
    crule *rules;
    int keyf;           /* index of the record type's key field, or -1 */
    int st_rk, st_file, st_line, nst;
    nmdi_store_field *sfields;
    nmdi_load_file_report *cur;
    const char *curname;
    size_t ncols;       /* columns of the current file's header         */
    nmdi_load_report *rep;
    nmdi_progress prog;
    char *norm;
    struct lwork *work; /* per worker thread (one at least)                 */
    int nwork;
    struct bout *rsout; /* rows of a ReadStat file not yet committed         */
    long base;          /* line of the next block's first byte              */
    char delim;         /* of the current CSV file                          */
    crypto_generichash_state fh; /* BLAKE2b of the current CSV file's bytes  */
} loadst;

/* What the memos keep per distinct value (memo.c). */
typedef struct keyres {
    int64_t hash;
    double rk;          /* record key (the record type's key field only)     */
} keyres;
typedef struct identres {
    int64_t hash, phon;
    uint32_t n;         /* length of the normalised value (0: missing)       */
    char qhex[3 + 2 * NMDI_QGRAM_BYTES + 1]; /* last: absent from memos of
                                                identifiers without bigrams */
} identres;

/* Entries of each memo: about one per 64 bytes of the delivery, at least
 * 2^12, at most 2^19 (2^17 for names, whose bigram filters make entries
 * large and whose distinct values are few): at most 38-42 MiB for a key,
 * document or date, 27 MiB for a name, whatever the file size. */
static unsigned memo_log2(uint64_t bytes, int big_entries)
{
    unsigned l = 12;
    while (l < (big_entries ? 17u : 19u) && ((uint64_t)1 << l) * 64 < bytes)
        l++;
    return l;
}

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
            L->sfields[n++].type = e == 2 ? NMDI_COL_STR : NMDI_COL_I64;
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

/* ---- per record -------------------------------------------------------------------- */

/* ---- per record, on a worker ------------------------------------------------------
 * A worker parses a block and turns each record into either a stored row
 * (typed values of every store field, keyed hashes included) or a
 * quarantined record (its issues), both kept in the block's output (bout);
 * the writer then hands them to the store and the catalog in file order
 * (commit_block). Line numbers in a block count from 1; the writer adds the
 * block's first line. */

/* The latest code-map lookups of codes of at most 8 bytes (packed): the
 * index into cto, or -1 when the map lacks the code. */
typedef struct cmcache {
    uint64_t key;
    int32_t idx;
    uint8_t len1;       /* length + 1; 0 = empty */
} cmcache;
#define CM_SLOTS 64

/* A worker's own state: keyed-hash states, memos and scratch values. */
typedef struct lwork {
    nmdi_pseudo_cache pc;
    nmdi_memo *fmemo;   /* per field (KEY fields): value → keyed hash        */
    nmdi_memo *imemo;   /* per identifier: raw value → its encodings          */
    nmdi_strmap **ccache; /* country fields: text → nmdi_country* (or -1)    */
    struct cmcache *cm; /* per field, 64 entries: code-map lookups of short codes */
    ival *vals;
    unsigned char *bad; /* per field: conversion failed in this record        */
    char *norm;
    const char **f;
    size_t *lens, fcap;
} lwork;

/* A record of a block: stored (row >= 0) or quarantined (nq issues from q0). */
typedef struct brec {
    long line;
    int32_t row;
    uint32_t q0;
    uint16_t nq;
    uint8_t columns;    /* quarantined for its number of fields             */
} brec;

typedef struct qent {
    const char *rule, *field;
    size_t val, msg;    /* offsets of NUL-terminated texts in sb              */
} qent;

#define PART_PENDING UINT32_MAX /* the person key depends on the line: the writer's */

typedef struct bout {
    brec *rec;
    size_t nrec, caprec;
    qent *q;
    size_t nq, capq;
    uint64_t *slots;    /* nst words per stored row                          */
    uint32_t *part;
    size_t nrows, caprows;
    char *sb;           /* strings: uint32 length + bytes                     */
    size_t slen, scap;
    long nlines;        /* lines of the block                                 */
    uint64_t bytes;
    int rc;
    nmdi_error err;
} bout;

static int grow_arr(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 1024;
    while (nc < need)
        nc *= 2;
    void *n = realloc(*p, nc * elem);
    if (!n)
        return -1;
    *p = n;
    *cap = nc;
    return 0;
}

/* Copy s into the block's strings; its offset, or SIZE_MAX when out of memory. */
static size_t sb_put(bout *o, const char *s, size_t len, int nul)
{
    size_t need = o->slen + 4 + len + 1;
    if (need > o->scap) {
        size_t nc = o->scap ? o->scap : 1 << 16;
        while (nc < need)
            nc *= 2;
        char *n = realloc(o->sb, nc);
        if (!n)
            return SIZE_MAX;
        o->sb = n;
        o->scap = nc;
    }
    size_t off = o->slen;
    uint32_t l = (uint32_t)len;
    memcpy(o->sb + off, &l, 4);
    if (len)
        memcpy(o->sb + off + 4, s, len);
    o->slen += 4 + len;
    if (nul)
        o->sb[o->slen++] = 0;
    return off;
}

static void bout_free(void *arg, void *p)
{
    (void)arg;
    bout *o = p;
    if (!o)
        return;
    free(o->rec);
    free(o->q);
    free(o->slots);
    free(o->part);
    if (o->sb)
        explicit_bzero(o->sb, o->scap);
    free(o->sb);
    free(o);
}

static void bout_reset(bout *o)
{
    o->nrec = o->nq = o->nrows = o->slen = 0;
    o->nlines = 0;
    o->bytes = 0;
    o->rc = 0;
    nmdi_error_clear(&o->err);
}

/* A worker's state; with n workers each memo has 1/2^shift of the entries
 * (2^shift >= n: all workers' memos together take one worker's memory). */
static int lwork_init(const loadst *L, lwork *W, uint64_t total_bytes, unsigned shift)
{
    nmdi_pseudo_cache_init(&W->pc, L->key);
    W->fmemo = calloc(L->nf + 1, sizeof *W->fmemo);
    W->imemo = calloc(L->nid + 1, sizeof *W->imemo);
    W->ccache = calloc(L->nf + 1, sizeof *W->ccache);
    W->vals = calloc(L->nf + 1, sizeof *W->vals);
    W->bad = calloc(L->nf + 1, 1);
    W->norm = malloc(1024);
    W->cm = calloc((L->nf + 1) * CM_SLOTS, sizeof *W->cm);
    if (!W->fmemo || !W->imemo || !W->ccache || !W->vals || !W->bad || !W->norm || !W->cm)
        return -1;
    for (size_t i = 0; i < L->nf; i++)
        if (L->f[i].type == NMDI_F_KEY &&
            nmdi_memo_init(&W->fmemo[i], memo_log2(total_bytes, 0) - shift, sizeof(keyres)))
            return -1;
    for (size_t i = 0; i < L->nid; i++)
        if (nmdi_memo_init(&W->imemo[i], memo_log2(total_bytes, L->id[i].st_qgram >= 0) - shift,
                           L->id[i].st_qgram >= 0 ? sizeof(identres) : offsetof(identres, qhex)))
            return -1;
    return 0;
}

static void lwork_free(const loadst *L, lwork *W)
{
    for (size_t i = 0; W->fmemo && i < L->nf; i++)
        nmdi_memo_free(&W->fmemo[i]);
    for (size_t i = 0; W->imemo && i < L->nid; i++)
        nmdi_memo_free(&W->imemo[i]);
    for (size_t i = 0; W->ccache && i < L->nf; i++)
        nmdi_strmap_free(W->ccache[i]);
    free(W->fmemo);
    free(W->imemo);
    free(W->ccache);
    free(W->cm);
    free(W->vals);
    free(W->bad);
    if (W->norm)
        explicit_bzero(W->norm, 1024);
    free(W->norm);
    free(W->f);
    free(W->lens);
    nmdi_pseudo_cache_wipe(&W->pc);
}

/* One issue of the current record (the value cut to VALUE_MAX bytes on a
 * UTF-8 boundary). */
static int qadd(bout *o, const char *rule, const char *field, const char *value, size_t vlen,
                const char *msg)
{
    if (grow_arr((void **)&o->q, &o->capq, o->nq + 1, sizeof *o->q))
        return -1;
    char v[VALUE_MAX + 4];
    if (vlen > VALUE_MAX) {
        size_t n = VALUE_MAX;
        while (n > 0 && ((unsigned char)value[n] & 0xC0) == 0x80)
            n--;
        memcpy(v, value, n);
        memcpy(v + n, "...", 4);
        vlen = n + 3;
    } else {
        memcpy(v, value ? value : "", vlen);
        v[vlen] = 0;
    }
    size_t a = sb_put(o, v, vlen, 1), b = sb_put(o, msg, strlen(msg), 1);
    if (a == SIZE_MAX || b == SIZE_MAX)
        return -1;
    o->q[o->nq++] = (qent){rule, field, a, b};
    o->rec[o->nrec - 1].nq++;
    return 0;
}

/* nmdi_str_trim, without the call when both ends are printable ASCII
 * (no white space in any locale: same result). */
static inline void trim(const char **s, size_t *len)
{
    if (*len) {
        unsigned char a = (unsigned char)(*s)[0], b = (unsigned char)(*s)[*len - 1];
        if (a > ' ' && a < 0x7F && b > ' ' && b < 0x7F)
            return;
    }
    nmdi_str_trim(s, len);
}

/* Convert field i from raw text; 0 ok, else fills *rule and *msg. */
static int convert(const loadst *L, lwork *W, size_t i, const char *s, size_t len, const char **rule,
                   const char **msg)
{
    const pfield *p = &L->f[i];
    ival *v = &W->vals[i];
    trim(&s, &len);
    if (p->cmap && len) {
        int64_t idx = -1;
        if (len <= 8) {
            uint64_t key = 0;
            memcpy(&key, s, len);
            cmcache *e = &W->cm[i * CM_SLOTS + (((key + len) * 0x9E3779B97F4A7C15ULL) >> 58)];
            if (e->len1 == len + 1 && e->key == key) {
                idx = e->idx;
            } else {
                int64_t *k = nmdi_strmap_get(p->cmap, s, len);
                idx = k ? *k : -1;
                *e = (cmcache){key, (int32_t)idx, (uint8_t)(len + 1)};
            }
        } else {
            int64_t *k = nmdi_strmap_get(p->cmap, s, len);
            idx = k ? *k : -1;
        }
        if (idx >= 0) {
            s = p->cto[idx];
            len = strlen(s);
        }
    }
    if (len == 0 || (len == 1 && s[0] == '.' && p->type != NMDI_F_STRING)) {
        *v = (ival){V_NULL, 0, NULL, 0};
        return 0;
    }
    char tmp[64];
    switch (p->type) {
    case NMDI_F_KEY:
    case NMDI_F_STRING:
        *v = (ival){V_STR, 0, s, len};
        return 0;
    case NMDI_F_CODE:
        if (p->cl || p->areas) {
            if (len >= sizeof tmp) {
                *rule = "codelist";
                *msg = "code too long";
                return -1;
            }
            memcpy(tmp, s, len);
            tmp[len] = 0;
            int ok = 0;
            if (p->cl)
                ok = strcmp(tmp, "_T") && nmdi_codes_find(p->cl, tmp);
            for (size_t k = 0; p->areas && !ok && k < L->cfg->nareas; k++)
                ok = !strcmp(L->cfg->areas[k].code, tmp);
            if (!ok) {
                *rule = "codelist";
                *msg = p->cl ? "not a code of the field's codelist (map it under codes:)"
                             : "not an area of the configuration (country.areas)";
                return -1;
            }
        }
        *v = (ival){V_STR, 0, s, len};
        return 0;
    case NMDI_F_COUNTRY: {
        if (len >= sizeof tmp || len < 2) {
            *rule = "codelist";
            *msg = "not an ISO 3166-1 country code (map it under codes:)";
            return -1;
        }
        memcpy(tmp, s, len);
        tmp[len] = 0;
        const char *a3 = NULL;
        if (!strcmp(tmp, L->cfg->country_code) || !strcmp(tmp, "XXA") || !strcmp(tmp, "XXB") ||
            !strcmp(tmp, "XXC") || !strcmp(tmp, "XXX") || !strcmp(tmp, "XKX") || !strcmp(tmp, "_U"))
            a3 = s;
        else {
            /* the codelist is searched once per distinct text (at most 4096 kept) */
            const nmdi_country *ct;
            int64_t *slot = W->ccache[i] ? nmdi_strmap_get(W->ccache[i], tmp, len) : NULL;
            if (slot) {
                ct = *slot < 0 ? NULL : (const nmdi_country *)(intptr_t)*slot;
            } else {
                ct = nmdi_country_find(tmp);
                if (!W->ccache[i])
                    W->ccache[i] = nmdi_strmap_new();
                if (W->ccache[i] && nmdi_strmap_count(W->ccache[i]) < 4096 &&
                    (slot = nmdi_strmap_put(W->ccache[i], tmp, len, NULL)))
                    *slot = ct ? (int64_t)(intptr_t)ct : -1;
            }
            if (ct)
                a3 = ct->alpha3, len = strlen(a3);
        }
        if (!a3) {
            *rule = "codelist";
            *msg = "not an ISO 3166-1 country code (alpha-3, alpha-2 or numeric; map others under codes:)";
            return -1;
        }
        *v = (ival){V_STR, 0, a3, len};
        return 0;
    }
    case NMDI_F_DATE: {
        nmdi_date d;
        if (nmdi_ingest_parse_date(p->format, s, len, &d)) {
            *rule = p->fmt_rule ? p->fmt_rule : "type";
            *msg = p->format ? "not a date in the declared format" : "not a date (YYYY-MM-DD)";
            return -1;
        }
        *v = (ival){V_NUM, d, NULL, 0};
        return 0;
    }
    case NMDI_F_BOOL: {
        if (len >= sizeof tmp)
            len = sizeof tmp - 1;
        for (size_t k = 0; k < len; k++)
            tmp[k] = (char)tolower((unsigned char)s[k]);
        tmp[len] = 0;
        int b = -1;
        if (!strcmp(tmp, "1") || !strcmp(tmp, "true") || !strcmp(tmp, "yes") || !strcmp(tmp, "y"))
            b = 1;
        else if (!strcmp(tmp, "0") || !strcmp(tmp, "false") || !strcmp(tmp, "no") || !strcmp(tmp, "n"))
            b = 0;
        if (b < 0) {
            *rule = "type";
            *msg = "not a yes/no value (1/0, true/false, yes/no)";
            return -1;
        }
        *v = (ival){V_NUM, b, NULL, 0};
        return 0;
    }
    case NMDI_F_INT:
    case NMDI_F_DOUBLE: {
        if (len >= sizeof tmp) {
            *rule = "type";
            *msg = "number too long";
            return -1;
        }
        memcpy(tmp, s, len);
        tmp[len] = 0;
        if (p->type == NMDI_F_INT) {
            int64_t x;
            if (nmdi_parse_int64(tmp, &x) || x <= INT32_MIN || x > INT32_MAX) {
                *rule = "type";
                *msg = "not an integer";
                return -1;
            }
            *v = (ival){V_NUM, (double)x, NULL, 0};
        } else {
            double x;
            if (nmdi_parse_double(tmp, &x) || !isfinite(x)) {
                *rule = "type";
                *msg = "not a number";
                return -1;
            }
            *v = (ival){V_NUM, x, NULL, 0};
        }
        return 0;
    }
    }
    return 0;
}

/* The keyed hash of key field i's value (and, for the record type's key,
 * the record key), through the field's memo. */
static const keyres *key_hash(const loadst *L, lwork *W, size_t i, const char *domain, keyres *tmp)
{
    const ival *v = &W->vals[i];
    void *fill = NULL;
    keyres *r = W->fmemo[i].mem ? nmdi_memo_find(&W->fmemo[i], v->s, v->len, &fill) : NULL;
    if (r)
        return r;
    r = fill ? fill : tmp;
    r->hash = nmdi_pseudo_cache_hash(&W->pc, domain, v->s, v->len);
    r->rk = NAN;
    if ((int)i == L->keyf) {
        unsigned char pk[8];
        memcpy(pk, &r->hash, 8);
        int64_t rk = nmdi_pseudo_cache_hash(&W->pc, "record_key", (const char *)pk, 8);
        r->rk = (double)((uint64_t)rk >> 11) * 0x1.0p-53;
    }
    return r;
}

/* The encodings of identifier d's raw value, through its memo. */
static const identres *ident_encode(const loadst *L, lwork *W, size_t i, const char *s, size_t len,
                                    identres *tmp)
{
    const pident *d = &L->id[i];
    void *fill = NULL;
    identres *r = nmdi_memo_find(&W->imemo[i], s, len, &fill);
    if (r)
        return r;
    r = fill ? fill : tmp;
    size_t n = 0;
    if (len && !strcmp(d->cfg->kind, "date")) {
        nmdi_date dt;
        if (!nmdi_ingest_parse_date(d->cfg->format, s, len, &dt)) {
            nmdi_date_format(dt, W->norm);
            n = 10;
        }
    } else if (len) {
        n = nmdi_pseudo_normalise(d->cfg->kind, s, len, W->norm, 1024);
    }
    W->norm[n] = 0;
    r->n = (uint32_t)n;
    r->hash = r->phon = NMDI_I64_NONE;
    if (!n)
        return r;
    if (d->st_hash >= 0)
        r->hash = nmdi_pseudo_cache_hash(&W->pc, d->cfg->kind, W->norm, n);
    if (d->st_phon >= 0) {
        char ph[5];
        nmdi_pseudo_phonetic(W->norm, ph);
        r->phon = nmdi_pseudo_cache_hash(&W->pc, "phonetic", ph, 4);
    }
    if (d->st_qgram >= 0) {
        static const char hexd[] = "0123456789abcdef";
        unsigned char q[NMDI_QGRAM_BYTES];
        nmdi_pseudo_cache_qgram(&W->pc, W->norm, q);
        memcpy(r->qhex, "b1:", 3);
        for (size_t k = 0; k < NMDI_QGRAM_BYTES; k++) {
            r->qhex[3 + 2 * k] = hexd[q[k] >> 4];
            r->qhex[4 + 2 * k] = hexd[q[k] & 15];
        }
        r->qhex[sizeof r->qhex - 1] = 0;
    }
    return r;
}

static inline uint64_t bits_f64(double x)
{
    uint64_t u;
    memcpy(&u, &x, 8);
    return u;
}

/* The store values of a record that passed: one word per store field. */
static int work_store(const loadst *L, lwork *W, bout *o, const char *const *fields,
                      const size_t *lens)
{
    if (o->nrows == o->caprows) {
        size_t nc = o->caprows ? o->caprows * 2 : 1024;
        uint64_t *ns = realloc(o->slots, nc * (size_t)L->nst * sizeof *ns);
        if (!ns)
            return -1;
        o->slots = ns;
        uint32_t *np = realloc(o->part, nc * sizeof *np);
        if (!np)
            return -1;
        o->part = np;
        o->caprows = nc;
    }
    uint64_t *sl = o->slots + o->nrows * (size_t)L->nst;
    keyres tmp;
    /* the memo entries of this record's values, fetched together */
    for (size_t i = 0; i < L->nf; i++)
        if (W->fmemo[i].mem && W->vals[i].kind == V_STR)
            nmdi_memo_prefetch(&W->fmemo[i], W->vals[i].s, W->vals[i].len);
    for (size_t i = 0; i < L->nid; i++) {
        const char *s = fields[L->id[i].src];
        size_t len = lens[L->id[i].src];
        trim(&s, &len);
        nmdi_memo_prefetch(&W->imemo[i], s, len);
    }
    int64_t pkey = 0;
    double rkey = 0;
    uint32_t part = PART_PENDING;
    if (L->keyf >= 0 && W->vals[L->keyf].kind == V_STR) {
        const keyres *k = key_hash(L, W, (size_t)L->keyf, "key", &tmp);
        pkey = k->hash;
        rkey = k->rk;
        part = (uint32_t)((uint64_t)pkey % (uint64_t)L->cfg->partitions);
    }
    for (size_t i = 0; i < L->nf; i++) {
        const ival *v = &W->vals[i];
        int st = L->f[i].st;
        switch (L->f[i].type) {
        case NMDI_F_KEY:
            sl[st] = (uint64_t)(v->kind == V_NULL ? NMDI_I64_NONE
                                : (int)i == L->keyf ? pkey
                                                    : key_hash(L, W, i, "key", &tmp)->hash);
            break;
        case NMDI_F_DATE:
        case NMDI_F_INT:
        case NMDI_F_BOOL:
            sl[st] = (uint64_t)(uint32_t)(v->kind == V_NULL ? NMDI_I32_NONE : (int32_t)v->num);
            break;
        case NMDI_F_DOUBLE:
            sl[st] = bits_f64(v->kind == V_NULL ? NAN : v->num);
            break;
        default:
            if ((sl[st] = sb_put(o, v->s, v->kind == V_NULL ? 0 : v->len, 0)) == SIZE_MAX)
                return -1;
        }
    }
    for (size_t i = 0; i < L->nid; i++) {
        const pident *d = &L->id[i];
        const char *s = fields[d->src];
        size_t len = lens[d->src];
        identres itmp;
        trim(&s, &len);
        const identres *r = ident_encode(L, W, i, s, len, &itmp);
        if (d->st_hash >= 0)
            sl[d->st_hash] = (uint64_t)r->hash;
        if (d->st_phon >= 0)
            sl[d->st_phon] = (uint64_t)r->phon;
        if (d->st_qgram >= 0 &&
            (sl[d->st_qgram] = sb_put(o, r->qhex, r->n ? sizeof r->qhex - 1 : 0, 0)) == SIZE_MAX)
            return -1;
    }
    sl[L->st_rk] = bits_f64(rkey);
    sl[L->st_file] = sl[L->st_line] = 0;
    o->part[o->nrows] = part;
    o->rec[o->nrec - 1].row = (int32_t)o->nrows++;
    return 0;
}

/* One record of a block (line counts from the block's first line). */
static int work_row(const loadst *L, lwork *W, bout *o, size_t nf, const char *const *fields,
                    const size_t *lens, long line, nmdi_error *err)
{
    if (grow_arr((void **)&o->rec, &o->caprec, o->nrec + 1, sizeof *o->rec))
        goto oom;
    brec *rec = &o->rec[o->nrec++];
    *rec = (brec){line, -1, (uint32_t)o->nq, 0, 0};
    if (nf != L->ncols) {
        char v[64], msg[128];
        snprintf(v, sizeof v, "%zu", nf);
        snprintf(msg, sizeof msg, "the record has %zu fields, the header has %zu", nf, L->ncols);
        rec->columns = 1;
        if (qadd(o, "columns", "", v, strlen(v), msg))
            goto oom;
        return 0;
    }
    int issues = 0;
    for (size_t i = 0; i < L->nf; i++) {
        const char *rule = NULL, *msg = NULL;
        W->bad[i] = 0;
        if (convert(L, W, i, fields[L->f[i].src], lens[L->f[i].src], &rule, &msg)) {
            W->vals[i] = (ival){V_NULL, 0, NULL, 0};
            W->bad[i] = 1;
            if (issues++ < MAX_ISSUES &&
                qadd(o, rule, L->f[i].name, fields[L->f[i].src], lens[L->f[i].src], msg))
                goto oom;
        }
    }
    for (size_t r = 0; r < L->nrules; r++) {
        int bad;
        if (nmdi_rule_check(&L->rules[r], W->vals, &bad))
            continue;
        /* a field that failed conversion is reported once, not again as missing */
        if (bad >= 0 && W->bad[bad] && L->rules[r].cfg->kind == NMDI_RULE_REQUIRED)
            continue;
        const char *fname = bad >= 0 ? L->f[bad].name : "";
        const char *val = "";
        size_t vlen = 0;
        if (bad >= 0 && L->f[bad].type != NMDI_F_KEY) {
            val = fields[L->f[bad].src];
            vlen = lens[L->f[bad].src];
        }
        if (issues++ < MAX_ISSUES &&
            qadd(o, L->rules[r].errorcode, fname, val, vlen,
                 L->rules[r].cfg->expr ? L->rules[r].cfg->expr : "validation rule failed"))
            goto oom;
    }
    if (issues)
        return 0;
    if (work_store(L, W, o, fields, lens))
        goto oom;
    return 0;
oom:
    return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory loading %s", L->curname);
}

/* ---- in file order, on the writer ------------------------------------------------ */

static int quarantine(loadst *L, long line, const char *rule, const char *field, const char *value,
                      const char *msg, nmdi_error *err)
{
    return nmdi_catalog_add_quarantine(L->cat, L->version_id, L->curname, line, rule, field, value, msg,
                                       err);
}

/* Hand a block's records to the store and the quarantine; base is the line
 * of the block's first byte. Then report the block's own error, if any. */
static int commit_block(loadst *L, bout *o, long base, nmdi_error *err)
{
    nmdi_store_writer *w = L->w;
    const size_t nst = (size_t)L->nst;
    /* the file's code in the src_file dictionary, looked up at the block's
     * first stored row (the index nmdi_store_put_str would give it) */
    int32_t file_code = -1;
    for (size_t k = 0; k < o->nrec; k++) {
        const brec *rec = &o->rec[k];
        long line = base + rec->line - 1;
        L->cur->read++;
        L->rep->read++;
        if (rec->row < 0) {
            if (rec->columns) {
                L->cur->quarantined++;
                L->rep->quarantined++;
            }
            for (uint32_t q = rec->q0; q < rec->q0 + rec->nq; q++)
                if (quarantine(L, line, o->q[q].rule, o->q[q].field, o->sb + o->q[q].val + 4,
                               o->sb + o->q[q].msg + 4, err))
                    return err->code;
            if (rec->columns)
                continue;
            L->cur->quarantined++;
            L->rep->quarantined++;
            if (L->opts->strict)
                return nmdi_error_at(err, NMDI_EDATA, L->curname, line, NULL,
                                     "record fails validation and --strict refuses the delivery "
                                     "(nothing was loaded)");
            if (L->opts->max_quarantine && L->rep->quarantined > L->opts->max_quarantine)
                return nmdi_error_at(err, NMDI_EDATA, L->curname, line, NULL,
                                     "more than %zu records fail validation: the delivery is refused "
                                     "(nothing was loaded)", L->opts->max_quarantine);
            continue;
        }
        const uint64_t *sl = o->slots + (size_t)rec->row * nst;
        uint32_t part = o->part[rec->row];
        double rkey;
        memcpy(&rkey, &sl[L->st_rk], 8);
        if (part == PART_PENDING) {
            /* no person key: the record is keyed by its source, file and line */
            char buf[600];
            int n = snprintf(buf, sizeof buf, "%s:%s:%ld", L->src->id, L->curname, line);
            int64_t pkey = nmdi_pseudo_cache_hash(&L->pc, "record", buf, (size_t)n);
            unsigned char pk[8];
            memcpy(pk, &pkey, 8);
            int64_t rk = nmdi_pseudo_cache_hash(&L->pc, "record_key", (const char *)pk, 8);
            rkey = (double)((uint64_t)rk >> 11) * 0x1.0p-53;
            part = (uint32_t)((uint64_t)pkey % (uint64_t)L->cfg->partitions);
        }
        if (file_code < 0 &&
            (file_code = nmdi_store_code_index(w, (size_t)L->st_file, L->curname, strlen(L->curname))) < 0)
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory writing the store");
        nmdi_store_row_begin(w, part);
        /* the record key, file and line are the last three store fields */
        for (size_t st = 0; st < (size_t)L->st_rk; st++) {
            uint64_t x = sl[st];
            switch (L->sfields[st].type) {
            case NMDI_COL_I32:
            case NMDI_COL_DATE:
                nmdi_store_put_i32(w, st, (int32_t)(uint32_t)x);
                break;
            case NMDI_COL_I64:
                nmdi_store_put_i64(w, st, (int64_t)x);
                break;
            case NMDI_COL_F64: {
                double d;
                memcpy(&d, &x, 8);
                nmdi_store_put_f64(w, st, d);
                break;
            }
            default: {
                uint32_t len;
                memcpy(&len, o->sb + x, 4);
                nmdi_store_put_str(w, st, o->sb + x + 4, len);
            }
            }
        }
        nmdi_store_put_f64(w, (size_t)L->st_rk, rkey);
        nmdi_store_put_i32(w, (size_t)L->st_file, file_code);
        nmdi_store_put_i32(w, (size_t)L->st_line, (int32_t)line);
        if (nmdi_store_row_end(w, err))
            return err->code;
        L->cur->loaded++;
        L->rep->loaded++;
    }
    nmdi_progress_update(&L->prog, L->rep->read);
    L->rep->bytes += o->bytes;
    if (o->rc) {
        *err = o->err;
        if (err->line > 0)
            err->line += base - 1;
        return o->rc;
    }
    return 0;
}

/* ---- the pipeline's callbacks ------------------------------------------------------- */

static int fields_room(lwork *W, size_t k)
{
    if (k <= W->fcap)
        return 0;
    size_t nc = k + 16;
    const char **nf = realloc(W->f, nc * sizeof *nf);
    if (nf)
        W->f = nf;
    size_t *nl = realloc(W->lens, nc * sizeof *nl);
    if (nl)
        W->lens = nl;
    if (!nf || !nl)
        return -1;
    W->fcap = nc;
    return 0;
}

static void block_work(void *arg, int idx, nmdi_block *b)
{
    loadst *L = arg;
    lwork *W = &L->work[idx];
    bout *o = b->out;
    if (!o && !(o = b->out = calloc(1, sizeof *o)))
        return; /* the writer reports it */
    bout_reset(o);
    nmdi_csv_opts copts = {L->delim, 1, 0};
    nmdi_csv *c;
    if ((o->rc = nmdi_csv_open_mem(&c, b->data, b->len, L->curname, &copts, 1, &o->err)))
        return;
    int r;
    while ((r = nmdi_csv_next(c, &o->err)) > 0) {
        size_t k = nmdi_csv_nfields(c);
        if (fields_room(W, k)) {
            o->rc = nmdi_error_set(&o->err, NMDI_EINTERNAL, "out of memory");
            break;
        }
        for (size_t i = 0; i < k; i++) {
            W->f[i] = nmdi_csv_field(c, i);
            W->lens[i] = nmdi_csv_field_len(c, i);
        }
        if ((o->rc = work_row(L, W, o, k, W->f, W->lens, nmdi_csv_line(c), &o->err)))
            break;
    }
    if (r < 0 && !o->rc)
        o->rc = o->err.code ? o->err.code : NMDI_EDATA;
    o->nlines = nmdi_csv_next_line(c) - 1;
    o->bytes = b->len;
    nmdi_csv_close(c);
}

static void block_read(void *arg, const char *p, size_t n)
{
    loadst *L = arg;
    crypto_generichash_update(&L->fh, (const unsigned char *)p, n);
}

static int block_write(void *arg, nmdi_block *b, nmdi_error *err)
{
    loadst *L = arg;
    bout *o = b->out;
    if (!o)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory loading %s", L->curname);
    int rc = commit_block(L, o, L->base, err);
    L->base += o->nlines;
    return rc;
}

/* ReadStat rows: through the same worker code, committed every 8192 rows. */
static int rs_row(void *arg, size_t nf, const char *const *fields, const size_t *lens, long line,
                  nmdi_error *err)
{
    loadst *L = arg;
    bout *o = L->rsout;
    if (!o && !(o = L->rsout = calloc(1, sizeof *o)))
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    int rc = work_row(L, &L->work[0], o, nf, fields, lens, line, err);
    if (!rc && o->nrec >= 8192) {
        rc = commit_block(L, o, 1, err);
        bout_reset(o);
    }
    return rc;
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
    nmdi_block_ops ops = {L, block_work, block_write, bout_free, block_read};
    /* NMDI_LOAD_BLOCK_BYTES: tests cut files into tiny blocks (results must not change) */
    const char *bb = getenv("NMDI_LOAD_BLOCK_BYTES");
    size_t block = bb ? (size_t)strtoull(bb, NULL, 10) : 0;
    rc = nmdi_blocks_run(fd, path, L->delim, L->nwork > 1 ? L->nwork : 0, block, &ops, err);
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
        (rc = nmdi_pseudo_key_load(dir, L.key, err)))
        goto done;
    nmdi_pseudo_cache_init(&L.pc, L.key);
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
        if (lwork_init(&L, &L.work[i], total_bytes, shift)) {
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
            rc = nmdi_readstat_read(files[i], L.src->format, header, rs_row, &L, &L.rep->bytes, err);
            if (!rc && L.rsout && L.rsout->nrec)
                rc = commit_block(&L, L.rsout, 1, err);
            if (L.rsout)
                bout_reset(L.rsout);
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
    nmdi_pseudo_cache_wipe(&L.pc);
    for (int i = 0; L.work && i < L.nwork; i++)
        lwork_free(&L, &L.work[i]);
    free(L.work);
    bout_free(NULL, L.rsout);
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
