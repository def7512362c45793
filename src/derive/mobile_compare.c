/*
 * mobile_compare.c — mobile-based estimates of a synthetic country set
 * against its truth and against the border-based estimates
 * (nmdi_mobile_compare in nmdi/mobile.h; docs/methods-mobile.md, "Mobile
 * against truth and border"). The presence file is derived by the same
 * engine as everywhere (nmdi_mobile_run_file); the truth is read from the
 * generator's truth/ files; the border-based flows from the infrastructure's
 * MIG_FLOW table when there is one. Only counts of at least min_subscribers
 * subscribers are reported.
 */
#include "nmdi/csv.h"
#include "nmdi/mobile.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

typedef struct cmp {
    nmdi_mobile_comparison *c;
    size_t cap;
    nmdi_strmap *idx; /* indicator|period|country -> row + 1 */
} cmp;

static nmdi_mobile_cmp_row *row_at(cmp *x, const char *ind, const char *period, const char *country)
{
    char key[64];
    int l = snprintf(key, sizeof key, "%s|%s|%s", ind, period, country);
    if (l < 0 || (size_t)l >= sizeof key)
        return NULL;
    int ins;
    int64_t *v = nmdi_strmap_put(x->idx, key, (size_t)l, &ins);
    if (!v)
        return NULL;
    if (ins) {
        if (x->c->n == x->cap) {
            size_t nc = x->cap ? 2 * x->cap : 256;
            nmdi_mobile_cmp_row *r = realloc(x->c->rows, nc * sizeof *r);
            if (!r)
                return NULL;
            x->c->rows = r;
            x->cap = nc;
        }
        nmdi_mobile_cmp_row *r = &x->c->rows[x->c->n];
        memset(r, 0, sizeof *r);
        snprintf(r->indicator, sizeof r->indicator, "%s", ind);
        snprintf(r->period, sizeof r->period, "%s", period);
        snprintf(r->country, sizeof r->country, "%s", country);
        r->truth = 0;
        r->border = NAN;
        *v = (int64_t)++x->c->n;
    }
    return &x->c->rows[*v - 1];
}

static int csv_col(nmdi_csv *c, const char *name)
{
    for (size_t i = 0; i < nmdi_csv_nfields(c); i++)
        if (!strcmp(nmdi_csv_field(c, i), name))
            return (int)i;
    return -1;
}

/* open a truth file and find its columns (names NULL-terminated) */
static int truth_open(nmdi_csv **c, const char *path, const char *const *names, int *col,
                      nmdi_error *err)
{
    if (nmdi_csv_open(c, path, NULL, err))
        return err->code;
    if (nmdi_csv_next(*c, err) <= 0) {
        nmdi_csv_close(*c);
        return nmdi_error_at(err, NMDI_EDATA, path, 1, NULL, "no header");
    }
    for (size_t k = 0; names[k]; k++)
        if ((col[k] = csv_col(*c, names[k])) < 0) {
            nmdi_csv_close(*c);
            return nmdi_error_at(err, NMDI_EDATA, path, 1, names[k], "missing column");
        }
    return 0;
}

static const char *fld(nmdi_csv *c, int i)
{
    return (size_t)i < nmdi_csv_nfields(c) ? nmdi_csv_field(c, (size_t)i) : "";
}

