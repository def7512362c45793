/*
 * spine.c — the person spine of an infrastructure (nmdi/spine.h): reads the
 * latest versions of the person-level sources (border crossings reduced to
 * one unit per keyed travel document), links every pair of sources
 * on their keyed linkage encodings with the record-linkage library (blocking
 * on date of birth and on the phonetic codes of the names, Fellegi–Sunter
 * with EM, greedy one-to-one), clusters the links into persons (union by
 * decreasing probability, at most one unit per one-unit-per-person source,
 * with a cluster-size guard) and writes `person_spine`
 * through the store writer with a catalog version row and its lineage.
 */
#include "nmdi/spine.h"
#include "nmdi/catalog.h"
#include "nmdi/csv.h"
#include "nmdi/config.h"
#include "nmdi/ingest.h"
#include "nmdi/link.h"
#include "nmdi/store.h"

#include <jansson.h>
#include <math.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

/* Columns of the link table built for each source (missing column: ""). */
enum { C_SQ, C_GQ, C_FQ, C_SP, C_GP, C_FP, C_DOB, C_SEX, NCOLS };
static const char *const colname[NCOLS] = {"surname_qgram",    "given_name_qgram", "full_name_qgram",
                                           "surname_phon",     "given_name_phon",  "full_name_phon",
                                           "date_of_birth",    "sex"};
static const int colkind[NCOLS] = {NMDI_LINK_BLOOM, NMDI_LINK_BLOOM, NMDI_LINK_BLOOM, NMDI_LINK_HASH,
                                   NMDI_LINK_HASH,  NMDI_LINK_HASH,  NMDI_LINK_DATE,  NMDI_LINK_CODE};

typedef struct spsrc {
    const char *id;
    int64_t version;
    nmdi_dataset *ds;
    int has[NCOLS];
    size_t nrows;      /* stored rows                                       */
    int64_t *pkey;     /* per stored row: person key (NMDI_I64_NONE)        */
    int32_t *line;     /* per stored row: src_line                          */
    uint32_t *unit;    /* per stored row: index of its unit in this source  */
    size_t nunits;     /* records linked (one per person key when grouped)  */
    const char **cells;/* nunits * NCOLS                                    */
    size_t base;       /* first global unit index                           */
    int32_t *uline;    /* per unit: src_line of its first row               */
    int64_t *ukey;     /* per unit: person key                              */
    int many;          /* one person may have several units (students: a    */
                       /* new student number per enrolment; border: one     */
                       /* unit per travel document)                         */
    const char *group; /* I64 key field grouping rows into units            */
    int vote;          /* unit cells: the most frequent value of its rows   */
                       /* (border: keying errors on single crossings)       */
} spsrc;

/* A pair of the uncertain band, kept for clerical review. */
typedef struct upair {
    const spsrc *L, *R;
    uint32_t lu, ru;
    double p, w;
    const char *pattern;
} upair;

typedef struct spwork {
    nmdi_arena *a;
    nmdi_strmap *dec;  /* "lsrc\tlline\trsrc\trline" -> 1 match, 0 non-match */
    upair *up;
    size_t nup, capup;
    uint64_t applied;  /* decisions applied                                  */
} spwork;

static int linkable_type(const char *rt)
{
    return !strcmp(rt, "person") || !strcmp(rt, "permit") || !strcmp(rt, "student") ||
           !strcmp(rt, "border_crossing");
}

static const char *cell_str(nmdi_arena *a, const nmdi_dataset *ds, size_t part, size_t r, int f,
                            const char *name)
{
    const nmdi_store_field *sf = nmdi_dataset_field(ds, (size_t)f);
    nmdi_error e = {0};
    char buf[32];
    switch (sf->type) {
    case NMDI_COL_STR: {
        const uint64_t *off;
        const char *bytes;
        if (nmdi_dataset_str(ds, part, name, &off, &bytes, &e))
            return "";
        size_t n = (size_t)(off[r + 1] - off[r]);
        char *s = nmdi_arena_alloc(a, n + 1);
        if (!s)
            return "";
        memcpy(s, bytes + off[r], n);
        s[n] = 0;
        return s;
    }
    case NMDI_COL_BYTES: {
        /* the names' Bloom filters: their text encoding ("b1:" + hex, as
         * stores written before the BYTES columns held them) */
        const unsigned char *v;
        size_t w;
        char text[2 * NMDI_STORE_BYTES_MAX + 4];
        if (nmdi_dataset_bytes(ds, part, name, &v, &w, &e))
            return "";
        nmdi_store_bytes_text(name, v + r * w, w, text, sizeof text);
        return text[0] ? nmdi_arena_strdup(a, text) : "";
    }
    case NMDI_COL_I64: {
        const int64_t *v;
        if (nmdi_dataset_i64(ds, part, name, &v, &e) || v[r] == NMDI_I64_NONE)
            return "";
        snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v[r]);
        return nmdi_arena_strdup(a, buf);
    }
    case NMDI_COL_I32: {
        const int32_t *v;
        if (nmdi_dataset_i32(ds, part, name, &v, &e) || v[r] == NMDI_I32_NONE)
            return "";
        snprintf(buf, sizeof buf, "%d", (int)v[r]);
        return nmdi_arena_strdup(a, buf);
    }
    case NMDI_COL_DATE: {
        const int32_t *v;
        if (nmdi_dataset_i32(ds, part, name, &v, &e))
            return "";
        nmdi_date_format(v[r], buf);
        return nmdi_arena_strdup(a, buf);
    }
    case NMDI_COL_CODE: {
        const int32_t *v;
        size_t nd = 0;
        const char *const *dict = nmdi_dataset_dict(ds, name, &nd);
        if (nmdi_dataset_i32(ds, part, name, &v, &e) || !dict || v[r] < 0 || (size_t)v[r] >= nd)
            return "";
        return dict[v[r]];
    }
    default:
        return "";
    }
}

/* The cells of the units of a source with many rows per unit (border
 * crossings of one travel document): per unit and column the most frequent
 * non-missing value among its rows (at most the first VOTE_ROWS rows; ties:
 * the earliest), so that a keying error, a day-month swap or a missing date
 * on single crossings does not become the document's identity. Two passes
 * over the dataset: 64-bit hashes of the values first (a scratch arena per
 * partition), then the chosen rows' values. */
