/* synth.c — the driver of `nmdi synth`: sets up the world (dates, origin
 * distribution of --like, enumeration areas and the survey's first-stage
 * sample), runs chunks of persons in batches on the thread pool, appends
 * each chunk's rows in chunk order (so the output does not depend on the
 * number of threads), draws the labour force survey's households and
 * computes its weights, and renames the finished files into place. */
#include "synth_int.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

void nmdi_synth_opts_init(nmdi_synth_opts *o)
{
    memset(o, 0, sizeof *o);
    o->persons = 10000;
    o->years = 6;
    o->seed = 1;
    o->start_year = 2019;
    o->like = "AUT";
    o->census_sample = 1.0;
    o->mobile_share = 0.02;
    o->mobile_days = 730;
}

int nmdi_synth_has_destination(const char *iso3)
{
    int c = sy_country_of_a3(iso3);
    if (c < 0)
        return 0;
    for (size_t i = 0; i < synth_norigins; i++)
        if (synth_origins[i].dest == c)
            return 1;
    return 0;
}

static int world_init(sy_world *w, const nmdi_synth_opts *o, nmdi_error *err)
{
    memset(w, 0, sizeof *w);
    w->o = *o;
    w->S = nmdi_date_from_ymd(o->start_year, 1, 1);
    w->E = nmdi_date_from_ymd(o->start_year + o->years, 1, 1);
    w->H = w->E + 487;
    w->census_date = nmdi_date_from_ymd(o->start_year + o->years / 2, 5, 15);
    w->lfs_date = nmdi_date_from_ymd(o->start_year + o->years - 1, 6, 15);
    w->mobile_from = w->E - o->mobile_days < w->S ? w->S : w->E - o->mobile_days;
    w->dest = sy_country_of_a3(o->like);
    if (w->dest < 0 || !nmdi_synth_has_destination(o->like))
        return nmdi_error_at(err, NMDI_EDATA, NULL, 0, "like",
                             "'%s' is not a destination of the UN DESA origin data "
                             "(data/synth/origins_2024.csv); use an ISO alpha-3 code such as AUT or NZL",
                             o->like);
    size_t lo = 0;
    while (lo < synth_norigins && synth_origins[lo].dest != w->dest)
        lo++;
    size_t hi = lo;
    while (hi < synth_norigins && synth_origins[hi].dest == w->dest)
        hi++;
    w->orig_lo = lo;
    w->orig_hi = hi;
    w->orig_cum = malloc((hi - lo) * sizeof *w->orig_cum);
    if (!w->orig_cum)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    double c = 0;
    for (size_t i = lo; i < hi; i++)
        w->orig_cum[i - lo] = c += synth_origins[i].total;
    /* enumeration areas: about 80 households each, at least 2 per stratum */
    double hh = (double)o->persons * 0.915 / 2.3;
    int base = 0;
    for (int a = 0; a < SY_NAREAS; a++)
        for (int u = 0; u < 2; u++) {
            double x = hh * sy_areas[a].share * (u ? sy_areas[a].urban : 1 - sy_areas[a].urban);
            int n = (int)lround(x / 80);
            w->nea[a][u] = n < 2 ? 2 : n;
            w->ea_base[a][u] = base;
            base += w->nea[a][u];
        }
    w->total_ea = base;
    w->ea_selected = calloc((size_t)base, 1);
    if (!w->ea_selected)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    double f1 = 400.0 / base;
    f1 = f1 < 0.02 ? 0.02 : f1 > 0.5 ? 0.5 : f1;
    for (int a = 0; a < SY_NAREAS; a++)
        for (int u = 0; u < 2; u++) {
            int M = w->nea[a][u], m = (int)ceil(M * f1);
            if (m < 2)
                m = 2;
            if (m > M)
                m = M;
            w->lfs_sel_per[a][u] = m;
            /* the m EAs with the smallest keys */
            for (int s = 0; s < m; s++) {
                int best = -1;
                uint64_t bk = UINT64_MAX;
                for (int e = 0; e < M; e++) {
                    int ea = w->ea_base[a][u] + e;
                    uint64_t k = sy_mix(o->seed * 0x9e3779b97f4a7c15ULL + (uint64_t)ea * 71 + 1);
                    if (!w->ea_selected[ea] && k < bk) {
                        bk = k;
                        best = ea;
                    }
                }
                w->ea_selected[best] = 1;
            }
        }
    return 0;
}

