/*
 * mobile_file.c — presence records read from a CSV file for the mobile
 * derivation (nmdi/mobile.h): the plain layout of `nmdi mobile`
 * (subscriber, date, area, home_country, roaming) and the operator's
 * delivery layout of the synthetic country (SUBSCRIBER, DAY, AREA, MCC_HOME,
 * ROAM, VISITED_MCC), whose mobile country codes are mapped to ISO 3166
 * alpha-3 through the MCC table (data/mcc.csv) and whose operator areas are
 * mapped to subdivisions through the operator's area table. Subscriber keys
 * are hashed as they are read (the clear key is never kept). Code strings
 * are interned once. nmdi_mobile_run_file bounds memory by partitioning the
 * records by subscriber into typed temporary files.
 */
#include "nmdi/csv.h"
#include "nmdi/mobile.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nmdi_mobile_maps {
    nmdi_strmap *mcc;   /* MCC -> index into codes + 1 */
    nmdi_strmap *area;  /* operator area -> index + 1  */
    nmdi_arena *arena;
    const char **codes;
    size_t ncodes, cap;
};

void nmdi_mobile_maps_free(nmdi_mobile_maps *m)
{
    if (!m)
        return;
    nmdi_strmap_free(m->mcc);
    nmdi_strmap_free(m->area);
    nmdi_arena_free(m->arena);
    free(m->codes);
    free(m);
}

/* read a two-column code table (header line, then from,to) into map */
static int load_pairs(nmdi_mobile_maps *m, nmdi_strmap *map, const char *path, nmdi_error *err)
{
    nmdi_table *t;
    nmdi_csv_opts co = {.trim = 1, .check_utf8 = 1};
    if (nmdi_table_read_csv(&t, path, &co, err))
        return err->code;
    int rc = 0;
    if (t->ncols < 2)
        rc = nmdi_error_at(err, NMDI_EDATA, path, 1, NULL,
                           "a code table needs two columns (code, mapped code)");
    for (size_t r = 0; r < t->nrows && !rc; r++) {
        const char *from = nmdi_table_cell(t, r, 0), *to = nmdi_table_cell(t, r, 1);
        int ins;
        int64_t *v = nmdi_strmap_put(map, from, strlen(from), &ins);
        if (!v) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            break;
        }
        if (m->ncodes == m->cap) {
            size_t nc = m->cap ? 2 * m->cap : 256;
            const char **c = realloc(m->codes, nc * sizeof *c);
            if (!c) {
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                break;
            }
            m->codes = c;
            m->cap = nc;
        }
        m->codes[m->ncodes] = nmdi_arena_strdup(m->arena, to);
        if (!m->codes[m->ncodes]) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            break;
        }
        *v = (int64_t)++m->ncodes;
    }
    nmdi_table_free(t);
    return rc;
}