enum { VOTE_ROWS = 64 };
static int vote_cells(nmdi_arena *a, spsrc *S, const int fc[NCOLS], nmdi_error *err)
{
    const nmdi_dataset *ds = S->ds;
    size_t n = S->nrows, nu = S->nunits;
    uint64_t *h = malloc((n * NCOLS + 1) * sizeof *h);
    size_t *start = calloc(nu + 2, sizeof *start), *ord = malloc((n + 1) * sizeof *ord);
    size_t *chosen = malloc((nu * NCOLS + 1) * sizeof *chosen);
    int rc = 0;
    if (!h || !start || !ord || !chosen) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory reading %s", S->id);
        goto done;
    }
    size_t row = 0;
    for (size_t part = 0; part < nmdi_dataset_nparts(ds); part++) {
        nmdi_arena *t = nmdi_arena_new(0);
        if (!t) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory reading %s", S->id);
            goto done;
        }
        size_t pr = (size_t)nmdi_dataset_part_rows(ds, part);
        for (size_t r = 0; r < pr; r++, row++)
            for (int c = 0; c < NCOLS; c++) {
                const char *v = fc[c] >= 0 ? cell_str(t, ds, part, r, fc[c], colname[c]) : "";
                /* 0: missing */
                h[row * NCOLS + (size_t)c] = *v ? nmdi_hash64(v, strlen(v), 0) | 1 : 0;
            }
        nmdi_arena_free(t);
    }
    /* rows of each unit, in order */
    for (size_t r = 0; r < n; r++)
        start[S->unit[r] + 1]++;
    for (size_t u = 0; u < nu; u++)
        start[u + 1] += start[u];
    {
        size_t *fill = calloc(nu + 1, sizeof *fill);
        if (!fill) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory reading %s", S->id);
            goto done;
        }
        for (size_t r = 0; r < n; r++)
            ord[start[S->unit[r]] + fill[S->unit[r]]++] = r;
        free(fill);
    }
    for (size_t u = 0; u < nu; u++) {
        size_t b = start[u], k = start[u + 1] - b;
        if (k > VOTE_ROWS)
            k = VOTE_ROWS;
        for (int c = 0; c < NCOLS; c++) {
            size_t best = ord[b], bestn = 0;
            for (size_t i = 0; i < k; i++) {
                uint64_t x = h[ord[b + i] * NCOLS + (size_t)c];
                if (!x)
                    continue;
                size_t cnt = 0;
                for (size_t j = 0; j < k; j++)
                    cnt += h[ord[b + j] * NCOLS + (size_t)c] == x;
                if (cnt > bestn) {
                    bestn = cnt;
                    best = ord[b + i];
                }
            }
            chosen[u * NCOLS + (size_t)c] = best;
        }
    }
    row = 0;
    for (size_t part = 0; part < nmdi_dataset_nparts(ds); part++) {
        size_t pr = (size_t)nmdi_dataset_part_rows(ds, part);
        for (size_t r = 0; r < pr; r++, row++) {
            size_t u = S->unit[row];
            for (int c = 0; c < NCOLS; c++)
                if (chosen[u * NCOLS + (size_t)c] == row)
                    S->cells[u * NCOLS + (size_t)c] =
                        fc[c] >= 0 ? cell_str(a, ds, part, r, fc[c], colname[c]) : "";
        }
    }
    for (size_t i = 0; i < nu * NCOLS; i++)
        if (!S->cells[i])
            S->cells[i] = "";
done:
    free(h);
    free(start);
    free(ord);
    free(chosen);
    return rc;
}

/* Read one source into its link table; rows sharing a person key (permits,
 * students) become one unit. */