static void world_free(sy_world *w)
{
    free(w->orig_cum);
    free(w->ea_selected);
}

/* ---- files ------------------------------------------------------------------------------ */
typedef struct outfile {
    FILE *f;
    char path[4096], tmp[4200];
} outfile;

static int mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *s = buf + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(buf, 0777) && errno != EEXIST)
                return -1;
            *s = '/';
        }
    return mkdir(buf, 0777) && errno != EEXIST ? -1 : 0;
}

static int write_buf(outfile *f, const sbuf *b)
{
    return b->n && fwrite(b->p, 1, b->n, f->f) != b->n ? -1 : 0;
}

/* ---- batches of chunks on the pool ---------------------------------------------------------- */
typedef struct batch {
    const sy_world *w;
    uint64_t first;
    sy_chunk *c;
} batch;

static int batch_fn(void *arg, size_t part)
{
    batch *b = arg;
    sy_chunk_run(b->w, b->first + part, &b->c[part]);
    return b->c[part].oom ? NMDI_EINTERNAL : 0;
}

/* ---- labour force survey -------------------------------------------------------------------- */
typedef struct lfs_all {
    lfs_person *p;
    size_t n, cap;
    double pop[SY_NAREAS * 2];
    uint64_t seed;
} lfs_all;

static uint64_t lfs_key(uint64_t seed, uint64_t hid)
{
    return sy_mix(sy_mix(seed + 72) ^ hid);
}

typedef struct lfs_sorted {
    uint64_t key;
    lfs_person *p;
} lfs_sorted;

static int cmp_sorted(const void *a, const void *b)
{
    const lfs_sorted *x = a, *y = b;
    if (x->p->ea != y->p->ea)
        return x->p->ea < y->p->ea ? -1 : 1;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->p->hid != y->p->hid)
        return x->p->hid < y->p->hid ? -1 : 1;
    return (x->p->pno > y->p->pno) - (x->p->pno < y->p->pno);
}

