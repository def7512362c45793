/*
 * mobile_file.c — presence records read from a CSV file for the mobile
 * derivation (nmdi/mobile.h): the plain layout of `nmdi mobile`
 * (subscriber, date, area, home_country, roaming) and the operator's
 * delivery layout of the synthetic country (SUBSCRIBER, DAY, AREA, MCC_HOME,
 * ROAM, VISITED_MCC), whose mobile country codes are mapped to ISO 3166
 * alpha-3 through the MCC table (data/mcc.csv) and whose operator areas are
 * mapped to subdivisions through the operator's area table. Subscriber keys
 * are hashed as they are read (the clear key is never kept). Code strings
 * are interned once, so a record costs 16 bytes in memory.
 */
#include "nmdi/csv.h"
#include "nmdi/mobile.h"

#include <ctype.h>
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

/* ---- whole file in memory ------------------------------------------------ */
typedef struct collect {
    size_t n, cap;
    uint64_t *sub;
    nmdi_date *day;
    uint32_t *area, *home;  /* interned code ids */
    uint8_t *roam;
    nmdi_strmap *ids;       /* code -> id + 1 */
    const char **str;       /* id -> code (owned by arena) */
    size_t nstr, strcap;
    nmdi_arena *arena;
} collect;

static int intern(collect *c, const char *s, uint32_t *id)
{
    int ins;
    int64_t *v = nmdi_strmap_put(c->ids, s, strlen(s), &ins);
    if (!v)
        return -1;
    if (ins) {
        if (c->nstr == c->strcap) {
            size_t nc = c->strcap ? 2 * c->strcap : 256;
            const char **x = realloc(c->str, nc * sizeof *x);
            if (!x)
                return -1;
            c->str = x;
            c->strcap = nc;
        }
        if (!(c->str[c->nstr] = nmdi_arena_strdup(c->arena, s)))
            return -1;
        *v = (int64_t)++c->nstr;
    }
    *id = (uint32_t)(*v - 1);
    return 0;
}

static int collect_rec(void *arg, uint64_t sub, nmdi_date day, const char *area, const char *home,
                       uint8_t roam, nmdi_error *err)
{
    collect *c = arg;
    if (c->n == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 4096;
        uint64_t *s = realloc(c->sub, nc * sizeof *s);
        if (s)
            c->sub = s;
        nmdi_date *d = realloc(c->day, nc * sizeof *d);
        if (d)
            c->day = d;
        uint32_t *a = realloc(c->area, nc * sizeof *a);
        if (a)
            c->area = a;
        uint32_t *h = realloc(c->home, nc * sizeof *h);
        if (h)
            c->home = h;
        uint8_t *r = realloc(c->roam, nc);
        if (r)
            c->roam = r;
        if (!s || !d || !a || !h || !r)
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        c->cap = nc;
    }
    if (intern(c, area, &c->area[c->n]) || intern(c, home, &c->home[c->n]))
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    c->sub[c->n] = sub;
    c->day[c->n] = day;
    c->roam[c->n] = roam;
    c->n++;
    return 0;
}

int nmdi_mobile_run_file(const nmdi_ctx *ctx, const nmdi_mobile_params *p, const char *path,
                         const nmdi_mobile_maps *maps, nmdi_mobile_result *out,
                         nmdi_mobile_file_stats *st, nmdi_error *err)
{
    memset(out, 0, sizeof *out);
    collect c;
    memset(&c, 0, sizeof c);
    c.ids = nmdi_strmap_new();
    c.arena = nmdi_arena_new(1 << 14);
    int rc = c.ids && c.arena ? 0 : nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    if (!rc)
        rc = nmdi_mobile_read_csv(path, maps, collect_rec, &c, st, err);
    const char **area = NULL, **home = NULL;
    if (!rc) {
        area = malloc((c.n + 1) * sizeof *area);
        home = malloc((c.n + 1) * sizeof *home);
        if (!area || !home)
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        for (size_t i = 0; !rc && i < c.n; i++) {
            area[i] = c.str[c.area[i]];
            home[i] = c.str[c.home[i]];
        }
    }
    if (!rc) {
        nmdi_mobile_input in = {c.n, c.sub, c.day, area, home, c.roam};
        rc = nmdi_mobile_run(ctx, p, &in, out, err);
    }
    free(area);
    free(home);
    free(c.sub);
    free(c.day);
    free(c.area);
    free(c.home);
    free(c.roam);
    free(c.str);
    nmdi_strmap_free(c.ids);
    nmdi_arena_free(c.arena);
    return rc;
}