static int read_source(nmdi_arena *a, spsrc *S, nmdi_error *err)
{
    const nmdi_dataset *ds = S->ds;
    S->nrows = (size_t)nmdi_dataset_rows(ds);
    S->pkey = nmdi_arena_calloc(a, S->nrows + 1, sizeof *S->pkey);
    S->line = nmdi_arena_calloc(a, S->nrows + 1, sizeof *S->line);
    S->unit = nmdi_arena_calloc(a, S->nrows + 1, sizeof *S->unit);
    S->cells = nmdi_arena_calloc(a, (S->nrows + 1) * NCOLS, sizeof *S->cells);
    S->uline = nmdi_arena_calloc(a, S->nrows + 1, sizeof *S->uline);
    S->ukey = nmdi_arena_calloc(a, S->nrows + 1, sizeof *S->ukey);
    if (!S->uline || !S->ukey || !S->pkey || !S->line || !S->unit || !S->cells)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory reading %s", S->id);
    const char *gk = S->group ? S->group : "person_key";
    int fk = nmdi_dataset_find(ds, gk), fl = nmdi_dataset_find(ds, "src_line");
    int group = fk >= 0 && nmdi_dataset_field(ds, (size_t)fk)->type == NMDI_COL_I64;
    int fc[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        fc[c] = nmdi_dataset_find(ds, colname[c]);
    nmdi_strmap *seen = group ? nmdi_strmap_new() : NULL;
    if (group && !seen)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory reading %s", S->id);
    size_t row = 0;
    for (size_t part = 0; part < nmdi_dataset_nparts(ds); part++) {
        size_t pr = (size_t)nmdi_dataset_part_rows(ds, part);
        const int64_t *pk = NULL;
        const int32_t *ln = NULL;
        if (group && nmdi_dataset_i64(ds, part, gk, &pk, err))
            goto fail;
        if (fl >= 0 && nmdi_dataset_i32(ds, part, "src_line", &ln, err))
            goto fail;
        for (size_t r = 0; r < pr; r++, row++) {
            S->pkey[row] = pk ? pk[r] : NMDI_I64_NONE;
            S->line[row] = ln ? ln[r] : 0;
            if (seen && pk[r] != NMDI_I64_NONE) {
                int ins = 0;
                int64_t *slot = nmdi_strmap_put(seen, (const char *)&pk[r], sizeof pk[r], &ins);
                if (!slot)
                    goto oom;
                if (!ins) {
                    S->unit[row] = (uint32_t)*slot;
                    continue;
                }
                *slot = (int64_t)S->nunits;
            }
            size_t u = S->nunits++;
            S->unit[row] = (uint32_t)u;
            S->uline[u] = S->line[row];
            S->ukey[u] = S->pkey[row];
            if (S->vote) /* cells chosen by vote_cells */
                continue;
            for (int c = 0; c < NCOLS; c++)
                S->cells[u * NCOLS + (size_t)c] =
                    fc[c] >= 0 ? cell_str(a, ds, part, r, fc[c], colname[c]) : "";
        }
    }
    nmdi_strmap_free(seen);
    if (S->vote)
        return vote_cells(a, S, fc, err);
    return 0;
oom:
    nmdi_error_set(err, NMDI_EINTERNAL, "out of memory reading %s", S->id);
fail:
    nmdi_strmap_free(seen);
    return err->code ? err->code : NMDI_EINTERNAL;
}

/* Read a decisions file (left_source,left_line,right_source,right_line,
 * decision) into m; rows with an empty decision are skipped. */
static int read_decisions(const char *path, nmdi_strmap *m, uint64_t *n, nmdi_error *err)
{
    nmdi_table *t = NULL;
    int rc = nmdi_table_read_csv(&t, path, NULL, err);
    if (rc)
        return rc;
    static const char *const need[] = {"left_source", "left_line", "right_source", "right_line",
                                       "decision"};
    int c[5];
    for (int i = 0; i < 5; i++)
        if ((c[i] = nmdi_table_col(t, need[i])) < 0) {
            rc = nmdi_error_at(err, NMDI_EDATA, path, 1, need[i], "column '%s' is missing", need[i]);
            goto done;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        const char *d = nmdi_table_cell(t, r, (size_t)c[4]);
        if (!*d)
            continue;
        int v = !strcmp(d, "match") ? 1 : !strcmp(d, "non-match") || !strcmp(d, "nonmatch") ? 0 : -1;
        if (v < 0) {
            rc = nmdi_error_at(err, NMDI_EDATA, path, t->lines[r], "decision",
                               "decision '%s': give match, non-match or leave it empty", d);
            goto done;
        }
        int64_t ll, rl;
        if (nmdi_parse_int64(nmdi_table_cell(t, r, (size_t)c[1]), &ll) ||
            nmdi_parse_int64(nmdi_table_cell(t, r, (size_t)c[3]), &rl)) {
            rc = nmdi_error_at(err, NMDI_EDATA, path, t->lines[r], "left_line",
                               "left_line and right_line must be line numbers");
            goto done;
        }
        char key[512];
        int kn = snprintf(key, sizeof key, "%s\t%lld\t%s\t%lld", nmdi_table_cell(t, r, (size_t)c[0]),
                          (long long)ll, nmdi_table_cell(t, r, (size_t)c[2]), (long long)rl);
        int64_t *slot = nmdi_strmap_put(m, key, (size_t)kn, NULL);
        if (!slot) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            goto done;
        }
        *slot = v;
        if (n)
            (*n)++;
    }
done:
    nmdi_table_free(t);
    return rc;
}

typedef struct gpair {
    uint32_t a, b; /* global units */
    double p, w;
} gpair;

static int by_weight_desc(const void *x, const void *y)
{
    const nmdi_link_pair *a = x, *b = y;
    if (a->weight != b->weight)
        return a->weight > b->weight ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return a->b < b->b ? -1 : (a->b > b->b);
}

/* The cells of S with its full_name_qgram column composed from the Bloom
 * filters of surname and given name: ingest encodes the padded bigrams of
 * " NAME " under one key for every name field, so the filter of
 * "GIVEN SURNAME" (either order) is exactly the union (bitwise OR) of the
 * filters of its parts — whatever the keyed hash is. A part that is missing
 * leaves the other alone; both missing leave the full name missing. */
static const char **composed_full_names(nmdi_arena *a, const spsrc *S)
{
    static const char hexd[] = "0123456789abcdef";
    const char **c = nmdi_arena_alloc(a, (S->nunits * NCOLS + 1) * sizeof *c);
    if (!c)
        return NULL;
    memcpy(c, S->cells, S->nunits * NCOLS * sizeof *c);
    for (size_t u = 0; u < S->nunits; u++) {
        unsigned char x[NMDI_LINK_BLOOM_BITS / 8], y[NMDI_LINK_BLOOM_BITS / 8];
        int hx = nmdi_link_bloom_decode(c[u * NCOLS + C_SQ], x) == 0;
        int hy = nmdi_link_bloom_decode(c[u * NCOLS + C_GQ], y) == 0;
        if (!hx && !hy) {
            c[u * NCOLS + C_FQ] = "";
            continue;
        }
        char *e = nmdi_arena_alloc(a, 3 + 2 * sizeof x + 1);
        if (!e)
            return NULL;
        memcpy(e, "b1:", 3);
        for (size_t k = 0; k < sizeof x; k++) {
            unsigned char b = (unsigned char)((hx ? x[k] : 0) | (hy ? y[k] : 0));
            e[3 + 2 * k] = hexd[b >> 4];
            e[4 + 2 * k] = hexd[b & 15];
        }
        e[3 + 2 * sizeof x] = 0;
        c[u * NCOLS + C_FQ] = e;
    }
    return c;
}