static int lfs_write(const sy_world *w, lfs_all *L, outfile *fl, outfile *flinks, uint64_t *rows,
                     uint64_t *link_rows)
{
    lfs_sorted *s = malloc((L->n ? L->n : 1) * sizeof *s);
    double *dw = malloc((L->n ? L->n : 1) * sizeof *dw);
    unsigned char *in = calloc(L->n ? L->n : 1, 1);
    if (!s || !dw || !in) {
        free(s);
        free(dw);
        free(in);
        return -1;
    }
    for (size_t i = 0; i < L->n; i++) {
        s[i].key = lfs_key(w->o.seed, L->p[i].hid);
        s[i].p = &L->p[i];
    }
    qsort(s, L->n, sizeof *s, cmp_sorted);
    const int b = 12;
    double sum[SY_NAREAS * 2] = {0};
    for (size_t i = 0; i < L->n;) {
        size_t j = i;
        int nh = 0;
        while (j < L->n && s[j].p->ea == s[i].p->ea) {
            if (j == i || s[j].p->hid != s[j - 1].p->hid)
                nh++;
            j++;
        }
        int take = nh < b ? nh : b, resp = 0, hk = 0;
        for (size_t k = i; k < j; k++) {
            if (k > i && s[k].p->hid != s[k - 1].p->hid)
                hk++;
            if (hk < take && (k == i || s[k].p->hid != s[k - 1].p->hid)) {
                srng r = srng_at(w->o.seed, s[k].p->hid, 73, 0);
                if (srng_bern(&r, 0.85))
                    resp++;
            }
        }
        hk = 0;
        int cur_resp = 0;
        for (size_t k = i; k < j; k++) {
            if (k > i && s[k].p->hid != s[k - 1].p->hid)
                hk++;
            if (k == i || s[k].p->hid != s[k - 1].p->hid) {
                srng r = srng_at(w->o.seed, s[k].p->hid, 73, 0);
                cur_resp = hk < take && srng_bern(&r, 0.85);
            }
            if (!cur_resp)
                continue;
            int st = s[k].p->stratum, a = st / 2, u = st % 2;
            double wgt = (double)w->nea[a][u] / w->lfs_sel_per[a][u] * ((double)nh / take) *
                         ((double)take / resp);
            dw[k] = wgt;
            in[k] = 1;
            sum[st] += wgt;
        }
        i = j;
    }
    /* post-stratification to the residents of each stratum, then one ratio for the total */
    double tot_pop = 0, tot_w = 0;
    for (int st = 0; st < SY_NAREAS * 2; st++)
        tot_pop += L->pop[st];
    double *cw = malloc((L->n ? L->n : 1) * sizeof *cw);
    if (!cw) {
        free(s);
        free(dw);
        free(in);
        return -1;
    }
    for (size_t k = 0; k < L->n; k++)
        if (in[k]) {
            int st = s[k].p->stratum;
            cw[k] = dw[k] * L->pop[st] / sum[st];
            tot_w += cw[k];
        }
    double g = tot_w > 0 ? tot_pop / tot_w : 1;
    sbuf out = {0}, links = {0};
    for (size_t k = 0; k < L->n; k++) {
        if (!in[k])
            continue;
        const lfs_person *q = s[k].p;
        char hh[24], rec[40], num[32];
        snprintf(hh, sizeof hh, "L%016llX", (unsigned long long)sy_mix(q->hid ^ sy_mix(w->o.seed + 5)));
        snprintf(rec, sizeof rec, "%s-%d", hh, q->pno);
        sb_puts(&links, "lfs,");
        sb_puts(&links, rec);
        sb_printf(&links, ",P%09llu", (unsigned long long)q->idx);
        sb_eol(&links);
        sb_puts(&out, hh); sb_sep(&out);
        sb_int(&out, q->pno); sb_sep(&out);
        sb_printf(&out, "%02d%d", q->area + 1, q->urban ? 1 : 2); sb_sep(&out);
        sb_int(&out, q->ea); sb_sep(&out);
        sb_printf(&out, "%02d", q->area + 1); sb_sep(&out);
        sb_putc(&out, q->urban ? '1' : '2'); sb_sep(&out);
        snprintf(num, sizeof num, "%.6f", dw[k]);
        sb_puts(&out, num); sb_sep(&out);
        snprintf(num, sizeof num, "%.6f", cw[k] * g);
        sb_puts(&out, num); sb_sep(&out);
        sb_putc(&out, q->sex == 'M' ? '1' : '2'); sb_sep(&out);
        sb_int(&out, q->age); sb_sep(&out);
        sb_puts(&out, sy_a2(q->cob)); sb_sep(&out);
        sb_puts(&out, sy_a2(q->cit)); sb_sep(&out);
        if (q->yrs >= 0)
            sb_int(&out, q->yrs);
        sb_sep(&out);
        if (q->age >= 15) {
            sb_int(&out, q->ilo == LF_EMP ? 1 : q->ilo == LF_UNE ? 2 : 3); sb_sep(&out);
            sb_int(&out, q->isced); sb_sep(&out);
            if (q->isco >= 0)
                sb_int(&out, q->isco);
            sb_sep(&out);
            sb_putc(&out, q->educ ? '1' : '2');
        } else {
            sb_puts(&out, ",,,");
        }
        sb_eol(&out);
    }
    int rc = out.oom || links.oom || write_buf(fl, &out) || write_buf(flinks, &links) ? -1 : 0;
    *rows += out.rows;
    *link_rows += links.rows;
    sb_free(&out);
    sb_free(&links);
    free(s);
    free(dw);
    free(in);
    free(cw);
    return rc;
}