/* truth/events.csv: long-term migrations per year (and country) */
static int truth_events(cmp *x, const char *S, nmdi_date from, nmdi_date to, nmdi_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/truth/events.csv", S);
    static const char *const names[] = {"date", "event", "citizen", "country", NULL};
    int col[4];
    nmdi_csv *c;
    if (truth_open(&c, path, names, col, err))
        return err->code;
    int rc;
    while ((rc = nmdi_csv_next(c, err)) > 0) {
        const char *ev = fld(c, col[1]), *d = fld(c, col[0]);
        if ((strcmp(ev, "IMM") && strcmp(ev, "EMI")) || strlen(d) < 4)
            continue;
        /* only events inside the period of the presence data */
        nmdi_date dd;
        if (nmdi_date_parse(d, strlen(d), &dd) || dd < from || dd > to)
            continue;
        char yr[8];
        snprintf(yr, sizeof yr, "%.4s", d);
        int citizen = !strcmp(fld(c, col[2]), "1");
        const char *cty = *fld(c, col[3]) ? fld(c, col[3]) : "_U";
        const char *inds[2] = {NULL, NULL};
        if (!strcmp(ev, "IMM")) {
            if (!citizen)
                inds[0] = "IMM_FOREIGN";
        } else {
            inds[0] = "EMI_ALL";
            if (citizen)
                inds[1] = "EMI_CITIZEN";
        }
        for (int k = 0; k < 2; k++) {
            if (!inds[k])
                continue;
            nmdi_mobile_cmp_row *a = row_at(x, inds[k], yr, cty), *t = row_at(x, inds[k], yr, "_T");
            if (!a || !t) {
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                break;
            }
            a->truth++;
            t->truth++;
        }
        if (rc < 0 || rc > 1)
            break;
    }
    nmdi_csv_close(c);
    return rc < 0 ? err->code : rc > 1 ? rc : 0;
}

/* Residents aged 10+ (at the end of the window, as the operator model has it)
 * present in the country on the 15th of each month with a RESIDENTS row. */
static int truth_residents(cmp *x, const char *S, nmdi_date end, nmdi_error *err)
{
    char path[4200];
    /* months of the rows, as dates of the 15th */
    size_t nm = 0;
    nmdi_date *mid = malloc((x->c->n + 1) * sizeof *mid);
    double **slot = malloc((x->c->n + 1) * sizeof *slot);
    if (!mid || !slot) {
        free(mid);
        free(slot);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < x->c->n; i++) {
        nmdi_mobile_cmp_row *r = &x->c->rows[i];
        if (strcmp(r->indicator, "RESIDENTS") || strcmp(r->country, "_T"))
            continue;
        int y, m;
        if (sscanf(r->period, "%d-%d", &y, &m) != 2)
            continue;
        mid[nm] = nmdi_date_from_ymd(y, m, 15);
        slot[nm++] = &r->truth;
    }
    /* persons old enough: born on or before end-1 minus 10 years */
    int ey, em, ed;
    nmdi_date_to_ymd(end - 1, &ey, &em, &ed);
    if (em == 2 && ed == 29)
        ed = 28;
    nmdi_date born_by = nmdi_date_from_ymd(ey - 10, em, ed);
    nmdi_strmap *ok = nmdi_strmap_new();
    int rc = ok ? 0 : nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    nmdi_csv *c = NULL;
    if (!rc) {
        snprintf(path, sizeof path, "%s/truth/persons.csv", S);
        static const char *const names[] = {"person_id", "birth_date", NULL};
        int col[2];
        rc = truth_open(&c, path, names, col, err);
        while (!rc && (rc = nmdi_csv_next(c, err)) > 0) {
            const char *b = fld(c, col[1]);
            nmdi_date bd;
            if (nmdi_date_parse(b, strlen(b), &bd) == 0 && bd <= born_by &&
                !nmdi_strmap_put(ok, fld(c, col[0]), strlen(fld(c, col[0])), NULL))
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            rc = rc == 1 ? 0 : rc;
        }
        if (c)
            nmdi_csv_close(c);
        rc = rc < 0 ? err->code : rc;
        c = NULL;
    }
    if (!rc) {
        snprintf(path, sizeof path, "%s/truth/spells.csv", S);
        static const char *const names[] = {"person_id", "location", "start_date", "end_date",
                                            "resident", NULL};
        int col[5];
        rc = truth_open(&c, path, names, col, err);
        while (!rc && (rc = nmdi_csv_next(c, err)) > 0) {
            rc = 0;
            if (strcmp(fld(c, col[1]), "IN") || strcmp(fld(c, col[4]), "1"))
                continue;
            const char *pid = fld(c, col[0]);
            if (!nmdi_strmap_get(ok, pid, strlen(pid)))
                continue;
            const char *s = fld(c, col[2]), *e = fld(c, col[3]);
            nmdi_date sd, ed2;
            if (nmdi_date_parse(s, strlen(s), &sd))
                continue;
            if (!*e || nmdi_date_parse(e, strlen(e), &ed2))
                ed2 = INT32_MAX;
            for (size_t k = 0; k < nm; k++)
                if (sd <= mid[k] && mid[k] <= ed2)
                    (*slot[k])++;
        }
        if (c)
            nmdi_csv_close(c);
        rc = rc < 0 ? err->code : rc;
    }
    nmdi_strmap_free(ok);
    free(mid);
    free(slot);
    return rc;
}