/* Link two sources; appends the one-to-one links to *links. */
static int link_pair(const nmdi_ctx *ctx, const spsrc *L, const spsrc *R, double threshold,
                     nmdi_spine_pairrep *rep, gpair **links, size_t *nlinks, size_t *caplinks,
                     json_t *models, spwork *W, nmdi_error *err)
{
    const char *fields[NCOLS];
    int kinds[NCOLS];
    size_t nf = 0;
    int hasL[NCOLS], hasR[NCOLS];
    memcpy(hasL, L->has, sizeof hasL);
    memcpy(hasR, R->has, sizeof hasR);
    /* A source with only a full name (students) against one with surname
     * and given name: the full name's Bloom filter is composed on the other
     * side (composed_full_names), and the pair is compared on it. */
    const char **cellsL = L->cells, **cellsR = R->cells;
    int common = (hasL[C_SQ] && hasR[C_SQ]) || (hasL[C_GQ] && hasR[C_GQ]) ||
                 (hasL[C_FQ] && hasR[C_FQ]);
    if (!common && hasL[C_FQ] && (hasR[C_SQ] || hasR[C_GQ])) {
        if (!(cellsR = composed_full_names(W->a, R)))
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory linking %s", R->id);
        hasR[C_FQ] = 1;
    } else if (!common && hasR[C_FQ] && (hasL[C_SQ] || hasL[C_GQ])) {
        if (!(cellsL = composed_full_names(W->a, L)))
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory linking %s", L->id);
        hasL[C_FQ] = 1;
    }
    static const int compared[] = {C_SQ, C_GQ, C_FQ, C_DOB, C_SEX};
    for (size_t i = 0; i < sizeof compared / sizeof *compared; i++)
        if (hasL[compared[i]] && hasR[compared[i]]) {
            fields[nf] = colname[compared[i]];
            kinds[nf++] = colkind[compared[i]];
        }
    if (nf == 0 || (kinds[0] != NMDI_LINK_BLOOM)) {
        /* no name encoding in common: date of birth and sex alone do not
         * identify a person */
        nmdi_note(ctx, "nmdi link: %s-%s: no name encoding in common: not linked", L->id, R->id);
        rep->est_precision = rep->est_recall = NAN;
        return 0;
    }
    const char *blocks[3];
    size_t nb = 0;
    blocks[nb++] = "date_of_birth";
    if (hasL[C_SP] && hasR[C_SP] && hasL[C_GP] && hasR[C_GP])
        blocks[nb++] = "surname_phon,given_name_phon";
    else if (hasL[C_FP] && hasR[C_FP])
        blocks[nb++] = "full_name_phon";
    int composed = cellsL != L->cells || cellsR != R->cells;
    if (composed && hasL[C_SEX] && hasR[C_SEX])
        blocks[nb++] = "date_of_birth:year,sex"; /* no phonetic code in common */
    nmdi_link_source sl = {L->id, L->nunits, NCOLS, colname, cellsL, NULL};
    nmdi_link_source sr = {R->id, R->nunits, NCOLS, colname, cellsR, NULL};
    nmdi_link_config cfg;
    nmdi_link_config_init(&cfg);
    cfg.id = NULL;
    cfg.fields = fields;
    cfg.nfields = nf;
    cfg.kinds = kinds;
    cfg.blocks = blocks;
    cfg.nblocks = nb;
    cfg.threshold = 0.01; /* scored pairs kept for the estimates and review */
    cfg.one_to_one = 0;
    cfg.tf = 0;
    cfg.u_samples = 200000;
    cfg.max_pairs = 50000000ULL;
    nmdi_link *lk = NULL;
    const nmdi_link_pair *pairs;
    size_t np = 0;
    int rc;
    rc = nmdi_link_new(&lk, &sl, &sr, &cfg, err);
    if (rc == NMDI_EDATA && composed && nb == 2) {
        /* the year-and-sex rule makes too many pairs on a large country:
         * block on the date of birth alone */
        nmdi_note(ctx, "nmdi link: %s-%s: %s; blocking on date_of_birth alone", L->id, R->id,
                  err->msg);
        nmdi_error_clear(err);
        cfg.nblocks = 1;
        rc = nmdi_link_new(&lk, &sl, &sr, &cfg, err);
    }
    if (rc || (rc = nmdi_link_train(lk, ctx, err)) ||
        (rc = nmdi_link_run(lk, ctx, &pairs, &np, err)))
        goto done;
    for (const char *const *w = nmdi_link_warnings(lk); *w; w++)
        nmdi_note(ctx, "nmdi link: %s-%s: %s", L->id, R->id, *w);
    char *mj = nmdi_link_model_json(lk);
    json_t *m = mj ? json_loads(mj, 0, NULL) : NULL;
    free(mj);
    rep->compared = nmdi_link_candidate_pairs(lk);
    nmdi_link_pair *ord = malloc((np + 1) * sizeof *ord);
    unsigned char *usedL = calloc(L->nunits + 1, 1), *usedR = calloc(R->nunits + 1, 1);
    if (!ord || !usedL || !usedR) {
        free(ord);
        free(usedL);
        free(usedR);
        json_decref(m);
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory linking %s and %s", L->id, R->id);
        goto done;
    }
    memcpy(ord, pairs, np * sizeof *ord);
    for (size_t i = 0; i < np; i++) {
        nmdi_link_pair *p = &ord[i];
        char key[256];
        int64_t *d = NULL;
        if (W->dec) {
            int n = snprintf(key, sizeof key, "%s\t%d\t%s\t%d", L->id, (int)L->uline[p->a], R->id,
                             (int)R->uline[p->b]);
            d = nmdi_strmap_get(W->dec, key, (size_t)n);
            if (!d) {
                n = snprintf(key, sizeof key, "%s\t%d\t%s\t%d", R->id, (int)R->uline[p->b], L->id,
                             (int)L->uline[p->a]);
                d = nmdi_strmap_get(W->dec, key, (size_t)n);
            }
        }
        if (d) { /* a clerical decision overrides the model */
            W->applied++;
            p->probability = *d ? 1.0 : 0.0;
            p->weight = *d ? 1e6 : -1e6;
            continue;
        }
        if (p->probability < 0.2 || p->probability >= 0.8)
            continue;
        char pat[1024];
        size_t pl = 0;
        pat[0] = 0;
        for (size_t f = 0; f < nmdi_link_nfields(lk) && pl < sizeof pat - 1; f++)
            pl += (size_t)snprintf(pat + pl, sizeof pat - pl, "%s%s=%s:%.2f", f ? ";" : "",
                                   nmdi_link_field_name(lk, f),
                                   nmdi_link_level_label(nmdi_link_field_kind(lk, f), p->levels[f]),
                                   nmdi_link_field_weight(lk, p, f));
        if (W->nup == W->capup) {
            size_t nc = W->capup ? 2 * W->capup : 256;
            upair *g = realloc(W->up, nc * sizeof *g);
            if (!g)
                continue;
            W->up = g;
            W->capup = nc;
        }
        W->up[W->nup++] = (upair){L, R, p->a, p->b, p->probability, p->weight,
                                  nmdi_arena_strdup(W->a, pat)};
    }
    qsort(ord, np, sizeof *ord, by_weight_desc);
    double expected = 0, sumlinks = 0;
    for (size_t i = 0; i < np; i++) {
        const nmdi_link_pair *p = &ord[i];
        if (p->probability >= 0.2 && p->probability < 0.8)
            rep->uncertain++;
        /* one-to-one, except that several units of a source whose persons
         * may have several (students) can join one unit of the other */
        if ((usedL[p->a] && !R->many) || (usedR[p->b] && !L->many) ||
            (L->many && usedL[p->a]) || (R->many && usedR[p->b]))
            continue;
        usedL[p->a] = usedR[p->b] = 1;
        expected += p->probability;
        if (p->probability < threshold)
            continue;
        if (*nlinks == *caplinks) {
            size_t nc = *caplinks ? 2 * *caplinks : 1024;
            gpair *g = realloc(*links, nc * sizeof *g);
            if (!g) {
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                break;
            }
            *links = g;
            *caplinks = nc;
        }
        (*links)[(*nlinks)++] = (gpair){(uint32_t)(L->base + p->a), (uint32_t)(R->base + p->b),
                                        p->probability, p->weight};
        rep->links++;
        sumlinks += p->probability;
    }
    rep->est_precision = rep->links ? sumlinks / (double)rep->links : NAN;
    rep->est_recall = expected > 0 ? sumlinks / expected : NAN;
    free(ord);
    free(usedL);
    free(usedR);
    json_t *o = json_object();
    json_object_set_new(o, "left", json_string(L->id));
    json_object_set_new(o, "right", json_string(R->id));
    json_object_set_new(o, "pairs_compared", json_integer((json_int_t)rep->compared));
    json_object_set_new(o, "links", json_integer((json_int_t)rep->links));
    json_object_set_new(o, "uncertain_pairs", json_integer((json_int_t)rep->uncertain));
    json_object_set_new(o, "estimated_precision", isnan(rep->est_precision) ? json_null() : json_real(rep->est_precision));
    json_object_set_new(o, "estimated_recall", isnan(rep->est_recall) ? json_null() : json_real(rep->est_recall));
    json_object_set_new(o, "model", m ? m : json_null());
    json_array_append_new(models, o);
done:
    nmdi_link_free(lk);
    return rc;
}