static int write_meta(const sy_world *w, const char *dir, nmdi_error *err)
{
    char path[4096], tmp[4200], d[11];
    snprintf(path, sizeof path, "%s/synth.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    json_t *o = json_object();
    json_object_set_new(o, "country", json_pack("{s:s, s:s, s:s, s:s}", "alpha3", "XKN", "alpha2", "XN",
                                                "numeric_census", "000", "name", "Kernland"));
    json_object_set_new(o, "persons", json_integer((json_int_t)w->o.persons));
    json_object_set_new(o, "years", json_integer(w->o.years));
    json_object_set_new(o, "seed", json_integer((json_int_t)w->o.seed));
    json_object_set_new(o, "like", json_string(w->o.like));
    json_object_set_new(o, "census_sample", json_real(w->o.census_sample));
    json_object_set_new(o, "mobile_share", json_real(w->o.mobile_share));
    json_object_set_new(o, "mobile_days", json_integer(w->o.mobile_days));
    struct { const char *k; nmdi_date v; } dates[] = {
        {"window_start", w->S}, {"window_end", w->E - 1}, {"horizon", w->H},
        {"census_date", w->census_date}, {"lfs_date", w->lfs_date}, {"mobile_from", w->mobile_from}};
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        nmdi_date_format(dates[i].v, d);
        json_object_set_new(o, dates[i].k, json_string(d));
    }
    json_t *areas = json_array();
    for (int a = 0; a < SY_NAREAS; a++)
        json_array_append_new(areas, json_pack("{s:s, s:s, s:i}", "code", sy_areas[a].code, "name",
                                               sy_areas[a].name, "census_code", a + 1));
    json_object_set_new(o, "areas", areas);
    int rc = json_dump_file(o, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (rc || rename(tmp, path))
        return nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot write: %s", strerror(errno));
    return 0;
}

int nmdi_synth_run(const nmdi_ctx *ctx, const nmdi_synth_opts *opts, nmdi_synth_summary *sum,
                   nmdi_error *err)
{
    memset(sum, 0, sizeof *sum);
    double t0 = nmdi_now();
    if (opts->persons < 1 || opts->years < 1 || opts->years > 50 || opts->census_sample <= 0 ||
        opts->census_sample > 1 || opts->mobile_share < 0 || opts->mobile_share > 1 ||
        opts->mobile_days < 1 || opts->start_year < 1900 || opts->start_year > 2100)
        return nmdi_error_set(err, NMDI_EDATA,
                              "invalid options: need persons >= 1, 1 <= years <= 50, 0 < census sample <= 1, "
                              "0 <= mobile share <= 1, mobile days >= 1, 1900 <= start <= 2100");
    sy_world w;
    int rc = world_init(&w, opts, err);
    if (rc) {
        world_free(&w);
        return rc;
    }
    outfile f[F_COUNT];
    memset(f, 0, sizeof f);
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/truth", opts->out);
    int mk = mkdir_p(sub);
    snprintf(sub, sizeof sub, "%s/sources", opts->out);
    if (mk || mkdir_p(sub)) {
        world_free(&w);
        return nmdi_error_at(err, NMDI_EDATA, opts->out, 0, NULL, "cannot create directory: %s",
                             strerror(errno));
    }
    for (int i = 0; i < F_COUNT && !rc; i++) {
        snprintf(f[i].path, sizeof f[i].path, "%s/%s", opts->out, sy_file_name[i]);
        snprintf(f[i].tmp, sizeof f[i].tmp, "%s/%s.tmp", opts->out, sy_file_name[i]);
        f[i].f = fopen(f[i].tmp, "wb");
        if (!f[i].f)
            rc = nmdi_error_at(err, NMDI_EDATA, f[i].tmp, 0, NULL, "cannot create: %s", strerror(errno));
        else
            fprintf(f[i].f, "%s\n", sy_file_header[i]);
    }
    uint64_t rows[F_COUNT] = {0};
    lfs_all L;
    memset(&L, 0, sizeof L);
    uint64_t nchunks = (opts->persons + SY_CHUNK - 1) / SY_CHUNK;
    size_t bsize = (size_t)(ctx->nthreads > 0 ? ctx->nthreads : 1) * 4;
    sy_chunk *ch = rc ? NULL : calloc(bsize, sizeof *ch);
    if (!rc && !ch)
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    nmdi_progress pr;
    nmdi_progress_begin(&pr, ctx, "synth: persons", opts->persons);
    uint64_t done = 0;
    for (uint64_t c0 = 0; c0 < nchunks && !rc; c0 += bsize) {
        size_t nb = (size_t)(nchunks - c0 < bsize ? nchunks - c0 : bsize);
        batch bt = {&w, c0, ch};
        int prc = nmdi_pool_run(ctx, nb, batch_fn, &bt);
        for (size_t k = 0; k < nb; k++) {
            sy_chunk *c = &ch[k];
            for (int i = 0; i < F_COUNT && !rc && !prc; i++) {
                if (write_buf(&f[i], &c->f[i]))
                    rc = nmdi_error_at(err, NMDI_EINTERNAL, f[i].tmp, 0, NULL, "write failed: %s",
                                       strerror(errno));
                rows[i] += c->f[i].rows;
            }
            for (int st = 0; st < SY_NAREAS * 2; st++)
                L.pop[st] += c->stratum_pop[st];
            if (!rc && c->nlfs) {
                if (L.n + c->nlfs > L.cap) {
                    size_t nc = L.cap ? L.cap : 1024;
                    while (nc < L.n + c->nlfs)
                        nc *= 2;
                    lfs_person *np = realloc(L.p, nc * sizeof *np);
                    if (!np)
                        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                    else {
                        L.p = np;
                        L.cap = nc;
                    }
                }
                if (!rc) {
                    memcpy(L.p + L.n, c->lfs, c->nlfs * sizeof *c->lfs);
                    L.n += c->nlfs;
                }
            }
            done += c->persons;
            sy_chunk_free(c);
        }
        if (prc && !rc)
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory while generating persons");
        nmdi_progress_update(&pr, done);
    }
    nmdi_progress_end(&pr);
    if (!rc && lfs_write(&w, &L, &f[F_LFS], &f[F_LINKS], &rows[F_LFS], &rows[F_LINKS]))
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "cannot write the labour force survey");
    if (!rc) {
        for (int a = 0; a < SY_NAREAS; a++)
            for (int k = 1; k <= 3; k++) {
                fprintf(f[F_MOBILE_AREAS].f, "OA%03d,%s\n", a * 3 + k, sy_areas[a].code);
                rows[F_MOBILE_AREAS]++;
            }
    }
    for (int i = 0; i < F_COUNT; i++) {
        if (!f[i].f)
            continue;
        int bad = fflush(f[i].f) || fsync(fileno(f[i].f));
        long long sz = ftell(f[i].f);
        bad |= fclose(f[i].f) != 0;
        if (!rc && bad)
            rc = nmdi_error_at(err, NMDI_EINTERNAL, f[i].tmp, 0, NULL, "write failed: %s", strerror(errno));
        if (!rc && rename(f[i].tmp, f[i].path))
            rc = nmdi_error_at(err, NMDI_EINTERNAL, f[i].path, 0, NULL, "rename failed: %s", strerror(errno));
        if (rc)
            unlink(f[i].tmp);
        snprintf(sum->files[i], sizeof sum->files[i], "%s", sy_file_name[i]);
        sum->rows[i] = rows[i];
        sum->bytes[i] = sz > 0 ? (uint64_t)sz : 0;
    }
    sum->nfiles = F_COUNT;
    if (!rc)
        rc = write_meta(&w, opts->out, err);
    free(ch);
    free(L.p);
    world_free(&w);
    sum->seconds = nmdi_now() - t0;
    return rc;
}
