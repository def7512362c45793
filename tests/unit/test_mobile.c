/* test_mobile.c — unit tests of the mobile-phone presence derivation
 * (src/derive/mobile.c): long-term presence through the residence engine,
 * emigration signals from outbound roaming, internal moves, machine SIMs,
 * market-share scaling and the redaction of small cells. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nmdi/mobile.h"

typedef struct recs {
    size_t n, cap;
    uint64_t *sub;
    nmdi_date *day;
    const char **area, **home;
    uint8_t *roam;
} recs;

static void add(recs *r, uint64_t sub, nmdi_date day, const char *area, const char *home,
                uint8_t roam)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->sub = realloc(r->sub, r->cap * sizeof *r->sub);
        r->day = realloc(r->day, r->cap * sizeof *r->day);
        r->area = realloc(r->area, r->cap * sizeof *r->area);
        r->home = realloc(r->home, r->cap * sizeof *r->home);
        r->roam = realloc(r->roam, r->cap);
    }
    r->sub[r->n] = sub;
    r->day[r->n] = day;
    r->area[r->n] = area;
    r->home[r->n] = home;
    r->roam[r->n] = roam;
    r->n++;
}

static void recs_free(recs *r)
{
    free(r->sub);
    free(r->day);
    free(r->area);
    free(r->home);
    free(r->roam);
}

static nmdi_cell *cell(nmdi_cube *c, const char *a, const char *b, const char *d)
{
    const char *codes[] = {a, b, d};
    return nmdi_cube_find(c, codes);
}

static void build(recs *r, nmdi_date t0, int days)
{
    /* 20 long-term inbound roamers from DEU living in A01 (persons move: one day in
     * ten they are seen in A05), present every day from day 10 */
    for (uint64_t s = 1; s <= 20; s++)
        for (int d = 10; d < days; d++)
            add(r, s, t0 + d, d % 10 == 3 ? "A05" : "A01", "DEU", NMDI_MOBILE_INBOUND);
    /* 5 short visitors from FRA (10 days): too few to publish */
    for (uint64_t s = 100; s < 105; s++)
        for (int d = 50; d < 60; d++)
            add(r, s, t0 + d, "A02", "FRA", NMDI_MOBILE_INBOUND);
    /* a machine SIM: every day, one area, never abroad */
    for (int d = 0; d < days; d++)
        add(r, 999, t0 + d, "A03", "XKN", NMDI_MOBILE_DOMESTIC);
    /* 16 domestic subscribers who leave for ITA on day 31 and stay 400+ days */
    for (uint64_t s = 200; s < 216; s++) {
        for (int d = 0; d < 31; d++)
            add(r, s, t0 + d, "A02", "XKN", NMDI_MOBILE_DOMESTIC);
        for (int d = 31; d < days; d++)
            add(r, s, t0 + d, "ITA", "XKN", NMDI_MOBILE_OUTBOUND);
    }
    /* 16 domestic subscribers moving from A01 (January) to A04 (February on) */
    for (uint64_t s = 300; s < 316; s++)
        for (int d = 0; d < 90; d++)
            add(r, s, t0 + d, d < 31 ? "A01" : "A04", "XKN", NMDI_MOBILE_DOMESTIC);
}