/* the border-based flows of an infrastructure (work/estimates/MIG_FLOW.csv) */
static int border_flows(cmp *x, const char *infra, int y0, int y1, nmdi_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/work/estimates/MIG_FLOW.csv", infra);
    if (!is_file(path))
        return 0;
    nmdi_cube *cube;
    if (nmdi_cube_load(&cube, path, err))
        return err->code;
    int ty = nmdi_cube_dim_index(cube, "TIME_PERIOD"), fl = nmdi_cube_dim_index(cube, "FLOW"),
        cg = nmdi_cube_dim_index(cube, "CITIZENSHIP_GROUP");
    int rc = 0;
    if (ty < 0 || fl < 0 || cg < 0)
        rc = nmdi_error_at(err, NMDI_EDATA, path, 1, NULL,
                           "expected TIME_PERIOD, FLOW and CITIZENSHIP_GROUP");
    for (size_t i = 0; !rc && i < nmdi_cube_ncells(cube); i++) {
        nmdi_cell *cl = nmdi_cube_cell(cube, i);
        int y = atoi(cl->codes[ty]);
        if (y < y0 || y > y1 || isnan(cl->value))
            continue;
        const char *f = cl->codes[fl], *g = cl->codes[cg];
        const char *ind = !strcmp(f, "IMM") && !strcmp(g, "FOR")   ? "IMM_FOREIGN"
                          : !strcmp(f, "EMI") && !strcmp(g, "NAT") ? "EMI_CITIZEN"
                          : !strcmp(f, "EMI") && !strcmp(g, "_T")  ? "EMI_ALL"
                                                                   : NULL;
        if (!ind)
            continue;
        nmdi_mobile_cmp_row *r = row_at(x, ind, cl->codes[ty], "_T");
        if (!r) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            break;
        }
        r->border = cl->value;
        x->c->has_border = 1;
    }
    nmdi_cube_free(cube);
    return rc;
}

/* the mobile side: long-term starts per year and country, residents and
 * moves per month from the home areas of the internal cube */
static int mobile_side(cmp *x, const nmdi_mobile_result *m, int y0, int y1, nmdi_date from,
                       nmdi_error *err)
{
    /* the month after a partial first month has no reliable previous home area */
    char skip[32] = "";
    int fy, fm, fd;
    nmdi_date_to_ymd(from, &fy, &fm, &fd);
    if (fd > 1)
        snprintf(skip, sizeof skip, "%04d-%02d", fm == 12 ? fy + 1 : fy, fm == 12 ? 1 : fm + 1);
    nmdi_cube *lt = m->longterm, *in = m->internal;
    for (size_t i = 0; i < nmdi_cube_ncells(lt); i++) {
        nmdi_cell *cl = nmdi_cube_cell(lt, i);
        int y = atoi(cl->codes[0]);
        if (y < y0 || y > y1)
            continue;
        int imm = !strcmp(cl->codes[1], "IMM");
        const char *inds[2] = {imm ? "IMM_FOREIGN" : "EMI_CITIZEN", imm ? NULL : "EMI_ALL"};
        for (int k = 0; k < 2; k++) {
            if (!inds[k])
                continue;
            nmdi_mobile_cmp_row *r = row_at(x, inds[k], cl->codes[0], cl->codes[2]);
            if (!r)
                return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            r->mobile_n += cl->n;
            if (!strcmp(cl->obs_status, NMDI_OBS_PROVISIONAL))
                r->mobile_prov = 1;
        }
    }
    for (size_t i = 0; i < nmdi_cube_ncells(in); i++) {
        nmdi_cell *cl = nmdi_cube_cell(in, i);
        if (!strcmp(cl->codes[0], skip))
            continue;
        nmdi_mobile_cmp_row *r = row_at(x, "RESIDENTS", cl->codes[0], "_T");
        nmdi_mobile_cmp_row *mv = row_at(x, "MOVES", cl->codes[0], "_T");
        if (!r || !mv)
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        r->mobile_n += cl->n;
        if (strcmp(cl->codes[1], cl->codes[2]))
            mv->mobile_n += cl->n;
    }
    return 0;
}