void nmdi_spine_report_free(nmdi_spine_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nsources; i++)
        free(r->sources[i]);
    free(r->sources);
    for (size_t i = 0; i < r->npairs; i++) {
        free(r->pairs[i].left);
        free(r->pairs[i].right);
    }
    free(r->pairs);
    free(r->skipped);
    free(r);
}

/* The uncertain pairs of this spine version: dataset person_spine_pairs,
 * same version number, in the spine's catalog transaction. */
static int write_pairs(nmdi_catalog *cat, const char *store, const char *vname, const char *spine_rel,
                       const char *now, int64_t version, const spwork *W, nmdi_error *err)
{
    static const nmdi_store_field f[] = {
        {"left_source", NMDI_COL_CODE},  {"left_line", NMDI_COL_I32},  {"left_person_key", NMDI_COL_I64},
        {"right_source", NMDI_COL_CODE}, {"right_line", NMDI_COL_I32}, {"right_person_key", NMDI_COL_I64},
        {"match_probability", NMDI_COL_F64}, {"match_weight", NMDI_COL_F64}, {"pattern", NMDI_COL_STR}};
    char rel[512], lin[1200];
    snprintf(rel, sizeof rel, "store/person_spine_pairs/%s", vname);
    snprintf(lin, sizeof lin, "{\"inputs\":[{\"dataset\":\"person_spine\",\"version\":%lld,\"path\":\"%s\"}],"
             "\"method\":\"nmdi link DIR: pairs with probability in [0.2, 0.8) for clerical review\"}",
             (long long)version, spine_rel);
    nmdi_store_writer *w = NULL;
    int rc;
    int64_t pv;
    if ((rc = nmdi_catalog_next_version(cat, "person_spine_pairs", &pv, err)))
        return rc;
    char pvname[32];
    snprintf(pvname, sizeof pvname, "%lld", (long long)pv);
    snprintf(rel, sizeof rel, "store/person_spine_pairs/%s", pvname);
    if ((rc = nmdi_store_clean_tmp(store, "person_spine_pairs", err)) ||
        (rc = nmdi_store_remove_version(store, "person_spine_pairs", pvname, err)))
        return rc;
    nmdi_dsversion v = {0, "person_spine_pairs", pv, NULL, "person_spine_pairs", rel,
                        (int64_t)W->nup, (int64_t)W->nup, 0, 1, now, lin};
    nmdi_store_opts so = {1, 0};
    if ((rc = nmdi_catalog_add_version(cat, &v, err)) ||
        (rc = nmdi_store_writer_open(&w, store, "person_spine_pairs", pvname, 9, f, &so, err)))
        return rc;
    for (size_t i = 0; i < W->nup && !rc; i++) {
        const upair *u = &W->up[i];
        nmdi_store_row_begin(w, 0);
        nmdi_store_put_str(w, 0, u->L->id, strlen(u->L->id));
        nmdi_store_put_i32(w, 1, u->L->uline[u->lu]);
        nmdi_store_put_i64(w, 2, u->L->ukey[u->lu]);
        nmdi_store_put_str(w, 3, u->R->id, strlen(u->R->id));
        nmdi_store_put_i32(w, 4, u->R->uline[u->ru]);
        nmdi_store_put_i64(w, 5, u->R->ukey[u->ru]);
        nmdi_store_put_f64(w, 6, u->p);
        nmdi_store_put_f64(w, 7, u->w);
        nmdi_store_put_str(w, 8, u->pattern ? u->pattern : "", u->pattern ? strlen(u->pattern) : 0);
        rc = nmdi_store_row_end(w, err);
    }
    if (rc) {
        nmdi_store_writer_abort(w);
        return rc;
    }
    char *vdir = NULL;
    rc = nmdi_store_writer_finish(w, lin, &vdir, err);
    free(vdir);
    (void)version;
    return rc;
}