static void test_mobile(void **state)
{
    (void)state;
    recs r = {0};
    nmdi_date t0 = nmdi_date_from_ymd(2024, 1, 1);
    int days = 600;
    build(&r, t0, days);
    nmdi_mobile_input in = {r.n, r.sub, r.day, r.area, r.home, r.roam};
    nmdi_mobile_params p;
    nmdi_mobile_params_default(&p);
    p.home_country = "XKN";
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    nmdi_mobile_result res;
    nmdi_error err;
    assert_int_equal(nmdi_mobile_run(&ctx, &p, &in, &res, &err), 0);
    assert_int_equal(res.machines, 1);
    assert_int_equal(res.subscribers, 20 + 5 + 1 + 16 + 16);
    /* long-term presence start in 2024 from DEU, emigration signal to ITA */
    nmdi_cell *c = cell(res.longterm, "2024", "IMM", "DEU");
    assert_non_null(c);
    assert_int_equal(c->n, 20);
    assert_true(c->value == 20);
    assert_true(c->ckey >= 0 && c->ckey < 1);
    c = cell(res.longterm, "2024", "EMI", "ITA");
    assert_non_null(c);
    assert_int_equal(c->n, 16);
    /* inbound monthly: March 2024, DEU, LONG; and the total over countries */
    const char *k4t[] = {"2024-03", "_T", "LONG"};
    c = nmdi_cube_find(res.inbound, k4t);
    assert_non_null(c);
    assert_int_equal(c->n, 20);
    const char *k4[] = {"2024-03", "DEU", "LONG"};
    c = nmdi_cube_find(res.inbound, k4);
    assert_non_null(c);
    assert_int_equal(c->n, 20);
    /* the 5 short visitors are redacted: no value, confidential */
    const char *k5[] = {"2024-02", "FRA", "SHORT"};
    c = nmdi_cube_find(res.inbound, k5);
    assert_non_null(c);
    assert_true(isnan(c->value));
    assert_string_equal(c->conf_status, "C");
    assert_true(res.redacted >= 1);
    /* internal move A01 → A04 in February */
    c = cell(res.internal, "2024-02", "A01", "A04");
    assert_non_null(c);
    assert_int_equal(c->n, 16);
    /* stayers A04 → A04 in March */
    c = cell(res.internal, "2024-03", "A04", "A04");
    assert_non_null(c);
    nmdi_mobile_result_free(&res);

    /* market share: counts are scaled to persons */
    p.market_share = 0.5;
    assert_int_equal(nmdi_mobile_run(&ctx, &p, &in, &res, &err), 0);
    c = cell(res.longterm, "2024", "IMM", "DEU");
    assert_true(c->value == 40);
    assert_int_equal(c->n, 20);
    nmdi_mobile_result_free(&res);
    p.market_share = 0;
    assert_int_equal(nmdi_mobile_run(&ctx, &p, &in, &res, &err), NMDI_EDATA);
    recs_free(&r);
}

static void test_short_stay_not_longterm(void **state)
{
    (void)state;
    recs r = {0};
    nmdi_date t0 = nmdi_date_from_ymd(2024, 1, 1);
    /* 15 visitors staying 200 days (temporary), then gone; data run 600 days */
    for (uint64_t s = 1; s <= 15; s++)
        for (int d = 0; d < 200; d++)
            add(&r, s, t0 + d, d % 10 == 3 ? "A05" : "A01", "IND", NMDI_MOBILE_INBOUND);
    for (int d = 0; d < 600; d += 30)
        add(&r, 77, t0 + d, "A02", "XKN", NMDI_MOBILE_DOMESTIC);
    nmdi_mobile_input in = {r.n, r.sub, r.day, r.area, r.home, r.roam};
    nmdi_mobile_params p;
    nmdi_mobile_params_default(&p);
    nmdi_mobile_result res;
    nmdi_error err;
    assert_int_equal(nmdi_mobile_run(NULL, &p, &in, &res, &err), 0);
    assert_int_equal(nmdi_cube_ncells(res.longterm), 0);
    const char *k[] = {"2024-05", "IND", "TEMP"};
    nmdi_cell *c = nmdi_cube_find(res.inbound, k);
    assert_non_null(c);
    assert_int_equal(c->n, 15);
    nmdi_mobile_result_free(&res);
    recs_free(&r);
}

