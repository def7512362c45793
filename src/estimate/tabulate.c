/*
 * tabulate.c — the tabulation engine (nmdi/tabulate.h): records are mapped to
 * per-dimension code ids and aggregated into the finest cells of an
 * open-addressing hash table keyed by the id tuple; margins ("_T") are built
 * from those cells, each margin level from its parent level with one total
 * fewer, never from the records again. Cell keys are exact fixed-point sums.
 */
#include "tabulate_internal.h"
#include "nmdi/csv.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOT UINT32_MAX
#define KEY_MASK ((UINT64_C(1) << NMDI_TAB_KEY_BITS) - 1)

/* ---- a set of cells keyed by a tuple of code ids ------------------------- */
typedef struct acc {
    double sw, swy; /* sum of weights, of weight * value */
    int64_t n;      /* records */
    uint64_t rk;    /* fixed-point record keys, summed modulo 2^64 */
} acc;

typedef struct cellset {
    size_t nd;
    uint32_t *keys; /* ncells * nd */
    acc *a;         /* ncells accumulators, one cache line each */
    size_t ncells, cap;
    uint32_t *slots; /* cell index + 1; 0 = empty */
    size_t hcap;     /* power of two */
} cellset;

static void cs_free(cellset *s)
{
    free(s->keys);
    free(s->a);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

static inline uint64_t key_hash(const uint32_t *k, size_t nd)
{
    return nmdi_hash64(k, nd * sizeof *k, 0x6e6d6469u);
}

static int cs_rehash(cellset *s, size_t hcap)
{
    uint32_t *slots = calloc(hcap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < s->ncells; i++) {
        size_t h = key_hash(&s->keys[i * s->nd], s->nd) & (hcap - 1);
        while (slots[h])
            h = (h + 1) & (hcap - 1);
        slots[h] = (uint32_t)(i + 1);
    }
    free(s->slots);
    s->slots = slots;
    s->hcap = hcap;
    return 0;
}

static int cs_grow(cellset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 256;
    if (cap >= UINT32_MAX / 2)
        return -1;
    uint32_t *k = realloc(s->keys, cap * (s->nd ? s->nd : 1) * sizeof *k);
    if (!k)
        return -1;
    s->keys = k;
#define GROW(f)                                                                                    \
    do {                                                                                           \
        void *p = realloc(s->f, cap * sizeof *s->f);                                               \
        if (!p)                                                                                    \
            return -1;                                                                             \
        s->f = p;                                                                                  \
    } while (0)
    GROW(a);
#undef GROW
    s->cap = cap;
    return 0;
}

/* Index of the cell with key k, inserted (zeroed) when absent; -1 on OOM. */
static long cs_get(cellset *s, const uint32_t *k)
{
    if (s->hcap == 0 && cs_rehash(s, 1024) != 0)
        return -1;
    uint64_t h = key_hash(k, s->nd) & (s->hcap - 1);
    size_t ksz = s->nd * sizeof *k;
    for (;;) {
        uint32_t v = s->slots[h];
        if (!v)
            break;
        const uint32_t *o = &s->keys[(size_t)(v - 1) * s->nd];
        size_t d = 0;
        while (d < s->nd && o[d] == k[d])
            d++;
        if (d == s->nd)
            return (long)(v - 1);
        h = (h + 1) & (s->hcap - 1);
    }
    if (s->ncells == s->cap && cs_grow(s) != 0)
        return -1;
    size_t i = s->ncells++;
    memcpy(&s->keys[i * s->nd], k, ksz);
    memset(&s->a[i], 0, sizeof s->a[i]);
    s->slots[h] = (uint32_t)(i + 1);
    if (s->ncells * 2 > s->hcap && cs_rehash(s, s->hcap * 2) != 0)
        return -1;
    return (long)i;
}

/* ---- the engine ---------------------------------------------------------- */
typedef struct dim_dict {
    nmdi_strmap *map; /* code → id */
    char **codes;     /* id → code (arena) */
    size_t ncodes, cap;
    const char *last; /* one-entry cache: data are often sorted */
    size_t last_len;
    uint32_t last_id;
    /* short codes (up to 7 bytes) packed into an integer with their length:
     * an open-addressing table packed → id + 1 in front of the string map */
    uint64_t *pk;
    uint32_t *pid;
    size_t pcap, pn;
} dim_dict;

struct nmdi_tab {
    size_t nd;
    dim_dict *dict;
    cellset cells;
    uint32_t *tmp;
    nmdi_arena *arena;
};

nmdi_tab *nmdi_tab_new(size_t ndims)
{
    nmdi_tab *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->nd = ndims;
    t->cells.nd = ndims;
    t->dict = calloc(ndims ? ndims : 1, sizeof *t->dict);
    t->tmp = calloc(ndims ? ndims : 1, sizeof *t->tmp);
    t->arena = nmdi_arena_new(1 << 14);
    if (!t->dict || !t->tmp || !t->arena) {
        nmdi_tab_free(t);
        return NULL;
    }
    for (size_t d = 0; d < ndims; d++)
        if (!(t->dict[d].map = nmdi_strmap_new())) {
            nmdi_tab_free(t);
            return NULL;
        }
    return t;
}

void nmdi_tab_free(nmdi_tab *t)
{
    if (!t)
        return;
    for (size_t d = 0; t->dict && d < t->nd; d++) {
        nmdi_strmap_free(t->dict[d].map);
        free(t->dict[d].codes);
        free(t->dict[d].pk);
        free(t->dict[d].pid);
    }
    free(t->dict);
    free(t->tmp);
    cs_free(&t->cells);
    nmdi_arena_free(t->arena);
    free(t);
}

size_t nmdi_tab_ncells(const nmdi_tab *t) { return t->cells.ncells; }

static uint64_t pack_code(const char *s, size_t len)
{
    uint64_t k = len; /* the length, then the bytes: unique for len <= 7 */
    for (size_t i = 0; i < len; i++)
        k = k << 8 | (unsigned char)s[i];
    return k;
}

static size_t pk_slot(uint64_t k, size_t cap)
{
    return (size_t)((k * 0x9E3779B97F4A7C15ULL) >> 32) & (cap - 1);
}

/* Remember packed code k → id; 0 or -1 on OOM. */
static int pk_put(dim_dict *dd, uint64_t k, uint32_t id)
{
    if ((dd->pn + 1) * 2 > dd->pcap) {
        size_t cap = dd->pcap ? dd->pcap * 2 : 256;
        uint64_t *nk = calloc(cap, sizeof *nk);
        uint32_t *ni = calloc(cap, sizeof *ni);
        if (!nk || !ni) {
            free(nk);
            free(ni);
            return -1;
        }
        for (size_t i = 0; i < dd->pcap; i++)
            if (dd->pid[i]) {
                size_t h = pk_slot(dd->pk[i], cap);
                while (ni[h])
                    h = (h + 1) & (cap - 1);
                nk[h] = dd->pk[i];
                ni[h] = dd->pid[i];
            }
        free(dd->pk);
        free(dd->pid);
        dd->pk = nk;
        dd->pid = ni;
        dd->pcap = cap;
    }
    size_t h = pk_slot(k, dd->pcap);
    while (dd->pid[h] && dd->pk[h] != k)
        h = (h + 1) & (dd->pcap - 1);
    if (!dd->pid[h])
        dd->pn++;
    dd->pk[h] = k;
    dd->pid[h] = id + 1;
    return 0;
}

/* id of a code in dimension d, inserted when new; -1 on OOM */
static int64_t code_id(nmdi_tab *t, size_t d, const char *s, size_t len)
{
    dim_dict *dd = &t->dict[d];
    if (dd->last && dd->last_len == len && memcmp(dd->last, s, len) == 0)
        return dd->last_id;
    uint64_t pk = 0;
    if (len <= 7) {
        pk = pack_code(s, len);
        if (dd->pcap) {
            size_t h = pk_slot(pk, dd->pcap);
            while (dd->pid[h]) {
                if (dd->pk[h] == pk) {
                    uint32_t id = dd->pid[h] - 1;
                    dd->last = dd->codes[id];
                    dd->last_len = len;
                    dd->last_id = id;
                    return id;
                }
                h = (h + 1) & (dd->pcap - 1);
            }
        }
    }
    int inserted = 0;
    int64_t *v = nmdi_strmap_put(dd->map, s, len, &inserted);
    if (!v)
        return -1;
    if (inserted) {
        if (dd->ncodes == dd->cap) {
            size_t cap = dd->cap ? dd->cap * 2 : 16;
            char **c = realloc(dd->codes, cap * sizeof *c);
            if (!c)
                return -1;
            dd->codes = c;
            dd->cap = cap;
        }
        char *copy = nmdi_arena_strndup(t->arena, s, len);
        if (!copy || dd->ncodes >= TOT - 1)
            return -1;
        dd->codes[dd->ncodes] = copy;
        *v = (int64_t)dd->ncodes++;
    }
    if (len <= 7 && pk_put(dd, pk, (uint32_t)*v) != 0)
        return -1;
    dd->last = dd->codes[*v];
    dd->last_len = len;
    dd->last_id = (uint32_t)*v;
    return *v;
}

int nmdi_tab_add(nmdi_tab *t, const char *const *codes, const size_t *lens, double w, double y,
                 uint64_t rk)
{
    for (size_t d = 0; d < t->nd; d++) {
        int64_t id = code_id(t, d, codes[d], lens ? lens[d] : strlen(codes[d]));
        if (id < 0)
            return NMDI_EINTERNAL;
        t->tmp[d] = (uint32_t)id;
    }
    long i = cs_get(&t->cells, t->tmp);
    if (i < 0)
        return NMDI_EINTERNAL;
    t->cells.a[i].sw += w;
    t->cells.a[i].swy += w * y;
    t->cells.a[i].n += 1;
    t->cells.a[i].rk += rk;
    return 0;
}

int nmdi_tab_merge(nmdi_tab *dst, const nmdi_tab *src)
{
    assert(dst->nd == src->nd);
    const char *codes[64];
    size_t lens[64];
    if (src->nd > 64)
        return NMDI_EINTERNAL;
    for (size_t c = 0; c < src->cells.ncells; c++) {
        const uint32_t *k = &src->cells.keys[c * src->nd];
        for (size_t d = 0; d < src->nd; d++) {
            codes[d] = src->dict[d].codes[k[d]];
            lens[d] = strlen(codes[d]);
            int64_t id = code_id(dst, d, codes[d], lens[d]);
            if (id < 0)
                return NMDI_EINTERNAL;
            dst->tmp[d] = (uint32_t)id;
        }
        long i = cs_get(&dst->cells, dst->tmp);
        if (i < 0)
            return NMDI_EINTERNAL;
        dst->cells.a[i].sw += src->cells.a[c].sw;
        dst->cells.a[i].swy += src->cells.a[c].swy;
        dst->cells.a[i].n += src->cells.a[c].n;
        dst->cells.a[i].rk += src->cells.a[c].rk;
    }
    return 0;
}

int nmdi_tab_key_fixed(double rk, uint64_t *out)
{
    if (!(rk >= 0.0 && rk < 1.0))
        return -1;
    *out = (uint64_t)ldexp(rk, NMDI_TAB_KEY_BITS); /* floor: rk >= 0 */
    return 0;
}

double nmdi_tab_key_double(uint64_t sum)
{
    return ldexp((double)(sum & KEY_MASK), -NMDI_TAB_KEY_BITS);
}

static double measure_value(nmdi_tab_measure m, double sw, double swy)
{
    switch (m) {
    case NMDI_TAB_SUM:
        return swy;
    case NMDI_TAB_MEAN:
        return sw > 0 ? swy / sw : NAN;
    default:
        return sw;
    }
}

typedef struct rank_ctx {
    size_t nd;
    const uint32_t *keys;
    uint32_t **rank; /* per dimension: code id -> rank; TOT ranks last */
    char **codes;    /* while ranking one dimension */
} rank_ctx;

static int cmp_code_ids(const void *a, const void *b, void *arg)
{
    char **codes = arg;
    return strcmp(codes[*(const uint32_t *)a], codes[*(const uint32_t *)b]);
}

static int cmp_ranked(const void *a, const void *b, void *arg)
{
    const rank_ctx *r = arg;
    const uint32_t *x = &r->keys[*(const size_t *)a * r->nd];
    const uint32_t *y = &r->keys[*(const size_t *)b * r->nd];
    for (size_t d = 0; d < r->nd; d++) {
        uint32_t rx = x[d] == TOT ? UINT32_MAX : r->rank[d][x[d]];
        uint32_t ry = y[d] == TOT ? UINT32_MAX : r->rank[d][y[d]];
        if (rx != ry)
            return rx < ry ? -1 : 1;
    }
    return 0;
}

static int sort_cells(const nmdi_tab *t, const cellset *all, rank_ctx *r, size_t **order)
{
    r->rank = calloc(r->nd ? r->nd : 1, sizeof *r->rank);
    size_t *ord = malloc((all->ncells ? all->ncells : 1) * sizeof *ord);
    if (!r->rank || !ord) {
        free(ord);
        return NMDI_EINTERNAL;
    }
    for (size_t d = 0; d < r->nd; d++) {
        size_t n = t->dict[d].ncodes;
        uint32_t *ids = malloc((n ? n : 1) * sizeof *ids);
        r->rank[d] = malloc((n ? n : 1) * sizeof *r->rank[d]);
        if (!ids || !r->rank[d]) {
            free(ids);
            free(ord);
            return NMDI_EINTERNAL;
        }
        for (size_t i = 0; i < n; i++)
            ids[i] = (uint32_t)i;
        qsort_r(ids, n, sizeof *ids, cmp_code_ids, t->dict[d].codes);
        for (size_t i = 0; i < n; i++)
            r->rank[d][ids[i]] = (uint32_t)i;
        free(ids);
    }
    for (size_t i = 0; i < all->ncells; i++)
        ord[i] = i;
    qsort_r(ord, all->ncells, sizeof *ord, cmp_ranked, r);
    *order = ord;
    return 0;
}

int nmdi_tab_cube(const nmdi_tab *t, const char *const *dims, nmdi_tab_measure m, int margins,
                  int with_ckey, nmdi_cube **out, nmdi_error *err)
{
    size_t nd = t->nd;
    if (margins && nd > 16)
        return nmdi_error_set(err, NMDI_EDATA, "margins over %zu dimensions: at most 16", nd);
    if (margins)
        for (size_t d = 0; d < nd; d++)
            if (nmdi_strmap_get(t->dict[d].map, NMDI_TAB_TOTAL, 2))
                return nmdi_error_at(err, NMDI_EDATA, NULL, 0, dims[d],
                                     "the value '_T' is reserved for totals; recode it "
                                     "before tabulating with margins");
    cellset all = {.nd = nd};
    size_t nmask = margins ? (size_t)1 << nd : 1;
    size_t *start = calloc(nmask + 1, sizeof *start);
    uint32_t *k = calloc(nd ? nd : 1, sizeof *k);
    nmdi_cube *c = nmdi_cube_new(nd, dims);
    const char **codes = calloc(nd ? nd : 1, sizeof *codes);
    int rc = (!start || !k || !c || !codes) ? NMDI_EINTERNAL : 0;
    /* level 0: the finest cells, copied */
    for (size_t i = 0; !rc && i < t->cells.ncells; i++) {
        long j = cs_get(&all, &t->cells.keys[i * nd]);
        if (j < 0) {
            rc = NMDI_EINTERNAL;
            break;
        }
        all.a[j].sw = t->cells.a[i].sw;
        all.a[j].swy = t->cells.a[i].swy;
        all.a[j].n = t->cells.a[i].n;
        all.a[j].rk = t->cells.a[i].rk;
    }
    if (!rc) {
        start[0] = 0;
        start[1] = all.ncells;
    }
    /* level mask: dimensions with a set bit are totalled; built from the
     * parent level that has the lowest of those bits not totalled */
    for (size_t mask = 1; !rc && mask < nmask; mask++) {
        size_t parent = mask & (mask - 1);
        size_t bit = 0;
        while (!((mask >> bit) & 1))
            bit++;
        for (size_t i = start[parent]; i < start[parent + 1]; i++) {
            memcpy(k, &all.keys[i * nd], nd * sizeof *k);
            k[bit] = TOT;
            long j = cs_get(&all, k);
            if (j < 0) {
                rc = NMDI_EINTERNAL;
                break;
            }
            all.a[j].sw += all.a[i].sw;
            all.a[j].swy += all.a[i].swy;
            all.a[j].n += all.a[i].n;
            all.a[j].rk += all.a[i].rk;
        }
        start[mask + 1] = all.ncells;
    }
    /* order the cells as nmdi_cube_sort would (byte order per dimension,
     * "_T" last) by ranking each dimension's codes once */
    size_t *order = NULL;
    rank_ctx rctx = {.nd = nd, .keys = all.keys};
    if (!rc)
        rc = sort_cells(t, &all, &rctx, &order);
    for (size_t o = 0; !rc && o < all.ncells; o++) {
        size_t i = order[o];
        nmdi_cell cell;
        nmdi_cell_init(&cell);
        for (size_t d = 0; d < nd; d++) {
            uint32_t id = all.keys[i * nd + d];
            codes[d] = id == TOT ? NMDI_TAB_TOTAL : t->dict[d].codes[id];
        }
        cell.value = measure_value(m, all.a[i].sw, all.a[i].swy);
        cell.n = all.a[i].n;
        if (with_ckey)
            cell.ckey = nmdi_tab_key_double(all.a[i].rk);
        if (nmdi_cube_add(c, codes, &cell) != 0)
            rc = NMDI_EINTERNAL;
    }
    free(order);
    for (size_t d = 0; rctx.rank && d < nd; d++)
        free(rctx.rank[d]);
    free(rctx.rank);
    free(start);
    free(k);
    free(codes);
    cs_free(&all);
    if (rc) {
        nmdi_cube_free(c);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory while tabulating");
    }
    *out = c;
    return 0;
}

/* ---- the CSV door ---------------------------------------------------------- */
static int parse_num(const nmdi_csv *csv, size_t col, const char *colname, const char *what,
                     double *out, nmdi_error *err)
{
    const char *s = nmdi_csv_field(csv, col);
    if (!*s)
        return nmdi_error_at(err, NMDI_EDATA, nmdi_csv_name(csv), nmdi_csv_line(csv), colname,
                             "missing %s (empty field)", what);
    if (nmdi_parse_double(s, out) != 0)
        return nmdi_error_at(err, NMDI_EDATA, nmdi_csv_name(csv), nmdi_csv_line(csv), colname,
                             "%s is not a number: '%.60s'", what, s);
    return 0;
}

static int find_col(const char *const *names, size_t n, const char *want, const char *path,
                    const char *role, nmdi_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], want) == 0)
            return (int)i;
    nmdi_error_at(err, NMDI_EDATA, path, 1, want, "no such column (%s) in the header", role);
    return -1;
}