int nmdi_spine_review_export(const char *dir, double lo, double hi, const char *out, uint64_t *n,
                             nmdi_error *err)
{
    *n = 0;
    nmdi_dataset *ds = NULL;
    int rc = nmdi_ingest_open_latest(dir, "person_spine_pairs", &ds, err);
    if (rc)
        return rc;
    FILE *f = strcmp(out, "-") ? NULL : stdout;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out, (long)getpid());
    if (!f && !(f = fopen(tmp, "wb"))) {
        nmdi_dataset_close(ds);
        return nmdi_error_at(err, NMDI_EDATA, out, 0, "", "cannot write: %s", strerror(errno));
    }
    fputs("left_source,left_line,left_person_key,right_source,right_line,right_person_key,"
          "match_probability,match_weight,pattern,decision\n", f);
    nmdi_arena *a = nmdi_arena_new(0);
    for (size_t part = 0; part < nmdi_dataset_nparts(ds) && !rc; part++) {
        const double *pr = NULL;
        if ((rc = nmdi_dataset_f64(ds, part, "match_probability", &pr, err)))
            break;
        for (size_t r = 0; r < nmdi_dataset_part_rows(ds, part); r++) {
            if (!(pr[r] >= lo && pr[r] < hi))
                continue;
            static const char *const cols[] = {"left_source", "left_line", "left_person_key",
                                               "right_source", "right_line", "right_person_key"};
            for (int c = 0; c < 6; c++) {
                int fi = nmdi_dataset_find(ds, cols[c]);
                const char *v = fi >= 0 ? cell_str(a, ds, part, r, fi, cols[c]) : "";
                if (c)
                    fputc(',', f);
                nmdi_csv_put(f, v);
            }
            const double *w = NULL;
            nmdi_dataset_f64(ds, part, "match_weight", &w, err);
            fprintf(f, ",%.6f,%.4f,", pr[r], w ? w[r] : 0.0);
            nmdi_csv_put(f, cell_str(a, ds, part, r, nmdi_dataset_find(ds, "pattern"), "pattern"));
            fputs(",\n", f);
            (*n)++;
        }
    }
    nmdi_arena_free(a);
    nmdi_dataset_close(ds);
    if (f == stdout) {
        fflush(f);
        return rc;
    }
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (!rc && (bad || rename(tmp, out) != 0))
        rc = nmdi_error_at(err, NMDI_EDATA, out, 0, "", "cannot write: %s", strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}

int nmdi_spine_review_import(const char *dir, const char *file, uint64_t *n, nmdi_error *err)
{
    *n = 0;
    nmdi_strmap *m = nmdi_strmap_new();
    if (!m)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/review", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/review/decisions.csv", dir);
    struct stat st;
    int rc = 0;
    if (stat(path, &st) == 0)
        rc = read_decisions(path, m, NULL, err); /* earlier decisions; the new file wins */
    if (!rc)
        rc = read_decisions(file, m, n, err);
    if (rc) {
        nmdi_strmap_free(m);
        return rc;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        nmdi_strmap_free(m);
        return nmdi_error_at(err, NMDI_EINTERNAL, tmp, 0, "", "cannot write: %s", strerror(errno));
    }
    fputs("left_source,left_line,right_source,right_line,decision\n", f);
    size_t it = 0;
    const char *key;
    int64_t v;
    while (nmdi_strmap_iter(m, &it, &key, &v)) {
        for (const char *k = key; *k; k++)
            fputc(*k == '\t' ? ',' : *k, f);
        fprintf(f, ",%s\n", v ? "match" : "non-match");
    }
    nmdi_strmap_free(m);
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return nmdi_error_at(err, NMDI_EINTERNAL, path, 0, "", "cannot write: %s", strerror(errno));
    }
    return 0;
}

/* Write person_spine and its catalog row. */
static int write_spine(const char *dir, int nparts, spsrc *S, size_t ns, const uint32_t *cluster,
                       const double *prob, size_t nunits, const char *lineage, const spwork *W,
                       nmdi_spine_report *rep, nmdi_error *err)
{
    static const nmdi_store_field fields[] = {{"source", NMDI_COL_CODE},
                                              {"person_key", NMDI_COL_I64},
                                              {"src_line", NMDI_COL_I32},
                                              {"person_id", NMDI_COL_STR},
                                              {"match_probability", NMDI_COL_F64}};
    char path[4096], store[4096], vname[32], rel[512], now[32];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    snprintf(store, sizeof store, "%s/store", dir);
    nmdi_catalog *cat = NULL;
    nmdi_store_writer *w = NULL;
    uint32_t *pid = calloc(nunits + 1, sizeof *pid);
    int rc;
    if (!pid)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    if ((rc = nmdi_catalog_open(&cat, path, 0, err)) || (rc = nmdi_catalog_begin(cat, err)))
        goto done;
    int64_t version;
    if ((rc = nmdi_catalog_next_version(cat, "person_spine", &version, err)))
        goto done;
    snprintf(vname, sizeof vname, "%lld", (long long)version);
    snprintf(rel, sizeof rel, "store/person_spine/%s", vname);
    if ((rc = nmdi_store_clean_tmp(store, "person_spine", err)) ||
        (rc = nmdi_store_remove_version(store, "person_spine", vname, err)))
        goto done;
    time_t tt = time(NULL);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    nmdi_dsversion v = {0, "person_spine", version, NULL, "person_spine", rel, 0, 0, 0, nparts, now, "{}"};
    if ((rc = nmdi_catalog_add_version(cat, &v, err)))
        goto done;
    nmdi_store_opts so = {nparts, 0};
    if ((rc = nmdi_store_writer_open(&w, store, "person_spine", vname, 5, fields, &so, err)))
        goto done;
    /* person ids numbered in order of first appearance of their cluster */
    uint32_t next = 0;
    for (size_t u = 0; u < nunits; u++)
        if (cluster[u] == u)
            pid[u] = ++next;
    rep->persons = next;
    for (size_t s = 0; s < ns && !rc; s++) {
        for (size_t r = 0; r < S[s].nrows && !rc; r++) {
            size_t u = S[s].base + S[s].unit[r];
            char id[32];
            int n = snprintf(id, sizeof id, "S%09u", pid[cluster[u]]);
            uint64_t h = nmdi_hash64(id, (size_t)n, 0);
            nmdi_store_row_begin(w, (uint32_t)(h % (uint64_t)nparts));
            nmdi_store_put_str(w, 0, S[s].id, strlen(S[s].id));
            nmdi_store_put_i64(w, 1, S[s].pkey[r]);
            nmdi_store_put_i32(w, 2, S[s].line[r]);
            nmdi_store_put_str(w, 3, id, (size_t)n);
            nmdi_store_put_f64(w, 4, prob[u]);
            rc = nmdi_store_row_end(w, err);
        }
    }
    if (rc)
        goto done;
    rep->records = nmdi_store_writer_rows(w);
    char *vdir = NULL;
    nmdi_store_writer *ww = w;
    w = NULL;
    if ((rc = nmdi_store_writer_finish(ww, lineage, &vdir, err)))
        goto done;
    rc = nmdi_catalog_update_version(cat, v.id, (int64_t)rep->records, (int64_t)rep->records, 0, lineage, err);
    if (!rc)
        rc = write_pairs(cat, store, vname, rel, now, version, W, err);
    if (!rc)
        rc = nmdi_catalog_commit(cat, err);
    if (rc) {
        nmdi_error keep = *err;
        nmdi_store_remove_version(store, "person_spine", vname, err);
        *err = keep;
    } else {
        rep->version = version;
    }
    free(vdir);
done:
    if (w)
        nmdi_store_writer_abort(w);
    if (cat) {
        if (rc)
            nmdi_catalog_rollback(cat);
        nmdi_catalog_close(cat);
    }
    free(pid);
    return rc;
}