/* the four cubes as CSV text (every digit of value and cell key) */
static char *dump(const nmdi_mobile_result *res)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(nmdi_cube_write_csv(res->inbound, f), 0);
    assert_int_equal(nmdi_cube_write_csv(res->outbound, f), 0);
    assert_int_equal(nmdi_cube_write_csv(res->internal, f), 0);
    assert_int_equal(nmdi_cube_write_csv(res->longterm, f), 0);
    fclose(f);
    return buf;
}

/* Shuffling the records, or splitting the subscribers into parts derived
 * separately and merged in any order, gives byte-identical cubes: counts and
 * cell keys are integer sums (fixed-point keys, 2^-52). */
static void test_order_and_partition_independent(void **state)
{
    (void)state;
    recs r = {0};
    nmdi_date t0 = nmdi_date_from_ymd(2024, 1, 1);
    build(&r, t0, 600);
    nmdi_mobile_params p;
    nmdi_mobile_params_default(&p);
    p.min_subscribers = 1;
    nmdi_error err;
    nmdi_mobile_result res;
    nmdi_mobile_input in = {r.n, r.sub, r.day, r.area, r.home, r.roam};
    assert_int_equal(nmdi_mobile_run(NULL, &p, &in, &res, &err), 0);
    char *ref = dump(&res);
    nmdi_mobile_result_free(&res);
    /* shuffle (Fisher-Yates, fixed seed) */
    uint64_t x = 88172645463325252ULL;
    for (size_t i = r.n - 1; i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t j = (size_t)(x % (i + 1));
        uint64_t ts = r.sub[i]; r.sub[i] = r.sub[j]; r.sub[j] = ts;
        nmdi_date td = r.day[i]; r.day[i] = r.day[j]; r.day[j] = td;
        const char *ta = r.area[i]; r.area[i] = r.area[j]; r.area[j] = ta;
        const char *th = r.home[i]; r.home[i] = r.home[j]; r.home[j] = th;
        uint8_t tr = r.roam[i]; r.roam[i] = r.roam[j]; r.roam[j] = tr;
    }
    assert_int_equal(nmdi_mobile_run(NULL, &p, &in, &res, &err), 0);
    char *shuf = dump(&res);
    assert_string_equal(ref, shuf);
    nmdi_mobile_result_free(&res);
    /* three parts by subscriber, merged in reverse order */
    nmdi_date dmin = INT32_MAX, dmax = INT32_MIN;
    for (size_t i = 0; i < r.n; i++) {
        dmax = r.day[i] > dmax ? r.day[i] : dmax;
        dmin = r.day[i] < dmin ? r.day[i] : dmin;
    }
    nmdi_mobile_acc *part[3], *total = nmdi_mobile_acc_new();
    assert_non_null(total);
    for (int k = 0; k < 3; k++) {
        recs q = {0};
        for (size_t i = 0; i < r.n; i++)
            if (r.sub[i] % 3 == (uint64_t)k)
                add(&q, r.sub[i], r.day[i], r.area[i], r.home[i], r.roam[i]);
        nmdi_mobile_input qi = {q.n, q.sub, q.day, q.area, q.home, q.roam};
        part[k] = nmdi_mobile_acc_new();
        assert_non_null(part[k]);
        assert_int_equal(nmdi_mobile_acc_add(part[k], &p, &qi, dmin, dmax, &err), 0);
        recs_free(&q);
    }
    for (int k = 2; k >= 0; k--) {
        assert_int_equal(nmdi_mobile_acc_merge(total, part[k], &err), 0);
        nmdi_mobile_acc_free(part[k]);
    }
    assert_int_equal(nmdi_mobile_acc_finish(total, &p, &res, &err), 0);
    char *parts = dump(&res);
    assert_string_equal(ref, parts);
    assert_int_equal(res.records, r.n);
    nmdi_mobile_result_free(&res);
    nmdi_mobile_acc_free(total);
    free(ref);
    free(shuf);
    free(parts);
    recs_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_mobile),
                                       cmocka_unit_test(test_short_stay_not_longterm),
                                       cmocka_unit_test(test_order_and_partition_independent)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
