/* test_synth.c — unit tests of src/synth: the truth's 12/16-month rule on
 * worked examples, determinism (same seed same bytes, any thread count;
 * another seed other bytes) and the internal consistency of a generated
 * country: every border record is a true crossing, true events follow from
 * the spells (recomputed here independently), survey weights sum to the
 * population, census counts agree with the truth within the error model. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nmdi/csv.h"
#include "nmdi/synth.h"

static nmdi_date D(const char *s)
{
    nmdi_date d;
    assert_int_equal(nmdi_date_parse(s, strlen(s), &d), 0);
    return d;
}

/* resident since 2000; leaves on 2017-01-01; back after `away` days (or never: -1) */
static int ltm_of_departure(int away, nmdi_date death)
{
    nmdi_date st[3] = {D("2000-01-01"), D("2017-01-01"), 0};
    unsigned char in[3] = {1, 0, 1}, ltm[3], res[3];
    size_t n = 2;
    if (away >= 0) {
        st[2] = st[1] + away;
        n = 3;
    }
    nmdi_synth_classify(n, st, in, death, 1, 487, 365, ltm, res);
    return ltm[1];
}

static void test_rule(void **state)
{
    (void)state;
    assert_int_equal(ltm_of_departure(-1, NMDI_DATE_NONE), 1); /* no return: emigration */
    assert_int_equal(ltm_of_departure(10, NMDI_DATE_NONE), 0);
    assert_int_equal(ltm_of_departure(250, NMDI_DATE_NONE), 0);
    assert_int_equal(ltm_of_departure(364, NMDI_DATE_NONE), 0);
    assert_int_equal(ltm_of_departure(365, NMDI_DATE_NONE), 1);
    /* dies abroad after 100 days: never 12 months away */
    assert_int_equal(ltm_of_departure(-1, D("2017-04-11")), 0);
    /* 12 of 16 months not continuously: 200 out, 60 in, 200 out */
    nmdi_date st[4] = {D("2000-01-01"), D("2017-01-01"), 0, 0};
    st[2] = st[1] + 200;
    st[3] = st[2] + 60;
    unsigned char in[4] = {1, 0, 1, 0}, ltm[4], res[4];
    nmdi_synth_classify(4, st, in, NMDI_DATE_NONE, 1, 487, 365, ltm, res);
    assert_int_equal(ltm[1], 1);
    assert_int_equal(res[1], 0);
    assert_int_equal(ltm[2], 0); /* a visit home, not a return migration */
    assert_int_equal(res[2], 0);
    /* mirror: a visitor born abroad arriving for good */
    unsigned char in2[2] = {0, 1};
    nmdi_synth_classify(2, st, in2, NMDI_DATE_NONE, 0, 487, 365, ltm, res);
    assert_int_equal(ltm[1], 1);
    assert_int_equal(res[1], 1);
}