int nmdi_tabulate_csv(const nmdi_ctx *ctx, const char *path, const nmdi_tab_spec *spec,
                      nmdi_cube **out, nmdi_error *err)
{
    if (spec->nby == 0 || spec->nby > 64)
        return nmdi_error_set(err, NMDI_EDATA, "tabulate needs 1 to 64 by-columns");
    if (spec->measure != NMDI_TAB_COUNT && !spec->var)
        return nmdi_error_set(err, NMDI_EDATA, "sum and mean need a variable");
    for (size_t i = 0; i < spec->nby; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(spec->by[i], spec->by[j]) == 0)
                return nmdi_error_at(err, NMDI_EDATA, NULL, 0, spec->by[i],
                                     "column listed twice in --by");
    /* plain files: the parallel path (tabulate_fast.c), which steps back to
     * the streaming reader below for anything it does not handle */
    int fr = nmdi_tab_csv_fast(ctx, path, spec, out, err);
    if (fr != 0)
        return fr > 0 ? 0 : -fr;
    nmdi_csv *csv;
    int rc = nmdi_csv_open(&csv, path, NULL, err);
    if (rc)
        return rc;
    nmdi_tab *t = NULL;
    char **names = NULL;
    size_t ncols = 0;
    int *bycol = calloc(spec->nby, sizeof *bycol);
    const char **codes = calloc(spec->nby, sizeof *codes);
    size_t *lens = calloc(spec->nby, sizeof *lens);
    if (!bycol || !codes || !lens) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    int r = nmdi_csv_next(csv, err);
    if (r < 0) {
        rc = err->code;
        goto done;
    }
    if (r == 0) {
        rc = nmdi_error_at(err, NMDI_EDATA, path, 1, NULL, "empty file: no header line");
        goto done;
    }
    ncols = nmdi_csv_nfields(csv);
    names = calloc(ncols, sizeof *names);
    if (!names) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ncols; i++) {
        const char *s = nmdi_csv_field(csv, i);
        size_t len = nmdi_csv_field_len(csv, i);
        nmdi_str_trim(&s, &len);
        if (!(names[i] = strndup(s, len))) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            goto done;
        }
    }
    const char *const *cn = (const char *const *)names;
    for (size_t i = 0; i < spec->nby; i++)
        if ((bycol[i] = find_col(cn, ncols, spec->by[i], path, "--by", err)) < 0) {
            rc = err->code;
            goto done;
        }
    int wcol = -1, vcol = -1, kcol = -1;
    if (spec->weight && (wcol = find_col(cn, ncols, spec->weight, path, "weight", err)) < 0) {
        rc = err->code;
        goto done;
    }
    if (spec->measure != NMDI_TAB_COUNT &&
        (vcol = find_col(cn, ncols, spec->var, path, "variable", err)) < 0) {
        rc = err->code;
        goto done;
    }
    if (spec->rkey && (kcol = find_col(cn, ncols, spec->rkey, path, "record key", err)) < 0) {
        rc = err->code;
        goto done;
    }
    if (!(t = nmdi_tab_new(spec->nby))) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    nmdi_progress prog;
    nmdi_progress_begin(&prog, ctx, "tabulate", 0);
    uint64_t nrec = 0;
    while ((r = nmdi_csv_next(csv, err)) == 1) {
        if (nmdi_csv_nfields(csv) != ncols) {
            rc = nmdi_error_at(err, NMDI_EDATA, path, nmdi_csv_line(csv), NULL,
                               "%zu fields where the header has %zu", nmdi_csv_nfields(csv),
                               ncols);
            break;
        }
        for (size_t i = 0; i < spec->nby; i++) {
            codes[i] = nmdi_csv_field(csv, (size_t)bycol[i]);
            lens[i] = nmdi_csv_field_len(csv, (size_t)bycol[i]);
            if (spec->margins && lens[i] == 2 && memcmp(codes[i], NMDI_TAB_TOTAL, 2) == 0) {
                rc = nmdi_error_at(err, NMDI_EDATA, path, nmdi_csv_line(csv), spec->by[i],
                                   "the value '_T' is reserved for totals; recode it "
                                   "before tabulating with --margins");
                break;
            }
        }
        if (rc)
            break;
        double w = 1, y = 0;
        uint64_t rk = 0;
        if (wcol >= 0) {
            if ((rc = parse_num(csv, (size_t)wcol, spec->weight, "weight", &w, err)))
                break;
            if (w < 0) {
                rc = nmdi_error_at(err, NMDI_EDATA, path, nmdi_csv_line(csv), spec->weight,
                                   "negative weight %.17g", w);
                break;
            }
        }
        if (vcol >= 0 && (rc = parse_num(csv, (size_t)vcol, spec->var, "value", &y, err)))
            break;
        if (kcol >= 0) {
            double k;
            if ((rc = parse_num(csv, (size_t)kcol, spec->rkey, "record key", &k, err)))
                break;
            if (nmdi_tab_key_fixed(k, &rk) != 0) {
                rc = nmdi_error_at(err, NMDI_EDATA, path, nmdi_csv_line(csv), spec->rkey,
                                   "record key %.17g is not in [0,1)", k);
                break;
            }
        }
        if (nmdi_tab_add(t, codes, lens, w, y, rk) != 0) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            break;
        }
        if ((++nrec & 0xFFFF) == 0)
            nmdi_progress_update(&prog, nrec);
    }
    nmdi_progress_end(&prog);
    if (!rc && r < 0)
        rc = err->code;
    if (!rc)
        rc = nmdi_tab_cube(t, spec->by, spec->measure, spec->margins, kcol >= 0, out, err);
done:
    if (names)
        for (size_t i = 0; i < ncols; i++)
            free(names[i]);
    free(names);
    free(bycol);
    free(codes);
    free(lens);
    nmdi_tab_free(t);
    nmdi_csv_close(csv);
    return rc;
}