/* Persons from the links of all source pairs: union by decreasing
 * probability, refusing a merge that would put two units of one source whose
 * persons have one unit each (census, register, permits) into one person, or
 * make a cluster larger than maxc (the guards against chaining: a wrong
 * border link between the census record of one person and the register
 * record of another would otherwise merge the two). cluster[u] gets the
 * smallest unit of its cluster. */
static int by_prob_desc(const void *x, const void *y)
{
    const gpair *a = x, *b = y;
    if (a->p != b->p)
        return a->p > b->p ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return a->b < b->b ? -1 : (a->b > b->b);
}

static uint32_t uf_find(uint32_t *par, uint32_t x)
{
    while (par[x] != x) {
        par[x] = par[par[x]];
        x = par[x];
    }
    return x;
}

static int spine_cluster(const spsrc *S, size_t ns, size_t nunits, const gpair *links, size_t nlinks,
                         size_t maxc, uint32_t *cluster, size_t *refused, nmdi_error *err)
{
    gpair *ord = malloc((nlinks + 1) * sizeof *ord);
    uint32_t *par = malloc((nunits + 1) * sizeof *par), *size = malloc((nunits + 1) * sizeof *size);
    uint64_t *mask = calloc(nunits + 1, sizeof *mask);
    if (!ord || !par || !size || !mask) {
        free(ord);
        free(par);
        free(size);
        free(mask);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < ns; i++)
        for (size_t u = 0; u < S[i].nunits; u++) {
            size_t g = S[i].base + u;
            par[g] = (uint32_t)g;
            size[g] = 1;
            mask[g] = !S[i].many && i < 64 ? (uint64_t)1 << i : 0;
        }
    memcpy(ord, links, nlinks * sizeof *ord);
    qsort(ord, nlinks, sizeof *ord, by_prob_desc);
    *refused = 0;
    for (size_t k = 0; k < nlinks; k++) {
        uint32_t ra = uf_find(par, ord[k].a), rb = uf_find(par, ord[k].b);
        if (ra == rb)
            continue;
        if ((mask[ra] & mask[rb]) || (maxc && size[ra] + size[rb] > maxc)) {
            (*refused)++;
            continue;
        }
        if (size[ra] < size[rb]) {
            uint32_t t = ra;
            ra = rb;
            rb = t;
        }
        par[rb] = ra;
        size[ra] += size[rb];
        mask[ra] |= mask[rb];
    }
    /* smallest unit of each cluster (size reused) */
    for (size_t u = 0; u < nunits; u++)
        size[u] = UINT32_MAX;
    for (size_t u = 0; u < nunits; u++) {
        uint32_t r = uf_find(par, (uint32_t)u);
        if (size[r] == UINT32_MAX)
            size[r] = (uint32_t)u;
    }
    for (size_t u = 0; u < nunits; u++)
        cluster[u] = size[uf_find(par, (uint32_t)u)];
    free(ord);
    free(par);
    free(size);
    free(mask);
    return 0;
}