static void run(const char *dir, uint64_t seed, int threads, double share)
{
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    ctx.quiet = 1;
    ctx.nthreads = threads;
    nmdi_synth_opts o;
    nmdi_synth_opts_init(&o);
    o.persons = 3000;
    o.seed = seed;
    o.mobile_share = share;
    o.mobile_days = 400;
    o.out = dir;
    nmdi_synth_summary sum;
    nmdi_error err;
    nmdi_error_clear(&err);
    int rc = nmdi_synth_run(&ctx, &o, &sum, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_true(sum.nfiles >= 15);
}

static char *slurp(const char *dir, const char *file, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static const char *const files[] = {
    "truth/persons.csv", "truth/spells.csv", "truth/crossings.csv", "truth/events.csv",
    "truth/truth_links.csv", "sources/border_crossings.csv", "sources/census_persons.csv",
    "sources/lfs.csv", "sources/permits.csv", "sources/students.csv",
    "sources/register_base.csv", "sources/register_events.csv", "sources/mobile_presence.csv",
    "synth.json"};

static int same_files(const char *a, const char *b)
{
    int same = 1;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t la, lb;
        char *x = slurp(a, files[i], &la), *y = slurp(b, files[i], &lb);
        if (la != lb || memcmp(x, y, la))
            same = 0;
        free(x);
        free(y);
    }
    return same;
}

static void rmtree(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_determinism(void **state)
{
    (void)state;
    char a[] = "/tmp/nmdi-synth-aXXXXXX", b[] = "/tmp/nmdi-synth-bXXXXXX", c[] = "/tmp/nmdi-synth-cXXXXXX";
    assert_non_null(mkdtemp(a));
    assert_non_null(mkdtemp(b));
    assert_non_null(mkdtemp(c));
    run(a, 7, 1, 0.05);
    run(b, 7, 3, 0.05);
    run(c, 8, 1, 0.05);
    assert_true(same_files(a, b));
    size_t la, lc;
    char *x = slurp(a, "truth/persons.csv", &la), *y = slurp(c, "truth/persons.csv", &lc);
    assert_false(la == lc && memcmp(x, y, la) == 0);
    free(x);
    free(y);
    rmtree(a);
    rmtree(b);
    rmtree(c);
}

static nmdi_table *load(const char *dir, const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    nmdi_table *t;
    nmdi_error err;
    assert_int_equal(nmdi_table_read_csv(&t, path, NULL, &err), 0);
    return t;
}

static const char *cell(const nmdi_table *t, size_t r, const char *col)
{
    int c = nmdi_table_col(t, col);
    assert_true(c >= 0);
    return nmdi_table_cell(t, r, (size_t)c);
}

static nmdi_date dcell(const nmdi_table *t, size_t r, const char *col)
{
    const char *s = cell(t, r, col);
    nmdi_date d = NMDI_DATE_NONE;
    if (*s)
        assert_int_equal(nmdi_date_parse(s, strlen(s), &d), 0);
    return d;
}

static void test_consistency(void **state)
{
    (void)state;
    char dir[] = "/tmp/nmdi-synth-dXXXXXX";
    assert_non_null(mkdtemp(dir));
    run(dir, 11, 2, 0.0);
    nmdi_date S = D("2019-01-01"), E = D("2025-01-01"), C = D("2022-05-15"), L = D("2024-06-15");

    /* 1. every border record is a true crossing of the person truth_links names */
    nmdi_table *links = load(dir, "truth/truth_links.csv");
    nmdi_strmap *who = nmdi_strmap_new();
    for (size_t r = 0; r < links->nrows; r++) {
        const char *id = cell(links, r, "record_id"), *src = cell(links, r, "source");
        if (strcmp(src, "border") == 0) {
            int64_t *v = nmdi_strmap_put(who, id, strlen(id), NULL);
            *v = atoll(cell(links, r, "person_id") + 1) + 1;
        }
    }
    nmdi_table *tc = load(dir, "truth/crossings.csv");
    nmdi_strmap *tcross = nmdi_strmap_new();
    size_t recorded = 0;
    for (size_t r = 0; r < tc->nrows; r++) {
        nmdi_date d = dcell(tc, r, "date");
        assert_true(d >= S && d < E);
        const char *id = cell(tc, r, "border_record_id");
        if (!*id)
            continue;
        recorded++;
        *nmdi_strmap_put(tcross, id, strlen(id), NULL) = atoll(cell(tc, r, "person_id") + 1) + 1;
    }
    nmdi_table *bc = load(dir, "sources/border_crossings.csv");
    assert_int_equal(bc->nrows, recorded);
    assert_true(recorded > 0.97 * tc->nrows && recorded < tc->nrows);
    for (size_t r = 0; r < bc->nrows; r++) {
        const char *id = cell(bc, r, "REC_ID");
        int64_t *p1 = nmdi_strmap_get(tcross, id, strlen(id)), *p2 = nmdi_strmap_get(who, id, strlen(id));
        assert_non_null(p1);
        assert_non_null(p2);
        assert_true(*p1 == *p2);
    }
    nmdi_strmap_free(who);
    nmdi_strmap_free(tcross);
    nmdi_table_free(bc);
    nmdi_table_free(tc);
    nmdi_table_free(links);

    /* 2. long-term events recomputed from the spells, independently: day counts */
    nmdi_table *sp = load(dir, "truth/spells.csv");
    nmdi_table *pe = load(dir, "truth/persons.csv");
    nmdi_strmap *death = nmdi_strmap_new();
    for (size_t r = 0; r < pe->nrows; r++) {
        const char *id = cell(pe, r, "person_id");
        nmdi_date dd = dcell(pe, r, "death_date");
        *nmdi_strmap_put(death, id, strlen(id), NULL) = dd == NMDI_DATE_NONE ? INT32_MAX : dd;
    }
    long lt_recomputed = 0, res_census = 0, res_lfs = 0;
    for (size_t r = 0; r < sp->nrows;) {
        size_t e = r;
        const char *id = cell(sp, r, "person_id");
        while (e < sp->nrows && strcmp(cell(sp, e, "person_id"), id) == 0)
            e++;
        int64_t dod = *nmdi_strmap_get(death, id, strlen(id));
        int res = strcmp(cell(sp, r, "location"), "IN") == 0;
        for (size_t k = r; k < e; k++) {
            int in = strcmp(cell(sp, k, "location"), "IN") == 0;
            nmdi_date st = dcell(sp, k, "start_date");
            if (k > r && in != (strcmp(cell(sp, k - 1, "location"), "IN") == 0) && in != res) {
                /* days on the far side in [st, st+487), before death */
                long far = 0;
                for (size_t q = k; q < e; q++) {
                    if ((strcmp(cell(sp, q, "location"), "IN") == 0) != in)
                        continue;
                    nmdi_date a = dcell(sp, q, "start_date"), b = dcell(sp, q, "end_date");
                    long hi = b == NMDI_DATE_NONE ? (long)st + 487 : (long)b + 1;
                    if (hi > (long)st + 487)
                        hi = (long)st + 487;
                    if (dod != INT32_MAX && hi > dod + 1)
                        hi = (long)dod + 1;
                    if (hi > a)
                        far += hi - a;
                }
                if (far >= 365) {
                    res = !res;
                    if (st >= S && st < E)
                        lt_recomputed++;
                }
            }
            assert_int_equal(atoi(cell(sp, k, "resident")), res);
            nmdi_date en = dcell(sp, k, "end_date");
            for (int t = 0; t < 2; t++) {
                nmdi_date ref = t ? L : C;
                if (st <= ref && (en == NMDI_DATE_NONE || ref <= en) && res && ref <= dod)
                    (*(t ? &res_lfs : &res_census))++;
            }
        }
        r = e;
    }
    nmdi_table *ev = load(dir, "truth/events.csv");
    long lt_events = 0;
    for (size_t r = 0; r < ev->nrows; r++)
        if (strcmp(cell(ev, r, "event"), "IMM") == 0 || strcmp(cell(ev, r, "event"), "EMI") == 0)
            lt_events++;
    assert_int_equal(lt_events, lt_recomputed);
    assert_true(lt_events > 0);
    nmdi_table_free(ev);
    nmdi_strmap_free(death);
    nmdi_table_free(sp);
    nmdi_table_free(pe);

    /* 3. survey weights sum to the resident population on the LFS date */
    nmdi_table *lfs = load(dir, "sources/lfs.csv");
    double wsum = 0;
    for (size_t r = 0; r < lfs->nrows; r++)
        wsum += atof(cell(lfs, r, "WEIGHT"));
    assert_true(lfs->nrows > 100);
    assert_true(wsum > res_lfs - 0.01 && wsum < res_lfs + 0.01);
    nmdi_table_free(lfs);

    /* 4. census: residents less 2.5 % households and 1 % persons non-response */
    nmdi_table *cen = load(dir, "sources/census_persons.csv");
    double expect = res_census * 0.975 * 0.99;
    assert_true(cen->nrows <= (size_t)res_census);
    assert_true(cen->nrows > expect * 0.96 && cen->nrows < expect * 1.04);
    nmdi_table_free(cen);
    rmtree(dir);
}

static void test_bad_options(void **state)
{
    (void)state;
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    ctx.quiet = 1;
    nmdi_synth_opts o;
    nmdi_synth_opts_init(&o);
    o.out = "/tmp/nmdi-synth-never";
    o.like = "ZZZ";
    nmdi_synth_summary sum;
    nmdi_error err;
    assert_int_equal(nmdi_synth_run(&ctx, &o, &sum, &err), NMDI_EDATA);
    assert_string_equal(err.field, "like");
    o.like = "NZL";
    o.census_sample = 0;
    assert_int_equal(nmdi_synth_run(&ctx, &o, &sum, &err), NMDI_EDATA);
    assert_true(nmdi_synth_has_destination("NZL"));
    assert_false(nmdi_synth_has_destination("XKN"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_consistency),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