int nmdi_mobile_maps_load(nmdi_mobile_maps **out, const char *mcc_csv, const char *areas_csv,
                          nmdi_error *err)
{
    *out = NULL;
    nmdi_mobile_maps *m = calloc(1, sizeof *m);
    if (!m || !(m->mcc = nmdi_strmap_new()) || !(m->area = nmdi_strmap_new()) ||
        !(m->arena = nmdi_arena_new(1 << 14))) {
        nmdi_mobile_maps_free(m);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    int rc = 0;
    if (mcc_csv)
        rc = load_pairs(m, m->mcc, mcc_csv, err);
    if (!rc && areas_csv)
        rc = load_pairs(m, m->area, areas_csv, err);
    if (rc) {
        nmdi_mobile_maps_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static const char *map_code(const nmdi_mobile_maps *m, const nmdi_strmap *map, const char *s)
{
    if (!m)
        return NULL;
    int64_t *v = nmdi_strmap_get(map, s, strlen(s));
    return v ? m->codes[*v - 1] : NULL;
}

static int parse_roaming(const char *s)
{
    if (strcmp(s, "0") == 0 || nmdi_str_ieq(s, "domestic") || nmdi_str_ieq(s, "home") ||
        nmdi_str_ieq(s, "N") || nmdi_str_ieq(s, "no"))
        return NMDI_MOBILE_DOMESTIC;
    if (strcmp(s, "1") == 0 || nmdi_str_ieq(s, "inbound") || nmdi_str_ieq(s, "in"))
        return NMDI_MOBILE_INBOUND;
    if (strcmp(s, "2") == 0 || nmdi_str_ieq(s, "outbound") || nmdi_str_ieq(s, "out"))
        return NMDI_MOBILE_OUTBOUND;
    return -1;
}

static int find_col(nmdi_csv *c, const char *const *names)
{
    for (size_t k = 0; names[k]; k++)
        for (size_t i = 0; i < nmdi_csv_nfields(c); i++)
            if (nmdi_str_ieq(nmdi_csv_field(c, i), names[k]))
                return (int)i;
    return -1;
}

int nmdi_mobile_read_csv(const char *path, const nmdi_mobile_maps *maps, nmdi_mobile_sink_fn fn,
                         void *arg, nmdi_mobile_file_stats *st, nmdi_error *err)
{
    memset(st, 0, sizeof *st);
    nmdi_csv *c;
    nmdi_csv_opts co = {.trim = 1, .check_utf8 = 1};
    if (nmdi_csv_open(&c, path, &co, err))
        return err->code;
    int rc = nmdi_csv_next(c, err);
    if (rc <= 0) {
        nmdi_csv_close(c);
        return rc < 0 ? err->code
                      : nmdi_error_at(err, NMDI_EDATA, path, 1, NULL, "empty file: no header");
    }
    static const char *const n_sub[] = {"subscriber", "subscriber_key", "subscriber_id", "imsi_hash", NULL};
    static const char *const n_day[] = {"date", "day", NULL};
    static const char *const n_area[] = {"area", "cell_area", "area_code", "operator_area", NULL};
    static const char *const n_home[] = {"home_country", "home_network_country", "home", "mcc_home", NULL};
    static const char *const n_roam[] = {"roaming", "roaming_flag", "roam", NULL};
    static const char *const n_vis[] = {"visited_country", "visited_mcc", NULL};
    static const char *const *names[] = {n_sub, n_day, n_area, n_home, n_roam};
    int col[5];
    for (int k = 0; k < 5; k++)
        if ((col[k] = find_col(c, names[k])) < 0) {
            nmdi_csv_close(c);
            return nmdi_error_at(err, NMDI_EDATA, path, 1, names[k][0],
                                 "missing column (expected one of: %s, %s)", names[k][0],
                                 names[k][1]);
        }
    int vis = find_col(c, n_vis);
    /* mobile country codes are mapped to alpha-3 through the MCC table */
    int home_mcc = nmdi_str_ieq(nmdi_csv_field(c, (size_t)col[3]), "mcc_home");
    int vis_mcc = vis >= 0 && nmdi_str_ieq(nmdi_csv_field(c, (size_t)vis), "visited_mcc");
    if ((home_mcc || vis_mcc) && (!maps || nmdi_strmap_count(maps->mcc) == 0)) {
        nmdi_csv_close(c);
        return nmdi_error_at(err, NMDI_EDATA, path, 1, home_mcc ? "MCC_HOME" : "VISITED_MCC",
                             "mobile country codes need the MCC table (data/mcc.csv)");
    }
    size_t need = (size_t)(vis > col[4] ? vis : col[4]);
    for (int k = 0; k < 4; k++)
        if ((size_t)col[k] > need)
            need = (size_t)col[k];
    while ((rc = nmdi_csv_next(c, err)) > 0) {
        st->read++;
        if (nmdi_csv_nfields(c) <= need) {
            rc = nmdi_error_at(err, NMDI_EDATA, path, nmdi_csv_line(c), NULL,
                               "%zu fields, the header has more", nmdi_csv_nfields(c));
            break;
        }
        const char *s = nmdi_csv_field(c, (size_t)col[0]);
        const char *d = nmdi_csv_field(c, (size_t)col[1]);
        int rv = parse_roaming(nmdi_csv_field(c, (size_t)col[4]));
        nmdi_date day;
        if (!*s || nmdi_date_parse(d, strlen(d), &day) || rv < 0) {
            /* a bad record is reported and left out, never silently used */
            if (st->rejected < NMDI_MOBILE_MAX_MESSAGES)
                snprintf(st->message[st->rejected], sizeof st->message[0], "%s:%ld: %s", path,
                         nmdi_csv_line(c),
                         !*s      ? "field 'subscriber': missing"
                         : rv < 0 ? "field 'roaming': not 0/1/2 (domestic/inbound/outbound)"
                                  : "field 'date': not a date YYYY-MM-DD");
            st->rejected++;
            continue;
        }
        const char *home = nmdi_csv_field(c, (size_t)col[3]);
        if (home_mcc) {
            const char *h = map_code(maps, maps->mcc, home);
            home = h ? h : "_U";
        }
        const char *area = nmdi_csv_field(c, (size_t)col[2]);
        if (rv == NMDI_MOBILE_OUTBOUND && vis >= 0 && *nmdi_csv_field(c, (size_t)vis)) {
            area = nmdi_csv_field(c, (size_t)vis);
            if (vis_mcc) {
                const char *v = map_code(maps, maps->mcc, area);
                area = v ? v : "_U";
            }
        } else if (maps) {
            const char *a = map_code(maps, maps->area, area);
            if (a)
                area = a;
        }
        uint64_t key = nmdi_hash64(s, strlen(s), 0);
        if ((rc = fn(arg, key, day, *area ? area : "_U", *home ? home : "_U", (uint8_t)rv, err)))
            break;
    }
    nmdi_csv_close(c);
    return rc < 0 ? err->code : rc;
}

/* ---- memory-bounded run: subscriber-hash partitions on disk --------------
 * A record on disk: subscriber (8 bytes), day (4), area id (4), home id (4),
 * roaming (1), little-endian as the machine writes it (the files live only
 * for the run, on the machine that wrote them). */
enum { REC_BYTES = 21, BUF_BYTES = 1 << 15 };

typedef struct part_out {
    FILE *f;
    unsigned char *buf;
    size_t used;
    uint64_t n;
} part_out;

typedef struct prun {
    const nmdi_mobile_params *p;
    char dir[4096];
    size_t nparts;
    part_out *out;
    /* interned codes: id -> string (arena), string -> id + 1 */
    nmdi_strmap *ids;
    const char **str;
    size_t nstr, strcap;
    nmdi_arena *arena;
    nmdi_date dmin, dmax;
    /* the last code interned per field: consecutive records mostly repeat it */
    char last[2][64];
    uint32_t last_id[2];
    int have_last[2];
    /* pass 2 */
    nmdi_mobile_acc *total;
    pthread_mutex_t lock;
    nmdi_error *errs; /* one per partition */
} prun;

static void part_path(const prun *r, size_t part, char *out, size_t size)
{
    snprintf(out, size, "%s/part-%05zu.bin", r->dir, part);
}

static int intern(prun *r, const char *s, uint32_t *id)
{
    int ins;
    int64_t *v = nmdi_strmap_put(r->ids, s, strlen(s), &ins);
    if (!v)
        return -1;
    if (ins) {
        if (r->nstr == r->strcap) {
            size_t nc = r->strcap ? 2 * r->strcap : 256;
            const char **x = realloc(r->str, nc * sizeof *x);
            if (!x)
                return -1;
            r->str = x;
            r->strcap = nc;
        }
        if (!(r->str[r->nstr] = nmdi_arena_strdup(r->arena, s)))
            return -1;
        *v = (int64_t)++r->nstr;
    }
    *id = (uint32_t)(*v - 1);
    return 0;
}

/* intern through a one-entry cache per field (0 area, 1 home) */
static int intern_cached(prun *r, int field, const char *s, uint32_t *id)
{
    if (r->have_last[field] && strcmp(r->last[field], s) == 0) {
        *id = r->last_id[field];
        return 0;
    }
    if (intern(r, s, id))
        return -1;
    size_t l = strlen(s);
    r->have_last[field] = l < sizeof r->last[field];
    if (r->have_last[field]) {
        memcpy(r->last[field], s, l + 1);
        r->last_id[field] = *id;
    }
    return 0;
}

static int flush_part(prun *r, part_out *o, nmdi_error *err)
{
    if (o->used && fwrite(o->buf, 1, o->used, o->f) != o->used)
        return nmdi_error_at(err, NMDI_EINTERNAL, r->dir, 0, NULL,
                             "cannot write a partition file (disk full?)");
    o->used = 0;
    return 0;
}

static int part_rec(void *arg, uint64_t sub, nmdi_date day, const char *area, const char *home,
                    uint8_t roam, nmdi_error *err)
{
    prun *r = arg;
    uint32_t ia, ih;
    if (intern_cached(r, 0, area, &ia) || intern_cached(r, 1, home, &ih))
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    if (day > r->dmax)
        r->dmax = day;
    if (day < r->dmin)
        r->dmin = day;
    part_out *o = &r->out[nmdi_hash64(&sub, sizeof sub, 0x70617274ULL) % r->nparts];
    if (o->used + REC_BYTES > BUF_BYTES && flush_part(r, o, err))
        return err->code;
    unsigned char *b = o->buf + o->used;
    memcpy(b, &sub, 8);
    memcpy(b + 8, &day, 4);
    memcpy(b + 12, &ia, 4);
    memcpy(b + 16, &ih, 4);
    b[20] = roam;
    o->used += REC_BYTES;
    o->n++;
    return 0;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* derive one partition: read it back, accumulate, merge into the total */
static int part_run(void *arg, size_t part)
{
    prun *r = arg;
    nmdi_error *err = &r->errs[part];
    char path[4200];
    part_path(r, part, path, sizeof path);
    size_t n = (size_t)r->out[part].n;
    nmdi_mobile_cols c;
    int rc = nmdi_mobile_cols_alloc(&c, n);
    unsigned char *buf = malloc(BUF_BYTES);
    if (rc || !buf)
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    FILE *f = rc ? NULL : fopen(path, "rb");
    if (!rc && !f)
        rc = nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot read a partition file");
    for (size_t i = 0; !rc && i < n;) {
        size_t want = (n - i) * REC_BYTES < BUF_BYTES ? (n - i) : BUF_BYTES / REC_BYTES;
        if (fread(buf, REC_BYTES, want, f) != want) {
            rc = nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "short partition file");
            break;
        }
        for (size_t k = 0; k < want; k++, i++) {
            const unsigned char *b = buf + k * REC_BYTES;
            uint32_t ia, ih;
            memcpy(&c.sub[i], b, 8);
            memcpy(&c.day[i], b + 8, 4);
            memcpy(&ia, b + 12, 4);
            memcpy(&ih, b + 16, 4);
            assert(ia < r->nstr && ih < r->nstr);
            c.area[i] = r->str[ia];
            c.home[i] = r->str[ih];
            c.roam[i] = b[20];
        }
    }
    if (f)
        fclose(f);
    unlink(path); /* the disk is freed as the partitions are done */
    free(buf);
    if (rc)
        nmdi_mobile_cols_free(&c);
    else
        rc = nmdi_mobile_add_part(r->total, &r->lock, r->p, &c, n, r->dmin, r->dmax, err);
    return rc;
}

int nmdi_mobile_run_file(const nmdi_ctx *ctx, const nmdi_mobile_params *p, const char *path,
                         const nmdi_mobile_maps *maps, nmdi_mobile_result *out,
                         nmdi_mobile_file_stats *st, nmdi_error *err)
{
    memset(out, 0, sizeof *out);
    memset(st, 0, sizeof *st);
    if (nmdi_mobile_check(p, err))
        return err->code;
    /* partitions: the file's size over ~41 bytes per CSV record */
    struct stat sb;
    if (stat(path, &sb) != 0)
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot open: %s", strerror(errno));
    size_t per = p->partition_records ? p->partition_records : (size_t)1 << 21;
    size_t nparts = (size_t)((uint64_t)sb.st_size / 41 / per) + 1;
    if (nparts > 4096)
        nparts = 4096;
    prun r;
    memset(&r, 0, sizeof r);
    r.p = p;
    r.nparts = nparts;
    r.dmin = INT32_MAX;
    r.dmax = INT32_MIN;
    const char *tmp = p->tmpdir ? p->tmpdir : getenv("TMPDIR");
    snprintf(r.dir, sizeof r.dir, "%s/nmdi-mobile-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(r.dir))
        return nmdi_error_at(err, NMDI_EDATA, r.dir, 0, NULL,
                             "cannot create a directory for partition files: %s (see --tmpdir)",
                             strerror(errno));
    r.out = calloc(nparts, sizeof *r.out);
    r.ids = nmdi_strmap_new();
    r.arena = nmdi_arena_new(1 << 14);
    int rc = r.out && r.ids && r.arena ? 0 : nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    char pp[4200];
    for (size_t i = 0; !rc && i < nparts; i++) {
        part_path(&r, i, pp, sizeof pp);
        r.out[i].buf = malloc(BUF_BYTES);
        r.out[i].f = fopen(pp, "wb");
        if (!r.out[i].buf || !r.out[i].f)
            rc = nmdi_error_at(err, NMDI_EINTERNAL, pp, 0, NULL, "cannot create: %s",
                               strerror(errno));
    }
    /* pass 1: read, intern, partition */
    double c0 = cpu_now(), w0 = nmdi_now();
    if (!rc)
        rc = nmdi_mobile_read_csv(path, maps, part_rec, &r, st, err);
    for (size_t i = 0; r.out && i < nparts; i++) {
        if (!rc && r.out[i].f)
            rc = flush_part(&r, &r.out[i], err);
        if (r.out[i].f && fclose(r.out[i].f) != 0 && !rc)
            rc = nmdi_error_at(err, NMDI_EINTERNAL, r.dir, 0, NULL,
                               "cannot write a partition file (disk full?)");
        r.out[i].f = NULL;
        free(r.out[i].buf);
        r.out[i].buf = NULL;
    }
    /* pass 2: the partitions on the thread pool */
    double c1 = cpu_now(), w1 = nmdi_now();
    if (!rc) {
        r.total = nmdi_mobile_acc_new();
        r.errs = calloc(nparts, sizeof *r.errs);
        if (!r.total || !r.errs || pthread_mutex_init(&r.lock, NULL) != 0) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        } else {
            rc = nmdi_pool_run(ctx, nparts, part_run, &r);
            pthread_mutex_destroy(&r.lock);
            for (size_t i = 0; rc && i < nparts; i++)
                if (r.errs[i].code) {
                    *err = r.errs[i];
                    break;
                }
        }
    }
    if (!rc)
        rc = nmdi_mobile_acc_finish(r.total, p, out, err);
    if (!rc)
        nmdi_note(ctx, "nmdi mobile: pass 1 (read, partition into %zu files): %.1f s CPU, %.1f s; "
                       "pass 2 (derive, %d threads): %.1f s CPU, %.1f s",
                  nparts, c1 - c0, w1 - w0, ctx ? ctx->nthreads : 1, cpu_now() - c1,
                  nmdi_now() - w1);
    for (size_t i = 0; r.out && i < nparts; i++) {
        part_path(&r, i, pp, sizeof pp);
        unlink(pp);
    }
    rmdir(r.dir);
    nmdi_mobile_acc_free(r.total);
    free(r.errs);
    free(r.out);
    free(r.str);
    nmdi_strmap_free(r.ids);
    nmdi_arena_free(r.arena);
    return rc;
}