int nmdi_spine_build(const nmdi_ctx *ctx, const char *dir, const nmdi_spine_opts *opts,
                     nmdi_spine_report **out, nmdi_error *err)
{
    double t0 = nmdi_now();
    *out = NULL;
    double threshold = opts && opts->threshold > 0 ? opts->threshold : 0.5;
    char path[4096];
    snprintf(path, sizeof path, "%s/nmdi.yaml", dir);
    nmdi_config *cfg = NULL;
    nmdi_catalog *cat = NULL;
    nmdi_arena *a = nmdi_arena_new(0);
    nmdi_spine_report *rep = calloc(1, sizeof *rep);
    spsrc *S = NULL;
    size_t ns = 0;
    spwork W = {a, NULL, NULL, 0, 0, 0};
    gpair *links = NULL;
    size_t nlinks = 0, caplinks = 0;
    uint32_t *cluster = NULL;
    double *prob = NULL;
    json_t *lin = json_object(), *inputs = json_array(), *models = json_array();
    char skipped[2048] = "";
    int rc;
    if (!a || !rep || !lin || !inputs || !models) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    json_object_set_new(lin, "inputs", inputs);
    json_object_set_new(lin, "pairs", models);
    if ((rc = nmdi_config_load(&cfg, path, err)))
        goto done;
    snprintf(path, sizeof path, "%s/review/decisions.csv", dir);
    struct stat dst;
    if (stat(path, &dst) == 0) {
        if (!(W.dec = nmdi_strmap_new())) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            goto done;
        }
        if ((rc = read_decisions(path, W.dec, NULL, err)))
            goto done;
    }
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    if ((rc = nmdi_catalog_open(&cat, path, 1, err)))
        goto done;
    S = calloc(cfg->nsources + 1, sizeof *S);
    if (!S) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < cfg->nsources; i++) {
        const nmdi_cfg_source *src = &cfg->sources[i];
        if (!linkable_type(src->record_type))
            continue;
        nmdi_dsversion v;
        int r = nmdi_catalog_latest(cat, src->id, &v, a, err);
        if (r < 0) {
            rc = err->code ? err->code : NMDI_EINTERNAL;
            goto done;
        }
        if (r == 0)
            continue;
        spsrc *s = &S[ns];
        s->id = src->id;
        s->many = !strcmp(src->record_type, "student") || !strcmp(src->record_type, "border_crossing");
        if (!strcmp(src->record_type, "border_crossing")) {
            /* one unit per travel document (keyed document number) */
            s->group = "traveller_key";
            s->vote = 1;
        }
        s->version = v.version;
        snprintf(path, sizeof path, "%s/%s", dir, v.path);
        if ((rc = nmdi_dataset_open(&s->ds, path, err)))
            goto done;
        for (int c = 0; c < NCOLS; c++)
            s->has[c] = nmdi_dataset_find(s->ds, colname[c]) >= 0;
        int names = s->has[C_SQ] || s->has[C_GQ] || s->has[C_FQ];
        if (!names || !s->has[C_DOB]) {
            size_t l = strlen(skipped);
            snprintf(skipped + l, sizeof skipped - l, "%s%s", l ? "," : "", src->id);
            nmdi_dataset_close(s->ds);
            s->ds = NULL;
            continue;
        }
        json_array_append_new(inputs, json_pack("{s:s,s:I,s:s}", "dataset", src->id, "version",
                                                (json_int_t)v.version, "path", v.path));
        ns++;
    }
    nmdi_catalog_close(cat);
    cat = NULL;
    rep->skipped = strdup(skipped);
    rep->sources = calloc(ns + 1, sizeof *rep->sources);
    if (!rep->skipped || !rep->sources) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ns; i++)
        rep->sources[rep->nsources++] = strdup(S[i].id);
    if (ns < 2)
        goto done;
    size_t nunits = 0;
    for (size_t i = 0; i < ns; i++) {
        if ((rc = read_source(a, &S[i], err)))
            goto done;
        S[i].base = nunits;
        nunits += S[i].nunits;
    }
    rep->pairs = calloc(ns * (ns - 1) / 2 + 1, sizeof *rep->pairs);
    if (!rep->pairs) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ns; i++)
        for (size_t j = i + 1; j < ns; j++) {
            nmdi_spine_pairrep *pr = &rep->pairs[rep->npairs++];
            pr->left = strdup(S[i].id);
            pr->right = strdup(S[j].id);
            if ((rc = link_pair(ctx, &S[i], &S[j], threshold, pr, &links, &nlinks, &caplinks, models,
                                &W, err)))
                goto done;
        }
    /* persons: union by decreasing probability (spine_cluster), at most one
     * unit per source and person, plus up to 8 more per source whose
     * persons may have several units (students, travel documents) */
    size_t maxc = ns;
    for (size_t i = 0; i < ns; i++)
        maxc += S[i].many ? 8 : 0;
    if (opts && opts->max_cluster)
        maxc = opts->max_cluster;
    cluster = calloc(nunits + 1, sizeof *cluster);
    prob = malloc((nunits + 1) * sizeof *prob);
    if (!cluster || !prob) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    if ((rc = spine_cluster(S, ns, nunits, links, nlinks, maxc, cluster, &rep->refused, err)))
        goto done;
    for (size_t u = 0; u < nunits; u++)
        prob[u] = NAN;
    for (size_t k = 0; k < nlinks; k++) {
        if (cluster[links[k].a] != cluster[links[k].b])
            continue;
        if (isnan(prob[links[k].a]) || links[k].p > prob[links[k].a])
            prob[links[k].a] = links[k].p;
        if (isnan(prob[links[k].b]) || links[k].p > prob[links[k].b])
            prob[links[k].b] = links[k].p;
    }
    json_object_set_new(lin, "method", json_string("nmdi link DIR: Fellegi-Sunter (EM) per source pair, "
                                                   "one-to-one, clusters by decreasing probability"));
    json_object_set_new(lin, "threshold", json_real(threshold));
    json_object_set_new(lin, "max_cluster", json_integer((json_int_t)maxc));
    json_object_set_new(lin, "refused_merges", json_integer((json_int_t)rep->refused));
    json_object_set_new(lin, "review_decisions_applied", json_integer((json_int_t)W.applied));
    rep->decisions = W.applied;
    rep->review_pairs = W.nup;
    json_object_set_new(lin, "nmdi_version", json_string(NMDI_VERSION));
    char *ls = json_dumps(lin, JSON_COMPACT | JSON_SORT_KEYS);
    if (!ls) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    rc = write_spine(dir, cfg->partitions > 0 ? cfg->partitions : 1, S, ns, cluster, prob, nunits, ls,
                     &W, rep, err);
    free(ls);
done:
    for (size_t i = 0; S && i < cfg->nsources; i++)
        if (S[i].ds)
            nmdi_dataset_close(S[i].ds);
    free(S);
    free(links);
    free(W.up);
    nmdi_strmap_free(W.dec);
    free(cluster);
    free(prob);
    json_decref(lin);
    if (cat)
        nmdi_catalog_close(cat);
    nmdi_config_free(cfg);
    nmdi_arena_free(a);
    if (rc) {
        nmdi_spine_report_free(rep);
        return rc;
    }
    rep->seconds = nmdi_now() - t0;
    *out = rep;
    return 0;
}