static int ind_rank(const char *s)
{
    static const char *const order[] = {"IMM_FOREIGN", "EMI_CITIZEN", "EMI_ALL", "RESIDENTS", "MOVES"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, order[i]))
            return i;
    return 5;
}

static int cmp_rows(const void *a, const void *b)
{
    const nmdi_mobile_cmp_row *x = a, *y = b;
    int d = ind_rank(x->indicator) - ind_rank(y->indicator);
    if (d)
        return d;
    if ((d = strcmp(x->period, y->period)))
        return d;
    int tx = !strcmp(x->country, "_T"), ty = !strcmp(y->country, "_T");
    if (tx != ty)
        return ty - tx; /* the total first */
    if (x->truth != y->truth)
        return x->truth > y->truth ? -1 : 1; /* then the largest countries */
    return strcmp(x->country, y->country);
}

int nmdi_mobile_compare(const nmdi_ctx *ctx, const nmdi_mobile_params *p0, const char *dir,
                        const char *mcc_csv, nmdi_mobile_comparison **out, nmdi_error *err)
{
    *out = NULL;
    char S[4096], path[4200];
    const char *infra = NULL;
    snprintf(S, sizeof S, "%s/truth", dir);
    if (is_dir(S)) {
        snprintf(S, sizeof S, "%s", dir);
    } else {
        snprintf(S, sizeof S, "%s/incoming/truth", dir);
        if (!is_dir(S))
            return nmdi_error_at(err, NMDI_EDATA, dir, 0, NULL,
                                 "neither DIR/truth nor DIR/incoming/truth: give the output of "
                                 "`nmdi synth` or an infrastructure built by `nmdi demo`");
        snprintf(S, sizeof S, "%s/incoming", dir);
        infra = dir;
    }
    /* the generator's parameters: market share, data period, country */
    snprintf(path, sizeof path, "%s/synth.json", S);
    json_error_t je;
    json_t *sj = json_load_file(path, 0, &je);
    if (!sj)
        return nmdi_error_at(err, NMDI_EDATA, path, je.line, NULL, "%s", je.text);
    nmdi_mobile_params p = *p0;
    const char *from = json_string_value(json_object_get(sj, "mobile_from"));
    const char *wend = json_string_value(json_object_get(sj, "window_end"));
    const char *home = json_string_value(json_object_get(json_object_get(sj, "country"), "alpha3"));
    double share = json_number_value(json_object_get(sj, "mobile_share"));
    nmdi_date dfrom, dend;
    if (!from || !wend || nmdi_date_parse(from, strlen(from), &dfrom) ||
        nmdi_date_parse(wend, strlen(wend), &dend)) {
        json_decref(sj);
        return nmdi_error_at(err, NMDI_EDATA, path, 0, "mobile_from",
                             "missing or not a date (mobile_from, window_end)");
    }
    if (p.market_share <= 0)
        p.market_share = share;
    if (!(p.market_share > 0 && p.market_share <= 1)) {
        json_decref(sj);
        return nmdi_error_at(err, NMDI_EDATA, path, 0, "mobile_share",
                             "no mobile records in this synthetic country (mobile_share 0)");
    }
    p.home_country = home ? home : "";
    int min_sub = p.min_subscribers;
    p.min_subscribers = 1; /* sums over cells first; the rows are redacted below */
    nmdi_mobile_comparison *c = calloc(1, sizeof *c);
    cmp x = {c, 0, nmdi_strmap_new()};
    nmdi_mobile_maps *maps = NULL;
    nmdi_mobile_result m;
    memset(&m, 0, sizeof m);
    int rc = c && x.idx ? 0 : nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    if (!rc) {
        c->market_share = p.market_share;
        c->min_subscribers = min_sub;
        snprintf(c->data_from, sizeof c->data_from, "%s", from);
        snprintf(c->data_to, sizeof c->data_to, "%s", wend);
        c->persons = (uint64_t)json_integer_value(json_object_get(sj, "persons"));
        snprintf(path, sizeof path, "%s/sources/mobile_areas.csv", S);
        rc = nmdi_mobile_maps_load(&maps, mcc_csv, is_file(path) ? path : NULL, err);
    }
    json_decref(sj);
    nmdi_mobile_file_stats st;
    if (!rc) {
        snprintf(path, sizeof path, "%s/sources/mobile_presence.csv", S);
        rc = nmdi_mobile_run_file(ctx, &p, path, maps, &m, &st, err);
    }
    /* years wholly or partly covered by the presence data */
    int y0 = nmdi_date_year(dfrom), y1 = nmdi_date_year(dend);
    if (!rc) {
        c->records = m.records;
        c->subscribers = m.subscribers;
        c->machines = m.machines;
        c->rejected = st.rejected;
        rc = mobile_side(&x, &m, y0, y1, dfrom, err);
    }
    if (!rc)
        rc = truth_events(&x, S, dfrom, dend, err);
    if (!rc)
        rc = truth_residents(&x, S, dend + 1, err);
    if (!rc && infra)
        rc = border_flows(&x, infra, y0, y1, err);
    nmdi_mobile_result_free(&m);
    nmdi_mobile_maps_free(maps);
    nmdi_strmap_free(x.idx);
    if (rc) {
        nmdi_mobile_compare_free(c);
        return rc;
    }
    for (size_t i = 0; i < c->n; i++) {
        nmdi_mobile_cmp_row *r = &c->rows[i];
        if (r->mobile_n > 0 && r->mobile_n < min_sub) {
            r->mobile_n = -1;
            r->mobile = NAN;
            r->mobile_prov = 0;
        } else {
            r->mobile = (double)r->mobile_n / c->market_share;
        }
    }
    qsort(c->rows, c->n, sizeof *c->rows, cmp_rows);
    *out = c;
    return 0;
}

void nmdi_mobile_compare_free(nmdi_mobile_comparison *c)
{
    if (!c)
        return;
    free(c->rows);
    free(c);
}

/* a number in w columns: dec decimals, or (dec < 0) none when whole, else 1 */
static void num(FILE *f, double v, int w, int dec)
{
    if (isnan(v))
        fprintf(f, " %*s", w, "-");
    else
        fprintf(f, " %*.*f", w, dec >= 0 ? dec : fabs(v - round(v)) < 1e-9 ? 0 : 1, v);
}

int nmdi_mobile_compare_write(const nmdi_mobile_comparison *c, FILE *f, int json)
{
    if (json) {
        json_t *o = json_object(), *rows = json_array();
        if (!o || !rows)
            return NMDI_EINTERNAL;
        json_object_set_new(o, "data_from", json_string(c->data_from));
        json_object_set_new(o, "data_to", json_string(c->data_to));
        json_object_set_new(o, "market_share", json_real(c->market_share));
        json_object_set_new(o, "min_subscribers", json_integer(c->min_subscribers));
        json_object_set_new(o, "persons", json_integer((json_int_t)c->persons));
        json_object_set_new(o, "records", json_integer((json_int_t)c->records));
        json_object_set_new(o, "subscribers", json_integer((json_int_t)c->subscribers));
        json_object_set_new(o, "machine_sims", json_integer((json_int_t)c->machines));
        json_object_set_new(o, "rejected", json_integer((json_int_t)c->rejected));
        json_object_set_new(o, "border", json_boolean(c->has_border));
        for (size_t i = 0; i < c->n; i++) {
            const nmdi_mobile_cmp_row *r = &c->rows[i];
            json_t *j = json_object();
            json_object_set_new(j, "indicator", json_string(r->indicator));
            json_object_set_new(j, "period", json_string(r->period));
            json_object_set_new(j, "country", json_string(r->country));
            json_object_set_new(j, "mobile_subscribers",
                                r->mobile_n < 0 ? json_null() : json_integer(r->mobile_n));
            json_object_set_new(j, "mobile", isnan(r->mobile) ? json_null() : json_real(r->mobile));
            json_object_set_new(j, "provisional", json_boolean(r->mobile_prov));
            json_object_set_new(j, "truth", isnan(r->truth) ? json_null() : json_real(r->truth));
            json_object_set_new(j, "border", isnan(r->border) ? json_null() : json_real(r->border));
            double d = r->mobile - r->truth, q = r->truth > 0 ? r->mobile / r->truth : NAN;
            json_object_set_new(j, "mobile_minus_truth", isnan(d) ? json_null() : json_real(d));
            json_object_set_new(j, "mobile_over_truth", isnan(q) ? json_null() : json_real(q));
            double bq = r->truth > 0 ? r->border / r->truth : NAN;
            json_object_set_new(j, "border_over_truth", isnan(bq) ? json_null() : json_real(bq));
            json_array_append_new(rows, j);
        }
        json_object_set_new(o, "rows", rows);
        int rc = json_dumpf(o, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        fputc('\n', f);
        json_decref(o);
        return rc ? NMDI_EINTERNAL : 0;
    }
    fprintf(f, "mobile presence %s .. %s: %llu records, %llu subscribers, %llu machine SIMs excluded; "
               "market share %g; rows under %d subscribers redacted (-)\n",
            c->data_from, c->data_to, (unsigned long long)c->records,
            (unsigned long long)c->subscribers, (unsigned long long)c->machines, c->market_share,
            c->min_subscribers);
    if (!c->has_border)
        fprintf(f, "border-based flows: not available (no infrastructure with MIG_FLOW)\n");
    fprintf(f, "%-12s %-7s %-4s %8s %10s %10s %10s %10s %8s %8s\n", "indicator", "period",
            "area", "subscr", "mobile", "truth", "border", "mob-truth", "mob/tru", "bor/tru");
    double total = 0; /* the truth of the period's total row (it comes first) */
    for (size_t i = 0; i < c->n; i++) {
        const nmdi_mobile_cmp_row *r = &c->rows[i];
        if (!strcmp(r->country, "_T"))
            total = r->truth;
        /* countries: those with a published mobile count, or with 10 % of the
         * period's true total (all of them are in --json) */
        else if (r->mobile_n < c->min_subscribers && !(r->truth >= 10 && r->truth >= 0.1 * total))
            continue;
        fprintf(f, "%-12s %-7s %-4s", r->indicator, r->period, r->country);
        if (r->mobile_n < 0)
            fprintf(f, " %8s", "-");
        else
            fprintf(f, " %7lld%s", (long long)r->mobile_n, r->mobile_prov ? "P" : " ");
        num(f, r->mobile, 10, -1);
        num(f, r->truth, 10, -1);
        num(f, r->border, 10, -1);
        num(f, r->mobile - r->truth, 10, -1);
        num(f, r->truth > 0 ? r->mobile / r->truth : NAN, 8, 2);
        num(f, r->truth > 0 ? r->border / r->truth : NAN, 8, 2);
        fputc('\n', f);
    }
    fprintf(f, "P: some subscribers classified provisionally (their window runs past the data end).\n"
               "Countries shown: a published mobile count or 10 %% of the true total (all in --json).\n");
    return 0;
}
